//! Entry points for the cargo-fuzz targets in `fuzz/` (not an API: hidden
//! from the docs, and nothing else in the command is made public for it).
//! Each function feeds bytes through the real code, the way `synack read`
//! would, and panics only when an invariant of the output is broken; any
//! other panic, hang or memory error is a finding.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::OnceLock;

use clap::Parser;
use synack_core::analyzer::Lookahead;
use synack_core::track::{Connection, Event, Facts};
use synack_core::Packet;

use crate::app::{analyzer_config, read_one, Pipeline};
use crate::capture::classic::{ClassicReader, Header};
use crate::capture::pcapng::{is_pcapng, PcapngReader};
use crate::capture::{FileSource, Input};
use crate::cli::{Cli, Command, OutputArgs};
use crate::views::json::JsonView;
use crate::views::ladder::LadderView;
use crate::views::lines::LinesView;
use crate::views::mermaid::MermaidView;
use crate::views::table::TableView;
use crate::views::time::TimeFormat;
use crate::views::{Look, RunEnd, View};

/// At most this many records are read from one input: a small input cannot
/// hold more, but a reader that loops without consuming would.
const MAX_RECORDS: usize = 1 << 16;

/// Read every record of a classic pcap file (header included) with the
/// hand-written reader; bytes that are not classic pcap are ignored.
/// Returns the number of records read.
pub fn classic_reader(data: &[u8]) -> usize {
    let Some(header) = data
        .get(..24)
        .and_then(|h| <&[u8; 24]>::try_from(h).ok())
        .and_then(Header::parse)
    else {
        return 0;
    };
    let mut r = ClassicReader::new(&data[24..], header);
    let mut n = 0;
    while n < MAX_RECORDS {
        match r.next() {
            Ok(Some(rec)) => touch(rec.data),
            Ok(None) | Err(_) => break,
        }
        n += 1;
    }
    n
}

/// Read every record of a pcapng file with the hand-written reader; bytes
/// that do not start as pcapng are ignored. Returns the number of records read.
pub fn pcapng_reader(data: &[u8]) -> usize {
    if !is_pcapng(data) {
        return 0;
    }
    let Ok(mut r) = PcapngReader::new(data) else {
        return 0;
    };
    let mut n = 0;
    while n < MAX_RECORDS {
        match r.next() {
            Ok(Some(rec)) => touch(rec.data),
            Ok(None) | Err(_) => break,
        }
        n += 1;
    }
    n
}

/// Decode one frame: the first byte picks the link type, the rest is the frame.
pub fn decode_frame(data: &[u8]) {
    use synack_core::decode::link::LinkKind;
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let kind = match pick % 6 {
        0 => LinkKind::Ethernet,
        1 => LinkKind::LinuxSll,
        2 => LinkKind::LinuxSll2,
        3 => LinkKind::Null,
        4 => LinkKind::Loop,
        _ => LinkKind::Raw,
    };
    std::hint::black_box(synack_core::decode::decode(kind, frame));
}

