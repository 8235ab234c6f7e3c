//! Frames in, views out: the capture hands frames to synack-core's
//! analyzer, which hands packets, events and connection facts to the views.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use synack_core::analyzer::{AnalyzerConfig, Lookahead};
use synack_core::counts::CaptureStats;
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};
use synack_core::shard::Shard;
use synack_core::Analyzer;

use crate::capture::live::LiveSource;
use crate::capture::{check_filter, FileFrame, FileSource, FilterSet, Next};
use crate::cli::{is_pcapng_name, LiveArgs, OutputArgs, ReadConfig, View as ViewKind};
use crate::error::{Error, Result};
use crate::escape::Escaped;
use crate::lang::tr;
use crate::output::AsyncOut;
use crate::parallel::{Hand, ThreadViews, Threaded};
use crate::views::annotated_pcapng::AnnotatedPcapng;
use crate::views::charset::{self, AsciiOut};
use crate::views::json::JsonView;
use crate::views::ladder::LadderView;
use crate::views::lines::LinesView;
use crate::views::mermaid::MermaidView;
use crate::views::only::{Choose, Only};
use crate::views::table::TableView;
use crate::views::zeek::ZeekView;
use crate::views::{Look, OnlyConn, RunEnd, Section, ShardRun, View, ViewSet};

/// How output should look on this process's stdout: decided once.
pub(crate) fn stdout_look() -> Look {
    let terminal = io::stdout().is_terminal();
    Look {
        width: terminal_width(terminal).map(usize::from),
        color: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        terminal,
    }
}

/// How output should look where it goes: a file (`-o`) gets neither
/// colour nor a terminal's width.
pub(crate) fn output_look(opts: &OutputArgs) -> Look {
    if opts.output.is_some() {
        return Look {
            width: None,
            color: false,
            terminal: false,
        };
    }
    stdout_look()
}

/// The views the output options ask for.
pub(crate) fn views_for(opts: &OutputArgs, look: Look) -> Vec<Box<dyn View>> {
    let view: Box<dyn View> = if opts.zeek {
        Box::new(ZeekView::new(opts.json))
    } else if opts.json {
        Box::new(JsonView::new(!opts.summary, opts.json_extras()))
    } else if opts.summary {
        Box::new(TableView::new(look, opts.time_format(), opts.nano))
    } else {
        match opts.view {
            ViewKind::Ladder => Box::new(LadderView::new(look, opts.ascii || charset::ascii())),
            ViewKind::Mermaid => Box::new(MermaidView::default()),
            ViewKind::Svg => Box::new(crate::views::svg::SvgView::default()),
            ViewKind::Graph => Box::new(crate::views::graph::GraphView::default()),
            ViewKind::Lines => Box::new(LinesView::new(opts.line_options())),
        }
    };
    let view: Box<dyn View> = match &opts.only {
        Some(expr) => {
            // The table and the diagrams show whole connections.
            let choose = if opts.summary || opts.zeek || opts.view != ViewKind::Lines {
                Choose::Connections
            } else {
                Choose::Packets
            };
            Box::new(Only::new(expr.clone(), choose, BoxedView(view)))
        }
        None => view,
    };
    match opts.conn {
        Some(id) => vec![Box::new(OnlyConn {
            id,
            inner: BoxedView(view),
        })],
        None => vec![view],
    }
}

/// A boxed view is a view (so wrappers can take either).
struct BoxedView(Box<dyn View>);

impl View for BoxedView {
    fn packet(&mut self, p: &synack_core::Packet<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.packet(p, out)
    }
    fn event(&mut self, e: &synack_core::track::Event, out: &mut dyn Write) -> io::Result<()> {
        self.0.event(e, out)
    }
    fn connection(
        &mut self,
        c: &synack_core::track::Connection,
        f: &synack_core::track::Facts,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.0.connection(c, f, out)
    }
    fn settled(
        &mut self,
        c: &synack_core::track::Connection,
        f: &synack_core::track::Facts,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.0.settled(c, f, out)
    }
    fn forget(&mut self, conn: u64) {
        self.0.forget(conn);
    }
    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.0.finish(end, out)
    }
}

