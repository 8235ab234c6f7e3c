//! `--view graph`: Stevens' time-sequence graph, as tcptrace draws it, for
//! each direction that carried data: time across, relative sequence up;
//! each data segment a vertical bar from its first byte to its last; the
//! receiver's ACK line and its receive-window line (ACK + scaled window);
//! its SACK blocks; retransmissions, zero-window periods and probes,
//! keep-alives, SYN, FIN and RST marked; then throughput and RTT over the
//! same time axis.
//!
//! Size stays bounded: whatever falls on the same pixel column is merged
//! (one bar from the lowest to the highest byte; the ACK and window lines
//! keep their entry, exit, lowest and highest value per column), so a
//! connection of a million segments draws a few thousand shapes. Every mark
//! carries machine-readable attributes (`data-frame`, `data-seq`,
//! `data-t`…) and the plot states its axes (`data-t1`, `data-seq1`, pixel
//! edges), so a program can check each mark against the capture.
//!
//! The RTT is measured at the capture point: from a segment passing it to
//! the ACK that covers it passing back (the receiver's side of the path).
//! With TCP timestamps, an ACK's TSecr names the segment it answers, so
//! resends are timed too; without them, segment–ACK pairs under Karn's
//! rule: a segment that was resent is never timed.

use std::fmt::Write as _;
use std::io::{self, Write};

use rustc_hash::{FxHashMap, FxHashSet};

use synack_core::decode::tcp::{flag, TcpOption};
use synack_core::decode::Timestamp;
use synack_core::track::{Analysis, Connection, Event, EventKind, Evidence, Facts, Side};
use synack_core::Packet;

use super::charset;
use super::picture::{esc, num, open_svg, text_px, tick_label, ticks, Picture, Stack};
use super::words::{self, duration};
use super::{RunEnd, View};
use crate::lang::ui;

/// Segments kept per connection; past this the rest are counted.
const MAX_SEGMENTS: usize = 2_000_000;
/// Connections gathered at once, at most, as the ladders' collector: more
/// open connections are not drawn (and counted), so memory stays bounded.
const MAX_OPEN: usize = 5_000;
/// Marks drawn one by one (with their frame) before they merge per column.
const MAX_SINGLE_MARKS: usize = 4_000;

/// `--view graph`.
#[derive(Default)]
pub(crate) struct GraphView {
    flows: Flows,
    stack: Stack,
}

impl View for GraphView {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        // A full document takes no new connection: memory stays bounded.
        let new = p.observation.is_some_and(|o| !self.flows.has(o.conn));
        if !(new && self.stack.is_full()) {
            self.flows.packet(p);
        }
        Ok(())
    }

    fn connection(&mut self, c: &Connection, _f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        match self.flows.take(c.id()) {
            Some(flow) => self.stack.push_all(graphs(&flow, c.id())),
            None if self.stack.is_full() => self.stack.leave_out(),
            None => {}
        }
        Ok(())
    }

    fn forget(&mut self, conn: u64) {
        self.flows.take(conn);
    }

    fn finish(&mut self, _end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.stack.not_drawn(self.flows.not_drawn);
        self.stack.write(out)
    }
}

const RETRANS: u8 = 1;
const ZERO_WINDOW: u8 = 2;
const ZW_PROBE: u8 = 4;
const KEEPALIVE: u8 = 8;

/// One segment, as the graph needs it.
#[derive(Clone, Copy, Debug)]
struct Seg {
    frame: u64,
    /// ns since the connection's first segment.
    t: i64,
    client: bool,
    flags: u8,
    /// Relative seq, unwrapped past 4 GB.
    seq: u64,
    len: u32,
    /// Relative ack (into the peer's sequence space), unwrapped.
    ack: Option<u64>,
    /// The window in bytes (scaled once the scale is known).
    win: u32,
    tsopt: Option<(u32, u32)>,
    marks: u8,
}

/// A SACK block of segment `seg`, relative to the data sender's base.
#[derive(Clone, Copy, Debug)]
struct SackBlock {
    seg: u32,
    left: u64,
    right: u64,
}

/// One connection's segments, kept until it retires.
pub(crate) struct Flow {
    client: std::net::SocketAddr,
    server: std::net::SocketAddr,
    first_ts: Timestamp,
    segs: Vec<Seg>,
    sacks: Vec<SackBlock>,
    dropped: u64,
    /// Highest unwrapped seq seen per direction (client's, server's).
    hi: [u64; 2],
}

/// The u64 congruent to `v` (mod 2³²) nearest `near`.
fn unwrap(near: u64, v: u32) -> u64 {
    let base = near & !0xffff_ffff;
    let cand = base | u64::from(v);
    let alts = [cand, cand.wrapping_add(1 << 32), cand.wrapping_sub(1 << 32)];
    alts.into_iter()
        .filter(|c| *c <= near.saturating_add(1 << 33))
        .min_by_key(|c| c.abs_diff(near))
        .unwrap_or(cand)
}