/// A whole capture (classic pcap or pcapng) as `synack read -` reads it:
/// the file reader, the analyzer, and every view, each writing into its
/// own buffer. Twice: with packets shown (lines, JSON, ladder in Unicode
/// and ASCII, Mermaid) and as a summary (table, JSON connection records).
///
/// The input's length picks the output options (time format, colour,
/// width, `-e -N --why --nano`, `-S`), so the corpus covers them without
/// spending bytes of the capture on it.
///
/// Panics if any output is not valid UTF-8, holds a control character
/// other than newline (or, with colour, than our own SGR sequences), or if
/// a JSON line does not parse.
pub fn pipeline(data: &[u8]) {
    let variant = data.len();
    let color = variant % 2 == 1;
    let look = Look {
        width: (variant % 3 != 0).then_some(60 + variant % 80),
        color,
        terminal: variant % 3 != 0,
    };
    let mut opts = default_output_args().clone();
    let times = [
        TimeFormat::Local,
        TimeFormat::Utc,
        TimeFormat::Epoch,
        TimeFormat::Relative,
        TimeFormat::Delta,
        TimeFormat::None,
    ];
    opts.time = times[variant % times.len()];
    let detailed = variant % 4 < 2;
    (opts.link_header, opts.number, opts.why, opts.nano) = (detailed, detailed, detailed, detailed);
    opts.absolute = variant % 5 == 0;

    // Packets shown: the analyzer holds packets back until their states are proven.
    let views = [
        Captured::new(LinesView::new(opts.line_options()), color),
        Captured::new(JsonView::new(true), false).json(),
        Captured::new(LadderView::new(look, false), color),
        Captured::new(LadderView::new(look, true), color),
        Captured::new(MermaidView::default(), false),
    ];
    run(data, &opts, &views, Lookahead::FILE);

    // A summary: nothing is held back.
    let mut summary = opts.clone();
    summary.summary = true;
    let views = [
        Captured::new(TableView::new(look), color),
        Captured::new(JsonView::new(false), false).json(),
    ];
    run(data, &summary, &views, Lookahead::FILE);
}

fn run(data: &[u8], opts: &OutputArgs, views: &[Captured], lookahead: Lookahead) {
    let boxed: Vec<Box<dyn View>> = views
        .iter()
        .map(|v| Box::new(v.clone()) as Box<dyn View>)
        .collect();
    let mut pipe = Pipeline::new(io::sink(), boxed, analyzer_config(opts, lookahead), None);
    let mut err = Vec::new();
    let stream: Box<dyn Read> = Box::new(io::Cursor::new(data.to_vec()));
    // Errors are one line on stderr, as `synack read` words them.
    let result = FileSource::from_stream(&Input::Stdin, stream, None, None)
        .and_then(|mut src| read_one(&mut src, &mut pipe, opts, 0, &mut err));
    if let Err(e) = result {
        let _ = pipe.flush();
        let _ = writeln!(err, "synack: {e}");
        pipe.note_error(&e);
    }
    // Writing into memory cannot fail.
    pipe.finish(&[]).expect("views write into memory");
    assert_terminal_safe(&err, false, "stderr");
    for v in views {
        let out = v.out.borrow();
        assert_terminal_safe(&out, v.color, v.name);
        if v.json {
            for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let value: serde_json::Value = serde_json::from_slice(line)
                    .unwrap_or_else(|e| panic!("JSON line does not parse ({e}): {line:?}"));
                assert!(value.get("type").is_some(), "JSON record without a type");
            }
        }
    }
}

/// `synack read -`'s output options, parsed by clap once, as on the command line.
fn default_output_args() -> &'static OutputArgs {
    static ARGS: OnceLock<OutputArgs> = OnceLock::new();
    ARGS.get_or_init(
        || match Cli::try_parse_from(["synack", "read", "-"]).map(|c| c.command) {
            Ok(Command::Read(args)) => args.output,
            other => panic!("`synack read -` does not parse: {other:?}"),
        },
    )
}

/// A view writing into its own buffer, so each output can be checked alone.
#[derive(Clone)]
struct Captured {
    inner: Rc<RefCell<Box<dyn View>>>,
    out: Rc<RefCell<Vec<u8>>>,
    /// The view was built with colour on: our SGR sequences are allowed.
    color: bool,
    json: bool,
    name: &'static str,
}

impl Captured {
    fn new<V: View + 'static>(v: V, color: bool) -> Captured {
        Captured {
            inner: Rc::new(RefCell::new(Box::new(v))),
            out: Rc::default(),
            color,
            json: false,
            name: std::any::type_name::<V>(),
        }
    }

    fn json(mut self) -> Captured {
        self.json = true;
        self
    }
}