/// What the analyzer needs from the output options: packets in order with
/// proven states only when some view shows packets.
pub(crate) fn analyzer_config(opts: &OutputArgs, lookahead: Lookahead) -> AnalyzerConfig {
    AnalyzerConfig {
        tracker: opts.tracker_config(),
        lookahead: (!opts.summary && !opts.zeek).then_some(lookahead),
        // Live, a ladder is drawn when its exchange ends, not 2MSL later.
        settled: lookahead == Lookahead::LIVE,
    }
}

/// Frames in, views out; owns the analyzer.
pub(crate) struct Pipeline<W: Write> {
    pub(crate) out: W,
    analyzer: Analyzer,
    views: Vec<Box<dyn View>>,
    errors: Vec<String>,
    limit: Option<u64>,
    frames: u64,
    /// `--shard`: only this shard's connections; the others' frames only move the clock.
    shard: Option<Shard>,
    skipped: u64,
    /// Live capture: the kernel's counters, for the summary.
    pub(crate) kernel: Option<CaptureStats>,
    /// Live capture to a terminal: flush after every frame.
    pub(crate) flush_each: bool,
    input_done: bool,
}

impl<W: Write> Pipeline<W> {
    pub(crate) fn new(
        out: W,
        views: Vec<Box<dyn View>>,
        cfg: AnalyzerConfig,
        limit: Option<u64>,
    ) -> Pipeline<W> {
        Pipeline {
            out,
            analyzer: Analyzer::new(cfg),
            views,
            errors: Vec::new(),
            limit,
            frames: 0,
            shard: None,
            skipped: 0,
            kernel: None,
            flush_each: false,
            input_done: false,
        }
    }

    /// Add a view (the demo's kernel check watches the same run).
    pub(crate) fn add_view(&mut self, v: Box<dyn View>) {
        self.views.push(v);
    }

    /// The `-c` limit was reached.
    pub(crate) fn done(&self) -> bool {
        self.limit.is_some_and(|n| self.frames >= n)
    }

    fn sink(&mut self) -> (&mut Analyzer, ViewSet<'_>) {
        (
            &mut self.analyzer,
            ViewSet {
                views: &mut self.views,
                out: &mut self.out,
            },
        )
    }

    /// Handle only the connections of `shard` (`--shard`).
    pub(crate) fn set_shard(&mut self, shard: Option<Shard>) {
        self.shard = shard;
    }

    pub(crate) fn frame(&mut self, frame: &Frame<'_>, link: LinkKind) -> io::Result<()> {
        if self.shard.is_some_and(|s| !s.owns(link, frame)) {
            return self.skip(frame);
        }
        self.frames += 1;
        let (a, mut sink) = self.sink();
        a.frame(frame, link, &mut sink)?;
        self.after_frame()
    }

    /// A frame from an interface whose link type synack does not decode.
    pub(crate) fn unsupported_frame(&mut self, frame: &Frame<'_>, dlt: i32) -> io::Result<()> {
        if self.shard.is_some_and(|s| s.index != 0) {
            return self.skip(frame);
        }
        self.frames += 1;
        let (a, mut sink) = self.sink();
        a.unsupported_frame(frame, dlt, &mut sink)?;
        self.after_frame()
    }

    /// Another shard's frame: read, not tracked; its time still runs the clock.
    fn skip(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        self.frames += 1;
        self.skipped += 1;
        let (a, mut sink) = self.sink();
        a.tick(frame.ts, &mut sink)
    }

    fn after_frame(&mut self) -> io::Result<()> {
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Live: time passed with no frame; timers run, held packets go out.
    pub(crate) fn tick(&mut self, now: Timestamp) -> io::Result<()> {
        let (a, mut sink) = self.sink();
        a.tick(now, &mut sink)?;
        self.out.flush()
    }

    /// Hand on what the analyzer holds (before an error is reported).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let (a, mut sink) = self.sink();
        a.flush(&mut sink)?;
        self.out.flush()
    }

    /// Remember an input error for the summary (it was already reported).
    pub(crate) fn note_error(&mut self, e: &Error) {
        self.errors.push(e.to_string());
    }

    /// The input is over: everything held goes out and every connection retires.
    pub(crate) fn end_input(&mut self) -> io::Result<()> {
        if self.input_done {
            return Ok(());
        }
        self.input_done = true;
        let (a, mut sink) = self.sink();
        a.finish(&mut sink)
    }

