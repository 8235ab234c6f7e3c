//! `--view svg`: each connection's ladder as an SVG picture. Time runs
//! down; each arrow leaves its sender's lane and reaches the receiver's
//! lane at the times the capture implies, so it slants by its transit;
//! each side's state is a band along its lane (colour and pattern, so it
//! reads in black and white), labelled where it changes; annotations at
//! the side, the story underneath.
//!
//! Where the capture point sits: a capture sees each packet once, at one
//! place between the hosts. The handshake tells how far that place is
//! from each side in time: SYN → SYN+ACK is the round trip from the
//! capture point to the server and back, SYN+ACK → ACK the one to the
//! client and back. The capture point is drawn between the lanes in that
//! proportion, and each arrow leaves its sender half that side's round trip
//! before it was captured and reaches its receiver half the other side's
//! round trip after. Host delays (the server taking time to answer) count
//! as transit, so the slants are upper bounds; each picture says which
//! round trips it used, or that it had none (arrows drawn level).

use std::fmt::Write as _;
use std::io::{self, Write};

use synack_core::decode::tcp::flag;
use synack_core::decode::Timestamp;
use synack_core::track::{Connection, Event, Facts, Side, TcpState};
use synack_core::Packet;

use super::charset;
use super::diagram::{Ladder, Note, Row, Rows, Tone};
use super::picture::{esc, num, open_svg, seconds, text_px, Picture, Stack};
use super::time::time_of_day_ms;
use super::words::{self, duration};
use super::{RunEnd, View};
use crate::lang::glossary::state_shown;
use crate::lang::ui;

/// `--view svg`.
#[derive(Default)]
pub(crate) struct SvgView {
    rows: Rows,
    stack: Stack,
}

impl View for SvgView {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        // A full document takes no new connection: memory stays bounded.
        let new = p.observation.is_some_and(|o| !self.rows.has(o.conn));
        if !(new && self.stack.is_full()) {
            self.rows.packet(p);
        }
        Ok(())
    }

    fn event(&mut self, e: &Event, _out: &mut dyn Write) -> io::Result<()> {
        self.rows.event(e);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        match self.rows.take(c.id()) {
            Some(ladder) => {
                let story = words::story(c, f, &|ts| time_of_day_ms(ts));
                self.stack
                    .push_all(vec![ladder_svg(&ladder, c.id(), &story)]);
            }
            None if self.stack.is_full() => self.stack.leave_out(),
            None => {}
        }
        Ok(())
    }

    // Live, a ladder is drawn when its connection retires (after TIME_WAIT),
    // not when its exchange settles: the document is written only at the end
    // of the run anyway, so there is nothing to gain by drawing it earlier.

    fn forget(&mut self, conn: u64) {
        self.rows.take(conn);
    }

    fn finish(&mut self, _end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.stack.not_drawn(self.rows.not_drawn);
        self.stack.write(out)
    }
}

// The layout, in px. Lanes far enough apart for a long label.
const WIDTH: f64 = 1320.0;
const TIME_RIGHT: f64 = 66.0;
const CLIENT_X: f64 = 300.0;
const SERVER_X: f64 = 700.0;
const NOTES_X: f64 = 930.0;
/// Characters of a note line (11 px DejaVu Sans).
const NOTE_CHARS: usize = 56;
const NOTE_LINE: f64 = 13.0;
const BAND_HALF: f64 = 6.0;
/// Rows are at least this far apart (a label's height and some air).
const MIN_ROW: f64 = 24.0;
/// A gap longer than this at the connection's scale is shortened, and marked.
const MAX_ROW: f64 = 80.0;
/// An idle gap this long (or longer) is folded into one marked row.
const FOLD_NS: i128 = 1_000_000_000;
const FOLD_ROW: f64 = 60.0;
/// A whole transit (sender to receiver) spans this many px at the connection's scale.
const TRANSIT_PX: f64 = 30.0;
/// How far an arrow may reach above the first row or below the last.
const EDGE_MAX: f64 = 40.0;
const FIRST_ROW_Y: f64 = 160.0;

/// How the transit is known.
enum Transit {
    /// Round trips seen on both sides of the capture point (client side, server side).
    Both { client: i128, server: i128 },
    /// One side's only; the capture point is drawn midway.
    One { rtt: i128, server_side: bool },
    /// None: level arrows.
    Unknown,
}