/// Flows of every connection not yet retired.
#[derive(Default)]
pub(crate) struct Flows {
    live: FxHashMap<u64, Flow>,
    /// Connections not drawn because MAX_OPEN were being gathered.
    skipped: FxHashSet<u64>,
    /// How many connections went undrawn, in all.
    pub(crate) not_drawn: u64,
}

impl Flows {
    pub(crate) fn packet(&mut self, p: &Packet<'_>) {
        let (Some(seg), Some(obs)) = (p.segment, p.observation) else {
            return;
        };
        if !self.live.contains_key(&obs.conn) && self.live.len() >= MAX_OPEN {
            self.skipped.insert(obs.conn);
            return;
        }
        if self.skipped.contains(&obs.conn) {
            return;
        }
        let flow = self.live.entry(obs.conn).or_insert_with(|| {
            let (client, server) = match obs.side {
                Side::Client => (seg.src, seg.dst),
                Side::Server => (seg.dst, seg.src),
            };
            Flow {
                client,
                server,
                first_ts: seg.ts,
                segs: Vec::new(),
                sacks: Vec::new(),
                dropped: 0,
                hi: [0; 2],
            }
        });
        if flow.segs.len() >= MAX_SEGMENTS {
            flow.dropped += 1;
            return;
        }
        let me = usize::from(obs.side == Side::Server);
        let seq = unwrap(flow.hi[me], obs.rel_seq);
        flow.hi[me] = flow.hi[me].max(seq);
        let ack = obs.rel_ack.map(|a| unwrap(flow.hi[1 - me], a));
        let mut marks = 0;
        for e in p.events {
            if let EventKind::Analysis { what, .. } = e.kind {
                marks |= match what {
                    a if a.is_retransmission() => RETRANS,
                    Analysis::ZeroWindow => ZERO_WINDOW,
                    Analysis::ZeroWindowProbe => ZW_PROBE,
                    Analysis::KeepAlive => KEEPALIVE,
                    _ => 0,
                };
            }
        }
        let index = flow.segs.len() as u32;
        if seg.options.sack_blocks > 0 {
            if let (Some(tcp), Some(base)) = (p.decoded().tcp(), obs.peer_seq_base) {
                for opt in tcp.header.options() {
                    if let TcpOption::Sack(blocks) = opt {
                        for (l, r) in blocks.iter() {
                            let left = unwrap(flow.hi[1 - me], l.since(base));
                            let right = unwrap(left, r.since(base));
                            flow.sacks.push(SackBlock {
                                seg: index,
                                left,
                                right,
                            });
                        }
                    }
                }
            }
        }
        flow.segs.push(Seg {
            frame: seg.frame,
            t: i64::try_from(seg.ts.nanos_since(flow.first_ts).max(0)).unwrap_or(i64::MAX),
            client: obs.side == Side::Client,
            flags: seg.flags,
            seq,
            len: seg.payload_len,
            ack,
            win: obs.win_scaled.unwrap_or(u32::from(seg.window)),
            tsopt: seg.options.timestamp,
            marks,
        });
    }

    /// Segments are being gathered for this connection.
    pub(crate) fn has(&self, conn: u64) -> bool {
        self.live.contains_key(&conn)
    }

    pub(crate) fn take(&mut self, conn: u64) -> Option<Flow> {
        if self.skipped.remove(&conn) {
            self.not_drawn += 1;
        }
        self.live.remove(&conn)
    }
}

/// The graphs of a connection: one per direction that sent data (the
/// client's when neither did).
pub(crate) fn graphs(flow: &Flow, id: u64) -> Vec<Picture> {
    let sent = |client: bool| flow.segs.iter().any(|s| s.client == client && s.len > 0);
    let mut dirs: Vec<bool> = [true, false].into_iter().filter(|c| sent(*c)).collect();
    if dirs.is_empty() {
        dirs.push(true);
    }
    dirs.into_iter().map(|c| graph_svg(flow, id, c)).collect()
}

// Layout, px.
const WIDTH: f64 = 1000.0;
const X0: f64 = 90.0;
const X1: f64 = 960.0;
const TSG_TOP: f64 = 100.0;
const TSG_BOTTOM: f64 = 456.0;
const TP_TOP: f64 = 510.0;
const TP_BOTTOM: f64 = 600.0;
const RTT_TOP: f64 = 650.0;
const RTT_BOTTOM: f64 = 740.0;
const HEIGHT: f64 = 790.0;

const C_DATA: &str = "#000000";
const C_RETRANS: &str = "#d32f2f";
const C_ACK: &str = "#2e7d32";
const C_WIN: &str = "#ef6c00";
const C_SACK: &str = "#7b1fa2";
const C_ZW: &str = "#e53935";

/// The words an analysis flag has everywhere else.
fn flag_word(a: Analysis) -> String {
    let e = Event {
        frame: None,
        ts: Timestamp::default(),
        conn: 0,
        side: Side::Client,
        kind: EventKind::Analysis {
            what: a,
            evidence: Evidence::default(),
        },
    };
    words::label(&e, &|_| String::new())
}

