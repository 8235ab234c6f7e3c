//! The pipeline: capture → decode → track → render, one frame at a time.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::capture::live::{KernelStats, LiveSource};
use crate::capture::{check_filter, FileFrame, FileSource, FilterSet};
use crate::cli::View;
use crate::cli::{LiveArgs, OutputArgs, ReadConfig};
use crate::decode::link::LinkKind;
use crate::decode::{self, Frame, Segment};
use crate::error::{Error, Result};
use crate::render::json::JsonRenderer;
use crate::render::ladder::{LadderOptions, LadderRenderer, Style};
use crate::render::lines::LineRenderer;
use crate::render::table::{self, ConnRow};
use crate::render::{Counts, PacketRecord};
use crate::track::{Event, Tracker};

enum Renderer {
    Lines(LineRenderer),
    Json(JsonRenderer),
    Ladder(LadderRenderer),
}

/// Colour only for a person at a terminal, and never with NO_COLOR set.
pub fn use_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Frames in, rendered text out; owns the tracker and the counts.
pub struct Pipeline<W: Write> {
    out: W,
    renderer: Renderer,
    tracker: Tracker,
    counts: Counts,
    errors: Vec<String>,
    limit: Option<u64>,
    /// `--summary`: no per-packet output, a table (or connection records) instead.
    summary_only: bool,
    time_wait_ns: i128,
    /// `--conn N`: only this connection's packets.
    only_conn: Option<u64>,
    rows: Vec<ConnRow>,
    /// Timer events are copied out of the tracker before rendering.
    pending: Vec<Event>,
    /// Live capture: the kernel's counters, for the summary.
    pub kernel: Option<KernelStats>,
    /// Live capture: flush after every frame so lines appear as packets do.
    pub flush_each: bool,
    /// The demo: remember each connection's final states for the kernel check.
    pub keep_final_states: bool,
    pub final_states: Vec<FinalStates>,
    /// The demo: the kernel check and what the applications saw.
    pub demo_report: Option<DemoReport>,
    closed: bool,
}

/// A connection's last states, kept for comparing with the kernel.
#[derive(Clone, Debug)]
pub struct FinalStates {
    pub conn: u64,
    pub client: std::net::SocketAddr,
    pub server: std::net::SocketAddr,
    pub states: [crate::track::TcpState; 2],
    pub close: Option<crate::track::event::CloseVariant>,
    /// A later connection took this 4-tuple: the kernel only knows the later one.
    pub replaced: bool,
}

/// What the demo adds to the summary.
#[derive(Clone, Debug)]
pub struct DemoReport {
    pub scenario: String,
    pub checks: Vec<crate::demo::StateCheck>,
    /// Errors the echo client's application saw (refused, reset…).
    pub app_errors: Vec<String>,
}

impl<W: Write> Pipeline<W> {
    pub fn new(out: W, opts: &OutputArgs) -> Pipeline<W> {
        let renderer = if opts.json {
            Renderer::Json(JsonRenderer::new())
        } else if opts.view != View::Lines && !opts.summary {
            Renderer::Ladder(LadderRenderer::new(LadderOptions {
                style: if opts.view == View::Mermaid {
                    Style::Mermaid
                } else {
                    Style::Ladder
                },
                width: usize::from(terminal_width().unwrap_or(100)),
                ascii: opts.ascii,
                color: use_color(),
                only: opts.conn,
            }))
        } else {
            Renderer::Lines(LineRenderer::new(opts.line_options()))
        };
        Pipeline {
            out,
            renderer,
            tracker: Tracker::new(opts.tracker_config()),
            counts: Counts::default(),
            errors: Vec::new(),
            limit: opts.count,
            summary_only: opts.summary,
            time_wait_ns: opts.tracker_config().time_wait_ns,
            only_conn: opts.conn,
            rows: Vec::new(),
            pending: Vec::new(),
            kernel: None,
            flush_each: false,
            keep_final_states: false,
            final_states: Vec::new(),
            demo_report: None,
            closed: false,
        }
    }

    /// The `-c` limit was reached.
    pub fn done(&self) -> bool {
        self.limit.is_some_and(|n| self.counts.frames >= n)
    }

