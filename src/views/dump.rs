//! The frame's bytes after its line, as tcpdump's -x, -X and -A print them
//! (print-ascii.c): the same offsets, spacing and dots, so the two can be
//! compared line for line. Only printable ASCII, space, tab and newline are
//! written as themselves: no byte of a payload can drive a terminal.

/// How the bytes are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DumpStyle {
    /// `-X`: hex and ASCII, 16 bytes a line.
    HexAscii,
    /// `-x`: hex only.
    Hex,
    /// `-A`: ASCII only, newlines kept.
    Ascii,
}

/// What to dump after each packet line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dump {
    pub(crate) style: DumpStyle,
    /// Doubled letter (`-XX`): from the link-layer header, not the IP header.
    pub(crate) link_header: bool,
}

const BYTES_PER_LINE: usize = 16;
/// A line's hex column: 8 groups of " hhhh".
const HEX_WIDTH: usize = 40;
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Append the dump of `frame` (the captured bytes) whose link-layer header
/// is `link_len` bytes long (`None`: not even that was decoded). As in
/// tcpdump, nothing is written when nothing follows the link-layer header.
pub(crate) fn write(out: &mut Vec<u8>, dump: Dump, frame: &[u8], link_len: Option<usize>) {
    let bytes = if dump.link_header {
        frame
    } else {
        match link_len.and_then(|l| frame.get(l..)) {
            Some(rest) if !rest.is_empty() => rest,
            _ => return,
        }
    };
    match dump.style {
        DumpStyle::HexAscii => hex_lines(out, bytes, true),
        DumpStyle::Hex => hex_lines(out, bytes, false),
        DumpStyle::Ascii => ascii(out, bytes),
    }
}

/// tcpdump's `ND_ASCII_ISGRAPH`: printable ASCII other than space.
fn is_graph(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

fn hex_lines(out: &mut Vec<u8>, bytes: &[u8], with_ascii: bool) {
    for (n, line) in bytes.chunks(BYTES_PER_LINE).enumerate() {
        out.extend_from_slice(b"\t0x");
        let offset = n * BYTES_PER_LINE;
        for shift in [12, 8, 4, 0] {
            out.push(DIGITS[(offset >> shift) & 0xf]);
        }
        out.extend_from_slice(b": ");
        let start = out.len();
        for (i, b) in line.iter().enumerate() {
            if i % 2 == 0 {
                out.push(b' ');
            }
            out.push(DIGITS[usize::from(b >> 4)]);
            out.push(DIGITS[usize::from(b & 0xf)]);
        }
        if with_ascii {
            let width = out.len() - start;
            out.extend(std::iter::repeat_n(
                b' ',
                HEX_WIDTH.saturating_sub(width) + 2,
            ));
            out.extend(line.iter().map(|&b| if is_graph(b) { b } else { b'.' }));
        }
        out.push(b'\n');
    }
}

/// tcpdump's `ascii_print`: a carriage return is dropped before a newline
/// (and, as there, when it is one of the last two bytes), a dot elsewhere.
fn ascii(out: &mut Vec<u8>, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        let left = bytes.len() - i - 1;
        match b {
            b'\r' => {
                if left > 1 && bytes[i + 1] != b'\n' {
                    out.push(b'.');
                }
            }
            b'\t' | b' ' | b'\n' => out.push(b),
            b if is_graph(b) => out.push(b),
            _ => out.push(b'.'),
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(style: DumpStyle, bytes: &[u8]) -> String {
        let mut out = Vec::new();
        write(
            &mut out,
            Dump {
                style,
                link_header: false,
            },
            bytes,
            Some(0),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hex_and_ascii_as_tcpdump() {
        // tcpdump's own self-test input (print-ascii.c, MAIN).
        let text = b"Hello, World!\n";
        assert_eq!(
            dump(DumpStyle::HexAscii, text),
            "\t0x0000:  4865 6c6c 6f2c 2057 6f72 6c64 210a       Hello,.World!.\n"
        );
        assert_eq!(
            dump(DumpStyle::Hex, text),
            "\t0x0000:  4865 6c6c 6f2c 2057 6f72 6c64 210a\n"
        );
        let odd: Vec<u8> = (0u8..17).collect();
        assert_eq!(
            dump(DumpStyle::HexAscii, &odd),
            "\t0x0000:  0001 0203 0405 0607 0809 0a0b 0c0d 0e0f  ................\n\
             \t0x0010:  10                                       .\n"
        );
    }

    #[test]
    fn ascii_never_passes_a_control_byte() {
        let hostile = b"a\x1b[2Jb\x07\r\nc\rd\x7f\xff\t e\r";
        let s = dump(DumpStyle::Ascii, hostile);
        assert_eq!(s, "a.[2Jb.\nc.d..\t e\n");
        assert!(s
            .bytes()
            .all(|b| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b)));
    }

    #[test]
    fn nothing_after_the_link_header_prints_nothing() {
        let mut out = Vec::new();
        let d = Dump {
            style: DumpStyle::HexAscii,
            link_header: false,
        };
        write(&mut out, d, &[1, 2, 3], Some(3));
        write(&mut out, d, &[1, 2, 3], None);
        assert!(out.is_empty());
    }
}
