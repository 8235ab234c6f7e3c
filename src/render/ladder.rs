//! Ladder diagrams: each connection drawn the way textbooks do — the client
//! lane on the left, the server lane on the right, one arrow per segment,
//! each side's state written beside its lane when it changes — with a
//! one-sentence story underneath. Also rendered as Mermaid for docs.

use std::fmt::Write as _;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::annotation::{self, duration};
use super::time::time_of_day_ms;
use crate::decode::tcp::flag;
use crate::decode::{Segment, Timestamp};
use crate::track::connection::Connection;
use crate::track::event::{Analysis, CloseVariant, ResetCause};
use crate::track::{Event, EventKind, Observation, Retired, Side, TcpState};

/// Gaps at least this long are folded into one "idle" row.
const IDLE_FOLD_NS: i128 = 1_000_000_000;
/// A ladder stops collecting rows here; the rest is counted.
const MAX_ROWS: usize = 5_000;

/// What a row's annotations are about, for colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Handshake,
    Close,
    Reset,
    Trouble,
    Probe,
    TimeWait,
}

fn tone(e: &EventKind) -> Tone {
    match e {
        EventKind::Handshake { .. } | EventKind::SimultaneousOpen => Tone::Handshake,
        EventKind::Close { .. } | EventKind::HalfClose { .. } => Tone::Close,
        EventKind::Refused | EventKind::Reset { .. } => Tone::Reset,
        EventKind::TimeWait { .. }
        | EventKind::TimeWaitExpired
        | EventKind::TimeWaitContinues { .. } => Tone::TimeWait,
        EventKind::Analysis { what, .. } => match what {
            Analysis::KeepAlive
            | Analysis::KeepAliveAck
            | Analysis::ZeroWindowProbe
            | Analysis::ZeroWindowProbeAck
            | Analysis::WindowUpdate => Tone::Probe,
            _ => Tone::Trouble,
        },
        EventKind::Midstream | EventKind::PortReuse { .. } | EventKind::LastAckLost => Tone::Plain,
    }
}

#[derive(Clone, Debug)]
struct Row {
    ts: Timestamp,
    /// Who sent it; `None` for a row that is not a segment.
    from: Option<Side>,
    label: String,
    /// A side's state, where this row changed it.
    states: [Option<TcpState>; 2],
    notes: Vec<(Tone, String)>,
}

#[derive(Clone, Debug)]
struct Ladder {
    client: SocketAddr,
    server: SocketAddr,
    initial: [TcpState; 2],
    first_ts: Timestamp,
    rows: Vec<Row>,
    dropped: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Ladder,
    Mermaid,
}

#[derive(Clone, Copy, Debug)]
pub struct LadderOptions {
    pub style: Style,
    pub width: usize,
    pub ascii: bool,
    pub color: bool,
    /// Only these connections (empty: all).
    pub only: Option<u64>,
}

pub struct LadderRenderer {
    opts: LadderOptions,
    ladders: FxHashMap<u64, Ladder>,
}