impl Transit {
    /// Half the round trip to each side: (client, server), ns.
    fn halves(&self) -> (i128, i128) {
        match *self {
            Transit::Both { client, server } => (client / 2, server / 2),
            Transit::One { rtt, .. } => (rtt / 2, rtt / 2),
            Transit::Unknown => (0, 0),
        }
    }

    fn caption(&self) -> String {
        match *self {
            Transit::Both { client, server } => ui::CAPTION_BOTH
                .fill(&[("client", &duration(client)), ("server", &duration(server))]),
            Transit::One { rtt, server_side } => ui::CAPTION_ONE.fill(&[
                (
                    "side",
                    &if server_side {
                        ui::SERVER_SIDE
                    } else {
                        ui::CLIENT_SIDE
                    }
                    .get(),
                ),
                ("rtt", &duration(rtt)),
            ]),
            Transit::Unknown => ui::CAPTION_NONE.get().to_string(),
        }
    }
}

/// The shortest round trip the capture shows on each side of the capture
/// point: from a segment to the peer's first ACK that covers it. The
/// shortest holds the least of the hosts' own delays, and no answer can
/// then be drawn leaving before what it answers arrived.
fn transit(l: &Ladder) -> Transit {
    // Per sender (client, server): its segments not yet acknowledged, as (end, when).
    let mut waiting: [Vec<(u32, Timestamp)>; 2] = [Vec::new(), Vec::new()];
    // The shortest round trip through each side: [client side, server side].
    let mut best: [Option<i128>; 2] = [None, None];
    for (k, r) in l.rows.iter().enumerate() {
        if l.fold_row == Some(k) {
            // Rows were folded here: no round trip is timed across them.
            waiting = [Vec::new(), Vec::new()];
        }
        let Some(from) = r.from else { continue };
        let me = usize::from(from == Side::Server);
        let (seq, len, ack) = r.seq;
        if let Some(a) = ack {
            // The newest of the peer's segments this covers, for the first time.
            let q = &mut waiting[1 - me];
            let covered = q
                .iter()
                .rposition(|(end, _)| end.wrapping_sub(a) as i32 <= 0);
            if let Some(k) = covered {
                let rtt = r.ts.nanos_since(q[k].1);
                q.drain(..=k);
                if rtt > 0 {
                    // Sent by the peer, answered by this side: this side's round trip.
                    best[me] = Some(best[me].map_or(rtt, |b: i128| b.min(rtt)));
                }
            }
        }
        if len > 0 && r.flags & flag::RST == 0 {
            waiting[me].push((seq.wrapping_add(len), r.ts));
        }
    }
    match (best[0], best[1]) {
        (Some(client), Some(server)) => Transit::Both { client, server },
        (None, Some(rtt)) => Transit::One {
            rtt,
            server_side: true,
        },
        (Some(rtt), None) => Transit::One {
            rtt,
            server_side: false,
        },
        (None, None) => Transit::Unknown,
    }
}

/// How the gap before a row is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Gap {
    Plain,
    /// Longer than `MAX_ROW` at the scale: shortened, its length written.
    Shortened,
    /// `FOLD_NS` or more: folded.
    Folded,
    /// Rows folded here (a long ladder keeps its first and last rows).
    Rows,
}

/// Time → y: linear between rows, each row placed by the rules above.
/// A row with no segment at the time of the row before it (the notes at
/// the end of the capture) is stacked under it but does not anchor time:
/// arrows arriving after that time still take their transit's length.
struct Layout {
    /// ns since the first row, per row (never going back).
    t: Vec<i128>,
    y: Vec<f64>,
    gap: Vec<Gap>,
    /// The rows that anchor time: (ns, y).
    anchors: Vec<(i128, f64)>,
    /// px per ns for the edges (above the first row, below the last).
    edge: (f64, f64),
}

