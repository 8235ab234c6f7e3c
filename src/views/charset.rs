//! One switch for the characters synack writes: Unicode (arrows, `µs`,
//! box drawing) or plain ASCII. `--ascii` turns it on, and so does a locale
//! that is not UTF-8 (`LC_ALL=C`): every view, the words, the table, the
//! ladder, and the errors consult it, so ASCII means ASCII everywhere.
//!
//! Views write ASCII themselves where layout depends on it (a `→` that
//! became `->` is one column wider); [`AsciiOut`] is the net under them,
//! for text synack does not word itself (file names, clap's help).

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static ASCII: AtomicBool = AtomicBool::new(false);

/// Set once at start-up, before any output.
pub(crate) fn set_ascii(on: bool) {
    ASCII.store(on, Ordering::Relaxed);
}

/// Plain ASCII output?
pub(crate) fn ascii() -> bool {
    ASCII.load(Ordering::Relaxed)
}

/// Does the locale rule out UTF-8? As setlocale(LC_CTYPE, "") decides: the
/// first of LC_ALL, LC_CTYPE, LANG that is set and not empty; none is the
/// C locale, which is ASCII.
pub(crate) fn locale_wants_ascii(var: impl Fn(&str) -> Option<OsString>) -> bool {
    let name = ["LC_ALL", "LC_CTYPE", "LANG"]
        .into_iter()
        .filter_map(var)
        .find(|v| !v.is_empty());
    let Some(name) = name else {
        return true;
    };
    let name = name.to_string_lossy().to_ascii_lowercase();
    !(name.contains("utf-8") || name.contains("utf8"))
}

/// The ASCII for a character synack writes, or `None` if it is ASCII.
fn ascii_of(c: char) -> Option<Cow<'static, str>> {
    if c.is_ascii() {
        return None;
    }
    Some(Cow::Borrowed(match c {
        '→' => "->",
        '←' => "<-",
        '⇄' => "<->",
        '·' => "-",
        'µ' | 'μ' => "u",
        '−' | '–' | '─' | '━' | '╌' | '┄' => "-",
        '—' => "--",
        '…' => "...",
        '≥' => ">=",
        '≤' => "<=",
        '×' => "x",
        '§' => "S",
        '✓' => "ok",
        '✗' => "x",
        '│' | '┃' | '┆' | '┊' => "|",
        '═' => "=",
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╞' | '╪' | '╡' => {
            "+"
        }
        '▶' | '►' => ">",
        '◀' | '◄' => "<",
        '▲' => "^",
        '▼' => "v",
        '⋮' => ":",
        '↳' => "`-",
        // Anything else (a file name, a pcapng comment): its code point.
        c => return Some(Cow::Owned(format!("\\u{{{:x}}}", c as u32))),
    }))
}

/// `s` in ASCII, whatever the switch says.
pub(crate) fn to_ascii(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match ascii_of(c) {
            None => out.push(c),
            Some(a) => out.push_str(&a),
        }
    }
    Cow::Owned(out)
}

/// `s` as the switch says: unchanged, or in ASCII.
pub(crate) fn text(s: String) -> String {
    if ascii() && !s.is_ascii() {
        to_ascii(&s).into_owned()
    } else {
        s
    }
}

/// The same for a line being built as bytes (UTF-8).
pub(crate) fn bytes(buf: &mut Vec<u8>) {
    if !ascii() || buf.is_ascii() {
        return;
    }
    let s = String::from_utf8_lossy(buf);
    let a = to_ascii(&s).into_owned();
    buf.clear();
    buf.extend_from_slice(a.as_bytes());
}

/// A writer that passes ASCII through and turns anything else into ASCII
/// when the switch is on. Bytes of a character split between two writes
/// wait for the rest.
pub(crate) struct AsciiOut<W: Write> {
    inner: W,
    on: bool,
    /// The start of a UTF-8 character whose rest has not come yet.
    partial: Vec<u8>,
}

impl<W: Write> AsciiOut<W> {
    /// Over `inner`, following the switch as it is now.
    pub(crate) fn new(inner: W) -> AsciiOut<W> {
        AsciiOut {
            inner,
            on: ascii(),
            partial: Vec::new(),
        }
    }
}

impl<W: Write> Write for AsciiOut<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.on || (self.partial.is_empty() && data.is_ascii()) {
            return self.inner.write(data);
        }
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(data);
        // Keep back an unfinished character at the end.
        let keep = match std::str::from_utf8(&bytes) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => bytes.len() - e.valid_up_to(),
            Err(_) => 0,
        };
        let whole = bytes.len() - keep;
        let text = String::from_utf8_lossy(&bytes[..whole]);
        self.inner.write_all(to_ascii(&text).as_bytes())?;
        self.partial = bytes[whole..].to_vec();
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_without_utf8_means_ascii() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        assert!(locale_wants_ascii(env(&[("LC_ALL", "C")])));
        assert!(locale_wants_ascii(env(&[
            ("LC_ALL", "POSIX"),
            ("LANG", "en_US.UTF-8")
        ])));
        assert!(!locale_wants_ascii(env(&[("LANG", "en_US.UTF-8")])));
        assert!(!locale_wants_ascii(env(&[
            ("LC_ALL", ""),
            ("LANG", "C.utf8")
        ])));
        assert!(!locale_wants_ascii(env(&[
            ("LC_CTYPE", "de_DE.UTF-8"),
            ("LANG", "C")
        ])));
        assert!(locale_wants_ascii(env(&[("LANG", "de_DE.ISO-8859-1")])));
        assert!(locale_wants_ascii(env(&[])), "no locale is the C locale");
    }

    #[test]
    fn every_character_synack_writes_has_an_ascii_form() {
        assert_eq!(to_ascii("RTT 38 µs"), "RTT 38 us");
        assert_eq!(
            to_ascii("client SYN_SENT→ESTABLISHED · server LISTEN"),
            "client SYN_SENT->ESTABLISHED - server LISTEN"
        );
        assert_eq!(
            to_ascii("#1  client a  ⇄  server b"),
            "#1  client a  <->  server b"
        );
        assert_eq!(to_ascii("é"), "\\u{e9}");
        assert!(to_ascii("│ ── ▶ ◀ ⋮ ↳ ┆ ╞═╪╡ ✓ ✗ ≥ − – — … § ×").is_ascii());
    }

    #[test]
    fn a_character_split_between_writes_comes_out_whole() {
        let mut out = AsciiOut {
            inner: Vec::new(),
            on: true,
            partial: Vec::new(),
        };
        let text = "38 µs → ok".as_bytes();
        for b in text {
            out.write_all(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(String::from_utf8(out.inner).unwrap(), "38 us -> ok");
    }
}
