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

/// `s` cut to at most `w` columns, with `more` where it was cut.
pub(crate) fn fit_with(s: &str, w: usize, more: &str) -> String {
    if display_width(s) <= w {
        return s.to_string();
    }
    let room = w.saturating_sub(display_width(more));
    let mut t = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if used + cw > room {
            break;
        }
        used += cw;
        t.push(c);
    }
    t.push_str(more);
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
    for word in words(text) {
        let word = word.as_str();
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

/// The words of `text`, split at spaces. In Chinese text a unit stays with
/// its number (`60 s；` is not broken after `60`); English text is split
/// at every space, as it always was.
fn words(text: &str) -> Vec<String> {
    let chinese = text.chars().any(breaks_anywhere);
    let mut out: Vec<String> = Vec::new();
    for word in text.split(' ') {
        let unit = word
            .find(|c: char| !c.is_alphabetic() || breaks_anywhere(c))
            .map_or(word, |end| &word[..end]);
        let is_unit = matches!(unit, "s" | "ms" | "µs" | "us" | "ns" | "min");
        match out.last_mut() {
            Some(prev) if chinese && is_unit && prev.ends_with(|c: char| c.is_ascii_digit()) => {
                prev.push(' ');
                prev.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// Columns of the widest piece of `text` that `wrap` never breaks: a word
/// of Latin letters, or one Chinese character with the punctuation that
/// must stay with it.
pub(crate) fn longest_piece(text: &str) -> usize {
    text.lines()
        .flat_map(words)
        .map(|w| pieces(&w).into_iter().map(display_width).max().unwrap_or(0))
        .max()
        .unwrap_or(0)
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
        assert_eq!(fit_with("同步已发送", 7, "…"), "同步已…");
        assert!(display_width(&fit_with("同步已发送", 7, "...")) <= 7);
        assert_eq!(fit_with("abc", 3, "…"), "abc");
        assert_eq!(pad_left("监听", 6), "  监听");
        assert_eq!(pad_right("监听", 6), "监听  ");
    }

    #[test]
    fn the_longest_piece_is_what_wrap_keeps_whole() {
        for text in [
            "客户端发了 3 个探测，空闲 1.01 s",
            "three-packet, client first",
            "四次挥手",
        ] {
            let longest = longest_piece(text);
            let w = wrap(text, longest);
            assert!(
                w.lines().all(|l| display_width(l) <= longest),
                "{longest}: {w:?}"
            );
        }
        assert_eq!(longest_piece("空闲 1.01 s"), 6);
        assert_eq!(longest_piece("three-packet, client first"), 13);
    }

    #[test]
    fn english_wraps_at_spaces_as_before() {
        let w = wrap("one two three four five six seven", 10);
        assert_eq!(w, "one two\nthree four\nfive six\nseven");
    }

    #[test]
    fn chinese_wraps_between_characters_never_before_a_comma() {
        let text = "客户端先关闭 (四次挥手)，客户端处于 TIME_WAIT 直到 t=60.179136 s；半关闭 (第一个 FIN 之后又传了 300 字节)；没有重传。";
        for width in [16, 24, 40] {
            let w = wrap(text, width);
            for l in w.lines() {
                assert!(display_width(l) <= width, "{width}: {l:?}");
                assert!(!l.starts_with('，') && !l.starts_with('。'), "{l:?}");
                assert!(!l.starts_with(')') && !l.ends_with('('), "{l:?}");
                assert!(
                    !l.starts_with("s；"),
                    "a unit left without its number: {l:?}"
                );
            }
            assert_eq!(w.replace(['\n', ' '], ""), text.replace(' ', ""));
        }
    }
}