impl Layout {
    fn new(l: &Ladder, scale: f64, note_lines: &[usize]) -> Layout {
        let n = l.rows.len();
        let mut t = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        let mut gap = Vec::with_capacity(n);
        let mut anchors: Vec<(i128, f64)> = Vec::with_capacity(n);
        let mut now = 0i128;
        let mut at = FIRST_ROW_Y;
        for (i, r) in l.rows.iter().enumerate() {
            let ts = r.ts.nanos_since(l.first_ts).max(now);
            let mut kind = Gap::Plain;
            let anchor = i == 0 || r.from.is_some() || ts > now;
            if i > 0 {
                let room = MIN_ROW.max(note_lines[i - 1] as f64 * NOTE_LINE + 8.0);
                // Time since the last anchor, less what the rows since used.
                let (t0, y0) = anchors.last().copied().unwrap_or((0, FIRST_ROW_Y));
                let g = ts - t0;
                let h = if l.fold_row == Some(i) {
                    kind = Gap::Rows;
                    FOLD_ROW.max(room)
                } else if !anchor {
                    room
                } else if g >= FOLD_NS {
                    kind = Gap::Folded;
                    FOLD_ROW.max(room)
                } else if g as f64 * scale > MAX_ROW {
                    kind = Gap::Shortened;
                    MAX_ROW.max(room)
                } else {
                    (y0 + g as f64 * scale - at).max(room)
                };
                if kind != Gap::Plain {
                    // Only the middle of a long gap is squeezed: near the
                    // rows on either side time keeps the connection's
                    // scale, so arrows just before or after still slant.
                    let edge_px = (TRANSIT_PX * 1.2).min((h - 20.0) / 2.0).max(0.0);
                    let e = (edge_px / scale) as i128;
                    if e > 0 && 2 * e < g {
                        anchors.push((t0 + e, at + edge_px));
                        anchors.push((ts - e, at + h - edge_px));
                    }
                }
                at += h;
            }
            gap.push(kind);
            now = ts;
            t.push(ts);
            y.push(at);
            if anchor {
                anchors.push((ts, at));
            }
        }
        // Before the first row and after the last: the connection's scale.
        let edge = (scale, scale);
        Layout {
            t,
            y,
            gap,
            anchors,
            edge,
        }
    }

    /// y at `ns` since the first row.
    fn at(&self, ns: i128) -> f64 {
        let a = &self.anchors;
        let (Some(first), Some(last)) = (a.first(), a.last()) else {
            return FIRST_ROW_Y;
        };
        if ns <= first.0 {
            return first.1 - ((first.0 - ns) as f64 * self.edge.0).min(EDGE_MAX);
        }
        if ns >= last.0 {
            return last.1 + ((ns - last.0) as f64 * self.edge.1).min(EDGE_MAX);
        }
        let k = a.partition_point(|&(t, _)| t <= ns) - 1;
        let ((t0, y0), (t1, y1)) = (a[k], a[k + 1]);
        y0 + (ns - t0) as f64 / (t1 - t0) as f64 * (y1 - y0)
    }
}

/// Colour and pattern of a state's band, so it reads in black and white too.
fn state_style(s: TcpState) -> (&'static str, &'static str) {
    use TcpState::*;
    match s {
        Unknown => ("#ffffff", "none"),
        Closed => ("#ffffff", "none"),
        Listen => ("#f5f5f5", "dots"),
        SynSent | SynRcvd => ("#c8e6c9", "slash"),
        Established => ("#66bb6a", "none"),
        FinWait1 => ("#64b5f6", "backslash"),
        FinWait2 => ("#bbdefb", "backslash"),
        Closing => ("#90caf9", "cross"),
        CloseWait => ("#ffe0b2", "level"),
        LastAck => ("#ffb74d", "level"),
        TimeWait => ("#7e57c2", "cross"),
    }
}

fn pattern_def(out: &mut String, id: &str, fill: &str, kind: &str) {
    let lines = match kind {
        "slash" => {
            r##"<path d="M-1,7 l8,-8 M-1,1 l2,-2 M6,8 l2,-2" stroke="#1b5e20" stroke-width="1"/>"##
        }
        "backslash" => {
            r##"<path d="M-1,-1 l8,8 M5,-1 l2,2 M-1,5 l2,2" stroke="#0d47a1" stroke-width="1"/>"##
        }
        "cross" => r##"<path d="M-1,7 l8,-8 M-1,-1 l8,8" stroke="#212121" stroke-width="0.9"/>"##,
        "level" => r##"<path d="M0,3 h6" stroke="#e65100" stroke-width="1"/>"##,
        "dots" => r##"<circle cx="3" cy="3" r="0.9" fill="#616161"/>"##,
        _ => "",
    };
    let _ = write!(
        out,
        r#"<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="{fill}"/>{lines}</pattern>"#
    );
}