impl View for Captured {
    fn packet(&mut self, p: &Packet<'_>, _: &mut dyn Write) -> io::Result<()> {
        self.inner
            .borrow_mut()
            .packet(p, &mut *self.out.borrow_mut())
    }
    fn event(&mut self, e: &Event, _: &mut dyn Write) -> io::Result<()> {
        self.inner
            .borrow_mut()
            .event(e, &mut *self.out.borrow_mut())
    }
    fn connection(&mut self, c: &Connection, f: &Facts, _: &mut dyn Write) -> io::Result<()> {
        self.inner
            .borrow_mut()
            .connection(c, f, &mut *self.out.borrow_mut())
    }
    fn finish(&mut self, end: &RunEnd<'_>, _: &mut dyn Write) -> io::Result<()> {
        self.inner
            .borrow_mut()
            .finish(end, &mut *self.out.borrow_mut())
    }
}

/// Nothing in `out` may drive a terminal: valid UTF-8 with no C0 control
/// but newline, no DEL and no C1 control (U+0080 to U+009F, two bytes in
/// UTF-8: C2 80 to C2 9F); with `color`, an ESC may only start one of our
/// SGR sequences (`ESC [ digits/semicolons m`).
fn assert_terminal_safe(out: &[u8], color: bool, what: &str) {
    if let Err(e) = std::str::from_utf8(out) {
        panic!("{what}: output is not UTF-8 ({e}): {out:?}");
    }
    let mut at = 0;
    while at < out.len() {
        let b = out[at];
        let bad = match b {
            b'\n' => false,
            0x1b if color => {
                let sgr = out[at + 1..].strip_prefix(b"[").map(|rest| {
                    rest.iter()
                        .position(|&c| !(c.is_ascii_digit() || c == b';'))
                        .filter(|&end| rest[end] == b'm')
                });
                match sgr {
                    Some(Some(end)) => {
                        at += 2 + end;
                        false
                    }
                    _ => true,
                }
            }
            0..0x20 | 0x7f => true,
            0xc2 => matches!(out.get(at + 1), Some(0x80..0xa0)),
            _ => false,
        };
        assert!(
            !bad,
            "{what}: control byte {b:#04x} at {at} reaches the terminal: {:?}",
            String::from_utf8_lossy(out)
        );
        at += 1;
    }
}

/// Read every byte, so AddressSanitizer sees a slice that is not all there.
fn touch(data: &[u8]) {
    std::hint::black_box(data.iter().fold(0u8, |a, &b| a ^ b));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("fixtures/")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).expect("fixture")))
            .collect();
        files.sort();
        files
    }

    /// The harness itself runs under `cargo test`: every fixture goes
    /// through each entry point and meets every output invariant.
    #[test]
    fn every_fixture_passes_the_harness() {
        let mut records = 0;
        for (name, bytes) in fixtures() {
            records += classic_reader(&bytes) + pcapng_reader(&bytes);
            decode_frame(&bytes);
            pipeline(&bytes);
            // Other lengths pick other output options (and add a cut record).
            if bytes.len() < 2000 {
                for extra in 1..12 {
                    let mut longer = bytes.clone();
                    longer.resize(bytes.len() + extra, 0);
                    pipeline(&longer);
                }
            }
            eprintln!("{name}: ok");
        }
        assert!(records > 700, "{records} records read");
    }

    #[test]
    fn the_terminal_check_fails_on_controls_and_passes_sgr() {
        assert_terminal_safe(b"ok \xe2\x9c\x93\n", false, "plain");
        assert_terminal_safe(b"\x1b[1;31mred\x1b[0m\n", true, "sgr");
        for bad in [
            &b"\x1b[31m"[..],
            b"\x1b]0;t\x07",
            b"\r",
            b"\x7f",
            b"\xc2\x9b",
            b"\x9b",
        ] {
            let caught = std::panic::catch_unwind(|| assert_terminal_safe(bad, false, "bad"));
            assert!(caught.is_err(), "{bad:?} passed");
        }
        let caught =
            std::panic::catch_unwind(|| assert_terminal_safe(b"\x1b]0;t\x07", true, "osc"));
        assert!(caught.is_err(), "an OSC passed as colour");
    }
}
