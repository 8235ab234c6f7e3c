//! Track: segments → connections → events and facts. Pure: no I/O, plain
//! values in and out.
//!
//! The [`Tracker`] owns every live connection, keyed by 4-tuple; it runs the
//! capture-time clock that expires TIME_WAIT, retires finished connections
//! and evicts idle ones, so memory follows the live connections, with a cap.
//! Each endpoint's state changes through one function that knows RFC 9293's
//! diagram; a receiver's state changes only once the capture shows it got
//! the segment (see [`Revision`]).

pub mod analysis;
pub mod community_id;
pub mod connection;
pub mod endpoint;
pub mod event;
pub mod facts;
pub mod key;
pub(crate) mod pack;
pub(crate) mod receipt;
pub mod state;
mod store;
mod tunnels;
pub mod zeek;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::decode::tcp::flag;
use crate::decode::{Segment, SeqNum, Timestamp};
use crate::pressure::{Pressure, PressureCaps, PressureFacts, PressureOp};
pub use connection::{Close, Connection, Ecn, Handshake};
use connection::{Step, Timers};
pub use endpoint::{Endpoint, TimeWait, TimeWaitEnd};
pub use event::{Analysis, CloseVariant, EcnMode, Event, EventKind, Evidence, ResetCause};
pub use facts::{Ending, Facts, KeepaliveFacts};
pub use key::{ConnKey, Side};
pub use state::{StatePath, TcpState};
use store::{Held, Store};
use tunnels::TunnelPairs;

/// How the tracker times things and how much it may hold.
#[derive(Clone, Copy, Debug)]
pub struct TrackerConfig {
    /// 2MSL; Linux holds TIME_WAIT for 60 s.
    pub time_wait_ns: i128,
    /// A connection with no segment for this long is reported and dropped.
    pub idle_timeout_ns: i128,
    /// At most this many live connections; the least recently active go first.
    pub max_connections: usize,
    /// Caps on the pressure counters (see [`crate::pressure`]).
    pub pressure: PressureCaps,
}

/// One second in nanoseconds.
pub const SECOND: i128 = 1_000_000_000;

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            time_wait_ns: 60 * SECOND,
            // Longer than Linux's default keepalive idle (7200 s), so a quiet
            // connection kept alive by the kernel is not forgotten between probes.
            idle_timeout_ns: 7500 * SECOND,
            // About 2 KB each: 200 MB at the cap.
            max_connections: 100_000,
            pressure: PressureCaps::default(),
        }
    }
}

/// After both ends are CLOSED, stray segments (a retransmitted RST, a late
/// ACK) still belong to the connection for this long.
const LINGER_NS: i128 = 2 * SECOND;
/// How often (capture time) idle connections are looked for.
const SWEEP_EVERY_NS: i128 = 10 * SECOND;
/// How often (capture time) quiet connections are packed.
const PACK_EVERY_NS: i128 = SECOND;
/// A connection whose exchange is over waits packed after this long
/// without a segment (a stray one may still come: a resent FIN, a RST).
const PACK_OVER_AFTER_NS: i128 = SECOND;
/// An open connection waits packed after this long without a segment
/// (keep-alive probes come every 15 s or more; exchanges sooner).
const PACK_OPEN_AFTER_NS: i128 = 20 * SECOND;
/// At most this many connections held unpacked (about a kilobyte each),
/// whatever the time says (a capture's first seconds can open tens of
/// thousands).
const LIVE_CAP: usize = 16_384;