fn tone_colour(t: Tone) -> &'static str {
    match t {
        Tone::Plain => "#212121",
        Tone::Handshake => "#2e7d32",
        Tone::Close => "#00695c",
        Tone::Reset => "#c62828",
        Tone::Trouble => "#e65100",
        Tone::Probe => "#6a1b9a",
        Tone::TimeWait => "#283593",
    }
}

/// An arrow's colour, width and dashes: by flags, then by what its notes say.
fn arrow_style(r: &Row) -> (&'static str, f64, &'static str) {
    let worst = r.notes.iter().map(Note::tone).fold(Tone::Plain, |a, t| {
        let rank = |t: Tone| match t {
            Tone::Trouble => 2,
            Tone::Probe => 1,
            _ => 0,
        };
        if rank(t) > rank(a) {
            t
        } else {
            a
        }
    });
    let f = r.flags;
    if f & flag::RST != 0 {
        return ("#c62828", 2.2, "7 3");
    }
    match worst {
        Tone::Trouble => return ("#e65100", 1.8, "9 3 2 3"),
        Tone::Probe => return ("#6a1b9a", 1.6, "2 3"),
        _ => {}
    }
    if f & flag::SYN != 0 {
        ("#2e7d32", 1.8, "")
    } else if f & flag::FIN != 0 {
        ("#1565c0", 1.8, "")
    } else if r.label.contains(" len=") {
        ("#000000", 1.6, "")
    } else {
        ("#616161", 1.0, "")
    }
}

/// The notes of a row as lines that fit the notes column (times of day,
/// as the story tells them).
fn note_lines(r: &Row) -> Vec<(Tone, String)> {
    let notes: Vec<(Tone, String)> = r
        .notes
        .iter()
        .map(|n| (n.tone(), n.words(&|ts| time_of_day_ms(ts))))
        .collect();
    let joined: String = notes
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join(if charset::ascii() { " - " } else { " · " });
    if joined.chars().count() <= NOTE_CHARS {
        let tone = notes.first().map_or(Tone::Plain, |n| n.0);
        return if joined.is_empty() {
            Vec::new()
        } else {
            vec![(tone, joined)]
        };
    }
    let mut out = Vec::new();
    for (t, s) in &notes {
        for line in words::wrap(s, NOTE_CHARS).lines() {
            out.push((*t, line.to_string()));
        }
    }
    out
}

/// A state change on one side's band.
struct Change {
    y: f64,
    state: TcpState,
    label: String,
}

/// The states a path passed after its first, `→`-joined.
fn path_label(states: &[TcpState]) -> String {
    states[1..]
        .iter()
        .map(|s| state_shown(*s))
        .collect::<Vec<_>>()
        .join(if charset::ascii() { "->" } else { "→" })
}

