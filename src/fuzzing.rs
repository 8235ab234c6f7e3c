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

use crate::app::{analyzer_config, read_one, Engine, Pipeline};
use crate::capture::classic::{ClassicReader, Header};
use crate::capture::pcapng::{is_pcapng, PcapngReader};
use crate::capture::{FileSource, Input};
use crate::cli::{Cli, Command, OutputArgs};
use crate::views::graph::GraphView;
use crate::views::json::JsonView;
use crate::views::ladder::LadderView;
use crate::views::lines::LinesView;
use crate::views::mermaid::MermaidView;
use crate::views::svg::SvgView;
use crate::views::table::TableView;
use crate::views::time::TimeFormat;
use crate::views::zeek::ZeekView;
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

/// Decode one frame: the first byte picks the link type (an index into
/// `LinkKind::DLTS`, modulo its length), the rest is the frame.
pub fn decode_frame(data: &[u8]) {
    use synack_core::decode::link::LinkKind;
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let dlt = LinkKind::DLTS[usize::from(pick) % LinkKind::DLTS.len()];
    let Some(kind) = LinkKind::from_dlt(dlt) else {
        unreachable!("DLTS lists only link types from_dlt knows");
    };
    std::hint::black_box(synack_core::decode::decode(kind, frame));
}

/// A whole capture (classic pcap or pcapng, plain or compressed) as
/// `synack read -` reads it: the file reader, the analyzer, and every view,
/// each writing into its own buffer. Twice: with packets shown (lines, JSON,
/// ladder in Unicode and ASCII, Mermaid, the SVG ladders, the time-sequence
/// graphs and the HTML report), and as a summary (table, JSON connection
/// records, Zeek's conn.log as text and JSON).
///
/// The input's length picks the output options (time format, colour,
/// width, `-e -N --why --nano`, `-S`, `-v`, the `-x/-X/-A` dumps, Chinese),
/// so the corpus covers them without spending bytes of the capture on it.
///
/// Panics if any output is not valid UTF-8, holds a control character
/// other than newline (or, with colour, than our own SGR sequences), if a
/// JSON line does not parse, if an SVG is not well-formed markup of
/// synack's own elements, or if the report's JSON data does not parse.
pub fn pipeline(data: &[u8]) {
    let variant = data.len();
    let lang = if variant % 5 == 2 {
        crate::lang::Lang::Zh
    } else {
        crate::lang::Lang::En
    };
    crate::lang::speaking(lang, || pipeline_in(data, variant));
}

fn pipeline_in(data: &[u8], variant: usize) {
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
    opts.time = Some(times[variant % times.len()]);
    let detailed = variant % 4 < 2;
    (opts.link_header, opts.number, opts.why, opts.nano) = (detailed, detailed, detailed, detailed);
    opts.absolute = variant % 5 == 0;
    opts.no_options = variant % 11 == 3;
    // tcpdump's letters: -v, and one dump style (-x, -X, -A; doubled: from the link header).
    opts.tcpdump.verbose = u8::from(variant % 7 < 3);
    let level = 1 + u8::from(variant % 13 < 4);
    match (variant / 7) % 4 {
        0 => opts.tcpdump.hex = level,
        1 => opts.tcpdump.hex_ascii = level,
        2 => opts.tcpdump.ascii_dump = level,
        _ => {}
    }

    // Packets shown: the analyzer holds packets back until their states are proven.
    let time_wait_ns = i128::try_from(opts.time_wait.as_nanos()).unwrap_or(i128::MAX);
    let views = [
        Captured::new(LinesView::new(opts.line_options()), Output::Text { color }),
        Captured::new(JsonView::new(true, opts.json_extras()), Output::Json),
        Captured::new(LadderView::new(look, false), Output::Text { color }),
        Captured::new(LadderView::new(look, true), Output::Text { color }),
        Captured::new(MermaidView::default(), Output::Text { color: false }),
        Captured::new(SvgView::default(), Output::Svg),
        Captured::new(GraphView::default(), Output::Svg),
        Captured::new(
            crate::report::view(1 + variant % 4, time_wait_ns, vec!["-".into()]),
            Output::Html,
        ),
    ];
    run(data, &opts, &views, Lookahead::FILE);

    // A summary: nothing is held back.
    let mut summary = opts.clone();
    summary.summary = true;
    let views = [
        Captured::new(
            TableView::new(look, opts.time_format(), opts.nano),
            Output::Text { color },
        ),
        Captured::new(JsonView::new(false, opts.json_extras()), Output::Json),
        Captured::new(ZeekView::new(false), Output::Text { color: false }),
        Captured::new(ZeekView::new(true), Output::Json),
    ];
    run(data, &summary, &views, Lookahead::FILE);
}