    /// End the run: every view says its last word, with `sections` added.
    pub(crate) fn finish(&mut self, sections: &[&dyn Section]) -> io::Result<()> {
        self.end_input()?;
        let counts = self.analyzer.counts();
        let pressure = self.analyzer.pressure();
        let shard = self.shard.map(|shard| ShardRun {
            shard,
            frames_read: self.frames,
            skipped: self.skipped,
        });
        let end = RunEnd {
            counts: &counts,
            errors: &self.errors,
            kernel: self.kernel,
            sections,
            pressure: &pressure,
            shard: shard.as_ref(),
        };
        for v in self.views.iter_mut() {
            v.finish(&end, &mut self.out)?;
        }
        self.out.flush()
    }

    /// `--conn N` named a connection the input does not have: say so.
    pub(crate) fn missing_conn(&self, wanted: Option<u64>) -> Option<String> {
        missing_conn(self.analyzer.counts().connections, wanted)
    }

    /// What the capture shows so far about load on hosts and listeners.
    pub(crate) fn pressure(&self) -> synack_core::pressure::PressureFacts {
        self.analyzer.pressure()
    }

    /// Frames handed in so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }
}

/// `--conn N` named a connection the input does not have (it has `n`): say
/// so, with how many there are (they are numbered from 1 in first-seen order).
fn missing_conn(n: u64, wanted: Option<u64>) -> Option<String> {
    let id = wanted.filter(|id| *id > n)?;
    Some(match n {
        0 => format!("no connection #{id}: the input has no TCP connection"),
        1 => format!("no connection #{id}: the input has one TCP connection, #1"),
        n => format!("no connection #{id}: the input has {n} TCP connections, #1 to #{n}"),
    })
}

/// `synack read`'s engine: one analyzer, or several threads' (`--threads`).
pub(crate) enum Engine<W: Write> {
    One(Box<Pipeline<W>>),
    Threads(Box<Threaded<W>>),
}

impl<W: Write + Send + 'static> Engine<W> {
    fn done(&self) -> bool {
        match self {
            Engine::One(p) => p.done(),
            Engine::Threads(t) => t.done(),
        }
    }
    fn frame(&mut self, frame: &Frame<'_>, link: LinkKind) -> io::Result<()> {
        match self {
            Engine::One(p) => p.frame(frame, link),
            Engine::Threads(t) => t.frame(frame, link),
        }
    }
    fn unsupported_frame(&mut self, frame: &Frame<'_>, dlt: i32) -> io::Result<()> {
        match self {
            Engine::One(p) => p.unsupported_frame(frame, dlt),
            Engine::Threads(t) => t.unsupported_frame(frame, dlt),
        }
    }
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Engine::One(p) => p.flush(),
            Engine::Threads(t) => t.flush(),
        }
    }
    pub(crate) fn note_error(&mut self, e: &Error) {
        match self {
            Engine::One(p) => p.note_error(e),
            Engine::Threads(t) => t.note_error(e),
        }
    }
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        match self {
            Engine::One(p) => p.finish(&[]),
            Engine::Threads(t) => t.finish(&[]),
        }
    }
    fn frames(&self) -> u64 {
        match self {
            Engine::One(p) => p.frames(),
            Engine::Threads(t) => t.frames(),
        }
    }
    fn missing_conn(&self, wanted: Option<u64>) -> Option<String> {
        match self {
            Engine::One(p) => p.missing_conn(wanted),
            Engine::Threads(t) => missing_conn(t.connections(), wanted),
        }
    }
}

/// The width to fit: `COLUMNS`, else the terminal's, else none (a pipe).
fn terminal_width(terminal: bool) -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(c);
    }
    if !terminal {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct for a terminal fd; we checked it is one.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some(ws.ws_col)
    }
}

/// How a run ended, for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Clean,
    /// Some input could not be read completely (each was reported on stderr).
    InputErrors,
}

/// Where the output goes: `-o FILE`, or stdout, through the `--ascii` net.
/// Sendable, so live output can go through its own thread; stdout is not
/// locked for the whole run (the demo's scenario thread writes to it too).
pub(crate) fn output(path: Option<&str>) -> Result<Box<dyn Write + Send>> {
    Ok(match path {
        None => Box::new(io::BufWriter::with_capacity(
            1 << 16,
            AsciiOut::new(io::stdout()),
        )),
        Some(p) => Box::new(io::BufWriter::with_capacity(
            1 << 16,
            AsciiOut::new(create(p)?),
        )),
    })
}