/// What the tracker says about one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The connection's id.
    pub conn: u64,
    /// Who sent the segment.
    pub side: Side,
    /// Sequence number relative to the sender's ISN.
    pub rel_seq: u32,
    /// Acknowledgment number relative to the receiver's ISN.
    pub rel_ack: Option<u32>,
    /// The window in bytes, once the scale is known (SYN windows are never scaled).
    pub win_scaled: Option<u32>,
    /// The receiver's relative-sequence base: what `ack` and SACK edges count from.
    pub peer_seq_base: Option<SeqNum>,
    /// The states client and server went through at this segment.
    pub paths: [StatePath; 2],
    /// A side's state here corrects what an earlier packet showed (an ACK
    /// assumed received was not).
    pub corrected: [bool; 2],
    /// No SYN was seen for this connection: the states are assumed.
    pub assumed: bool,
}

impl Observation {
    /// Client and server states before this segment.
    pub fn before(&self) -> [TcpState; 2] {
        [self.paths[0].before(), self.paths[1].before()]
    }
    /// Client and server states after it.
    pub fn after(&self) -> [TcpState; 2] {
        [self.paths[0].after(), self.paths[1].after()]
    }
}

/// How a segment changes what was said of earlier ones: the capture showed
/// later that an endpoint got a segment (or did not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revision {
    /// Frame `frame` may still get a change: hold it back if you can,
    /// until `until` (capture time), or until `Settle` when `None`.
    Hold {
        /// The connection.
        conn: u64,
        /// The frame that may change.
        frame: u64,
        /// How long the change may come.
        until: Option<Timestamp>,
    },
    /// No change will come for `frame` from what was held.
    Settle {
        /// The connection.
        conn: u64,
        /// The frame.
        frame: u64,
    },
    /// The receipt shown at this segment happened at frame `cause`:
    /// `path` (which this segment's path for `side` starts with) belongs
    /// there, with the events of this segment stamped with frame `cause`.
    Defer {
        /// The connection.
        conn: u64,
        /// Whose state.
        side: Side,
        /// Where the change belongs.
        cause: u64,
        /// The change.
        path: StatePath,
    },
    /// The change shown at frame `cause` (to `wrong`) did not happen: the
    /// endpoint stayed `right`.
    Retract {
        /// The connection.
        conn: u64,
        /// Whose state.
        side: Side,
        /// Where the wrong change was shown.
        cause: u64,
        /// What was shown.
        wrong: TcpState,
        /// What was true.
        right: TcpState,
    },
}

/// Why a connection left the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retired {
    /// Both ends CLOSED (and TIME_WAIT, if any, ran out).
    Finished,
    /// A new connection took its 4-tuple.
    Reused,
    /// No segment for longer than the idle timeout.
    Idle,
    /// `--max-connections` was reached.
    Evicted,
    /// The input ended.
    EndOfInput,
}

impl Retired {
    /// The JSON name (`ended_by`).
    pub fn name(self) -> &'static str {
        match self {
            Retired::Finished => "closed",
            Retired::Reused => "port_reuse",
            Retired::Idle => "idle_timeout",
            Retired::Evicted => "max_connections",
            Retired::EndOfInput => "end_of_input",
        }
    }
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
    kind: TimerKind,
    /// Where the connection is held (its id says whether it still is).
    slot: u32,
}

/// Every live connection, keyed by 4-tuple, and the capture-time clock.
pub struct Tracker {
    cfg: TrackerConfig,
    /// Live and packed connections (see `store.rs`).
    store: Store,
    /// Directions of one connection seen in two tunnels.
    tunnels: TunnelPairs,
    next_id: u64,
    timers: BinaryHeap<Reverse<Timer>>,
    clock: Option<Timestamp>,
    /// When to look for idle connections next (capture time).
    next_sweep: Option<Timestamp>,
    /// When to pack quiet connections next (capture time).
    next_pack: Option<Timestamp>,
    events: Vec<Event>,
    revisions: Vec<Revision>,
    retired: VecDeque<(Held, Retired)>,
    /// The connection whose exchange the last segment ended, if it did.
    settled: Option<(ConnKey, u64)>,
    /// After `finish`: the live connections' ids and slots, last id first.
    closing: Vec<(u64, u32)>,
    /// After `finish_lazily`: the next end event's connection (a count of
    /// `closing` from its end) and side.
    end_events: Option<(usize, usize)>,
    evicted_idle: u64,
    evicted_cap: u64,
    time_went_back: u64,
    /// Load on hosts and listeners, fed at every state change.
    pressure: Pressure,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(TrackerConfig::default())
    }
}

