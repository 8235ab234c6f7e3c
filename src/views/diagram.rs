//! The rows of a ladder diagram, collected per connection as its packets
//! go by; the terminal ladder and Mermaid draw them when it retires.

use std::fmt::Write as _;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use synack_core::decode::tcp::flag;
use synack_core::decode::{Segment, Timestamp};
use synack_core::track::{Analysis, Event, EventKind, Observation, Side, StatePath, TcpState};
use synack_core::Packet;

use super::words;

/// A ladder keeps its first and last this many rows; those between are
/// folded into one (a long transfer is the same arrow many times).
pub(crate) const KEEP_ROWS: usize = 60;
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

pub(crate) fn tone(e: &EventKind) -> Tone {
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
    /// The frame (a segment's row), for pictures that link back to it.
    pub(crate) frame: Option<u64>,
    /// The segment's TCP flags (0 for a row that is not a segment).
    pub(crate) flags: u8,
    /// Relative seq, sequence space used (payload, SYN, FIN) and relative ack.
    pub(crate) seq: (u32, u32, Option<u32>),
    /// Both sides' whole state paths at this row (client first): a segment
    /// can take a side through several states; other rows say where each
    /// side stands.
    pub(crate) paths: [StatePath; 2],
    /// A side's state here corrects an earlier row; the states are assumed.
    pub(crate) corrected: [bool; 2],
    pub(crate) assumed: bool,
    /// `--why` for each note, when the collector was asked for them.
    pub(crate) whys: Vec<String>,
}

impl Row {
    /// A row that is not a segment, where each side stands at `at`.
    fn between(ts: Timestamp, states: [Option<TcpState>; 2], at: [TcpState; 2], note: Note) -> Row {
        Row {
            ts,
            from: None,
            label: String::new(),
            states,
            notes: vec![note],
            frame: None,
            flags: 0,
            seq: (0, 0, None),
            paths: at.map(StatePath::at),
            corrected: [false; 2],
            assumed: false,
            whys: Vec::new(),
        }
    }

    /// Where each side stands after this row.
    fn after(&self) -> [TcpState; 2] {
        [self.paths[0].after(), self.paths[1].after()]
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    pub(crate) client: SocketAddr,
    pub(crate) server: SocketAddr,
    pub(crate) initial: [TcpState; 2],
    pub(crate) first_ts: Timestamp,
    pub(crate) rows: Vec<Row>,
    /// The newest rows once `rows` holds the first `keep`.
    tail: std::collections::VecDeque<Row>,
    /// Rows folded between the first and the last kept.
    pub(crate) folded: usize,
    /// Once drawn: the row that marks the fold, if rows were folded.
    pub(crate) fold_row: Option<usize>,
    /// Rows kept at each end.
    keep: usize,
}

impl Ladder {
    /// No rows yet; it will keep the first and last `keep`.
    pub(crate) fn new(
        client: SocketAddr,
        server: SocketAddr,
        initial: [TcpState; 2],
        first_ts: Timestamp,
        keep: usize,
    ) -> Ladder {
        Ladder {
            client,
            server,
            initial,
            first_ts,
            rows: Vec::new(),
            tail: std::collections::VecDeque::new(),
            folded: 0,
            fold_row: None,
            keep,
        }
    }

    fn push(&mut self, r: Row) {
        if self.rows.len() < self.keep {
            self.rows.push(r);
            return;
        }
        self.tail.push_back(r);
        if self.tail.len() > self.keep {
            self.tail.pop_front();
            self.folded += 1;
        }
    }

    /// Where each side stands after the newest row (or where it began).
    fn now(&self) -> [TcpState; 2] {
        self.tail
            .back()
            .or(self.rows.last())
            .map_or(self.initial, Row::after)
    }