/// Draw one connection's ladder.
pub(crate) fn ladder_svg(l: &Ladder, id: u64, story: &str) -> Picture {
    let transit = transit(l);
    let (d_client, d_server) = transit.halves();
    let scale = if d_client + d_server > 0 {
        TRANSIT_PX / (d_client + d_server) as f64
    } else {
        // No transit known: the typical gap gets a comfortable row.
        let mut gaps: Vec<i128> = l
            .rows
            .windows(2)
            .map(|w| w[1].ts.nanos_since(w[0].ts))
            .filter(|g| *g > 0)
            .collect();
        gaps.sort_unstable();
        gaps.get(gaps.len() / 2)
            .map_or(1e-6, |g| MIN_ROW * 1.5 / *g as f64)
    };
    let notes: Vec<Vec<(Tone, String)>> = l.rows.iter().map(note_lines).collect();
    let lines: Vec<usize> = notes.iter().map(Vec::len).collect();
    let lay = Layout::new(l, scale, &lines);
    // The capture point between the lanes, by the two round trips.
    let frac = if d_client + d_server > 0 {
        d_client as f64 / (d_client + d_server) as f64
    } else {
        0.5
    };
    let cap_x = CLIENT_X + (SERVER_X - CLIENT_X) * frac;
    let lane_x = |s: Side| match s {
        Side::Client => CLIENT_X,
        Side::Server => SERVER_X,
    };
    let half = |s: Side| match s {
        Side::Client => d_client,
        Side::Server => d_server,
    };

    let last_y = lay.y.last().copied().unwrap_or(FIRST_ROW_Y);
    let last_notes = lines.last().copied().unwrap_or(0) as f64 * NOTE_LINE;
    let band_top = FIRST_ROW_Y - EDGE_MAX - 4.0;
    let band_bottom = last_y + (EDGE_MAX + 4.0).max(last_notes + 6.0);
    let mut y_end = band_bottom + 24.0;
    let story_lines: Vec<String> = words::wrap(story, 165).lines().map(String::from).collect();
    let story_y = y_end;
    y_end = story_y + story_lines.len() as f64 * 16.0;
    let legend_y = y_end + 14.0;
    let height = legend_y + 58.0;

    let p = format!("c{id}-");
    let mut s = String::with_capacity(2048 + l.rows.len() * 600);
    open_svg(
        &mut s,
        WIDTH,
        height,
        &format!(r#" class="ladder" data-conn="{id}""#),
    );
    let _ = write!(
        s,
        "<title>{}</title>",
        esc(&charset::text(ui::LADDER_TITLE.fill(&[
            ("id", &id),
            ("client", &l.client),
            ("server", &l.server),
        ])))
    );
    // Band patterns: one per state style used.
    let mut used: Vec<TcpState> = vec![l.initial[0], l.initial[1]];
    for r in &l.rows {
        for i in 0..2 {
            used.extend_from_slice(r.paths[i].states());
            used.extend(r.states[i]);
        }
    }
    used.sort_by_key(|s| *s as u8);
    used.dedup();
    s.push_str("<defs>");
    for st in &used {
        let (fill, kind) = state_style(*st);
        pattern_def(&mut s, &format!("{p}{}", st.name()), fill, kind);
    }
    s.push_str("</defs>");
    let _ = write!(
        s,
        r##"<rect width="{}" height="{}" fill="#ffffff"/>"##,
        num(WIDTH),
        num(height)
    );

    // Header, caption, lane heads.
    let _ = write!(
        s,
        r##"<text x="8" y="22" font-size="15" font-weight="bold" fill="#000">{}</text>"##,
        esc(&charset::text(ui::LADDER_HEAD.fill(&[
            ("id", &id),
            ("client", &l.client),
            ("server", &l.server),
        ])))
    );
    let caption = [
        ui::CAPTION_TIME.get().to_string(),
        transit.caption(),
        ui::CAPTION_ARROWS.get().to_string(),
    ];
    for (i, c) in caption.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="8" y="{}" font-size="10.5" fill="#555">{}</text>"##,
            40 + 13 * i,
            esc(c)
        );
    }
    for (who, x, addr) in [
        (ui::CLIENT, CLIENT_X, l.client),
        (ui::SERVER, SERVER_X, l.server),
    ] {
        let _ = write!(
            s,
            r##"<text x="{x}" y="84" font-size="13" font-weight="bold" text-anchor="middle">{}</text><text x="{x}" y="97" font-size="10.5" text-anchor="middle" fill="#333">{}</text>"##,
            who.get(),
            esc(&addr.to_string())
        );
    }
    let _ = write!(
        s,
        r##"<text x="{TIME_RIGHT}" y="108" font-size="10.5" text-anchor="end" fill="#555">{}</text>"##,
        ui::TIME_S.get()
    );

    // State bands: where each side's state changed, on its lane.
    let mut changes: [Vec<Change>; 2] = [Vec::new(), Vec::new()];
    for (i, st) in l.initial.iter().enumerate() {
        changes[i].push(Change {
            y: band_top,
            state: *st,
            label: state_shown(*st),
        });
    }
    for (k, r) in l.rows.iter().enumerate() {
        let t = lay.t[k];
        for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
            let y = match r.from {
                // A segment moves its sender when sent and its receiver on arrival.
                Some(from) if from == side => lay.at(t - half(from)).min(lay.y[k]),
                Some(from) => lay.at(t + half(side_other(from))).max(lay.y[k]),
                None => lay.y[k],
            };
            let (changed, state, label) = match r.from {
                Some(_) => (
                    r.paths[i].changed(),
                    r.paths[i].after(),
                    path_label(r.paths[i].states()),
                ),
                None => match r.states[i] {
                    Some(st) => (true, st, state_shown(st)),
                    // Where the side stands, when rows folded away moved it.
                    None if l.fold_row == Some(k) => {
                        let now = r.paths[i].after();
                        let band = changes[i].last().map(|c| c.state);
                        (band != Some(now), now, state_shown(now))
                    }
                    None => (false, TcpState::Unknown, String::new()),
                },
            };
            if changed {
                let prev = changes[i].last().map_or(band_top, |c| c.y);
                changes[i].push(Change {
                    y: y.max(prev),
                    state,
                    label,
                });
            }
        }
    }
    for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
        let x = lane_x(side);
        let mut label_floor = f64::MIN;
        let list = &changes[i];
        for (k, c) in list.iter().enumerate() {
            let end = list.get(k + 1).map_or(band_bottom, |n| n.y);
            let dash = if c.state == TcpState::Unknown {
                r#" stroke-dasharray="3 2""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r##"<rect class="band" data-side="{}" data-state="{}" x="{}" y="{}" width="{}" height="{}" fill="url(#{p}{})" stroke="#424242" stroke-width="0.6"{dash}/>"##,
                side.name(),
                c.state.name(),
                num(x - BAND_HALF),
                num(c.y),
                num(2.0 * BAND_HALF),
                num((end - c.y).max(0.0)),
                c.state.name()
            );
            let ly = (c.y + 4.0).max(label_floor);
            label_floor = ly + 12.5;
            let (lx, anchor) = match side {
                Side::Client => (x - BAND_HALF - 5.0, "end"),
                Side::Server => (x + BAND_HALF + 5.0, "start"),
            };
            let _ = write!(
                s,
                r##"<text class="state" data-side="{}" x="{}" y="{}" font-size="11" font-weight="bold" text-anchor="{anchor}" fill="#1a1a1a">{}</text>"##,
                side.name(),
                num(lx),
                num(ly + 4.0),
                esc(&c.label)
            );
        }
    }

    // Folds and shortened gaps: marked on the lanes and in the time column.
    for k in 1..l.rows.len() {
        let (y0, y1) = (lay.y[k - 1], lay.y[k]);
        let mid = (y0 + y1) / 2.0;
        let gap_ns = lay.t[k] - lay.t[k - 1];
        match lay.gap[k] {
            Gap::Plain => {}
            Gap::Shortened => {
                for x in [CLIENT_X, SERVER_X] {
                    let _ = write!(
                        s,
                        r##"<path d="M{},{} l{},-4 l{},8 l{},-4" fill="none" stroke="#000" stroke-width="1.2"/>"##,
                        num(x - 12.0),
                        num(mid),
                        num(8.0),
                        num(8.0),
                        num(8.0)
                    );
                }
                let _ = write!(
                    s,
                    r##"<text class="gap" x="{TIME_RIGHT}" y="{}" font-size="10" font-style="italic" text-anchor="end" fill="#555">+{}</text>"##,
                    num(mid + 3.5),
                    esc(&duration(gap_ns))
                );
            }
            Gap::Folded | Gap::Rows => {
                let gap = duration(gap_ns);
                let text = if lay.gap[k] == Gap::Rows {
                    ui::FOLDED_ROWS.fill(&[("n", &l.folded), ("gap", &gap)])
                } else {
                    ui::FOLDED_IDLE.fill(&[("gap", &gap)])
                };
                let _ = write!(
                    s,
                    r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#eeeeee"/><text class="fold" x="{}" y="{}" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
                    num(CLIENT_X + BAND_HALF + 2.0),
                    num(mid - 9.0),
                    num(SERVER_X - CLIENT_X - 2.0 * BAND_HALF - 4.0),
                    num(18.0),
                    num((CLIENT_X + SERVER_X) / 2.0),
                    num(mid + 4.0),
                    esc(&charset::text(text))
                );
            }
        }
    }
    // The capture point.
    let _ = write!(
        s,
        r##"<line class="capture-point" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#9e9e9e" stroke-width="1" stroke-dasharray="5 4"/><text x="{x}" y="{}" font-size="10" text-anchor="middle" fill="#757575">{}</text>"##,
        num(band_top),
        num(band_bottom),
        num(band_top - 4.0),
        ui::CAPTURE_POINT.get(),
        x = num(cap_x)
    );

    // Rows: time, arrow, notes.
    let mut placed: Vec<(f64, f64, f64)> = Vec::new();
    for (k, r) in l.rows.iter().enumerate() {
        let y = lay.y[k];
        let _ = write!(s, r#"<g class="row" data-step="{k}""#);
        if let Some(f) = r.frame {
            let _ = write!(s, r#" data-frame="{f}""#);
        }
        s.push('>');
        let _ = write!(
            s,
            r##"<text x="{TIME_RIGHT}" y="{}" font-size="10" text-anchor="end" fill="#424242">{}</text>"##,
            num(y + 3.5),
            seconds(lay.t[k])
        );
        if let Some(from) = r.from {
            let to = side_other(from);
            let (x1, x2) = (lane_x(from), lane_x(to));
            let y1 = lay.at(lay.t[k] - half(from)).min(y);
            let y2 = lay.at(lay.t[k] + half(to)).max(y);
            let (colour, width, dash) = arrow_style(r);
            let dir = if x2 > x1 { 1.0 } else { -1.0 };
            // Stop at the band's edge so the head stays visible.
            let (sx, ex) = (x1 + dir * BAND_HALF, x2 - dir * BAND_HALF);
            let (dx, dy) = (ex - sx, y2 - y1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ux, uy) = (dx / len, dy / len);
            let (hx, hy) = (ex - ux * 9.0, y2 - uy * 9.0);
            let dash_attr = if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            };
            let _ = write!(
                s,
                r##"<path class="arrow" d="M{},{} L{},{}" stroke="{colour}" stroke-width="{width}" fill="none"{dash_attr}/><path class="head" d="M{},{} L{},{} L{},{} Z" {}/>"##,
                num(sx),
                num(y1),
                num(hx),
                num(hy),
                num(ex),
                num(y2),
                num(hx - uy * 4.5),
                num(hy + ux * 4.5),
                num(hx + uy * 4.5),
                num(hy - ux * 4.5),
                head_paint(r.flags, colour),
            );
            // The label sits above the arrow, along it, in the middle; where
            // it would cover an earlier label (arrows that cross), it slides
            // along its arrow.
            let half_w = r.label.chars().count() as f64 * 3.2;
            let span = (SERVER_X - CLIENT_X) / 2.0 - half_w - BAND_HALF - 4.0;
            let at = |f: f64| {
                let cx = (CLIENT_X + SERVER_X) / 2.0 + f * span.max(0.0);
                (cx, y1 + (cx - sx) / dx * dy)
            };
            let (cx, cy) = [0.0, -0.6, 0.6, -1.0, 1.0]
                .into_iter()
                .map(|f| at(f * dir))
                .find(|&(x, y)| {
                    !placed.iter().any(|&(px, py, pw): &(f64, f64, f64)| {
                        (px - x).abs() < pw + half_w && (py - y).abs() < 12.0
                    })
                })
                .unwrap_or_else(|| at(0.0));
            placed.push((cx, cy, half_w));
            if placed.len() > 12 {
                placed.remove(0);
            }
            let angle = dy.atan2(dx).to_degrees();
            let angle = if dir < 0.0 { angle - 180.0 } else { angle };
            let _ = write!(
                s,
                r##"<text class="label" x="{cx}" y="{}" font-size="11" text-anchor="middle" fill="{colour}" stroke="#fff" stroke-width="3" paint-order="stroke" transform="rotate({} {cx} {})">{}</text>"##,
                num(cy - 4.0),
                num(angle),
                num(cy),
                esc(&r.label),
                cx = num(cx),
            );
        }
        for (j, (t, line)) in notes[k].iter().enumerate() {
            let _ = write!(
                s,
                r##"<text class="note" x="{NOTES_X}" y="{}" font-size="11" fill="{}">{}</text>"##,
                num(y + 4.0 + j as f64 * NOTE_LINE),
                tone_colour(*t),
                esc(line)
            );
        }
        s.push_str("</g>");
    }

    for (i, line) in story_lines.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text class="story" x="8" y="{}" font-size="12.5" fill="#000">{}</text>"##,
            num(story_y + i as f64 * 16.0),
            esc(line)
        );
    }
    legend(&mut s, &p, &used, legend_y);
    s.push_str("</svg>");
    Picture {
        width: WIDTH,
        height,
        svg: s,
    }
}

