//! Track: segments → connections → events. Pure: no IO, plain values in and out.
//!
//! The tracker owns every live connection, keyed by 4-tuple; it runs the
//! capture-time clock that expires TIME_WAIT, retires finished connections
//! and evicts idle ones, so memory follows the live connections, with a cap.

pub mod connection;
pub mod endpoint;
pub mod event;
pub mod key;
pub mod state;
pub mod zeek;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap;

use crate::decode::tcp::flag;
use crate::decode::{Segment, SeqNum, Timestamp};
pub use connection::{Connection, Timers};
pub use event::{Analysis, Event, EventKind};
pub use key::{ConnKey, Side};
pub use state::TcpState;

#[derive(Clone, Copy, Debug)]
pub struct TrackerConfig {
    /// 2MSL; Linux holds TIME_WAIT for 60 s.
    pub time_wait_ns: i128,
    /// A connection with no segment for this long is reported and dropped.
    pub idle_timeout_ns: i128,
    /// At most this many live connections; the least recently active go first.
    pub max_connections: usize,
}

pub const SECOND: i128 = 1_000_000_000;

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            time_wait_ns: 60 * SECOND,
            // Longer than Linux's default keepalive idle (7200 s), so a quiet
            // connection kept alive by the kernel is not forgotten between probes.
            idle_timeout_ns: 7500 * SECOND,
            max_connections: 300_000,
        }
    }
}

/// After both ends are CLOSED, stray segments (a retransmitted RST, a late
/// ACK) still belong to the connection for this long.
const LINGER_NS: i128 = 2 * SECOND;
/// How often (capture time) idle connections are looked for.
const SWEEP_EVERY_NS: i128 = 10 * SECOND;

/// What the tracker says about one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    pub conn: u64,
    pub side: Side,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    /// The window in bytes, once the scale is known (SYN windows are never scaled).
    pub win_scaled: Option<u32>,
    /// The receiver's relative-sequence base: what `ack` and SACK edges count from.
    pub peer_seq_base: Option<SeqNum>,
    /// Client and server states before and after this segment.
    pub before: [TcpState; 2],
    pub after: [TcpState; 2],
    /// No SYN was seen for this connection: the states are assumed.
    pub assumed: bool,
}

/// Why a connection left the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retired {
    /// Both ends CLOSED (and TIME_WAIT, if any, ran out).
    Finished,
    /// A new connection took its 4-tuple.
    Reused,
    Idle,
    /// `--max-connections` was reached.
    Evicted,
    EndOfInput,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    TimeWait(Side),
    Reap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Timestamp,
    conn: u64,
    key: ConnKey,
    kind: TimerKind,
}