    /// All rows to draw: the first, a fold mark, the last.
    fn close(mut self) -> Ladder {
        if self.folded > 0 {
            let ts = self.tail.front().map_or(self.first_ts, |r| r.ts);
            // The pictures draw each side's state through the fold: where
            // it stood when the first row after it began.
            let at = self
                .tail
                .front()
                .map_or(self.initial, |r| [r.paths[0].before(), r.paths[1].before()]);
            self.fold_row = Some(self.rows.len());
            self.rows.push(Row::between(
                ts,
                [None, None],
                at,
                Note::Text(words::folded(self.folded, self.keep)),
            ));
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
        s.push_str(crate::lang::pick("none", "无标志"));
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
pub(crate) struct Rows {
    ladders: FxHashMap<u64, Ladder>,
    /// Connections not drawn because MAX_OPEN ladders were open.
    skipped: rustc_hash::FxHashSet<u64>,
    /// How many connections went undrawn, in all.
    pub(crate) not_drawn: u64,
    /// Rows kept at each end of a ladder; those between are folded.
    keep: usize,
    /// Explain each note (`--why`), with this 2MSL.
    why: Option<i128>,
}

impl Default for Rows {
    fn default() -> Self {
        Rows::new(KEEP_ROWS, None)
    }
}

impl Rows {
    /// Keep the first and last `keep` rows of each ladder; with `why`
    /// (2MSL), each note's `--why` too.
    pub(crate) fn new(keep: usize, why: Option<i128>) -> Rows {
        Rows {
            ladders: FxHashMap::default(),
            skipped: Default::default(),
            not_drawn: 0,
            keep: keep.max(1),
            why,
        }
    }

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
        let keep = self.keep;
        let ladder = self.ladders.entry(obs.conn).or_insert_with(|| {
            let (client, server) = match obs.side {
                Side::Client => (seg.src, seg.dst),
                Side::Server => (seg.dst, seg.src),
            };
            Ladder::new(client, server, obs.before(), seg.ts, keep)
        });
        let changed = |i: usize| obs.paths[i].changed().then_some(obs.paths[i].after());
        let whys = match self.why {
            Some(tw) => {
                let bases = words::Bases {
                    own: Some(seg.seq.minus(obs.rel_seq)),
                    peer: obs.peer_seq_base,
                };
                p.events.iter().map(|e| words::why(e, tw, bases)).collect()
            }
            None => Vec::new(),
        };
        ladder.push(Row {
            ts: seg.ts,
            from: Some(obs.side),
            label: segment_label(seg, obs),
            states: [changed(0), changed(1)],
            notes,
            frame: Some(seg.frame),
            flags: seg.flags,
            seq: (obs.rel_seq, seg.seq_len(), obs.rel_ack),
            paths: obs.paths,
            corrected: obs.corrected,
            assumed: obs.assumed,
            whys,
        });
    }

    /// An event between segments (TIME_WAIT expiry, still in TIME_WAIT at the end).
    pub(crate) fn event(&mut self, e: &Event) {
        let Some(ladder) = self.ladders.get_mut(&e.conn) else {
            return;
        };
        let mut states = [None, None];
        // Event rows say a change by `states`; the paths say where each side stands.
        let mut at = ladder.now();
        if e.kind == EventKind::TimeWaitExpired {
            let i = side_index(e.side);
            states[i] = Some(TcpState::Closed);
            at[i] = TcpState::Closed;
        }
        let mut row = Row::between(e.ts, states, at, Note::Event(*e));
        if let Some(tw) = self.why {
            row.whys = vec![words::why(e, tw, words::Bases::default())];
        }
        ladder.push(row);
    }

    /// Rows are being gathered for this connection.
    pub(crate) fn has(&self, conn: u64) -> bool {
        self.ladders.contains_key(&conn)
    }

    /// The connection's exchange is over (live): its rows so far, and a
    /// fresh ladder for what may follow (TIME_WAIT's end), starting from
    /// the states and the clock the first one ended with.
    pub(crate) fn take_and_continue(&mut self, conn: u64) -> Option<Ladder> {
        let done = self.ladders.remove(&conn)?.close();
        // Where each side stands now (the rows' paths hold it through a fold).
        let last = done.rows.last().map_or(done.initial, Row::after);
        self.ladders.insert(
            conn,
            Ladder::new(done.client, done.server, last, done.first_ts, self.keep),
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