fn flag_names(flags: u8) -> String {
    let mut s = String::new();
    for (bit, name) in flag::NAMES {
        if flags & bit != 0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(name);
        }
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// `PSH,ACK seq=1:6 ack=1 len=5`
fn segment_label(seg: &Segment, obs: &Observation) -> String {
    let mut s = flag_names(seg.flags);
    if seg.payload_len > 0 {
        let _ = write!(
            s,
            " seq={}:{}",
            obs.rel_seq,
            obs.rel_seq.wrapping_add(seg.payload_len)
        );
    } else {
        let _ = write!(s, " seq={}", obs.rel_seq);
    }
    if let Some(a) = obs.rel_ack {
        let _ = write!(s, " ack={a}");
    }
    if seg.payload_len > 0 {
        let _ = write!(s, " len={}", seg.payload_len);
    }
    if let Some(w) = obs.win_scaled.filter(|w| *w == 0) {
        let _ = write!(s, " win={w}");
    }
    s
}

impl LadderRenderer {
    pub fn new(opts: LadderOptions) -> LadderRenderer {
        LadderRenderer {
            opts,
            ladders: FxHashMap::default(),
        }
    }

    pub fn width(&self) -> usize {
        self.opts.width
    }

    pub fn is_mermaid(&self) -> bool {
        self.opts.style == Style::Mermaid
    }

    fn wanted(&self, conn: u64) -> bool {
        self.opts.only.is_none_or(|n| n == conn)
    }

    fn note(&self, e: &Event) -> (Tone, String) {
        (
            tone(&e.kind),
            annotation::label(e, &|ts| time_of_day_ms(ts)),
        )
    }

    /// One segment of connection `obs.conn`, with the events it caused.
    pub fn segment(&mut self, seg: &Segment, obs: &Observation, events: &[Event]) {
        if !self.wanted(obs.conn) {
            return;
        }
        let notes: Vec<(Tone, String)> = events.iter().map(|e| self.note(e)).collect();
        let ladder = self.ladders.entry(obs.conn).or_insert_with(|| {
            let (client, server) = match obs.side {
                Side::Client => (seg.src, seg.dst),
                Side::Server => (seg.dst, seg.src),
            };
            Ladder {
                client,
                server,
                initial: obs.before,
                first_ts: seg.ts,
                rows: Vec::new(),
                dropped: 0,
            }
        });
        if ladder.rows.len() >= MAX_ROWS {
            ladder.dropped += 1;
            return;
        }
        let changed = |i: usize| (obs.before[i] != obs.after[i]).then_some(obs.after[i]);
        ladder.rows.push(Row {
            ts: seg.ts,
            from: Some(obs.side),
            label: segment_label(seg, obs),
            states: [changed(0), changed(1)],
            notes,
        });
    }

    /// An event between segments (TIME_WAIT expiry, still in TIME_WAIT at the end).
    pub fn event(&mut self, e: &Event) {
        if !self.wanted(e.conn) {
            return;
        }
        let note = self.note(e);
        let Some(ladder) = self.ladders.get_mut(&e.conn) else {
            return;
        };
        let mut states = [None, None];
        if e.kind == EventKind::TimeWaitExpired {
            states[side_index(e.side)] = Some(TcpState::Closed);
        }
        ladder.rows.push(Row {
            ts: e.ts,
            from: None,
            label: String::new(),
            states,
            notes: vec![note],
        });
    }

    /// The connection is over: draw it (if it was wanted).
    pub fn finish(&mut self, c: &Connection, why: Retired, time_wait_ns: i128) -> Option<String> {
        let ladder = self.ladders.remove(&c.id)?;
        let story = story(c, why, time_wait_ns);
        Some(match self.opts.style {
            Style::Ladder => draw(&ladder, c.id, &story, &self.opts),
            Style::Mermaid => mermaid(&ladder, c.id, &story),
        })
    }
}

fn side_index(s: Side) -> usize {
    match s {
        Side::Client => 0,
        Side::Server => 1,
    }
}

/// The connection in one sentence.
pub fn story(c: &Connection, why: Retired, time_wait_ns: i128) -> String {
    let mut parts: Vec<String> = Vec::new();
    if c.refused {
        parts.push("refused: the SYN was answered by RST".into());
    } else if let Some(rtt) = c.handshake.rtt_ns {
        parts.push(format!("opened in {}", duration(i128::from(rtt))));
    } else if c.handshake.simultaneous {
        parts.push("opened by a simultaneous open".into());
    } else if c.midstream {
        parts.push("joined mid-stream (no handshake seen)".into());
    } else if c.client.syn_seen && !c.server.synack_sent {
        parts.push("the SYN got no answer".into());
    }
    if c.handshake.syn_count > 1 {
        parts.push(format!("after {} SYNs", c.handshake.syn_count));
    }
    let (cb, sb) = (c.client.bytes, c.server.bytes);
    if cb + sb > 0 {
        parts.push(if cb == sb {
            format!("{cb} B each way")
        } else {
            format!("{cb} B from the client, {sb} B from the server")
        });
    }
    if c.close.half_close {
        parts.push(format!(
            "half-closed ({} B after the first FIN)",
            c.close.half_close_bytes
        ));
    }
    let first = c.close.first_fin.map(Side::name);
    let close = match (c.first_reset, c.close.variant, first) {
        (Some((by, cause)), _, _) if !c.refused => Some(format!(
            "reset by the {} ({})",
            by.name(),
            match cause {
                ResetCause::Abort => "abort",
                ResetCause::AfterClose => "after it had closed",
                ResetCause::KeepaliveTimeout => "keep-alive timeout",
                ResetCause::KeepaliveAnswer => "answering a keep-alive",
                ResetCause::Refused => "refused",
                ResetCause::Unknown => "cause unknown",
            }
        )),
        (_, Some(CloseVariant::FourWay), Some(f)) => {
            Some(format!("{f} closed first (four-way close)"))
        }
        (_, Some(CloseVariant::ThreeWay), Some(f)) => {
            Some(format!("{f} closed first (three-packet close)"))
        }
        (_, Some(CloseVariant::Simultaneous), _) => {
            Some("both closed at once (simultaneous close)".into())
        }
        (_, None, Some(f)) => Some(format!("{f} sent a FIN")),
        _ if c.refused => None,
        _ => Some(match why {
            Retired::Idle => "forgotten after the idle timeout".into(),
            Retired::Evicted => "dropped at --max-connections".into(),
            _ => "still open at the end of the capture".into(),
        }),
    };
    let tw: Vec<String> = [Side::Client, Side::Server]
        .into_iter()
        .filter_map(|s| {
            c.endpoint(s).time_wait_until.map(|u| {
                format!(
                    "the {} holds TIME_WAIT until {}",
                    s.name(),
                    time_of_day_ms(u)
                )
            })
        })
        .collect();
    match (close, tw.is_empty()) {
        (Some(cl), false) => parts.push(format!("{cl} and {}", tw.join(", and "))),
        (Some(cl), true) => parts.push(cl),
        (None, false) => parts.push(tw.join(", and ")),
        (None, true) => {}
    }
    let k = c.client.keepalive.probes + c.server.keepalive.probes;
    if k > 0 {
        parts.push(format!(
            "{k} keep-alive probe{}",
            if k == 1 { "" } else { "s" }
        ));
    }
    let zw = c.client.count(Analysis::ZeroWindow) + c.server.count(Analysis::ZeroWindow);
    if zw > 0 {
        parts.push(format!(
            "{zw} zero-window advertisement{}",
            if zw == 1 { "" } else { "s" }
        ));
    }
    if !c.refused {
        let r = c.client.retransmissions() + c.server.retransmissions();
        parts.push(match r {
            0 => "no retransmissions".into(),
            1 => "1 retransmission".into(),
            n => format!("{n} retransmissions"),
        });
    }
    let _ = time_wait_ns;
    let mut s = parts.join("; ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    s.push('.');
    s
}

struct Glyphs {
    lane: char,
    line: char,
    right: char,
    left: char,
    idle: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    lane: '│',
    line: '─',
    right: '▶',
    left: '◀',
    idle: "⋮",
};
const ASCII: Glyphs = Glyphs {
    lane: '|',
    line: '-',
    right: '>',
    left: '<',
    idle: ":",
};

fn paint(s: &str, t: Tone, color: bool) -> String {
    if !color || t == Tone::Plain {
        return s.to_string();
    }
    let code = match t {
        Tone::Handshake => "32",
        Tone::Close => "36",
        Tone::Reset => "31",
        Tone::Trouble => "33",
        Tone::Probe => "35",
        Tone::TimeWait => "34",
        Tone::Plain => "0",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn fit(s: &str, w: usize) -> String {
    if chars(s) <= w {
        return s.to_string();
    }
    let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// An arrow `w` characters wide with the label inside.
fn arrow(label: &str, w: usize, to_right: bool, g: &Glyphs) -> String {
    let label = fit(label, w.saturating_sub(6));
    let room = w.saturating_sub(chars(&label) + 3);
    let lead = 2.min(room);
    let tail = room - lead;
    let mut s = String::new();
    if to_right {
        s.extend(std::iter::repeat_n(g.line, lead));
        s.push(' ');
        s.push_str(&label);
        s.push(' ');
        s.extend(std::iter::repeat_n(g.line, tail));
        s.push(g.right);
    } else {
        s.push(g.left);
        s.extend(std::iter::repeat_n(g.line, tail));
        s.push(' ');
        s.push_str(&label);
        s.push(' ');
        s.extend(std::iter::repeat_n(g.line, lead));
    }
    s
}

fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(chars(s))))
}

fn pad_right(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(chars(s))))
}

