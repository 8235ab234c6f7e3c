//! Text measured as a terminal shows it: a Chinese character takes two
//! columns, most others one (unicode-width's East Asian Width, ambiguous
//! characters narrow). For English output this measures what counting
//! characters measured, so English lines are laid out as before.

use unicode_width::UnicodeWidthStr;

/// Columns `s` takes on a terminal.
pub(crate) fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Columns one character takes.
fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// `s` cut to at most `w` columns, with `…` where it was cut.
pub(crate) fn fit(s: &str, w: usize) -> String {
    if display_width(s) <= w {
        return s.to_string();
    }
    let mut t = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        t.push(c);
    }
    t.push('…');
    t
}

/// `s` right-aligned in `w` columns.
pub(crate) fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(display_width(s))))
}

/// `s` left-aligned in `w` columns.
pub(crate) fn pad_right(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(display_width(s))))
}

/// Whether a line may break before or after `c` without a space: Chinese,
/// Japanese and Korean text has no spaces between words.
fn breaks_anywhere(c: char) -> bool {
    char_width(c) == 2
}

/// Punctuation that must not start a line (it closes what came before).
fn no_break_before(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '；'
            | '：'
            | '）'
            | '、'
            | '！'
            | '？'
            | '」'
            | '』'
            | ')'
            | ']'
            | ','
            | '.'
            | ';'
            | ':'
    )
}

/// Punctuation that must not end a line (it opens what comes after).
fn no_break_after(c: char) -> bool {
    matches!(c, '(' | '[' | '（' | '「' | '『')
}

/// Wrap `text` to `width` columns: at spaces, and between Chinese characters.
/// A single word wider than `width` (a long address) stays whole on its line.
pub(crate) fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    let mut line_w = 0;
    for word in text.split(' ') {
        // A word is cut into pieces that may go on separate lines: runs of
        // narrow characters stay together, each wide character stands alone
        // (with the punctuation that follows it).
        let pieces = pieces(word);
        for (i, piece) in pieces.iter().enumerate() {
            let pw = display_width(piece);
            let sep = usize::from(i == 0 && !line.is_empty());
            if !line.is_empty() && line_w + sep + pw > width {
                out.push_str(&line);
                out.push('\n');
                line.clear();
                line_w = 0;
            } else if sep == 1 {
                line.push(' ');
                line_w += 1;
            }
            line.push_str(piece);
            line_w += pw;
        }
        if pieces.is_empty() {
            // An empty word (two spaces in a row): kept, as a space.
            if !line.is_empty() && line_w + 1 > width {
                out.push_str(&line);
                out.push('\n');
                line.clear();
                line_w = 0;
            } else if !line.is_empty() {
                line.push(' ');
                line_w += 1;
            }
        }
    }
    out.push_str(&line);
    out
}

/// A word's unbreakable pieces.
fn pieces(word: &str) -> Vec<&str> {
    let mut v = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in word.char_indices() {
        if let Some(p) = prev {
            let wide_here = breaks_anywhere(c) || breaks_anywhere(p);
            if i > start && wide_here && !no_break_before(c) && !no_break_after(p) {
                v.push(&word[start..i]);
                start = i;
            }
        }
        prev = Some(c);
    }
    if start < word.len() {
        v.push(&word[start..]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_takes_two_columns_and_symbols_one() {
        assert_eq!(display_width("SYN_SENT(同步已发送)"), 20);
        assert_eq!(display_width("31 µs · → ─│▶◀⋮⇄"), 16);
    }

    #[test]
    fn fitting_and_padding_count_columns() {
        assert_eq!(fit("同步已发送", 7), "同步已…");
        assert!(display_width(&fit("同步已发送", 7)) <= 7);
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(pad_left("监听", 6), "  监听");
        assert_eq!(pad_right("监听", 6), "监听  ");
    }

    #[test]
    fn english_wraps_at_spaces_as_before() {
        let w = wrap("one two three four five six seven", 10);
        assert_eq!(w, "one two\nthree four\nfive six\nseven");
    }

    #[test]
    fn chinese_wraps_between_characters_never_before_a_comma() {
        let text = "客户端先关闭 (四次挥手)，客户端处于 TIME_WAIT 直到 12:00:01.000；半关闭 (第一个 FIN 之后又传了 300 字节)；没有重传。";
        for width in [16, 24, 40] {
            let w = wrap(text, width);
            for l in w.lines() {
                assert!(display_width(l) <= width, "{width}: {l:?}");
                assert!(!l.starts_with('，') && !l.starts_with('。'), "{l:?}");
                assert!(!l.starts_with(')') && !l.ends_with('('), "{l:?}");
            }
            assert_eq!(w.replace(['\n', ' '], ""), text.replace(' ', ""));
        }
    }
}