/// Where an HTML document goes (`synack report`): `-o FILE`, or stdout. It
/// declares UTF-8 and is read by a browser, so no character is changed:
/// the `--ascii` net would turn a `◀` into a `<` inside markup.
pub(crate) fn document(path: Option<&str>) -> Result<Box<dyn Write + Send>> {
    Ok(match path {
        None => Box::new(io::BufWriter::with_capacity(1 << 16, io::stdout())),
        Some(p) => Box::new(io::BufWriter::with_capacity(1 << 16, create(p)?)),
    })
}

fn create(path: &str) -> Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| Error::Create {
        path: path.to_string(),
        // "No such file or directory", without "(os error 2)".
        reason: e
            .to_string()
            .split(" (os error")
            .next()
            .unwrap_or("")
            .to_string(),
    })
}

/// `synack read`: every input in order, through one pipeline (of one
/// analyzer, or of `--threads` analyzer threads).
pub(crate) fn read(
    cfg: &ReadConfig,
    out: impl Write + Send + 'static,
    err: &mut impl Write,
) -> Result<Outcome> {
    read_views(cfg, None, out, err)
}

/// Read every input in order through `views` (the report's, not chosen
/// by the output options).
pub(crate) fn read_with(
    cfg: &ReadConfig,
    views: Vec<Box<dyn View>>,
    out: impl Write + Send + 'static,
    err: &mut impl Write,
) -> Result<Outcome> {
    read_views(cfg, Some(views), out, err)
}

/// Read every input through `views`, or the views the output options ask for.
fn read_views(
    cfg: &ReadConfig,
    views: Option<Vec<Box<dyn View>>>,
    out: impl Write + Send + 'static,
    err: &mut impl Write,
) -> Result<Outcome> {
    if let Some(f) = &cfg.filter {
        check_filter(f)?;
    }
    let opts = &cfg.output;
    let look = output_look(opts);
    let given = views.is_some();
    let mut views = views.unwrap_or_else(|| views_for(opts, look));
    let mut analyzer = analyzer_config(opts, Lookahead::FILE);
    if let Some(w) = &cfg.write {
        views.push(annotated_copy(w, opts)?);
        // Comments carry proven states: the look-ahead runs even for tables.
        analyzer.lookahead = Some(Lookahead::FILE);
    }
    let mut pipe = if cfg.threads > 1 {
        // Views given by the caller see whole packets.
        let hand = match given {
            true => Hand::Packets,
            false => thread_hand(opts, cfg.write.is_some()),
        };
        let views = match hand {
            // Made again on the views' own thread (views that show only
            // connections are built from the options alone).
            Hand::Connections => {
                drop(views);
                let opts = opts.clone();
                ThreadViews::Apart(Box::new(move || views_for(&opts, look)))
            }
            _ => ThreadViews::Here(views),
        };
        let mut t = Threaded::new(out, views, analyzer, opts.count, cfg.threads, hand)?;
        t.set_shard(cfg.shard);
        Engine::Threads(Box::new(t))
    } else {
        let mut p = Pipeline::new(out, views, analyzer, opts.count);
        p.set_shard(cfg.shard);
        Engine::One(Box::new(p))
    };
    let mut outcome = Outcome::Clean;
    let mut number_offset = 0;
    let mut failed = 0;
    for input in &cfg.inputs {
        if pipe.done() {
            break;
        }
        let result = FileSource::open(input, cfg.filter.as_deref())
            .and_then(|mut src| read_one(&mut src, &mut pipe, opts, number_offset, err));
        match result {
            Ok(records) => number_offset += records,
            Err(e) if matches!(e, Error::Output(_)) => return Err(e),
            Err(e) => {
                if let Error::Truncated { last_frame, .. } | Error::Read { last_frame, .. } = &e {
                    number_offset += last_frame;
                }
                pipe.flush()?;
                writeln!(err, "synack: {e}")?;
                pipe.note_error(&e);
                outcome = Outcome::InputErrors;
                failed += 1;
            }
        }
    }
    if failed == cfg.inputs.len() && pipe.frames() == 0 {
        // Nothing was read: the errors said it all, a "0 frames" summary adds nothing.
        return Ok(outcome);
    }
    pipe.finish()?;
    if let Some(line) = pipe.missing_conn(opts.conn) {
        writeln!(err, "synack: {line}")?;
        outcome = Outcome::InputErrors;
    }
    if let Engine::Threads(t) = &pipe {
        if t.cap_reached() {
            let (threads, cap) = (cfg.threads, opts.max_connections);
            let note = tr!(
                "the {threads} threads together held up to --max-connections ({cap}) connections: one thread would have evicted the least recently active ones, each of these evicts only at that cap of its own, so the output may differ from --threads 1's",
                "{threads} 个线程合起来持有的连接达到了 --max-connections ({cap})：单线程会清除最久不活动的连接，而这里每个线程只在自己达到这个上限时才清除，所以输出可能与 --threads 1 不同"
            );
            writeln!(err, "synack: {note}")?;
        }
    }
    Ok(outcome)
}