fn seconds(ns: i128) -> String {
    format!("{:.6}", ns as f64 / 1e9)
}

/// Draw a ladder within `opts.width` columns.
fn draw(l: &Ladder, id: u64, story: &str, opts: &LadderOptions) -> String {
    let g = if opts.ascii { &ASCII } else { &UNICODE };
    let narrow = opts.width < 80;
    let time_w = if narrow { 0 } else { 10 };
    let state_w = 11;
    // time, client state, lane, arrow, lane, server state; notes after.
    let fixed = time_w + usize::from(time_w > 0) + 2 * state_w + 6;
    // The arrow gets what a typical label needs; annotations take the rest
    // of the line, or lines of their own when they do not fit.
    let notes_w = if narrow { 0 } else { 24 };
    let arrow_w = opts
        .width
        .saturating_sub(fixed + if notes_w > 0 { notes_w + 2 } else { 0 })
        .clamp(16, 44);
    let mut out = String::new();
    let lane_line = |left: &str, right: &str, mid: &str| -> String {
        let mut s = String::new();
        if time_w > 0 {
            s.push_str(&pad_left("", time_w));
            s.push(' ');
        }
        s.push_str(&pad_left(left, state_w));
        s.push(' ');
        s.push(g.lane);
        s.push_str(&pad_right(mid, arrow_w + 2));
        s.push(g.lane);
        s.push(' ');
        s.push_str(right);
        s.trim_end().to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        fit(
            &format!("#{id}  client {}  ⇄  server {}", l.client, l.server),
            opts.width
        )
    );
    // Lane headers: the addresses over their lanes.
    let mut head = String::new();
    if time_w > 0 {
        head.push_str(&pad_left("time (s)", time_w));
        head.push(' ');
    }
    head.push_str(&pad_left("client", state_w + 2));
    head.push_str(&" ".repeat(arrow_w + 1));
    head.push_str("server");
    let _ = writeln!(out, "{}", fit(&head, opts.width));
    let _ = writeln!(
        out,
        "{}",
        lane_line(l.initial[0].name(), l.initial[1].name(), "")
    );
    let mut prev = l.first_ts;
    for r in &l.rows {
        let gap = r.ts.nanos_since(prev);
        if gap >= IDLE_FOLD_NS {
            let text = format!(" {} {} idle {}", g.idle, duration(gap), g.idle);
            let _ = writeln!(out, "{}", lane_line("", "", &text));
        }
        prev = r.ts;
        let mut line = String::new();
        if time_w > 0 {
            line.push_str(&pad_left(&seconds(r.ts.nanos_since(l.first_ts)), time_w));
            line.push(' ');
        }
        let cs = r.states[0].map_or("", |s| s.name());
        let ss = r.states[1].map_or("", |s| s.name());
        line.push_str(&pad_left(cs, state_w));
        line.push(' ');
        line.push(g.lane);
        match r.from {
            Some(side) => {
                line.push(' ');
                line.push_str(&arrow(&r.label, arrow_w, side == Side::Client, g));
                line.push(' ');
            }
            None => line.push_str(&" ".repeat(arrow_w + 2)),
        }
        line.push(g.lane);
        line.push(' ');
        line.push_str(&pad_right(ss, state_w));
        let notes: Vec<String> = r
            .notes
            .iter()
            .map(|(t, s)| paint(s, *t, opts.color))
            .collect();
        // " · " between notes; measured without colour codes.
        let notes_len: usize = r.notes.iter().map(|(_, s)| chars(s)).sum::<usize>()
            + 3 * r.notes.len().saturating_sub(1);
        if !notes.is_empty() {
            let fits = |l: &str| !narrow && chars(l) + 2 + notes_len <= opts.width;
            // Aligned in a column when there is room, else right after the state.
            if !fits(&line) && fits(line.trim_end()) {
                line = line.trim_end().to_string();
            }
            if fits(&line) {
                line.push_str("  ");
                line.push_str(&notes.join(" · "));
            } else {
                // Too long for the row: the notes go on their own lines, under the arrow.
                let _ = writeln!(out, "{}", line.trim_end());
                for n in &r.notes {
                    let indent = if time_w > 0 { time_w + 1 } else { 0 } + state_w + 3;
                    let text = fit(&n.1, opts.width.saturating_sub(indent + 2));
                    let _ = writeln!(
                        out,
                        "{}{} {}",
                        " ".repeat(indent),
                        if opts.ascii { "^" } else { "↳" },
                        paint(&text, n.0, opts.color)
                    );
                }
                continue;
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if l.dropped > 0 {
        let _ = writeln!(
            out,
            "{}",
            lane_line("", "", &format!(" … {} more segments not drawn", l.dropped))
        );
    }
    let _ = writeln!(out, "{}", wrap(story, opts.width));
    out
}

/// Wrap text at spaces to `width`.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && chars(&line) + 1 + chars(word) > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// Mermaid sequence-diagram text: `;` ends a statement and `#` starts an
/// entity code, so both are written as entity codes (checked with Mermaid's
/// own parser in tests/mermaid).
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ';' => out.push_str("#59;"),
            '#' => out.push_str("#35;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid sequence diagram in a Markdown fence, ready to paste into docs.
fn mermaid(l: &Ladder, id: u64, story: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "```mermaid");
    let _ = writeln!(out, "sequenceDiagram");
    let _ = writeln!(out, "    title connection {id}");
    let _ = writeln!(
        out,
        "    participant C as client {}",
        mermaid_text(&l.client.to_string())
    );
    let _ = writeln!(
        out,
        "    participant S as server {}",
        mermaid_text(&l.server.to_string())
    );
    let _ = writeln!(out, "    Note over C: {}", l.initial[0].name());
    let _ = writeln!(out, "    Note over S: {}", l.initial[1].name());
    for r in &l.rows {
        match r.from {
            Some(Side::Client) => {
                let _ = writeln!(out, "    C->>S: {}", mermaid_text(&r.label));
            }
            Some(Side::Server) => {
                let _ = writeln!(out, "    S->>C: {}", mermaid_text(&r.label));
            }
            None => {}
        }
        for (i, who) in ["C", "S"].iter().enumerate() {
            if let Some(s) = r.states[i] {
                let _ = writeln!(out, "    Note over {who}: {}", s.name());
            }
        }
        if !r.notes.is_empty() {
            let text: Vec<String> = r.notes.iter().map(|(_, s)| mermaid_text(s)).collect();
            let _ = writeln!(out, "    Note right of S: {}", text.join(" · "));
        }
    }
    let _ = writeln!(out, "    Note over C,S: {}", mermaid_text(story));
    let _ = writeln!(out, "```");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_point_the_right_way_and_keep_their_width() {
        let r = arrow("SYN seq=0", 30, true, &UNICODE);
        assert!(r.ends_with('▶') && r.contains("SYN seq=0"));
        assert_eq!(chars(&r), 30);
        let l = arrow("SYN,ACK seq=0 ack=1", 30, false, &ASCII);
        assert!(l.starts_with('<') && l.contains("SYN,ACK"));
        assert_eq!(chars(&l), 30);
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        let r = arrow(
            "PSH,ACK seq=1000000:2000000 ack=1 len=1000000",
            20,
            true,
            &UNICODE,
        );
        assert_eq!(chars(&r), 20);
        assert!(r.contains('…'));
    }

    #[test]
    fn mermaid_text_has_no_statement_breakers() {
        assert_eq!(mermaid_text("a;b#c:d"), "a#59;b#35;c:d");
    }

    #[test]
    fn wrap_respects_the_width() {
        let w = wrap("one two three four five six seven", 10);
        assert!(w.lines().all(|l| chars(l) <= 10), "{w}");
    }
}
