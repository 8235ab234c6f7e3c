//! What the picture views (`svg`, `graph`, the HTML report) share: XML
//! escaping, compact numbers, axis ticks, and the stacking of one picture
//! per connection into one SVG document.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::words;
use crate::lang::ui;

/// The font every picture asks for: DejaVu first (what Debian's browsers
/// and resvg find), then what any system has.
pub(crate) const FONT: &str = "DejaVu Sans, Verdana, Arial, sans-serif";

/// Pictures per document; a capture with more says how many were left out.
const MAX_PICTURES: usize = 500;

/// Text safe inside an XML element or a double-quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            // XML 1.0 allows no other C0 control; none of them, no C1
            // control and no bidi override from a file name or a capture
            // reaches a picture raw (it may be printed to a terminal).
            c if crate::escape::needs_escape(c) => {
                let _ = crate::escape::write_escape(c, &mut out);
            }
            c => out.push(c),
        }
    }
    out
}

/// About how wide `s` is drawn, in px, when a narrow character takes
/// `per_char`: a Chinese character takes about 1.75 times as much. (Text of
/// narrow characters only measures `chars × per_char`, as it always did.)
pub(crate) fn text_px(s: &str, per_char: f64) -> f64 {
    let wide = s
        .chars()
        .filter(|c| unicode_width::UnicodeWidthChar::width(*c) == Some(2))
        .count();
    let narrow = s.chars().count() - wide;
    narrow as f64 * per_char + wide as f64 * per_char * 1.75
}

/// A coordinate with at most two decimals, no trailing zeros: small files.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let r = (x * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        let s = format!("{r:.2}");
        s.trim_end_matches('0').to_string()
    }
}

/// Seconds, as the ladder's time column writes them.
pub(crate) fn seconds(ns: i128) -> String {
    format!("{:.6}", ns as f64 / 1e9)
}

/// About `n` round tick values (1, 2 or 5 × 10^k apart) covering lo..=hi.
pub(crate) fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || !span.is_finite() || n == 0 {
        return vec![lo];
    }
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut out = Vec::new();
    let mut v = (lo / step).ceil() * step;
    while v <= hi + step * 1e-9 && out.len() < 4 * n + 2 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A tick value as text: no needless decimals.
pub(crate) fn tick_label(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// One finished picture: a whole `<svg>` element and its size.
pub(crate) struct Picture {
    pub(crate) width: f64,
    pub(crate) height: f64,
    pub(crate) svg: String,
}

/// The opening tag of a standalone picture.
pub(crate) fn open_svg(out: &mut String, width: f64, height: f64, extra: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}"{extra}>"#,
        w = num(width),
        h = num(height),
    );
}

/// Pictures stacked top to bottom in one SVG document, written at the end
/// (the document's height is known only then).
#[derive(Default)]
pub(crate) struct Stack {
    pictures: Vec<Picture>,
    left_out: usize,
    /// Connections not drawn because too many were open at once.
    not_drawn: u64,
}

impl Stack {
    /// No more pictures fit: views stop gathering for new connections.
    pub(crate) fn is_full(&self) -> bool {
        self.pictures.len() >= MAX_PICTURES
    }

    /// A connection left out without being drawn.
    pub(crate) fn leave_out(&mut self) {
        self.left_out += 1;
    }

    /// Connections the collector left out, having too many open at once.
    pub(crate) fn not_drawn(&mut self, n: u64) {
        self.not_drawn = n;
    }

    /// One connection's pictures, or a note that it was left out when the
    /// document is full.
    pub(crate) fn push_all(&mut self, pictures: Vec<Picture>) {
        if self.is_full() {
            self.left_out += 1;
        } else {
            self.pictures.extend(pictures);
        }
    }

    /// The document: every picture nested at its offset. With nothing to
    /// draw it is still a valid SVG that says so.
    pub(crate) fn write(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let width = self.pictures.iter().map(|p| p.width).fold(400.0, f64::max);
        let mut notes = Vec::new();
        if self.left_out > 0 {
            notes.push(ui::NOT_DRAWN_MANY.fill(&[("n", &self.left_out), ("max", &MAX_PICTURES)]));
        }
        if self.not_drawn > 0 {
            notes.push(words::not_drawn(self.not_drawn));
        }
        if self.pictures.is_empty() && notes.is_empty() {
            notes.push(ui::NOTHING_TO_DRAW.get().to_string());
        }
        let note_h = if notes.is_empty() {
            0.0
        } else {
            10.0 + 20.0 * notes.len() as f64
        };
        let height = self.pictures.iter().map(|p| p.height).sum::<f64>() + note_h;
        let mut head = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        open_svg(&mut head, width, height.max(30.0), "");
        writeln!(out, "{head}")?;
        let mut y = 0.0;
        for p in self.pictures.drain(..) {
            // A nested <svg> keeps each picture's own coordinates and ids.
            let body = p.svg.strip_prefix("<svg ").unwrap_or(&p.svg);
            writeln!(out, "<svg y=\"{}\" {body}", num(y))?;
            y += p.height;
        }
        for (i, text) in notes.iter().enumerate() {
            writeln!(
                out,
                r##"<text x="8" y="{}" font-size="13" fill="#444">{}</text>"##,
                num(y + 20.0 + 20.0 * i as f64),
                esc(text)
            )?;
        }
        writeln!(out, "</svg>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        // Controls and bidi overrides are shown as the terminal shows them.
        assert_eq!(esc("x\u{1}y"), "x\\u{1}y");
        assert_eq!(
            esc("\u{1b}[31m\u{9b}\u{202e}\tz\n"),
            "\\e[31m\\u{9b}\\u{202e}\tz\n"
        );
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(3.456), "3.46");
        assert_eq!(num(3.5), "3.5");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn a_full_document_says_what_it_left_out() {
        let mut st = Stack::default();
        for _ in 0..MAX_PICTURES + 2 {
            st.push_all(vec![Picture {
                width: 10.0,
                height: 1.0,
                svg: r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="1"></svg>"#
                    .into(),
            }]);
        }
        assert!(st.is_full());
        let mut out = Vec::new();
        st.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("2 more connections not drawn"), "{text}");
        assert_eq!(text.matches("<svg y=").count(), MAX_PICTURES);
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.0, 0.0123, 4);
        assert!(t.len() >= 3 && t[1] > 0.0, "{t:?}");
        assert_eq!(ticks(5.0, 5.0, 4), vec![5.0]);
    }
}