/// What analyzer threads hand on of their frames, for these views: JSON
/// records they write themselves, when JSON is all there is; only the
/// connections, when the views show only connections; else whole packets.
fn thread_hand(opts: &OutputArgs, annotated_copy: bool) -> Hand {
    let filtered = opts.only.is_some() || opts.conn.is_some() || annotated_copy;
    if opts.json && !opts.zeek && !filtered {
        Hand::Json {
            packets: !opts.summary,
            extras: opts.json_extras(),
        }
    } else if (opts.summary || opts.zeek) && opts.only.is_none() && !annotated_copy {
        Hand::Connections
    } else {
        Hand::Packets
    }
}

/// `synack live`: capture until Ctrl-C (or `-c`), annotating as frames
/// arrive. Output goes through a thread, so nothing stdout does can hold
/// the capture up: every frame reaches the savefile, and Ctrl-C, SIGTERM
/// and SIGHUP stop it at once.
pub(crate) fn live(
    args: &LiveArgs,
    out: impl Write + Send + 'static,
    err: &mut impl Write,
) -> Result<Outcome> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let filter = args.filter();
    let mut src = LiveSource::open(&args.interface, filter.as_deref(), args.buffer_kib)?;
    drop_privileges()?;
    let annotated = args.write.as_deref().filter(|w| is_pcapng_name(w));
    if annotated.is_some() && args.rotation().rotates() {
        return Err(Error::Usage(
            crate::lang::pick(
                "-C, -W and -G rotate classic pcap files; the annotated .pcapng is one file (name it .pcap to rotate)",
                "-C、-W 和 -G 轮换的是经典 pcap 文件；带注释的 .pcapng 只能是一个文件 (要轮换，请把文件名改为 .pcap)",
            )
            .into(),
        ));
    }
    if let Some(w) = args.write.as_deref().filter(|w| !is_pcapng_name(w)) {
        src.save_to(w, args.rotation())?;
    }
    // On stderr even with --json, as tcpdump does: it says the capture is open.
    let (name, desc) = src.link_names();
    let (name, desc) = (Escaped(&name), Escaped(&desc));
    // Interface names come from the OS (a Linux interface name may hold an ESC).
    let (device, snaplen) = (Escaped(src.device()), crate::capture::live::SNAPLEN);
    writeln!(
        err,
        "{}",
        tr!(
            "listening on {device}, link-type {name} ({desc}), snapshot length {snaplen} bytes",
            "正在 {device} 上监听，链路类型 {name} ({desc})，快照长度 {snaplen} 字节"
        )
    )?;
    err.flush()?;
    let opts = &args.output;
    let look = output_look(opts);
    let mut views = views_for(opts, look);
    let mut analyzer = analyzer_config(opts, Lookahead::LIVE);
    if let Some(w) = annotated {
        views.push(annotated_copy(w, opts)?);
        analyzer.lookahead = Some(Lookahead::LIVE);
    }
    let mut pipe = Pipeline::new(AsyncOut::new(out), views, analyzer, opts.count);
    // A person watching sees each packet at once; a pipe or file gets full
    // chunks (and a flush whenever the wire goes quiet).
    pipe.flush_each = look.terminal;
    let link = src.link();
    let mut outcome = Outcome::Clean;
    let mut reader_gone = false;
    match capture_until(&mut src, &mut pipe, &stop, link) {
        Ok(()) => {}
        Err(e) if e.is_broken_pipe() => reader_gone = true,
        Err(e) => {
            // The capture or the savefile failed: say so, and still close
            // the savefile and print the counters.
            writeln!(err, "synack: {e}")?;
            outcome = Outcome::InputErrors;
        }
    }
    let saved = match src.flush() {
        Ok(n) => n,
        Err(e) => {
            writeln!(err, "synack: {e}")?;
            outcome = Outcome::InputErrors;
            None
        }
    };
    let stats = src.stats();
    pipe.kernel = Some(stats);
    let frames = pipe.frames();
    if !reader_gone {
        let to_file = opts.output.is_some();
        let patience = if to_file {
            // A file is always being read: what is queued goes in whole (a
            // picture's document is written at the end, all at once).
            pipe.out.wait_for_room();
            std::time::Duration::from_secs(60)
        } else if stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::time::Duration::from_millis(300)
        } else {
            std::time::Duration::from_secs(5)
        };
        match pipe.finish(&[]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(line) = pipe.missing_conn(opts.conn) {
            writeln!(err, "synack: {line}")?;
            outcome = Outcome::InputErrors;
        }
        let dropped = pipe.out.dropped();
        if let Err(e) = pipe.out.close(patience) {
            let e = crate::lang::io_reason(&e);
            let line = tr!("writing the output failed: {e}", "写出输出失败：{e}");
            writeln!(err, "synack: {line}")?;
            outcome = Outcome::InputErrors;
        }
        if dropped > 0 {
            let line = tr!(
                "{dropped} bytes of output dropped: stdout was not being read (the capture and any -w file are complete)",
                "丢弃了 {dropped} 字节的输出：没有进程在读标准输出 (捕获和 -w 文件都是完整的)"
            );
            writeln!(err, "synack: {line}")?;
        }
    }
    if !args.output.json {
        let (received, dropped) = (stats.received, stats.dropped);
        writeln!(
            err,
            "{}",
            tr!(
                "{frames} packets captured\n{received} packets received by filter\n{dropped} packets dropped by kernel",
                "捕获了 {frames} 个分组\n过滤器收到 {received} 个分组\n内核丢弃了 {dropped} 个分组"
            )
        )?;
        if let (Some(w), Some(n)) = (&args.write, saved) {
            let w = crate::views::words::escaped(w);
            writeln!(
                err,
                "{}",
                tr!("{n} packets written to {w}", "已写入 {n} 个分组到 {w}")
            )?;
        }
    }
    Ok(outcome)
}