/// Bytes per second as bits per second, for people.
fn rate(bytes_per_s: f64) -> String {
    let bits = bytes_per_s * 8.0;
    if bits >= 1e9 {
        format!("{:.1} Gbit/s", bits / 1e9)
    } else if bits >= 1e6 {
        format!("{:.1} Mbit/s", bits / 1e6)
    } else if bits >= 1e3 {
        format!("{:.1} kbit/s", bits / 1e3)
    } else {
        format!("{bits:.0} bit/s")
    }
}

/// Per pixel column: a vertical extent with the frames it merges.
#[derive(Clone, Copy)]
struct Bar {
    col: i64,
    lo: u64,
    hi: u64,
    first: u64,
    last: u64,
    count: u32,
    t: i64,
    len: u32,
}

/// Merge consecutive bars that fall on the same pixel column.
fn push_bar(bars: &mut Vec<Bar>, b: Bar) {
    if let Some(last) = bars.last_mut() {
        if last.col == b.col {
            last.lo = last.lo.min(b.lo);
            last.hi = last.hi.max(b.hi);
            last.last = b.last;
            last.count += b.count;
            return;
        }
    }
    bars.push(b);
}

/// A stepped line through values over time, keeping per pixel column the
/// value on entry, the lowest, the highest and the value on exit.
fn step_line(points: &[(f64, f64)]) -> String {
    let mut out = String::new();
    let mut prev_y: Option<f64> = None;
    let mut i = 0;
    while i < points.len() {
        let col = points[i].0.floor();
        let mut j = i;
        let (mut lo, mut hi) = (points[i].1, points[i].1);
        while j < points.len() && points[j].0.floor() == col {
            lo = lo.min(points[j].1);
            hi = hi.max(points[j].1);
            j += 1;
        }
        let x = points[i].0;
        let last = points[j - 1].1;
        let mut ys = Vec::with_capacity(5);
        if let Some(p) = prev_y {
            ys.push(p);
        }
        ys.extend([points[i].1, lo, hi, last]);
        ys.dedup();
        for y in ys {
            let _ = write!(out, "{},{} ", num(x), num(y));
        }
        prev_y = Some(last);
        i = j;
    }
    out.trim_end().to_string()
}

/// RTT samples (ns since start, rtt ns) and how they were taken.
fn rtt_samples(data: &[&Seg], acks: &[&Seg]) -> (Vec<(i64, i64)>, &'static str) {
    let timestamps =
        data.iter().any(|s| s.tsopt.is_some()) && acks.iter().any(|s| s.tsopt.is_some());
    let mut out = Vec::new();
    // Both lists are in capture order; walk them together.
    if timestamps {
        let mut sent: FxHashMap<u32, i64> = FxHashMap::default();
        let mut max_ack = None;
        let (mut i, mut j) = (0, 0);
        while j < acks.len() {
            if i < data.len() && data[i].t <= acks[j].t {
                let s = data[i];
                if s.len > 0 || s.flags & (flag::SYN | flag::FIN) != 0 {
                    if let Some((val, _)) = s.tsopt {
                        sent.entry(val).or_insert(s.t);
                    }
                }
                i += 1;
                continue;
            }
            let a = acks[j];
            j += 1;
            let Some(ack) = a.ack else { continue };
            if max_ack.is_some_and(|m| ack <= m) {
                continue;
            }
            max_ack = Some(ack);
            if let Some((_, ecr)) = a.tsopt {
                if let Some(t0) = sent.get(&ecr) {
                    out.push((a.t, a.t - t0));
                }
            }
        }
        return (out, ui::RTT_TIMESTAMPS.get());
    }
    // (end of segment, when, resent) for what is not yet acknowledged.
    let mut outstanding: std::collections::VecDeque<(u64, i64, bool)> = Default::default();
    let mut max_ack = None;
    let (mut i, mut j) = (0, 0);
    while j < acks.len() {
        if i < data.len() && data[i].t <= acks[j].t {
            let s = data[i];
            i += 1;
            let span = u64::from(s.len)
                + u64::from(s.flags & flag::SYN != 0)
                + u64::from(s.flags & flag::FIN != 0);
            if span == 0 {
                continue;
            }
            let end = s.seq + span;
            let resent = s.marks & RETRANS != 0
                || outstanding.iter().any(|(e, _, _)| *e > s.seq && *e <= end);
            if resent {
                // Karn: neither copy of resent bytes is timed.
                for o in outstanding.iter_mut() {
                    if o.0 > s.seq {
                        o.2 = true;
                    }
                }
            }
            outstanding.push_back((end, s.t, resent));
            continue;
        }
        let a = acks[j];
        j += 1;
        let Some(ack) = a.ack else { continue };
        if max_ack.is_some_and(|m| ack <= m) {
            continue;
        }
        max_ack = Some(ack);
        let mut newest = None;
        while outstanding.front().is_some_and(|o| o.0 <= ack) {
            newest = outstanding.pop_front();
        }
        if let Some((_, t0, false)) = newest {
            out.push((a.t, a.t - t0));
        }
    }
    (out, ui::RTT_PAIRS.get())
}