fn run(data: &[u8], opts: &OutputArgs, views: &[Captured], lookahead: Lookahead) {
    let boxed: Vec<Box<dyn View>> = views
        .iter()
        .map(|v| Box::new(v.clone()) as Box<dyn View>)
        .collect();
    let mut pipe = Engine::One(Box::new(Pipeline::new(
        io::sink(),
        boxed,
        analyzer_config(opts, lookahead),
        None,
    )));
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
    pipe.finish().expect("views write into memory");
    assert_terminal_safe(&err, false, "stderr");
    for v in views {
        let out = v.out.borrow();
        match v.output {
            Output::Text { color } => assert_terminal_safe(&out, color, v.name),
            Output::Json => {
                assert_terminal_safe(&out, false, v.name);
                for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let value: serde_json::Value =
                        serde_json::from_slice(line).unwrap_or_else(|e| {
                            panic!("{}: JSON line does not parse ({e}): {line:?}", v.name)
                        });
                    assert!(value.is_object(), "{}: JSON line not an object", v.name);
                }
            }
            Output::Svg => {
                assert_terminal_safe(&out, false, v.name);
                if !out.is_empty() {
                    assert_markup(&out, v.name);
                }
            }
            Output::Html => {
                assert_terminal_safe(&out, false, v.name);
                assert_report(&out);
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

/// What a view writes, for the checks made on it.
#[derive(Clone, Copy)]
enum Output {
    /// Text for a terminal; with `color`, our SGR sequences are allowed.
    Text { color: bool },
    /// JSON, one record a line.
    Json,
    /// One SVG document.
    Svg,
    /// The report's HTML page.
    Html,
}

/// A view writing into its own buffer, so each output can be checked alone.
#[derive(Clone)]
struct Captured {
    inner: Rc<RefCell<Box<dyn View>>>,
    out: Rc<RefCell<Vec<u8>>>,
    output: Output,
    name: &'static str,
}

impl Captured {
    fn new<V: View + 'static>(v: V, output: Output) -> Captured {
        Captured {
            inner: Rc::new(RefCell::new(Box::new(v))),
            out: Rc::default(),
            output,
            name: std::any::type_name::<V>(),
        }
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
    fn settled(&mut self, c: &Connection, f: &Facts, _: &mut dyn Write) -> io::Result<()> {
        self.inner
            .borrow_mut()
            .settled(c, f, &mut *self.out.borrow_mut())
    }
    fn forget(&mut self, conn: u64) {
        self.inner.borrow_mut().forget(conn);
    }
    fn finish(&mut self, end: &RunEnd<'_>, _: &mut dyn Write) -> io::Result<()> {
        self.inner
            .borrow_mut()
            .finish(end, &mut *self.out.borrow_mut())
    }
}

/// Elements and attributes that would run script or embed other markup:
/// synack never writes them, so one in its output came from the input.
const FORBIDDEN_ELEMENTS: &[&str] = &["script", "foreignObject", "iframe", "object", "embed"];

/// `out` is one well-formed SVG document: one `svg` root, every element
/// closed in order, attribute values quoted without `<`, every `&` an
/// entity, no element that runs script and no `on…` attribute. Text from a
/// capture that slipped through unescaped breaks one of these.
fn assert_markup(out: &[u8], what: &str) {
    let text = std::str::from_utf8(out).unwrap_or_default();
    let fail = |why: &str, at: usize| -> ! {
        let around: String = text[at..].chars().take(120).collect();
        panic!("{what}: {why} at byte {at}: {around}");
    };
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let Some(lt) = rest.find(['<', '&']) else {
            if !stack.is_empty() {
                fail("text outside the root element", at);
            }
            break;
        };
        if !rest[..lt].trim().is_empty() && stack.is_empty() {
            fail("text outside the root element", at);
        }
        at += lt;
        let rest = &text[at..];
        if rest.starts_with('&') {
            at += entity(rest).unwrap_or_else(|| fail("a bare '&'", at));
            continue;
        }
        if let Some(body) = rest.strip_prefix("<!--") {
            let end = body
                .find("-->")
                .unwrap_or_else(|| fail("an open comment", at));
            if body[..end].contains("--") {
                fail("'--' inside a comment", at);
            }
            at += 4 + end + 3;
            continue;
        }
        if rest.starts_with("<?xml") || rest.starts_with("<!DOCTYPE") {
            if !stack.is_empty() {
                fail("a declaration inside the root", at);
            }
            at += rest
                .find('>')
                .unwrap_or_else(|| fail("an open declaration", at))
                + 1;
            continue;
        }
        let close = rest.starts_with("</");
        let name_from = if close { 2 } else { 1 };
        let name_len = rest[name_from..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')))
            .unwrap_or(rest.len() - name_from);
        let name = &rest[name_from..name_from + name_len];
        if name.is_empty() {
            fail("a bare '<'", at);
        }
        if FORBIDDEN_ELEMENTS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name))
        {
            fail("an element that runs script", at);
        }
        let mut i = name_from + name_len;
        if close {
            let end = rest[i..]
                .find('>')
                .unwrap_or_else(|| fail("an open end tag", at));
            if !rest[i..i + end].trim().is_empty() || stack.pop() != Some(name) {
                fail("an end tag that closes nothing open", at);
            }
            at += i + end + 1;
            continue;
        }
        // Attributes, up to '>' or '/>'.
        let bytes = rest.as_bytes();
        let empty = loop {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            match bytes.get(i) {
                Some(b'>') => break false,
                Some(b'/') if bytes.get(i + 1) == Some(&b'>') => {
                    i += 1;
                    break true;
                }
                Some(c) if c.is_ascii_alphabetic() => {}
                _ => fail("a broken start tag", at + i),
            }
            let attr_len = rest[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')))
                .unwrap_or(0);
            let attr = &rest[i..i + attr_len];
            if attr.len() > 2 && attr[..2].eq_ignore_ascii_case("on") {
                fail("an event-handler attribute", at + i);
            }
            i += attr_len;
            let quote = match (bytes.get(i), bytes.get(i + 1)) {
                (Some(b'='), Some(&q)) if q == b'"' || q == b'\'' => q,
                _ => fail("an attribute without a quoted value", at + i),
            };
            i += 2;
            let len = rest[i..]
                .find(char::from(quote))
                .unwrap_or_else(|| fail("an open attribute value", at + i));
            let value = &rest[i..i + len];
            if value.contains('<') {
                fail("'<' in an attribute value", at + i);
            }
            let mut v = 0;
            while let Some(amp) = value[v..].find('&') {
                v += amp;
                v += entity(&value[v..])
                    .unwrap_or_else(|| fail("a bare '&' in an attribute", at + i + v));
            }
            i += len + 1;
        };
        if stack.is_empty() {
            roots += 1;
            if name != "svg" || roots > 1 {
                fail("a root element other than one <svg>", at);
            }
        }
        if !empty {
            stack.push(name);
        }
        at += i + 1;
    }
    if let Some(open) = stack.last() {
        panic!("{what}: <{open}> is never closed");
    }
    assert!(roots == 1, "{what}: no <svg> root");
}

/// The length of the entity reference at the start of `s` (`&amp;`, `&#60;`, `&#x3c;`).
fn entity(s: &str) -> Option<usize> {
    let end = s.get(1..)?.find(';')? + 1;
    let body = &s[1..end];
    let ok = match body.strip_prefix('#') {
        Some(n) => match n.strip_prefix('x') {
            Some(h) => !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()),
            None => !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()),
        },
        None => matches!(body, "amp" | "lt" | "gt" | "quot" | "apos"),
    };
    ok.then_some(end + 1)
}