/// `-w FILE.pcapng`: the annotated copy of every frame, as a view.
fn annotated_copy(path: &str, opts: &OutputArgs) -> Result<Box<dyn View>> {
    let view = AnnotatedPcapng::create(path, opts.time_format(), opts.nano).map_err(|e| {
        Error::Create {
            path: path.to_string(),
            reason: crate::lang::io_reason(&e),
        }
    })?;
    Ok(Box::new(view))
}

/// The wall clock as a capture timestamp (live frames carry the same clock).
pub(crate) fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}

/// Feed live frames to the pipeline until `stop` is set or `-c` is reached.
/// While the wire is quiet, time still passes: TIME_WAITs expire on the
/// wall clock, held packets go out, and the savefile is written.
pub(crate) fn capture_until<W: Write>(
    src: &mut LiveSource,
    pipe: &mut Pipeline<W>,
    stop: &AtomicBool,
    link: LinkKind,
) -> Result<()> {
    while !pipe.done() {
        let mut idle_failed = None;
        let mut save_failed = None;
        let next = src.next_frame(stop, &mut |src| {
            if let Err(e) = pipe.tick(wall_clock()) {
                idle_failed = Some(e);
            }
            if let Err(e) = src.flush_savefile() {
                save_failed = Some(e);
            }
        })?;
        if let Some(e) = idle_failed {
            return Err(e.into());
        }
        if let Some(e) = save_failed {
            return Err(e);
        }
        match next {
            Some(frame) => pipe.frame(&frame, link)?,
            None => break,
        }
    }
    Ok(())
}