pub struct Tracker {
    cfg: TrackerConfig,
    /// Boxed: the table's buckets then hold a pointer, not a kilobyte each
    /// (hashbrown keeps up to twice as many buckets as entries).
    conns: FxHashMap<ConnKey, Box<Connection>>,
    next_id: u64,
    timers: BinaryHeap<Reverse<Timer>>,
    clock: Option<Timestamp>,
    /// When to look for idle connections next (capture time).
    next_sweep: Option<Timestamp>,
    events: Vec<Event>,
    retired: VecDeque<(Box<Connection>, Retired)>,
    /// After `finish`: the live connections' keys, last id first.
    closing: Vec<ConnKey>,
    pub evicted_idle: u64,
    pub evicted_cap: u64,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(TrackerConfig::default())
    }
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Tracker {
        Tracker {
            cfg,
            conns: FxHashMap::default(),
            next_id: 0,
            timers: BinaryHeap::new(),
            clock: None,
            next_sweep: None,
            events: Vec::new(),
            retired: VecDeque::new(),
            closing: Vec::new(),
            evicted_idle: 0,
            evicted_cap: 0,
        }
    }

    /// Events of the last `observe` (timer events first, then the segment's own).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Connections that left since the last call, in the order they left.
    pub fn drain_retired(
        &mut self,
    ) -> std::collections::vec_deque::Drain<'_, (Box<Connection>, Retired)> {
        self.retired.drain(..)
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Connections created so far (live or retired).
    pub fn connections_seen(&self) -> u64 {
        self.next_id
    }

    pub fn connection(&self, key: &ConnKey) -> Option<&Connection> {
        self.conns.get(key).map(|c| &**c)
    }

    /// A frame that is not a TCP segment still moves the capture clock.
    pub fn tick(&mut self, ts: Timestamp) {
        self.events.clear();
        self.advance_clock(ts);
    }

    pub fn observe(&mut self, seg: &Segment) -> Observation {
        self.events.clear();
        self.advance_clock(seg.ts);
        let key = ConnKey::of(seg.src, seg.dst);
        let is_pure_syn = seg.has(flag::SYN) && !seg.has(flag::ACK);

        let reuse = is_pure_syn
            && self.conns.get(&key).is_some_and(|old| {
                let sender = old.endpoint(old.side_of(seg.src));
                match sender.isn {
                    // A SYN with a new ISN from a side that already opened once.
                    Some(isn) => isn != seg.seq,
                    // This side never sent a SYN: new only if the old connection is over
                    // (otherwise it is the second SYN of a simultaneous open).
                    None => {
                        old.midstream
                            || [old.client.state, old.server.state]
                                .iter()
                                .all(|s| matches!(s, TcpState::Closed | TcpState::TimeWait))
                    }
                }
            });
        let mut previous = None;
        if reuse {
            if let Some(mut old) = self.conns.remove(&key) {
                let (c_tw, s_tw) = (
                    old.client.state == TcpState::TimeWait,
                    old.server.state == TcpState::TimeWait,
                );
                // The TIME_WAIT end accepted the new SYN: its wait is over.
                for side in [Side::Client, Side::Server] {
                    old.expire_time_wait(side);
                }
                previous = Some((old.id, c_tw || s_tw));
                self.retired.push_back((old, Retired::Reused));
            }
        }
        if self.conns.len() >= self.cfg.max_connections && !self.conns.contains_key(&key) {
            self.evict_oldest();
        }
        let next_id = &mut self.next_id;
        let conn = self.conns.entry(key).or_insert_with(|| {
            *next_id += 1;
            Box::new(Connection::new(*next_id, key, seg))
        });
        let side = conn.side_of(seg.src);
        if let Some((prev_id, in_tw)) = previous {
            conn.port_reuse = true;
            conn.endpoint_mut(side).analysis[Analysis::ReusedPorts.index()] += 1;
            let base = Event {
                frame: Some(seg.frame),
                ts: seg.ts,
                conn: conn.id,
                side,
                kind: EventKind::PortReuse {
                    previous: prev_id,
                    previous_in_time_wait: in_tw,
                },
            };
            self.events.push(base);
            self.events.push(Event {
                kind: EventKind::Analysis {
                    what: Analysis::ReusedPorts,
                    evidence: event::Evidence {
                        seq: seg.seq,
                        ..Default::default()
                    },
                },
                ..base
            });
        }
        let before = conn.states();
        let first_event = self.events.len();
        let win_scaled = conn.on_segment(
            seg,
            side,
            Timers {
                time_wait_ns: self.cfg.time_wait_ns,
            },
            &mut self.events,
        );
        let after = conn.states();
        for e in &self.events[first_event..] {
            if let EventKind::TimeWait { until } = e.kind {
                self.timers.push(Reverse(Timer {
                    at: until,
                    conn: conn.id,
                    key,
                    kind: TimerKind::TimeWait(e.side),
                }));
            }
        }
        if conn.is_finished() && before != after {
            self.timers.push(Reverse(Timer {
                at: connection::add_ns(seg.ts, LINGER_NS),
                conn: conn.id,
                key,
                kind: TimerKind::Reap,
            }));
        }
        let me = conn.endpoint(side);
        let peer = conn.endpoint(side.other());
        Observation {
            conn: conn.id,
            side,
            rel_seq: seg.seq.since(me.seq_base.unwrap_or(seg.seq)),
            rel_ack: seg
                .ack
                .map(|a| a.since(peer.seq_base.unwrap_or(a.minus(1)))),
            win_scaled,
            peer_seq_base: peer.seq_base,
            before,
            after,
            assumed: conn.midstream,
        }
    }

    /// Move the capture clock to `ts`: TIME_WAITs expire, finished
    /// connections retire, idle ones are evicted.
    pub fn advance_clock(&mut self, ts: Timestamp) {
        let ts = ts.normalized();
        let now = match self.clock {
            Some(c) if c >= ts => c,
            _ => ts,
        };
        self.clock = Some(now);
        // Most segments find nothing due: look at the earliest timer by reference.
        while self.timers.peek().is_some_and(|Reverse(t)| t.at <= now) {
            let Some(Reverse(t)) = self.timers.pop() else {
                break;
            };
            let Some(conn) = self.conns.get_mut(&t.key) else {
                continue;
            };
            if conn.id != t.conn {
                continue;
            }
            match t.kind {
                TimerKind::TimeWait(side) => {
                    if conn.endpoint(side).time_wait_until == Some(t.at)
                        && conn.expire_time_wait(side)
                    {
                        self.events.push(Event {
                            frame: None,
                            ts: t.at,
                            conn: conn.id,
                            side,
                            kind: EventKind::TimeWaitExpired,
                        });
                        if conn.is_finished() {
                            self.retire(&t.key, Retired::Finished);
                        }
                    }
                }
                TimerKind::Reap => {
                    let quiet = connection::add_ns(conn.last_ts.normalized(), LINGER_NS) <= t.at;
                    if conn.is_finished() && quiet {
                        self.retire(&t.key, Retired::Finished);
                    }
                }
            }
        }
        let due = self.next_sweep.is_none_or(|at| now >= at);
        if due {
            self.next_sweep = Some(connection::add_ns(now, SWEEP_EVERY_NS));
            let idle = self.cfg.idle_timeout_ns;
            let stale: Vec<ConnKey> = self
                .conns
                .iter()
                .filter(|(_, c)| now.nanos_since(c.last_ts) > idle)
                .map(|(k, _)| *k)
                .collect();
            for k in stale {
                self.evicted_idle += 1;
                self.retire(&k, Retired::Idle);
            }
        }
    }

    fn retire(&mut self, key: &ConnKey, why: Retired) {
        if let Some(c) = self.conns.remove(key) {
            self.retired.push_back((c, why));
        }
    }

    /// At the cap: drop the least recently active sixteenth in one go, so the
    /// scan is paid once per many new connections.
    fn evict_oldest(&mut self) {
        let n = (self.conns.len() / 16).max(1);
        let mut by_age: Vec<(Timestamp, ConnKey)> =
            self.conns.iter().map(|(k, c)| (c.last_ts, *k)).collect();
        by_age.select_nth_unstable(n - 1);
        for (_, k) in by_age.into_iter().take(n) {
            self.evicted_cap += 1;
            self.retire(&k, Retired::Evicted);
        }
    }

    /// The input ended: every live connection will retire, in id order
    /// (fetch them with `next_retired`); a TIME_WAIT still running says until when.
    pub fn finish(&mut self) {
        self.events.clear();
        let mut order: Vec<(u64, ConnKey)> = self.conns.iter().map(|(k, c)| (c.id, *k)).collect();
        order.sort_unstable();
        for (_, key) in &order {
            let c = &self.conns[key];
            for side in [Side::Client, Side::Server] {
                let e = c.endpoint(side);
                if let (TcpState::TimeWait, Some(until)) = (e.state, e.time_wait_until) {
                    self.events.push(Event {
                        frame: None,
                        ts: c.last_ts,
                        conn: c.id,
                        side,
                        kind: EventKind::TimeWaitContinues { until },
                    });
                }
            }
        }
        // Reversed so `pop` hands them out in id order.
        self.closing = order.into_iter().rev().map(|(_, k)| k).collect();
    }

    /// The next connection to report: those already retired, then (after
    /// `finish`) the live ones, one at a time so memory never holds two copies.
    pub fn next_retired(&mut self) -> Option<(Box<Connection>, Retired)> {
        if let Some(r) = self.retired.pop_front() {
            return Some(r);
        }
        while let Some(key) = self.closing.pop() {
            if let Some(c) = self.conns.remove(&key) {
                return Some((c, Retired::EndOfInput));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