/// One direction's time-sequence graph, throughput and RTT.
fn graph_svg(flow: &Flow, id: u64, client: bool) -> Picture {
    let data: Vec<&Seg> = flow.segs.iter().filter(|s| s.client == client).collect();
    let acks: Vec<&Seg> = flow
        .segs
        .iter()
        .filter(|s| s.client != client && s.ack.is_some())
        .collect();
    let peer: Vec<(usize, &Seg)> = flow
        .segs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.client != client)
        .collect();
    let t_max = flow.segs.last().map_or(0, |s| s.t).max(1);
    let t_end_s = t_max as f64 / 1e9;
    // The sequence axis: data and ACKs; the window line too when it stays near.
    let data_top = data
        .iter()
        .map(|s| s.seq + u64::from(s.len))
        .chain(acks.iter().filter_map(|s| s.ack))
        .chain(
            flow.sacks
                .iter()
                .filter(|b| {
                    flow.segs
                        .get(b.seg as usize)
                        .is_some_and(|s| s.client != client)
                })
                .map(|b| b.right),
        )
        .max()
        .unwrap_or(1)
        .max(1);
    let win_top = acks
        .iter()
        .filter_map(|s| s.ack.map(|a| a + u64::from(s.win)))
        .max()
        .unwrap_or(0);
    let seq_max = if win_top > data_top && (win_top as f64) <= data_top as f64 * 2.0 {
        win_top
    } else {
        data_top
    } as f64
        * 1.04;
    let x = |t: i64| X0 + t as f64 / t_max as f64 * (X1 - X0);
    // A window far above the data is drawn on the top edge.
    let y = |v: u64| TSG_BOTTOM - (v as f64 / seq_max).min(1.0) * (TSG_BOTTOM - TSG_TOP);
    let (from, to, who, peer_name) = if client {
        (flow.client, flow.server, ui::CLIENT.get(), ui::SERVER.get())
    } else {
        (flow.server, flow.client, ui::SERVER.get(), ui::CLIENT.get())
    };
    let p = format!("g{id}{}-", if client { "c" } else { "s" });

    let mut s = String::with_capacity(64 * 1024);
    open_svg(
        &mut s,
        WIDTH,
        HEIGHT,
        &format!(
            r#" class="graph" data-conn="{id}" data-dir="{}""#,
            if client { "c2s" } else { "s2c" }
        ),
    );
    let _ = write!(
        s,
        "<title>{}</title>",
        esc(&charset::text(ui::GRAPH_TITLE.fill(&[
            ("id", &id),
            ("who", &who),
            ("from", &from),
            ("peer", &peer_name),
            ("to", &to),
        ])))
    );
    let _ = write!(
        s,
        r##"<defs><pattern id="{p}zw" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#ffebee"/><path d="M-1,9 l10,-10" stroke="{C_ZW}" stroke-width="1"/></pattern></defs><rect width="{}" height="{}" fill="#fff"/>"##,
        num(WIDTH),
        num(HEIGHT)
    );
    let _ = write!(
        s,
        r##"<text x="8" y="22" font-size="15" font-weight="bold">{}</text><text x="8" y="39" font-size="10.5" fill="#555">{}</text>"##,
        esc(&charset::text(ui::GRAPH_HEAD.fill(&[
            ("id", &id),
            ("who", &who),
            ("from", &from),
            ("peer", &peer_name),
            ("to", &to),
        ]))),
        esc(&ui::GRAPH_CAPTION.fill(&[("who", &who), ("peer", &peer_name)]))
    );
    legend(&mut s, &p);

    // Axes and grid.
    let t_ticks = ticks(0.0, t_end_s, 8);
    let s_ticks = ticks(0.0, seq_max, 6);
    let _ = write!(
        s,
        r##"<g class="tsg" data-x0="{}" data-x1="{}" data-t0="0" data-t1="{}" data-y0="{}" data-y1="{}" data-seq0="0" data-seq1="{}" data-first-frame="{}">"##,
        num(X0),
        num(X1),
        t_end_s,
        num(TSG_BOTTOM),
        num(TSG_TOP),
        num(seq_max),
        flow.segs.first().map_or(0, |s| s.frame)
    );
    axes(&mut s, TSG_TOP, TSG_BOTTOM, &t_ticks, t_end_s);
    for v in &s_ticks {
        let yy = TSG_BOTTOM - v / seq_max * (TSG_BOTTOM - TSG_TOP);
        let _ = write!(
            s,
            r##"<line x1="{X0}" x2="{X1}" y1="{yy}" y2="{yy}" stroke="#eee"/><text x="{}" y="{}" font-size="10" text-anchor="end" fill="#444">{}</text>"##,
            num(X0 - 4.0),
            num(yy + 3.5),
            tick_label(*v),
            yy = num(yy)
        );
    }
    let _ = write!(
        s,
        r##"<text x="14" y="{}" font-size="10.5" fill="#444" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"##,
        num((TSG_TOP + TSG_BOTTOM) / 2.0),
        num((TSG_TOP + TSG_BOTTOM) / 2.0),
        ui::SEQ_AXIS.get()
    );

    // Zero-window periods: from the receiver's zero window to its next
    // window that is not zero.
    let mut k = 0;
    while k < peer.len() {
        let (_, z) = peer[k];
        if z.marks & ZERO_WINDOW == 0 {
            k += 1;
            continue;
        }
        let end = peer[k + 1..]
            .iter()
            .find(|(_, s)| s.win > 0 && s.flags & flag::RST == 0)
            .map(|(_, s)| *s);
        let t1 = end.map_or(t_max, |e| e.t);
        let _ = write!(
            s,
            r##"<rect class="zero-window" data-frame="{}" data-end-frame="{}" data-t0="{}" data-t1="{}" x="{}" y="{TSG_TOP}" width="{}" height="{}" fill="url(#{p}zw)" stroke="{C_ZW}" stroke-width="0.8"/>"##,
            z.frame,
            end.map_or(String::new(), |e| e.frame.to_string()),
            z.t as f64 / 1e9,
            t1 as f64 / 1e9,
            num(x(z.t)),
            num((x(t1) - x(z.t)).max(1.0)),
            num(TSG_BOTTOM - TSG_TOP)
        );
        k = end.map_or(peer.len(), |e| {
            peer.iter()
                .position(|(_, s)| s.frame == e.frame)
                .unwrap_or(peer.len())
        });
    }

    // The receiver's ACK line and window line.
    let mut ack_pts = Vec::with_capacity(acks.len().min(4 * 1024));
    let mut win_pts = Vec::with_capacity(acks.len().min(4 * 1024));
    for a in &acks {
        if a.flags & flag::RST != 0 {
            continue;
        }
        let Some(v) = a.ack else { continue };
        ack_pts.push((x(a.t), y(v)));
        win_pts.push((x(a.t), y(v + u64::from(a.win))));
    }
    if let Some(last) = ack_pts.last().copied() {
        ack_pts.push((X1, last.1));
    }
    if let Some(last) = win_pts.last().copied() {
        win_pts.push((X1, last.1));
    }
    let _ = write!(
        s,
        r##"<polyline class="window-line" points="{}" fill="none" stroke="{C_WIN}" stroke-width="1.3" stroke-dasharray="6 3"/><polyline class="ack-line" points="{}" fill="none" stroke="{C_ACK}" stroke-width="1.5"/>"##,
        step_line(&win_pts),
        step_line(&ack_pts)
    );

    // SACK blocks.
    let mut seen: FxHashSet<(i64, u64, u64)> = FxHashSet::default();
    for b in &flow.sacks {
        let Some(seg) = flow.segs.get(b.seg as usize) else {
            continue;
        };
        if seg.client == client {
            continue;
        }
        let xx = x(seg.t);
        if !seen.insert((xx.floor() as i64, b.left, b.right)) || seen.len() > 50_000 {
            continue;
        }
        let _ = write!(
            s,
            r##"<line class="sack" data-frame="{}" data-left="{}" data-right="{}" x1="{xx}" x2="{xx}" y1="{}" y2="{}" stroke="{C_SACK}" stroke-width="2.5"/>"##,
            seg.frame,
            b.left,
            b.right,
            num(y(b.left)),
            num(y(b.right)),
            xx = num(xx + 1.5)
        );
    }

    // Data segments: normal and resent, each merged per pixel column.
    let mut normal: Vec<Bar> = Vec::new();
    let mut resent: Vec<Bar> = Vec::new();
    for d in &data {
        if d.len == 0 {
            continue;
        }
        let bar = Bar {
            col: x(d.t).floor() as i64,
            lo: d.seq,
            hi: d.seq + u64::from(d.len),
            first: d.frame,
            last: d.frame,
            count: 1,
            t: d.t,
            len: d.len,
        };
        if d.marks & RETRANS != 0 {
            if resent.len() < MAX_SINGLE_MARKS {
                resent.push(bar);
            } else {
                push_bar(&mut resent, bar);
            }
        } else {
            push_bar(&mut normal, bar);
        }
    }
    for (bars, class, colour, w) in [
        (&normal, "data", C_DATA, 1.2),
        (&resent, "retransmission", C_RETRANS, 2.0),
    ] {
        for b in bars {
            let xx = if b.count == 1 {
                x(b.t)
            } else {
                b.col as f64 + 0.5
            };
            let (y1, y2) = (y(b.lo), y(b.hi));
            let attrs = if b.count == 1 {
                format!(
                    r#"data-frame="{}" data-seq="{}" data-len="{}" data-t="{}""#,
                    b.first,
                    b.lo,
                    b.len,
                    b.t as f64 / 1e9
                )
            } else {
                format!(
                    r#"data-frames="{}-{}" data-count="{}" data-seq="{}" data-end="{}""#,
                    b.first, b.last, b.count, b.lo, b.hi
                )
            };
            // tcptrace's "I": a bar with short ticks at both ends.
            let _ = write!(
                s,
                r##"<path class="{class}" {attrs} d="M{},{y1} h4 M{xx},{y1} V{y2} M{},{y2} h4" stroke="{colour}" stroke-width="{w}" fill="none"/>"##,
                num(xx - 2.0),
                num(xx - 2.0),
                y1 = num(y1),
                y2 = num(y2),
                xx = num(xx),
            );
        }
    }

    // Point marks: SYN, FIN, RST, keep-alives and zero-window probes.
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    let mut cols: FxHashSet<(&str, i64)> = FxHashSet::default();
    for d in &data {
        let kinds: [(&str, bool); 5] = [
            ("syn", d.flags & flag::SYN != 0),
            ("fin", d.flags & flag::FIN != 0),
            ("rst", d.flags & flag::RST != 0),
            ("keepalive", d.marks & KEEPALIVE != 0),
            ("zw-probe", d.marks & ZW_PROBE != 0),
        ];
        for (kind, on) in kinds {
            if !on {
                continue;
            }
            let n = counts.entry(kind).or_default();
            *n += 1;
            let (xx, yy) = (x(d.t), y(d.seq));
            if *n > MAX_SINGLE_MARKS && !cols.insert((kind, xx.floor() as i64)) {
                continue;
            }
            let _ = write!(
                s,
                r#"<g class="{kind}" data-frame="{}" data-seq="{}" data-t="{}">{}</g>"#,
                d.frame,
                d.seq,
                d.t as f64 / 1e9,
                marker(kind, xx, yy)
            );
        }
    }
    s.push_str("</g>");
    if win_top as f64 > seq_max {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="10" fill="{C_WIN}">{}</text>"##,
            num(X0 + 4.0),
            num(TSG_TOP + 11.0),
            ui::WINDOW_ABOVE.get()
        );
    }
    if flow.dropped > 0 {
        let _ = write!(
            s,
            r##"<text x="{X1}" y="{}" font-size="10.5" text-anchor="end" fill="#b71c1c">{}</text>"##,
            num(TSG_TOP - 6.0),
            esc(&ui::ONLY_FIRST.fill(&[("max", &MAX_SEGMENTS), ("n", &flow.dropped)]))
        );
    }

    throughput(&mut s, &data, &acks, t_max, &t_ticks, t_end_s);
    let (samples, method) = rtt_samples(&data, &acks);
    rtt_panel(
        &mut s, &samples, method, t_max, &t_ticks, t_end_s, peer_name,
    );
    s.push_str("</svg>");
    Picture {
        width: WIDTH,
        height: HEIGHT,
        svg: s,
    }
}