/// A FIN's arrowhead is hollow, so it stands out from a SYN's in black and white.
fn head_paint(flags: u8, colour: &str) -> String {
    if flags & flag::FIN != 0 && flags & flag::RST == 0 {
        format!(r##"fill="#fff" stroke="{colour}" stroke-width="1.3""##)
    } else {
        format!(r#"fill="{colour}""#)
    }
}

/// What the arrow styles and band patterns mean.
fn legend(s: &mut String, p: &str, states: &[TcpState], y: f64) {
    let arrows: [(&str, &str, f64, &str, u8); 7] = [
        ("SYN", "#2e7d32", 1.8, "", flag::SYN),
        (ui::DATA.get(), "#000000", 1.6, "", 0),
        (ui::ARROW_ACK_ONLY.get(), "#616161", 1.0, "", 0),
        (ui::ARROW_FIN.get(), "#1565c0", 1.8, "", flag::FIN),
        ("RST", "#c62828", 2.2, "7 3", flag::RST),
        (ui::ARROW_FLAGGED.get(), "#e65100", 1.8, "9 3 2 3", 0),
        (ui::ARROW_PROBE.get(), "#6a1b9a", 1.6, "2 3", 0),
    ];
    let mut x = 8.0;
    for (name, colour, w, dash, flags) in arrows {
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="{w}" stroke-dasharray="{}"/><path d="M{},{} l-9,-4.5 v9 Z" {}/><text x="{}" y="{}" font-size="10.5">{name}</text>"##,
            num(x),
            num(y),
            num(x + 24.0),
            num(y),
            if dash.is_empty() { "none" } else { dash },
            num(x + 32.0),
            num(y),
            head_paint(flags, colour),
            num(x + 37.0),
            num(y + 3.5)
        );
        x += 40.0 + text_px(name, 6.2) + 14.0;
    }
    let mut x = 8.0;
    let mut y = y + 22.0;
    for st in states {
        let shown = state_shown(*st);
        let w = 24.0 + text_px(&shown, 6.6) + 12.0;
        // Chinese names are longer: they may take a second line (English
        // ones always fit on one).
        if x > 8.0 && x + w > WIDTH - 8.0 {
            x = 8.0;
            y += 20.0;
        }
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="12" height="12" fill="url(#{p}{n})" stroke="#424242" stroke-width="0.6"/><text x="{}" y="{}" font-size="10.5">{shown}</text>"##,
            num(x),
            num(y - 6.0),
            num(x + 16.0),
            num(y + 4.0),
            n = st.name()
        );
        x += w;
    }
}