    /// A frame from an interface whose link type synack does not decode:
    /// counted as undecodable and shown as such.
    pub fn unsupported_frame(&mut self, frame: &Frame<'_>, dlt: i32) -> Result<()> {
        let decoded = decode::Decoded {
            link: None,
            network: decode::Network::None,
            transport: decode::Transport::None,
            error: Some(decode::DecodeError::UnsupportedLink { dlt }),
        };
        self.render_frame(frame, None, decoded)
    }

    pub fn frame(&mut self, frame: &Frame<'_>, link: LinkKind) -> Result<()> {
        let decoded = decode::decode(link, frame.data);
        self.render_frame(frame, Some(link), decoded)
    }

    fn render_frame(
        &mut self,
        frame: &Frame<'_>,
        link: Option<LinkKind>,
        decoded: decode::Decoded<'_>,
    ) -> Result<()> {
        let segment = Segment::from_decoded(frame, &decoded);
        let observation = match &segment {
            Some(s) => Some(self.tracker.observe(s)),
            None => {
                self.tracker.tick(frame.ts);
                None
            }
        };
        let events = self.tracker.events();
        let split = events.iter().take_while(|e| e.frame.is_none()).count();
        self.pending.clear();
        self.pending.extend_from_slice(&events[..split]);
        for i in 0..self.pending.len() {
            let e = self.pending[i];
            self.timer_event(&e)?;
        }
        let rec = PacketRecord {
            frame,
            link,
            decoded: &decoded,
            segment: segment.as_ref(),
            observation: observation.as_ref(),
            events: &self.tracker.events()[split..],
        };
        self.counts.add(&rec);
        let shown = self
            .only_conn
            .is_none_or(|n| observation.is_some_and(|o| o.conn == n));
        if !self.summary_only && shown {
            let bytes = match &mut self.renderer {
                Renderer::Lines(r) => r.render(&rec)?,
                Renderer::Json(r) => r.render(&rec),
                Renderer::Ladder(r) => {
                    if let (Some(seg), Some(obs)) = (&segment, &observation) {
                        r.segment(seg, obs, rec.events);
                    }
                    &[]
                }
            };
            self.out.write_all(bytes)?;
        }
        self.retire()?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    fn timer_event(&mut self, e: &Event) -> Result<()> {
        if self.summary_only || self.only_conn.is_some_and(|n| n != e.conn) {
            return Ok(());
        }
        let bytes = match &mut self.renderer {
            Renderer::Lines(r) => r.render_event(e)?,
            Renderer::Json(r) => r.event(e),
            Renderer::Ladder(r) => {
                r.event(e);
                &[]
            }
        };
        self.out.write_all(bytes)?;
        Ok(())
    }

    /// Report connections the tracker let go of.
    fn retire(&mut self) -> Result<()> {
        while let Some((c, why)) = self.tracker.next_retired() {
            if self.keep_final_states {
                self.final_states.push(FinalStates {
                    conn: c.id,
                    client: c.client.addr,
                    server: c.server.addr,
                    states: c.states(),
                    close: c.close.variant,
                    replaced: why == crate::track::Retired::Reused,
                });
            }
            if self.only_conn.is_some_and(|n| n != c.id) {
                continue;
            }
            match &mut self.renderer {
                Renderer::Json(r) => self.out.write_all(r.connection(&c, why))?,
                Renderer::Ladder(r) => {
                    if let Some(text) = r.finish(&c, why, self.time_wait_ns) {
                        writeln!(self.out, "{text}")?;
                    }
                }
                Renderer::Lines(_) if self.summary_only => {
                    self.rows.push(ConnRow::of(&c, why));
                    if self.rows.len() >= TABLE_PAGE_ROWS {
                        self.flush_table()?;
                    }
                }
                Renderer::Lines(_) => {}
            }
        }
        Ok(())
    }

    /// Print the rows gathered so far as one table (in id order). Big captures
    /// get a table per page of rows, so memory stays bounded by the page.
    fn flush_table(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        self.rows.sort_by_key(|r| r.id);
        let rows = std::mem::take(&mut self.rows);
        let boxed = io::stdout().is_terminal();
        writeln!(self.out, "{}", table::render(rows, terminal_width(), boxed))?;
        Ok(())
    }

    /// Remember an input error for the summary (it was already reported).
    pub fn note_error(&mut self, e: &Error) {
        self.errors.push(e.to_string());
    }

    /// The input is over: report every connection still open.
    pub fn close_connections(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        self.tracker.finish();
        self.pending.clear();
        self.pending.extend_from_slice(self.tracker.events());
        for i in 0..self.pending.len() {
            let e = self.pending[i];
            self.timer_event(&e)?;
        }
        self.retire()
    }

    pub fn finish(mut self) -> Result<()> {
        self.close_connections()?;
        self.counts.connections = self.tracker.connections_seen();
        self.counts.evicted_idle = self.tracker.evicted_idle;
        self.counts.evicted_cap = self.tracker.evicted_cap;
        match &mut self.renderer {
            Renderer::Json(r) => {
                let bytes = r.summary(
                    &self.counts,
                    &self.errors,
                    self.kernel.as_ref(),
                    self.demo_report.as_ref(),
                );
                self.out.write_all(bytes)?;
            }
            Renderer::Ladder(r) if r.is_mermaid() => {}
            Renderer::Lines(_) | Renderer::Ladder(_) => {
                if self.summary_only {
                    self.flush_table()?;
                }
                if let Some(d) = &self.demo_report {
                    write_demo_report(&mut self.out, d, &self.final_states)?;
                }
                let c = &self.counts;
                // Writing into a String cannot fail.
                let mut line = String::new();
                writeln!(self.out)?;
                let _ = write!(
                    line,
                    "summary: {} frames ({} TCP, {} UDP, {} ICMP, {} ARP, {} IP fragments, {} other, {} undecodable), {} TCP connection{}, {} cut by snaplen",
                    c.frames,
                    c.tcp,
                    c.udp,
                    c.icmp,
                    c.arp,
                    c.fragments,
                    c.other,
                    c.undecodable,
                    c.connections,
                    if c.connections == 1 { "" } else { "s" },
                    c.cut_by_snaplen
                );
                if let Some(k) = &self.kernel {
                    let _ = write!(
                        line,
                        "; kernel: {} received, {} dropped, {} dropped by the interface",
                        k.received, k.dropped, k.if_dropped
                    );
                }
                if c.evicted_idle + c.evicted_cap > 0 {
                    let _ = write!(
                        line,
                        ", {} evicted idle, {} evicted at --max-connections",
                        c.evicted_idle, c.evicted_cap
                    );
                }
                if let Renderer::Ladder(r) = &self.renderer {
                    line = crate::render::ladder::wrap(&line, r.width());
                }
                writeln!(self.out, "{line}")?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

fn write_demo_report(out: &mut impl Write, d: &DemoReport, finals: &[FinalStates]) -> Result<()> {
    writeln!(
        out,
        "\nkernel check: synack's inferred final states beside /proc/net/tcp"
    )?;
    for c in &d.checks {
        writeln!(
            out,
            "  #{:<3} {:<6} {:<22} synack {:<11}  kernel {:<11}  {}",
            c.conn,
            c.side,
            c.addr.to_string(),
            c.synack.name(),
            c.kernel.name(),
            if c.agrees() { "✓" } else { "✗ differs" }
        )?;
    }
    let agree = d.checks.iter().filter(|c| c.agrees()).count();
    writeln!(out, "  {agree} of {} agree", d.checks.len())?;
    for e in &d.app_errors {
        writeln!(out, "the client application saw: {e}")?;
    }
    if d.scenario == "simultaneous-close" {
        let crossed = finals
            .iter()
            .filter(|f| f.close == Some(crate::track::event::CloseVariant::Simultaneous))
            .count();
        if crossed == 0 {
            writeln!(
                out,
                "the FINs did not cross this time (the race was missed): each close was ordinary; run it again"
            )?;
        } else {
            writeln!(
                out,
                "{crossed} of {} closes were simultaneous (FINs crossed)",
                finals.len()
            )?;
        }
    }
    Ok(())
}

/// The width to fit tables to: `COLUMNS`, else the terminal's, else none (a pipe).
pub fn terminal_width() -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(c);
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct for a terminal fd; we checked it is one.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some(ws.ws_col)
    }
}

/// Rows per `--summary` table: a page, for captures with very many connections.
const TABLE_PAGE_ROWS: usize = 1000;

/// How a run ended, for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// Some input could not be read completely (each was reported on stderr).
    InputErrors,
}

/// `synack read`: every input in order, through one pipeline.
pub fn read(cfg: &ReadConfig, out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    if let Some(f) = &cfg.filter {
        check_filter(f)?;
    }
    let mut pipe = Pipeline::new(out, &cfg.output);
    let mut outcome = Outcome::Clean;
    let mut number_offset = 0;
    for input in &cfg.inputs {
        if pipe.done() {
            break;
        }
        let result = FileSource::open(input, cfg.filter.as_deref())
            .and_then(|mut src| read_one(&mut src, &mut pipe, &cfg.output, number_offset, err));
        match result {
            Ok(records) => number_offset += records,
            Err(e) if matches!(e, Error::Output(_)) => return Err(e),
            Err(e) => {
                if let Error::Truncated { last_frame, .. } | Error::Read { last_frame, .. } = &e {
                    number_offset += last_frame;
                }
                pipe.out.flush()?;
                writeln!(err, "synack: {e}")?;
                pipe.note_error(&e);
                outcome = Outcome::InputErrors;
            }
        }
    }
    pipe.finish()?;
    Ok(outcome)
}

/// `synack live`: capture until Ctrl-C (or `-c`), annotating as frames arrive.
pub fn live(args: &LiveArgs, out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let filter = args.filter();
    let mut src = LiveSource::open(&args.interface, filter.as_deref())?;
    drop_privileges()?;
    if let Some(w) = &args.write {
        src.save_to(w)?;
    }
    // On stderr even with --json, as tcpdump does: it says the capture is open.
    let (name, desc) = src.link_names();
    writeln!(
        err,
        "listening on {}, link-type {name} ({desc}), snapshot length {} bytes",
        src.device(),
        crate::capture::live::SNAPLEN
    )?;
    err.flush()?;
    let mut pipe = Pipeline::new(out, &args.output);
    // A person watching sees each packet at once; a pipe or file gets full
    // buffers (and a flush whenever the wire goes quiet).
    pipe.flush_each = io::stdout().is_terminal();
    let link = src.link();
    capture_until(&mut src, &mut pipe, &stop, link)?;
    src.flush()?;
    let stats = src.stats();
    pipe.kernel = Some(stats);
    let frames = pipe.counts.frames;
    pipe.finish()?;
    if !args.output.json {
        writeln!(
            err,
            "{frames} packets captured\n{} packets received by filter\n{} packets dropped by kernel",
            stats.received, stats.dropped
        )?;
    }
    Ok(Outcome::Clean)
}

/// Feed live frames to the pipeline until `stop` is set or `-c` is reached.
pub fn capture_until<W: Write>(
    src: &mut LiveSource,
    pipe: &mut Pipeline<W>,
    stop: &AtomicBool,
    link: decode::link::LinkKind,
) -> Result<()> {
    while !pipe.done() {
        let mut flush_failed = None;
        let next = src.next_frame(stop, &mut || {
            if let Err(e) = pipe.out.flush() {
                flush_failed = Some(e);
            }
        })?;
        if let Some(e) = flush_failed {
            return Err(e.into());
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
        return Err(Error::Output(io::Error::other(format!(
            "could not drop privileges to uid {uid}: {}",
            io::Error::last_os_error()
        ))));
    }
    Ok(())
}

/// `synack interfaces`: like tcpdump -D.
pub fn interfaces(out: &mut impl Write) -> Result<()> {
    let devices = pcap::Device::list().map_err(|e| Error::Open {
        path: "the interface list".into(),
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
        write!(out, "{}.{}", i + 1, d.name)?;
        if let Some(desc) = &d.desc {
            write!(out, " ({desc})")?;
        }
        writeln!(out, " [{}]", tags.join(", "))?;
    }
    Ok(())
}

const PROGRESS_MIN_BYTES: u64 = 32 << 20;

fn read_one<W: Write>(
    src: &mut FileSource,
    pipe: &mut Pipeline<W>,
    opts: &OutputArgs,
    number_offset: u64,
    err: &mut impl Write,
) -> Result<u64> {
    if !opts.json {
        let (name, desc) = src.link_names();
        writeln!(
            err,
            "reading from file {}, link-type {name} ({desc}), snapshot length {}",
            src.name(),
            src.snaplen()
        )?;
    }
    let mut filter: Option<FilterSet> = src.take_filter();
    let progress = progress_bar(src);
    loop {
        if pipe.done() {
            break;
        }
        let Some(FileFrame { mut frame, dlt }) = src.next_frame()? else {
            break;
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
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
        )
        .ok()?
        .progress_chars("=> "),
    );
    bar.set_message(src.name().to_string());
    Some(bar)
}