/// Started through sudo: go back to the invoking user once the capture is
/// open, as tcpdump -Z does, so nothing else runs as root.
fn drop_privileges() -> Result<()> {
    // SAFETY: plain syscalls on the current process.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let id = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    let (Some(uid), Some(gid)) = (id("SUDO_UID"), id("SUDO_GID")) else {
        return Ok(());
    };
    // SAFETY: setgroups/setgid/setuid on the current process; order matters
    // (groups and gid first, while still root).
    let failed = unsafe {
        libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
    };
    if failed {
        return Err(Error::Privileges {
            uid,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// `synack interfaces`: like tcpdump -D.
pub(crate) fn interfaces(out: &mut impl Write) -> Result<()> {
    let devices = pcap::Device::list().map_err(|e| Error::Open {
        path: crate::lang::pick("the interface list", "网卡列表").into(),
        reason: e.to_string(),
    })?;
    for (i, d) in devices.iter().enumerate() {
        let f = &d.flags.if_flags;
        let mut tags = Vec::new();
        if f.contains(pcap::IfFlags::UP) {
            tags.push("Up");
        }
        if f.contains(pcap::IfFlags::RUNNING) {
            tags.push("Running");
        }
        if f.contains(pcap::IfFlags::LOOPBACK) {
            tags.push("Loopback");
        }
        if f.contains(pcap::IfFlags::WIRELESS) {
            tags.push("Wireless");
        }
        match d.flags.connection_status {
            pcap::ConnectionStatus::Connected => tags.push("Connected"),
            pcap::ConnectionStatus::Disconnected => tags.push("Disconnected"),
            _ => {}
        }
        // Names and descriptions come from the OS (a Linux interface name may hold an ESC).
        write!(out, "{}.{}", i + 1, Escaped(&d.name))?;
        if let Some(desc) = &d.desc {
            write!(out, " ({})", Escaped(desc))?;
        }
        if tags.is_empty() {
            // tcpdump -D's word for an interface with no flags.
            tags.push("none");
        }
        writeln!(out, " [{}]", tags.join(", "))?;
    }
    Ok(())
}

const PROGRESS_MIN_BYTES: u64 = 32 << 20;

pub(crate) fn read_one<W: Write + Send + 'static>(
    src: &mut FileSource,
    pipe: &mut Engine<W>,
    opts: &OutputArgs,
    number_offset: u64,
    err: &mut impl Write,
) -> Result<u64> {
    if !opts.json {
        // The file name is the user's, but it may come from anywhere: escaped like capture text.
        let (name, desc) = src.link_names();
        let (name, desc) = (Escaped(&name), Escaped(&desc));
        let (file, snaplen) = (Escaped(src.name()), src.snaplen());
        writeln!(
            err,
            "{}",
            tr!(
                "reading from file {file}, link-type {name} ({desc}), snapshot length {snaplen}",
                "正在读取文件 {file}，链路类型 {name} ({desc})，快照长度 {snaplen}"
            )
        )?;
    }
    let mut filter: Option<FilterSet> = src.take_filter();
    let progress = progress_bar(src);
    loop {
        if pipe.done() {
            break;
        }
        let FileFrame { mut frame, dlt } = match src.next_frame()? {
            Next::Frame(f) => f,
            Next::End => break,
            Next::Quiet => {
                // The writer paused: show what is held rather than wait.
                pipe.flush()?;
                continue;
            }
        };
        if let Some(f) = &mut filter {
            if !f.matches(dlt, frame.data)? {
                continue;
            }
        }
        frame.number += number_offset;
        match LinkKind::from_dlt(dlt) {
            Some(link) => pipe.frame(&frame, link)?,
            // pcapng: an interface of a kind synack does not decode.
            None => pipe.unsupported_frame(&frame, dlt)?,
        }
        if let Some(bar) = &progress {
            if frame.number % 8192 == 0 {
                if let Some((pos, _)) = src.progress() {
                    bar.set_position(pos);
                }
            }
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(src.records())
}

/// A progress bar on stderr for long file reads, when a person is watching
/// stderr and the packets are going elsewhere.
fn progress_bar(src: &FileSource) -> Option<indicatif::ProgressBar> {
    let (_, size) = src.progress()?;
    if size < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() || io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(crate::lang::pick(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
            "{msg} [{bar:40}] {bytes}/{total_bytes} (还需 {eta})",
        ))
        .ok()?
        .progress_chars("=> "),
    );
    bar.set_message(Escaped(src.name()).to_string());
    Some(bar)
}