fn marker(kind: &str, x: f64, y: f64) -> String {
    let (x, y) = (x, y);
    match kind {
        "syn" => format!(
            r##"<path d="M{},{} l5,8 h-10 z" fill="#2e7d32"/>"##,
            num(x),
            num(y - 5.0)
        ),
        "fin" => format!(
            r##"<rect x="{}" y="{}" width="8" height="8" fill="#1565c0"/>"##,
            num(x - 4.0),
            num(y - 4.0)
        ),
        "rst" => format!(
            r##"<path d="M{},{} l10,10 m0,-10 l-10,10" stroke="#c62828" stroke-width="2.2"/>"##,
            num(x - 5.0),
            num(y - 5.0)
        ),
        "keepalive" => format!(
            r##"<circle cx="{}" cy="{}" r="4.5" fill="#fff" stroke="#6a1b9a" stroke-width="1.8"/>"##,
            num(x),
            num(y)
        ),
        _ => format!(
            r##"<path d="M{},{} l5,5 l-5,5 l-5,-5 z" fill="#ff8f00" stroke="#000" stroke-width="0.6"/>"##,
            num(x),
            num(y - 5.0)
        ),
    }
}

fn legend(s: &mut String, p: &str) {
    let items: Vec<(String, String)> = vec![
        (
            ui::DATA.get().into(),
            format!(
                r#"<path d="M4,-7 V7 M2,-7 h4 M2,7 h4" stroke="{C_DATA}" stroke-width="1.2"/>"#
            ),
        ),
        (
            flag_word(Analysis::Retransmission),
            format!(
                r#"<path d="M4,-7 V7 M2,-7 h4 M2,7 h4" stroke="{C_RETRANS}" stroke-width="2"/>"#
            ),
        ),
        (
            "ACK".into(),
            format!(
                r#"<path d="M0,4 h6 V-4 h6" stroke="{C_ACK}" stroke-width="1.5" fill="none"/>"#
            ),
        ),
        (
            ui::RECEIVE_WINDOW.get().into(),
            format!(
                r#"<path d="M0,2 h14" stroke="{C_WIN}" stroke-width="1.3" stroke-dasharray="6 3"/>"#
            ),
        ),
        (
            ui::SACK_BLOCK.get().into(),
            format!(r#"<path d="M4,-7 V7" stroke="{C_SACK}" stroke-width="2.5"/>"#),
        ),
        (
            flag_word(Analysis::ZeroWindow),
            format!(
                r##"<rect x="0" y="-6" width="14" height="12" fill="url(#{p}zw)" stroke="{C_ZW}" stroke-width="0.8"/>"##
            ),
        ),
        (
            flag_word(Analysis::ZeroWindowProbe),
            marker("zw-probe", 6.0, 0.0),
        ),
        (
            flag_word(Analysis::KeepAlive),
            marker("keepalive", 6.0, 0.0),
        ),
        ("SYN".into(), marker("syn", 6.0, 0.0)),
        ("FIN".into(), marker("fin", 6.0, 0.0)),
        ("RST".into(), marker("rst", 6.0, 0.0)),
    ];
    let mut x = 8.0;
    let mut y = 60.0;
    for (name, glyph) in items {
        let w = 22.0 + text_px(&name, 6.3) + 14.0;
        if x + w > WIDTH - 8.0 {
            x = 8.0;
            y += 18.0;
        }
        let _ = write!(
            s,
            r#"<g transform="translate({} {})">{glyph}<text x="20" y="4" font-size="10.5">{}</text></g>"#,
            num(x),
            num(y),
            esc(&name)
        );
        x += w;
    }
}

/// A panel's frame and time ticks.
fn axes(s: &mut String, top: f64, bottom: f64, t_ticks: &[f64], t_end_s: f64) {
    let _ = write!(
        s,
        r##"<rect x="{X0}" y="{}" width="{}" height="{}" fill="none" stroke="#9e9e9e"/>"##,
        num(top),
        num(X1 - X0),
        num(bottom - top)
    );
    for v in t_ticks {
        let xx = X0 + v / t_end_s.max(1e-12) * (X1 - X0);
        let _ = write!(
            s,
            r##"<line x1="{xx}" x2="{xx}" y1="{}" y2="{}" stroke="#eee"/><text x="{xx}" y="{}" font-size="10" text-anchor="middle" fill="#444">{}</text>"##,
            num(top),
            num(bottom),
            num(bottom + 13.0),
            tick_label(*v),
            xx = num(xx)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{X1}" y="{}" font-size="10" text-anchor="end" fill="#444">{}</text>"##,
        num(bottom + 26.0),
        ui::TIME_AXIS.get()
    );
}

fn throughput(
    s: &mut String,
    data: &[&Seg],
    acks: &[&Seg],
    t_max: i64,
    t_ticks: &[f64],
    t_end_s: f64,
) {
    const BINS: usize = 100;
    let bin_ns = (t_max as f64 / BINS as f64).max(1.0);
    let mut sent = [0f64; BINS];
    let mut acked = [0f64; BINS];
    let bin = |t: i64| ((t as f64 / bin_ns) as usize).min(BINS - 1);
    for d in data {
        sent[bin(d.t)] += f64::from(d.len);
    }
    let mut max_ack: Option<u64> = None;
    for a in acks {
        let Some(v) = a.ack else { continue };
        if let Some(m) = max_ack {
            if v > m {
                acked[bin(a.t)] += (v - m) as f64;
            }
        }
        max_ack = Some(max_ack.map_or(v, |m| m.max(v)));
    }
    let per_s = 1e9 / bin_ns;
    let top = sent
        .iter()
        .chain(acked.iter())
        .fold(0f64, |m, v| m.max(*v))
        .max(1.0)
        * per_s;
    let _ = write!(
        s,
        r##"<g class="throughput"><text x="{X0}" y="{}" font-size="11.5" font-weight="bold">{}</text><text x="{}" y="{}" font-size="10.5" fill="#555">{}</text>"##,
        num(TP_TOP - 8.0),
        ui::THROUGHPUT.get(),
        num(X0 + 80.0),
        num(TP_TOP - 8.0),
        esc(&ui::THROUGHPUT_CAPTION.fill(&[("bins", &BINS)]))
    );
    axes(s, TP_TOP, TP_BOTTOM, t_ticks, t_end_s);
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#444">{}</text><text x="{}" y="{}" font-size="10" text-anchor="end" fill="#444">0</text>"##,
        num(X0 - 4.0),
        num(TP_TOP + 8.0),
        esc(&rate(top)),
        num(X0 - 4.0),
        num(TP_BOTTOM)
    );
    for (vals, dash, colour) in [(&sent, "none", C_DATA), (&acked, "5 3", C_ACK)] {
        let mut pts = String::new();
        for (i, v) in vals.iter().enumerate() {
            let yy = TP_BOTTOM - v * per_s / top * (TP_BOTTOM - TP_TOP);
            let xa = X0 + i as f64 / BINS as f64 * (X1 - X0);
            let xb = X0 + (i + 1) as f64 / BINS as f64 * (X1 - X0);
            let _ = write!(pts, "{},{} {},{} ", num(xa), num(yy), num(xb), num(yy));
        }
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.3" stroke-dasharray="{dash}"/>"#,
            pts.trim_end()
        );
    }
    s.push_str("</g>");
}