fn side_other(s: Side) -> Side {
    match s {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_core::track::StatePath;

    #[test]
    fn layout_is_linear_between_rows_and_keeps_rows_apart() {
        let ts = |ns: i64| {
            synack_core::decode::Timestamp::new(
                100 + ns / 1_000_000_000,
                (ns % 1_000_000_000) as u32,
            )
        };
        let row = |ns: i64| Row {
            ts: ts(ns),
            from: Some(Side::Client),
            label: String::new(),
            states: [None, None],
            notes: Vec::new(),
            frame: None,
            flags: 0,
            seq: (0, 0, None),
            paths: [StatePath::at(TcpState::Established); 2],
            corrected: [false; 2],
            assumed: false,
            whys: Vec::new(),
        };
        let mut l = Ladder::new(
            "10.0.0.1:1".parse().unwrap(),
            "10.0.0.2:2".parse().unwrap(),
            [TcpState::Established; 2],
            ts(0),
            60,
        );
        l.rows = vec![row(0), row(1_000), row(101_000), row(3_000_000_000)];
        // 1 px per µs: 1 µs is too close (MIN_ROW), 100 µs is 100 px
        // (shortened to MAX_ROW), 3 s is folded.
        let lay = Layout::new(&l, 1e-3, &[0, 0, 0, 0]);
        assert_eq!(lay.y[1] - lay.y[0], MIN_ROW);
        assert_eq!(lay.y[2] - lay.y[1], MAX_ROW);
        assert!(lay.gap[2] == Gap::Shortened && lay.gap[3] == Gap::Folded);
        let mid = lay.at(51_000);
        assert!((mid - (lay.y[1] + MAX_ROW / 2.0)).abs() < 1e-6, "{mid}");
        assert!(lay.at(-1_000_000_000) >= lay.y[0] - EDGE_MAX);
    }
}