impl Tracker {
    /// A tracker with no connections yet.
    pub fn new(cfg: TrackerConfig) -> Tracker {
        Tracker {
            cfg,
            store: Store::default(),
            tunnels: TunnelPairs::default(),
            next_id: 0,
            timers: BinaryHeap::new(),
            clock: None,
            next_sweep: None,
            next_pack: None,
            events: Vec::new(),
            revisions: Vec::new(),
            retired: VecDeque::new(),
            settled: None,
            closing: Vec::new(),
            end_events: None,
            evicted_idle: 0,
            evicted_cap: 0,
            time_went_back: 0,
            pressure: Pressure::new(cfg.time_wait_ns, cfg.pressure),
        }
    }

    /// What the capture shows so far about load: TIME_WAIT per host,
    /// half-open connections per server, client port use.
    pub fn pressure(&self) -> PressureFacts {
        self.pressure.facts()
    }

    /// Record the pressure counters' changes instead of counting them (a
    /// tracker that sees only some connections; see [`PressureOp`]).
    pub fn record_pressure(&mut self) {
        self.pressure.record();
    }

    /// The pressure changes recorded since the last call, appended to `out`.
    pub fn take_pressure_ops(&mut self, out: &mut Vec<PressureOp>) {
        self.pressure.take_ops(out);
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Events of the last `observe`, `tick` or `finish` (timer events first,
    /// with no frame, then the segment's own).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How the last `observe` revised what earlier observations said.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// Live connections (TIME_WAIT included: they are held until it ends).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Timers waiting (TIME_WAIT expiries, reaping), live or stale: never
    /// more than about twice the connections held.
    pub fn timers_held(&self) -> usize {
        self.timers.len()
    }

    /// No live connection.
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Connections created so far (live or retired).
    pub fn connections_seen(&self) -> u64 {
        self.next_id
    }

    /// Connections forgotten after the idle timeout.
    pub fn evicted_idle(&self) -> u64 {
        self.evicted_idle
    }

    /// Connections dropped at the connection cap.
    pub fn evicted_cap(&self) -> u64 {
        self.evicted_cap
    }

    /// Segments stamped earlier than an earlier segment of their connection.
    pub fn time_went_back(&self) -> u64 {
        self.time_went_back
    }

    /// The live connection on this 4-tuple and tunnel (or joined to it from
    /// another tunnel: see `tunnels.rs`).
    /// (`&mut`: a connection that waits packed is unpacked.)
    pub fn connection(&mut self, key: &ConnKey) -> Option<&Connection> {
        let slot = self
            .store
            .find(key)
            .or_else(|| self.store.find(&self.tunnels.joined(key)?))?;
        Some(self.store.get_mut(slot))
    }

    /// The key whose segments were joined to the connection under `key`
    /// (its other direction, in another tunnel), if any.
    pub fn joined_to(&self, key: &ConnKey) -> Option<ConnKey> {
        self.tunnels.joined_to(key)
    }

    /// Frames stamped before this time change nothing but the clock: no
    /// timer runs out and no idle sweep is due (`None`: the next frame may,
    /// whenever it is stamped). Timers of connections already gone count
    /// too, so it can be early, never late.
    pub fn quiet_until(&self) -> Option<Timestamp> {
        let sweep = self.next_sweep?;
        Some(match self.timers.peek() {
            Some(Reverse(t)) => t.at.min(sweep),
            None => sweep,
        })
    }

    /// A frame that is not a TCP segment still moves the capture clock.
    pub fn tick(&mut self, ts: Timestamp) {
        self.events.clear();
        self.revisions.clear();
        self.advance_clock(ts);
    }

    /// Track one segment: its connection, both endpoints' states, its events.
    pub fn observe(&mut self, seg: &Segment) -> Observation {
        self.events.clear();
        self.revisions.clear();
        self.settled = None;
        self.advance_clock(seg.ts);
        // Timers of connections that left early (reused, evicted, reset)
        // stay in the heap until due; drop them when they outnumber the
        // live connections, so memory follows the connections held.
        if self.timers.len() > 2 * self.store.len() + 1024 {
            let store = &self.store;
            self.timers
                .retain(|Reverse(t)| store.id(t.slot) == Some(t.conn));
        }
        // Memory follows the connections held: past a number of them
        // unpacked, the least recently active wait packed (`store.rs`).
        if self.store.live() > LIVE_CAP {
            self.store.pack_oldest(LIVE_CAP * 3 / 4);
        }
        let key = ConnKey::of(seg.src, seg.dst).in_tunnel(seg.tunnel);
        let key = self.tunnels.resolve(&mut self.store, key, seg);
        let is_pure_syn = seg.has(flag::SYN) && !seg.has(flag::ACK);
        let mut slot = self.store.find(&key);

        let reuse = is_pure_syn
            && slot.is_some_and(|s| {
                let old = self.store.get_mut(s);
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
            if let Some(s) = slot.take() {
                let mut old = self.take(s);
                let in_tw = old.client.state == TcpState::TimeWait
                    || old.server.state == TcpState::TimeWait;
                self.pressure.port_reused(in_tw);
                self.pressure.left(&old, seg.ts);
                // The TIME_WAIT end accepted the new SYN: its wait is over.
                old.reused();
                previous = Some((old.id, in_tw));
                self.retired.push_back((Held::Live(old), Retired::Reused));
            }
        }
        if self.store.len() >= self.cfg.max_connections && slot.is_none() {
            self.evict_oldest();
        }
        if is_pure_syn && slot.is_none() {
            self.pressure.opened(seg.src, seg.dst, seg.ts);
        }
        let slot = match slot {
            Some(s) => s,
            None => {
                self.next_id += 1;
                self.tunnels.added(key);
                self.store
                    .insert(Box::new(Connection::new(self.next_id, key, seg)))
            }
        };
        let conn = self.store.get_mut(slot);
        let side = conn.side_of(seg.src);
        if let Some((prev_id, in_tw)) = previous {
            conn.port_reuse = true;
            conn.endpoint_mut(side).flag(Analysis::ReusedPorts);
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
        }
        let before = conn.states();
        let went_back_before = conn.time_went_back;
        let first_event = self.events.len();
        let mut step = Step {
            paths: [StatePath::at(before[0]), StatePath::at(before[1])],
            corrected: [false; 2],
            events: &mut self.events,
            revisions: &mut self.revisions,
        };
        let win_scaled = conn.on_segment(
            seg,
            side,
            Timers {
                time_wait_ns: self.cfg.time_wait_ns,
            },
            &mut step,
        );
        let (paths, corrected) = (step.paths, step.corrected);
        // What the segment is first, then what it did to the endpoints' states.
        self.events[first_event..].sort_by_key(|e| matches!(e.kind, EventKind::TimeWait { .. }));
        if conn.time_went_back > went_back_before {
            self.time_went_back += 1;
        }
        let after = conn.states();
        for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
            self.pressure.moved(conn, side, before[i], after[i], seg.ts);
        }
        for e in &self.events[first_event..] {
            if let EventKind::TimeWait { until } = e.kind {
                self.timers.push(Reverse(Timer {
                    at: until,
                    conn: conn.id,
                    kind: TimerKind::TimeWait(e.side),
                    slot,
                }));
            }
        }
        if !Connection::exchange_over(before) && Connection::exchange_over(after) {
            self.settled = Some((key, conn.id));
        }
        if conn.is_finished() && before != after {
            self.timers.push(Reverse(Timer {
                at: connection::add_ns(seg.ts, LINGER_NS),
                conn: conn.id,
                kind: TimerKind::Reap,
                slot,
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
            paths,
            corrected,
            assumed: conn.midstream,
        }
    }

    /// Pack every connection now (tests: see `Analyzer::pack_all_connections`).
    #[doc(hidden)]
    pub fn pack_all_connections(&mut self) {
        self.store
            .pack_idle(Timestamp::new(i64::MIN, 0), i128::MIN, i128::MIN);
    }

    /// The connection (key and id) whose exchange the last observed segment
    /// ended: both sides now CLOSED or in TIME_WAIT, so only timers remain.
    /// It stays tracked (for TIME_WAIT and stray segments) until it retires.
    pub fn settled(&self) -> Option<(ConnKey, u64)> {
        self.settled
    }

    /// Move the capture clock to `ts`: TIME_WAITs expire, finished
    /// connections retire, idle ones are evicted. The clock never goes back.
    fn advance_clock(&mut self, ts: Timestamp) {
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
            if self.store.id(t.slot) != Some(t.conn) {
                continue;
            }
            let conn = self.store.get_mut(t.slot);
            match t.kind {
                TimerKind::TimeWait(side) => {
                    let due = conn
                        .endpoint(side)
                        .time_wait
                        .is_some_and(|tw| tw.until == t.at && tw.end.is_none());
                    if due && conn.expire_time_wait(side) {
                        self.pressure
                            .moved(conn, side, TcpState::TimeWait, TcpState::Closed, t.at);
                        self.events.push(Event {
                            frame: None,
                            ts: t.at,
                            conn: conn.id,
                            side,
                            kind: EventKind::TimeWaitExpired,
                        });
                        if conn.is_finished() {
                            self.retire(t.slot, Retired::Finished);
                        }
                    }
                }
                TimerKind::Reap => {
                    let quiet = connection::add_ns(conn.last_ts.normalized(), LINGER_NS) <= t.at;
                    if conn.is_finished() && quiet {
                        self.retire(t.slot, Retired::Finished);
                    }
                }
            }
        }
        let due = self.next_sweep.is_none_or(|at| now >= at);
        if due {
            self.next_sweep = Some(connection::add_ns(now, SWEEP_EVERY_NS));
            let idle = self.cfg.idle_timeout_ns;
            let store = &self.store;
            let mut stale: Vec<(Timestamp, u32)> = store
                .slots()
                .map(|s| (store.get(s).last_ts(), s))
                .filter(|(ts, _)| now.nanos_since(*ts) > idle)
                .collect();
            // Least recently active first.
            stale.sort_unstable_by(|a, b| self.by_age(a, b));
            for (_, s) in stale {
                self.evicted_idle += 1;
                self.retire(s, Retired::Idle);
            }
        }
        // Quiet connections wait packed (see `store.rs`).
        if self.next_pack.is_none_or(|at| now >= at) {
            self.next_pack = Some(connection::add_ns(now, PACK_EVERY_NS));
            self.store
                .pack_idle(now, PACK_OVER_AFTER_NS, PACK_OPEN_AFTER_NS);
        }
    }

    /// Older last activity first; the key orders connections last active
    /// at the same time.
    fn by_age(&self, a: &(Timestamp, u32), b: &(Timestamp, u32)) -> std::cmp::Ordering {
        a.0.cmp(&b.0)
            .then_with(|| self.store.get(a.1).key().cmp(&self.store.get(b.1).key()))
    }

    /// Take a connection out of the store (and out of the tunnel index).
    fn take_held(&mut self, slot: u32) -> Held {
        let held = self.store.remove(slot);
        self.tunnels.removed(held.key());
        held
    }

    /// Take a connection out, unpacked.
    fn take(&mut self, slot: u32) -> Box<Connection> {
        self.take_held(slot).into_connection()
    }

    fn retire(&mut self, slot: u32, why: Retired) {
        let held = self.take_held(slot);
        // A packed connection stays packed in the queue (an eviction
        // retires thousands at once); it is unpacked again when reported.
        self.pressure
            .left(&held.peek(), self.clock.unwrap_or_default());
        self.retired.push_back((held, why));
    }

    /// At the cap: drop the least recently active sixteenth in one go, so the
    /// scan is paid once per many new connections.
    fn evict_oldest(&mut self) {
        let n = (self.store.len() / 16).max(1);
        let store = &self.store;
        let mut by_age: Vec<(Timestamp, u32)> =
            store.slots().map(|s| (store.get(s).last_ts(), s)).collect();
        by_age.select_nth_unstable_by(n - 1, |a, b| self.by_age(a, b));
        by_age.truncate(n);
        // Least recently active first.
        by_age.sort_unstable_by(|a, b| self.by_age(a, b));
        for (_, s) in by_age {
            self.evicted_cap += 1;
            self.retire(s, Retired::Evicted);
        }
    }

    /// The input ended: every live connection will retire, in id order
    /// (fetch them with `next_retired`); a TIME_WAIT still running says
    /// until when (events, stamped with the capture's last time).
    pub fn finish(&mut self) {
        self.finish_lazily();
        while let Some(e) = self.next_end_event() {
            self.events.push(e);
        }
    }

    /// As [`Tracker::finish`], but the events of TIME_WAITs still running
    /// come one at a time from [`Tracker::next_end_event`] (before any
    /// `next_retired`), rather than all at once into `events`.
    pub fn finish_lazily(&mut self) {
        self.events.clear();
        self.revisions.clear();
        let store = &self.store;
        let mut order: Vec<(u64, u32)> = store.slots().map(|s| (store.get(s).id(), s)).collect();
        order.sort_unstable();
        // Reversed (in place: a capture can end with a hundred thousand
        // connections) so `pop` hands them out in id order.
        order.reverse();
        self.closing = order;
        self.end_events = Some((self.closing.len(), 0));
    }

    /// After [`Tracker::finish_lazily`]: the next "still in TIME_WAIT at
    /// the end" event, in id order, client before server.
    pub fn next_end_event(&mut self) -> Option<Event> {
        let end = self.clock.unwrap_or_default();
        let (mut at, mut side) = self.end_events?;
        while at > 0 {
            let (id, slot) = self.closing[at - 1];
            let found = (self.store.id(slot) == Some(id))
                .then(|| self.store.get(slot).time_waits())
                .and_then(|tw| {
                    [Side::Client, Side::Server]
                        .into_iter()
                        .zip(tw)
                        .enumerate()
                        .skip(side)
                        .find_map(|(i, (s, until))| {
                            until.map(|until| {
                                (
                                    i,
                                    Event {
                                        frame: None,
                                        ts: end,
                                        conn: id,
                                        side: s,
                                        kind: EventKind::TimeWaitContinues { until },
                                    },
                                )
                            })
                        })
                });
            match found {
                Some((i, e)) => {
                    self.end_events = Some((at, i + 1));
                    return Some(e);
                }
                None => {
                    at -= 1;
                    side = 0;
                }
            }
        }
        self.end_events = None;
        None
    }

    /// The next connection to report: those already retired, then (after
    /// `finish`) the live ones, one at a time so memory never holds two copies.
    pub fn next_retired(&mut self) -> Option<(Box<Connection>, Retired)> {
        if let Some((held, why)) = self.retired.pop_front() {
            return Some((held.into_connection(), why));
        }
        while let Some((id, slot)) = self.closing.pop() {
            if self.store.id(slot) == Some(id) {
                let c = self.take(slot);
                self.pressure.left(&c, self.clock.unwrap_or_default());
                return Some((c, Retired::EndOfInput));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
