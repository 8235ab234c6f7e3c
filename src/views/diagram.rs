//! The rows of a ladder diagram, collected per connection as its packets
//! go by; the terminal ladder and Mermaid draw them when it retires.

use std::fmt::Write as _;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use synack_core::decode::tcp::flag;
use synack_core::decode::{Segment, Timestamp};
use synack_core::track::{Analysis, Event, EventKind, Observation, Side, TcpState};
use synack_core::Packet;

use super::words;

/// A ladder keeps its first and last this many rows; those between are
/// folded into one (a long transfer is the same arrow many times).
const KEEP_ROWS: usize = 60;
/// Ladders being collected at once, at most; more open connections are not
/// drawn (and counted), so memory stays bounded whatever the capture.
const MAX_OPEN: usize = 5_000;

/// What a row's annotations are about, for colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
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
        EventKind::EcnSetup { .. } => Tone::Handshake,
        EventKind::CongestionExperienced | EventKind::EcnEcho | EventKind::WindowReduced => {
            Tone::Trouble
        }
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
        _ => Tone::Plain,
    }
}

/// An annotation on a row: an event, worded when drawn (each drawing has
/// its own clock), or text of the drawing's own.
#[derive(Clone, Debug)]
pub(crate) enum Note {
    Event(Event),
    Text(String),
}

impl Note {
    pub(crate) fn tone(&self) -> Tone {
        match self {
            Note::Event(e) => tone(&e.kind),
            Note::Text(_) => Tone::Plain,
        }
    }

    /// The words, with points in time written by `clock`.
    pub(crate) fn words(&self, clock: &impl Fn(Timestamp) -> String) -> String {
        match self {
            Note::Event(e) => words::label(e, clock),
            Note::Text(t) => t.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) ts: Timestamp,
    /// Who sent it; `None` for a row that is not a segment.
    pub(crate) from: Option<Side>,
    pub(crate) label: String,
    /// A side's state, where this row changed it.
    pub(crate) states: [Option<TcpState>; 2],
    pub(crate) notes: Vec<Note>,
}

#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    pub(crate) client: SocketAddr,
    pub(crate) server: SocketAddr,
    pub(crate) initial: [TcpState; 2],
    pub(crate) first_ts: Timestamp,
    pub(crate) rows: Vec<Row>,
    /// The newest rows once `rows` holds the first KEEP_ROWS.
    tail: std::collections::VecDeque<Row>,
    /// Rows folded between the first and the last kept.
    folded: usize,
}

impl Ladder {
    fn push(&mut self, r: Row) {
        if self.rows.len() < KEEP_ROWS {
            self.rows.push(r);
            return;
        }
        self.tail.push_back(r);
        if self.tail.len() > KEEP_ROWS {
            self.tail.pop_front();
            self.folded += 1;
        }
    }

    /// All rows to draw: the first, a fold mark, the last.
    fn close(mut self) -> Ladder {
        if self.folded > 0 {
            let ts = self.tail.front().map_or(self.first_ts, |r| r.ts);
            self.rows.push(Row {
                ts,
                from: None,
                label: String::new(),
                states: [None, None],
                notes: vec![Note::Text(words::folded(self.folded, KEEP_ROWS))],
            });
        }
        let tail = std::mem::take(&mut self.tail);
        self.rows.extend(tail);
        self
    }
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
    if seg.ae {
        s.push_str(",AE");
    }
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

fn side_index(s: Side) -> usize {
    match s {
        Side::Client => 0,
        Side::Server => 1,
    }
}

/// Rows of every connection not yet retired.
#[derive(Default)]
pub(crate) struct Rows {
    ladders: FxHashMap<u64, Ladder>,
    /// Connections not drawn because MAX_OPEN ladders were open.
    skipped: rustc_hash::FxHashSet<u64>,
    /// How many connections went undrawn, in all.
    pub(crate) not_drawn: u64,
}

impl Rows {
    /// One packet: a row for its connection, with the events it caused.
    pub(crate) fn packet(&mut self, p: &Packet<'_>) {
        let (Some(seg), Some(obs)) = (p.segment, p.observation) else {
            return;
        };
        if !self.ladders.contains_key(&obs.conn) && self.ladders.len() >= MAX_OPEN {
            self.skipped.insert(obs.conn);
            return;
        }
        if self.skipped.contains(&obs.conn) {
            return;
        }
        let notes: Vec<Note> = p.events.iter().copied().map(Note::Event).collect();
        let ladder = self.ladders.entry(obs.conn).or_insert_with(|| {
            let (client, server) = match obs.side {
                Side::Client => (seg.src, seg.dst),
                Side::Server => (seg.dst, seg.src),
            };
            Ladder {
                client,
                server,
                initial: obs.before(),
                first_ts: seg.ts,
                rows: Vec::new(),
                tail: std::collections::VecDeque::new(),
                folded: 0,
            }
        });
        let changed = |i: usize| obs.paths[i].changed().then_some(obs.paths[i].after());
        ladder.push(Row {
            ts: seg.ts,
            from: Some(obs.side),
            label: segment_label(seg, obs),
            states: [changed(0), changed(1)],
            notes,
        });
    }

    /// An event between segments (TIME_WAIT expiry, still in TIME_WAIT at the end).
    pub(crate) fn event(&mut self, e: &Event) {
        let Some(ladder) = self.ladders.get_mut(&e.conn) else {
            return;
        };
        let mut states = [None, None];
        if e.kind == EventKind::TimeWaitExpired {
            states[side_index(e.side)] = Some(TcpState::Closed);
        }
        ladder.push(Row {
            ts: e.ts,
            from: None,
            label: String::new(),
            states,
            notes: vec![Note::Event(*e)],
        });
    }

    /// The connection's exchange is over (live): its rows so far, and a
    /// fresh ladder for what may follow (TIME_WAIT's end), starting from
    /// the states and the clock the first one ended with.
    pub(crate) fn take_and_continue(&mut self, conn: u64) -> Option<Ladder> {
        let done = self.ladders.remove(&conn)?.close();
        let mut last = done.initial;
        for r in &done.rows {
            for (i, s) in r.states.iter().enumerate() {
                if let Some(s) = s {
                    last[i] = *s;
                }
            }
        }
        self.ladders.insert(
            conn,
            Ladder {
                client: done.client,
                server: done.server,
                initial: last,
                first_ts: done.first_ts,
                rows: Vec::new(),
                tail: std::collections::VecDeque::new(),
                folded: 0,
            },
        );
        Some(done)
    }

    /// The connection retired: its rows, if any packet of it was seen.
    pub(crate) fn take(&mut self, conn: u64) -> Option<Ladder> {
        if self.skipped.remove(&conn) {
            self.not_drawn += 1;
        }
        self.ladders.remove(&conn).map(Ladder::close)
    }
}