/// The report page: its title is text, its one script is ours, and each
/// JSON script element parses (a `</script>` from the data would end it
/// early and leave the rest as markup).
fn assert_report(out: &[u8]) {
    let html = std::str::from_utf8(out).unwrap_or_default();
    let title = html
        .split_once("<title>")
        .and_then(|(_, t)| t.split_once("</title>"))
        .map(|(t, _)| t)
        .expect("report: no <title>");
    assert!(!title.contains('<'), "report: markup in the title: {title}");
    let mut scripts = 0;
    let mut rest = html;
    while let Some(at) = rest.find("<script") {
        let open_end = rest[at..].find('>').expect("report: an open <script") + at + 1;
        let close = rest[open_end..]
            .find("</script>")
            .expect("report: <script> never closed")
            + open_end;
        let tag = &rest[at..open_end];
        let body = &rest[open_end..close];
        if tag.contains(r#"type="application/json""#) {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(body) {
                panic!("report: {tag} does not hold JSON ({e}): {body}");
            }
        } else {
            scripts += 1;
        }
        rest = &rest[close + "</script>".len()..];
    }
    assert_eq!(scripts, 1, "report: {scripts} scripts, ours is one");
}

/// Nothing in `out` may drive a terminal: valid UTF-8 with no C0 control
/// but newline and tab, no DEL and no C1 control (U+0080 to U+009F, two bytes in
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
            b'\n' | b'\t' => false,
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
    fn the_markup_checks_fail_on_injected_markup() {
        let good = br#"<?xml version="1.0"?><svg a="1 &amp; 2"><g><text>a &lt; b</text><path d="M0"/></g><!-- x --></svg>"#;
        assert_markup(good, "good");
        for bad in [
            &br#"<svg><text><script>alert(1)</script></text></svg>"#[..],
            br#"<svg><text>a < b</text></svg>"#,
            br#"<svg><text>a & b</text></svg>"#,
            br#"<svg><text x="1" onclick="x()">a</text></svg>"#,
            br#"<svg><text x="<b>">a</text></svg>"#,
            br#"<svg><g></svg>"#,
            br#"<svg></svg><svg></svg>"#,
            br#"<svg><text>a</g></svg>"#,
        ] {
            let caught = std::panic::catch_unwind(|| assert_markup(bad, "bad"));
            assert!(caught.is_err(), "{} passed", String::from_utf8_lossy(bad));
        }
        let page = |data: &str| {
            format!(
                r#"<title>synack report: -</title><script type="application/json" id="data">{data}</script><script>js()</script>"#
            )
        };
        assert_report(page(r#"{"a":"<\/script>"}"#).as_bytes());
        for bad in [
            page(r#"{"a":"</script><script>x()</script>"}"#),
            page(r#"{"a":1"#),
            page("{}").replace("-</title>", "<b>x</b></title>"),
        ] {
            let caught = std::panic::catch_unwind(|| assert_report(bad.as_bytes()));
            assert!(caught.is_err(), "{bad} passed");
        }
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