fn rtt_panel(
    s: &mut String,
    samples: &[(i64, i64)],
    method: &str,
    t_max: i64,
    t_ticks: &[f64],
    t_end_s: f64,
    peer: &str,
) {
    // The heading "往返时间" is wider than "RTT": its caption moves right.
    let rtt_shift = text_px(ui::RTT.get(), 7.0) - text_px("RTT", 7.0);
    let _ = write!(
        s,
        r##"<g class="rtt" data-samples="{}"><text x="{X0}" y="{}" font-size="11.5" font-weight="bold">{}</text><text x="{}" y="{}" font-size="10.5" fill="#555">{}</text>"##,
        samples.len(),
        num(RTT_TOP - 8.0),
        ui::RTT.get(),
        num(X0 + 36.0 + rtt_shift),
        num(RTT_TOP - 8.0),
        esc(&charset::text(ui::RTT_CAPTION.fill(&[
            ("peer", &peer),
            ("method", &method),
            ("n", &samples.len()),
        ])))
    );
    axes(s, RTT_TOP, RTT_BOTTOM, t_ticks, t_end_s);
    let top = samples.iter().map(|v| v.1).max().unwrap_or(0).max(1) as f64 * 1.1;
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#444">{}</text><text x="{}" y="{}" font-size="10" text-anchor="end" fill="#444">0</text>"##,
        num(X0 - 4.0),
        num(RTT_TOP + 8.0),
        esc(&duration(top as i128)),
        num(X0 - 4.0),
        num(RTT_BOTTOM)
    );
    // Per pixel column: the range of samples, or a dot for one.
    let mut cols: Vec<(i64, f64, f64, usize)> = Vec::new();
    for (t, r) in samples {
        let xx = X0 + *t as f64 / t_max as f64 * (X1 - X0);
        let yy = RTT_BOTTOM - *r as f64 / top * (RTT_BOTTOM - RTT_TOP);
        let col = xx.floor() as i64;
        match cols.last_mut() {
            Some(c) if c.0 == col => {
                c.1 = c.1.min(yy);
                c.2 = c.2.max(yy);
                c.3 += 1;
            }
            _ => cols.push((col, yy, yy, 1)),
        }
    }
    for (col, lo, hi, n) in cols {
        let xx = col as f64 + 0.5;
        if n == 1 || hi - lo < 1.0 {
            let _ = write!(
                s,
                r##"<circle cx="{}" cy="{}" r="2" fill="#1565c0"/>"##,
                num(xx),
                num(lo)
            );
        } else {
            let _ = write!(
                s,
                r##"<line x1="{x}" x2="{x}" y1="{}" y2="{}" stroke="#1565c0" stroke-width="2"/>"##,
                num(lo),
                num(hi),
                x = num(xx)
            );
        }
    }
    s.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_follows_the_sequence_past_4_gb() {
        assert_eq!(unwrap(0, 5), 5);
        assert_eq!(unwrap(0xffff_fff0, 0x10), 0x1_0000_0010);
        assert_eq!(unwrap(0x1_0000_0010, 0xffff_fff0), 0xffff_fff0);
    }

    #[test]
    fn step_lines_keep_four_points_per_column_at_most() {
        let pts: Vec<(f64, f64)> = (0..1000)
            .map(|i| (10.0 + i as f64 / 1000.0, i as f64))
            .collect();
        let line = step_line(&pts);
        assert!(line.split(' ').count() <= 4, "{line}");
    }

    #[test]
    fn karn_never_times_a_resent_segment() {
        let seg = |t: i64, client: bool, seq: u64, len: u32, ack: Option<u64>, marks: u8| Seg {
            frame: t as u64,
            t,
            client,
            flags: flag::ACK,
            seq,
            len,
            ack,
            win: 1000,
            tsopt: None,
            marks,
        };
        let d1 = seg(0, true, 1, 100, None, 0);
        let d2 = seg(10, true, 101, 100, None, 0);
        let r2 = seg(50, true, 101, 100, None, RETRANS);
        let a1 = seg(20, false, 1, 0, Some(101), 0);
        let a2 = seg(70, false, 1, 0, Some(201), 0);
        let (samples, _) = rtt_samples(&[&d1, &d2, &r2], &[&a1, &a2]);
        assert_eq!(samples, vec![(20, 20)]);
    }
}
