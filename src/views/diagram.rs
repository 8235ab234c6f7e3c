//! The rows of a ladder diagram, collected per connection as its packets
//! go by; the terminal ladder and Mermaid draw them when it retires.

use std::fmt::Write as _;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use synack_core::decode::tcp::flag;
use synack_core::decode::{Segment, Timestamp};
use synack_core::track::{Analysis, Event, EventKind, Observation, Side, StatePath, TcpState};
use synack_core::Packet;

use super::time::time_of_day_ms;
use super::words;

/// A ladder stops collecting rows here; the rest is counted.
const MAX_ROWS: usize = 5_000;

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

#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) ts: Timestamp,
    /// Who sent it; `None` for a row that is not a segment.
    pub(crate) from: Option<Side>,
    pub(crate) label: String,
    /// A side's state, where this row changed it.
    pub(crate) states: [Option<TcpState>; 2],
    pub(crate) notes: Vec<(Tone, String)>,
    /// The frame (a segment's row), for pictures that link back to it.
    pub(crate) frame: Option<u64>,
    /// The segment's TCP flags (0 for an event row).
    pub(crate) flags: u8,
    /// Relative seq, sequence space used (payload, SYN, FIN) and relative ack.
    pub(crate) seq: (u32, u32, Option<u32>),
    /// Both sides' whole state paths at this row (client first): a segment
    /// can take a side through several states.
    pub(crate) paths: [StatePath; 2],
    /// A side's state here corrects an earlier row; the states are assumed.
    pub(crate) corrected: [bool; 2],
    pub(crate) assumed: bool,
    /// `--why` for each note, when the collector was asked for them.
    pub(crate) whys: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    pub(crate) client: SocketAddr,
    pub(crate) server: SocketAddr,
    pub(crate) initial: [TcpState; 2],
    pub(crate) first_ts: Timestamp,
    pub(crate) rows: Vec<Row>,
    pub(crate) dropped: usize,
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

fn note(e: &Event) -> (Tone, String) {
    (tone(&e.kind), words::label(e, &|ts| time_of_day_ms(ts)))
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
    /// Rows kept per connection; the rest are counted.
    max_rows: usize,
    /// Explain each note (`--why`), with this 2MSL.
    why: Option<i128>,
}

impl Default for Rows {
    fn default() -> Self {
        Rows::new(MAX_ROWS, None)
    }
}

impl Rows {
    /// Keep at most `max_rows` rows a connection; with `why` (2MSL), each
    /// note's `--why` too.
    pub(crate) fn new(max_rows: usize, why: Option<i128>) -> Rows {
        Rows {
            ladders: FxHashMap::default(),
            max_rows,
            why,
        }
    }

    /// One packet: a row for its connection, with the events it caused.
    pub(crate) fn packet(&mut self, p: &Packet<'_>) {
        let (Some(seg), Some(obs)) = (p.segment, p.observation) else {
            return;
        };
        let notes: Vec<(Tone, String)> = p.events.iter().map(note).collect();
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
                dropped: 0,
            }
        });
        if ladder.rows.len() >= self.max_rows {
            ladder.dropped += 1;
            return;
        }
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
        ladder.rows.push(Row {
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
        let n = note(e);
        let Some(ladder) = self.ladders.get_mut(&e.conn) else {
            return;
        };
        if ladder.rows.len() >= self.max_rows {
            ladder.dropped += 1;
            return;
        }
        let mut states = [None, None];
        // Where each side stands: after the last row (or where it began).
        let mut paths: [StatePath; 2] = ladder
            .rows
            .last()
            .map_or(ladder.initial, |r| [r.paths[0].after(), r.paths[1].after()])
            .map(StatePath::at);
        if e.kind == EventKind::TimeWaitExpired {
            // Event rows say a change by `states`; the paths say where each side stands.
            let i = side_index(e.side);
            states[i] = Some(TcpState::Closed);
            paths[i] = StatePath::at(TcpState::Closed);
        }
        let whys = match self.why {
            Some(tw) => vec![words::why(e, tw, words::Bases::default())],
            None => Vec::new(),
        };
        ladder.rows.push(Row {
            ts: e.ts,
            from: None,
            label: String::new(),
            states,
            notes: vec![n],
            frame: None,
            flags: 0,
            seq: (0, 0, None),
            paths,
            corrected: [false; 2],
            assumed: false,
            whys,
        });
    }

    /// Rows are being gathered for this connection.
    pub(crate) fn has(&self, conn: u64) -> bool {
        self.ladders.contains_key(&conn)
    }

    /// The connection retired: its rows, if any packet of it was seen.
    pub(crate) fn take(&mut self, conn: u64) -> Option<Ladder> {
        self.ladders.remove(&conn)
    }
}
