//! Text that comes from outside synack (file names, strings read from a
//! capture, libpcap's and the OS's messages, interface names) made safe to
//! print: a control character written raw to a terminal can move the
//! cursor, rewrite the title, fake a line or worse. Control characters
//! (C0, DEL, C1) and the bidirectional overrides that reorder what is shown
//! are written as escapes (`\e`, `\n`, `\u{9b}`, `\u{202e}`); every other
//! character, printable UTF-8 included, is kept. Backslashes are kept as
//! they are, so escaping twice changes nothing.

use std::fmt::{self, Display};

/// `s`, with control characters escaped when displayed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        // Runs of safe characters go out in one piece.
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write_escape(c, f)?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// A character a terminal (or a bidi-aware renderer) would act on.
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional marks, embeddings, overrides and isolates.
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// How such a character is written: `\\e`, `\\n`, `\\u{9b}`.
pub(crate) fn write_escape(c: char, f: &mut impl fmt::Write) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        '\u{1b}' => f.write_str("\\e"),
        c => write!(f, "\\u{{{:x}}}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_printable_text_is_kept() {
        let s = "caf\u{e9} \u{1b}[31mred\u{1b}]0;title\u{7}\r\n\t\u{7f}\u{9b}2J \u{202e}txt.exe ✓";
        assert_eq!(
            Escaped(s).to_string(),
            "caf\u{e9} \\e[31mred\\e]0;title\\u{7}\\r\\n\\t\\u{7f}\\u{9b}2J \\u{202e}txt.exe ✓"
        );
        assert_eq!(Escaped("plain/path.pcap").to_string(), "plain/path.pcap");
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = Escaped("a\u{1b}b\\e\n").to_string();
        assert_eq!(Escaped(&once).to_string(), once);
    }
}
