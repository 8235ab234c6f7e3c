//! The analyzer: frames in, everything known about them out, in frame order,
//! to a [`Sink`].
//!
//! A receiver's state change is shown at the segment that caused it only
//! once a later segment proves the receiver got it. So the analyzer holds
//! packets back while such proof may still come (bounded by capture time
//! and by count), patches them when it comes, and hands them on in order.
//! Packets that nothing waits on pass straight through, uncopied.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::counts::Counts;
use crate::decode::link::LinkKind;
use crate::decode::{self, Decoded, Frame, Segment, Timestamp};
use crate::track::connection::add_ns;
use crate::track::{
    Connection, Event, Facts, Observation, Revision, StatePath, Tracker, TrackerConfig,
};

/// Everything known about one frame.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// The captured bytes, time and number.
    pub frame: &'a Frame<'a>,
    /// `None`: captured on a link type synack does not decode.
    pub link: Option<LinkKind>,
    /// What each header says.
    pub decoded: &'a Decoded<'a>,
    /// The TCP segment, when the fixed TCP header was captured.
    pub segment: Option<&'a Segment>,
    /// Its connection and both endpoints' states.
    pub observation: Option<&'a Observation>,
    /// What happened at this frame (lifecycle and analysis).
    pub events: &'a [Event],
}

/// Where the analyzer's results go. Every method has a no-op default.
pub trait Sink {
    /// What a sink's methods can fail with (an output error, say).
    type Error;

    /// One frame, in frame order.
    fn packet(&mut self, _p: &Packet<'_>) -> Result<(), Self::Error> {
        Ok(())
    }

    /// An event with no frame of its own (TIME_WAIT expired, still running
    /// at the end), in time order among the packets.
    fn event(&mut self, _e: &Event) -> Result<(), Self::Error> {
        Ok(())
    }

    /// A connection left the tracker, with its facts; after its last packet.
    fn connection(&mut self, _c: &Connection, _f: &Facts) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// How long the analyzer may hold packets back waiting for proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookahead {
    /// At most this much capture time past a held packet.
    pub max_ns: i128,
    /// At most this many packets held at once.
    pub max_packets: usize,
}

impl Lookahead {
    /// Reading a file: the future is on disk. Three seconds of capture time
    /// cover a SYN resent after one and its answer; 100,000 packets bound memory.
    pub const FILE: Lookahead = Lookahead {
        max_ns: 3_000_000_000,
        max_packets: 100_000,
    };
    /// Live: a person is watching; a change proven later is shown where the
    /// proof arrives.
    pub const LIVE: Lookahead = Lookahead {
        max_ns: 400_000_000,
        max_packets: 100_000,
    };
}

/// Configuration of an [`Analyzer`].
#[derive(Clone, Copy, Debug)]
pub struct AnalyzerConfig {
    /// The tracker's timers and caps.
    pub tracker: TrackerConfig,
    /// `None`: packets are not wanted in order with their proven states
    /// (a summary), so nothing is held back.
    pub lookahead: Option<Lookahead>,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            tracker: TrackerConfig::default(),
            lookahead: Some(Lookahead::FILE),
        }
    }
}

enum Item {
    Packet(Box<HeldPacket>),
    Event(Event),
    Retired(Box<Connection>, Box<Facts>),
}

struct HeldPacket {
    number: u64,
    ts: Timestamp,
    wire_len: u32,
    bytes: Vec<u8>,
    link: Option<LinkKind>,
    dlt: i32,
    segment: Option<Segment>,
    observation: Option<Observation>,
    events: Vec<Event>,
    /// Open holds: revisions that may still come for this frame.
    holds: u32,
    /// Held for a possible retraction until this capture time.
    until: Option<Timestamp>,
}

/// Decode + track for a stream of frames; see the module docs.
pub struct Analyzer {
    tracker: Tracker,
    counts: Counts,
    lookahead: Option<Lookahead>,
    queue: VecDeque<Item>,
    /// Open holds per connection (only connections with some).
    open_holds: FxHashMap<u64, u32>,
    /// Scratch for the events of the frame in hand.
    events: Vec<Event>,
    /// Returned buffers, for the next held packets.
    spare: Vec<(Vec<u8>, Vec<Event>)>,
    /// The newest capture time seen.
    now: Option<Timestamp>,
}

impl Analyzer {
    /// An analyzer with nothing seen yet.
    pub fn new(cfg: AnalyzerConfig) -> Analyzer {
        Analyzer {
            tracker: Tracker::new(cfg.tracker),
            counts: Counts::default(),
            lookahead: cfg.lookahead,
            queue: VecDeque::new(),
            open_holds: FxHashMap::default(),
            events: Vec::new(),
            spare: Vec::new(),
            now: None,
        }
    }

    /// What has been seen so far, connections included.
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        c.connections = self.tracker.connections_seen();
        c.evicted_idle = self.tracker.evicted_idle();
        c.evicted_cap = self.tracker.evicted_cap();
        c.time_went_back = self.tracker.time_went_back();
        c
    }

    /// The tracker, for looking at live connections.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// One frame captured on a link of kind `link`.
    pub fn frame<S: Sink>(
        &mut self,
        frame: &Frame<'_>,
        link: LinkKind,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let decoded = decode::decode(link, frame.data);
        self.process(frame, Some(link), 0, decoded, sink)
    }

    /// One frame from an interface whose link type (`dlt`) synack does not
    /// decode: counted as undecodable and shown as such.
    pub fn unsupported_frame<S: Sink>(
        &mut self,
        frame: &Frame<'_>,
        dlt: i32,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.process(frame, None, dlt, unsupported(dlt), sink)
    }

    /// Capture time passed without a frame (live capture on a quiet wire):
    /// timers run and held packets whose wait is over go out.
    pub fn tick<S: Sink>(&mut self, now: Timestamp, sink: &mut S) -> Result<(), S::Error> {
        self.tracker.tick(now);
        self.note_time(now);
        self.take_timer_events(sink)?;
        self.take_retired(sink)?;
        self.release(false, sink)
    }

    /// Hand on everything held now (an input broke off: what came before
    /// it is shown before the error is).
    pub fn flush<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        self.release(true, sink)
    }

    /// The input is over: every held packet goes out, then every live
    /// connection retires (a running TIME_WAIT says until when).
    pub fn finish<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        self.release(true, sink)?;
        self.tracker.finish();
        self.take_timer_events(sink)?;
        self.take_retired(sink)?;
        self.release(true, sink)
    }

    fn note_time(&mut self, ts: Timestamp) {
        let ts = ts.normalized();
        if self.now.is_none_or(|n| ts > n) {
            self.now = Some(ts);
        }
    }

    fn process<S: Sink>(
        &mut self,
        frame: &Frame<'_>,
        link: Option<LinkKind>,
        dlt: i32,
        decoded: Decoded<'_>,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.counts.add(frame, &decoded);
        self.note_time(frame.ts);
        let segment = Segment::from_decoded(frame, &decoded);
        let mut observation = match &segment {
            Some(s) => Some(self.tracker.observe(s)),
            None => {
                self.tracker.tick(frame.ts);
                None
            }
        };
        self.take_timer_events(sink)?;
        self.take_retired(sink)?;
        let split = self
            .tracker
            .events()
            .iter()
            .take_while(|e| e.frame.is_none())
            .count();
        self.events.clear();
        self.events
            .extend_from_slice(&self.tracker.events()[split..]);
        let mut hold_here = 0;
        let mut until_here = None;
        if self.lookahead.is_some() {
            let revisions: Vec<Revision> = self.tracker.revisions().to_vec();
            // A change moves back only if every earlier one of the same side
            // at this packet did (they are taken from the front of its path).
            let mut blocked = [false; 2];
            for r in revisions {
                if let Revision::Defer { side, .. } = r {
                    let i = side_index(side);
                    if blocked[i] {
                        continue;
                    }
                    if !self.defer(&r, frame.number, observation.as_mut()) {
                        blocked[i] = true;
                    }
                    continue;
                }
                match r {
                    Revision::Hold {
                        conn,
                        frame: f,
                        until,
                    } if f == frame.number => match until {
                        None => {
                            hold_here += 1;
                            *self.open_holds.entry(conn).or_default() += 1;
                        }
                        Some(t) => until_here = until_here.max(Some(t)),
                    },
                    _ => self.revise(&r, frame.number, observation.as_mut()),
                }
            }
        }
        let must_hold = hold_here > 0 || until_here.is_some();
        if self.queue.is_empty() && !must_hold {
            let p = Packet {
                frame,
                link,
                decoded: &decoded,
                segment: segment.as_ref(),
                observation: observation.as_ref(),
                events: &self.events,
            };
            return sink.packet(&p);
        }
        let (mut bytes, mut events) = self.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(frame.data);
        events.clear();
        events.extend_from_slice(&self.events);
        self.queue.push_back(Item::Packet(Box::new(HeldPacket {
            number: frame.number,
            ts: frame.ts,
            wire_len: frame.wire_len,
            bytes,
            link,
            dlt,
            segment,
            observation,
            events,
            holds: hold_here,
            until: until_here,
        })));
        self.release(false, sink)
    }

    /// Apply a revision from the frame in hand (`current`) to what is held.
    fn revise(&mut self, r: &Revision, current: u64, obs: Option<&mut Observation>) {
        match *r {
            Revision::Hold { conn, frame, until } => {
                if let Some(p) = self.held_mut(frame) {
                    match until {
                        None => {
                            p.holds += 1;
                            *self.open_holds.entry(conn).or_default() += 1;
                        }
                        Some(t) => p.until = p.until.max(Some(t)),
                    }
                }
            }
            Revision::Settle { conn, frame } => {
                let settled = match self.held_mut(frame) {
                    Some(p) if p.holds > 0 => {
                        p.holds -= 1;
                        true
                    }
                    _ => false,
                };
                if settled {
                    self.close_hold(conn);
                }
            }
            Revision::Defer { .. } => {
                self.defer(r, current, obs);
            }
            Revision::Retract {
                conn,
                side,
                cause,
                wrong,
                right,
            } => {
                if self.held_mut(cause).is_none() {
                    return;
                }
                let i = side_index(side);
                if let Some(obs) = obs {
                    obs.paths[i] = StatePath::at(right).tap_rest(&obs.paths[i], wrong);
                    obs.corrected[i] = false;
                }
                for item in self.queue.iter_mut().rev() {
                    let Item::Packet(p) = item else { continue };
                    if p.number < cause {
                        break;
                    }
                    let Some(o) = p.observation.as_mut().filter(|o| o.conn == conn) else {
                        continue;
                    };
                    if p.number == cause {
                        o.paths[i].retract(wrong, right);
                    } else {
                        o.paths[i] = rebased(o.paths[i], right);
                    }
                }
            }
        }
    }

    /// Move a receipt's change back to the packet that caused it, if that
    /// packet is still held and the change starts this packet's path.
    /// Returns whether it moved.
    fn defer(&mut self, r: &Revision, current: u64, obs: Option<&mut Observation>) -> bool {
        let Revision::Defer {
            conn,
            side,
            cause,
            path,
        } = *r
        else {
            return false;
        };
        if cause == current || self.held_mut(cause).is_none() {
            return false;
        }
        let i = side_index(side);
        let mut moved_events = Vec::new();
        if let Some(obs) = obs {
            // Only a change at the start of this packet's path can move back.
            if obs.paths[i].before() != path.before() {
                return false;
            }
            let k = path.states().len() - 1;
            obs.paths[i] = obs.paths[i].skip(k);
        }
        self.events.retain(|e| {
            if e.frame == Some(cause) {
                moved_events.push(*e);
                false
            } else {
                true
            }
        });
        for item in self.queue.iter_mut().rev() {
            let Item::Packet(p) = item else { continue };
            if p.number < cause {
                break;
            }
            let Some(o) = p.observation.as_mut().filter(|o| o.conn == conn) else {
                continue;
            };
            if p.number == cause {
                o.paths[i].extend(&path);
                p.events.extend_from_slice(&moved_events);
            } else {
                o.paths[i] = rebased(o.paths[i], path.after());
            }
        }
        true
    }

    fn close_hold(&mut self, conn: u64) {
        if let Some(n) = self.open_holds.get_mut(&conn) {
            *n -= 1;
            if *n == 0 {
                self.open_holds.remove(&conn);
            }
        }
    }

    fn held_mut(&mut self, frame: u64) -> Option<&mut HeldPacket> {
        for item in self.queue.iter_mut().rev() {
            if let Item::Packet(p) = item {
                if p.number == frame {
                    return Some(p);
                }
                if p.number < frame {
                    return None;
                }
            }
        }
        None
    }

    fn take_timer_events<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let n = self
            .tracker
            .events()
            .iter()
            .take_while(|e| e.frame.is_none())
            .count();
        for i in 0..n {
            let e = self.tracker.events()[i];
            if self.queue.is_empty() {
                sink.event(&e)?;
            } else {
                self.queue.push_back(Item::Event(e));
            }
        }
        Ok(())
    }

    fn take_retired<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        while let Some((c, why)) = self.tracker.next_retired() {
            let facts = Facts::of(&c, why);
            if self.queue.is_empty() {
                sink.connection(&c, &facts)?;
                continue;
            }
            // Nothing more can be proven for it: its held packets may go.
            if self.open_holds.remove(&c.id).is_some() {
                for item in self.queue.iter_mut() {
                    if let Item::Packet(p) = item {
                        if p.observation.is_some_and(|o| o.conn == c.id) {
                            p.holds = 0;
                        }
                    }
                }
            }
            self.queue.push_back(Item::Retired(c, Box::new(facts)));
        }
        Ok(())
    }

    /// Hand on what is no longer waited for, oldest first; with `all`, everything.
    fn release<S: Sink>(&mut self, all: bool, sink: &mut S) -> Result<(), S::Error> {
        let limits = self.lookahead.unwrap_or(Lookahead {
            max_ns: 0,
            max_packets: 0,
        });
        let now = self.now.unwrap_or_default();
        while let Some(front) = self.queue.front() {
            if !all {
                if let Item::Packet(p) = front {
                    let too_old = add_ns(p.ts.normalized(), limits.max_ns) < now;
                    let too_many = self.queue.len() > limits.max_packets;
                    let waiting = p.holds > 0 || p.until.is_some_and(|u| u > now);
                    if waiting && !too_old && !too_many {
                        break;
                    }
                }
            }
            let Some(item) = self.queue.pop_front() else {
                break;
            };
            match item {
                Item::Event(e) => sink.event(&e)?,
                Item::Retired(c, f) => sink.connection(&c, &f)?,
                Item::Packet(p) => {
                    if p.holds > 0 {
                        if let Some(o) = &p.observation {
                            let conn = o.conn;
                            for _ in 0..p.holds {
                                self.close_hold(conn);
                            }
                        }
                    }
                    let frame = Frame {
                        number: p.number,
                        ts: p.ts,
                        wire_len: p.wire_len,
                        data: &p.bytes,
                    };
                    let decoded = match p.link {
                        Some(l) => decode::decode(l, &p.bytes),
                        None => unsupported(p.dlt),
                    };
                    let packet = Packet {
                        frame: &frame,
                        link: p.link,
                        decoded: &decoded,
                        segment: p.segment.as_ref(),
                        observation: p.observation.as_ref(),
                        events: &p.events,
                    };
                    sink.packet(&packet)?;
                    let HeldPacket { bytes, events, .. } = *p;
                    if self.spare.len() < 64 {
                        self.spare.push((bytes, events));
                    }
                }
            }
        }
        Ok(())
    }
}

fn unsupported(dlt: i32) -> Decoded<'static> {
    Decoded {
        link: None,
        network: decode::Network::None,
        transport: decode::Transport::None,
        error: Some(decode::DecodeError::UnsupportedLink { dlt }),
    }
}

fn side_index(s: crate::track::Side) -> usize {
    match s {
        crate::track::Side::Client => 0,
        crate::track::Side::Server => 1,
    }
}

/// A path shown between a change's cause and its proof: the side stood at
/// `s` all along (what was shown there was the old state, or unknown).
fn rebased(p: StatePath, s: crate::track::TcpState) -> StatePath {
    let mut p = p;
    p.rebase(s);
    if !p.changed() {
        return StatePath::at(s);
    }
    p
}

impl StatePath {
    /// `rest` (a path that starts at `wrong`) shown from `self` instead.
    fn tap_rest(mut self, rest: &StatePath, wrong: crate::track::TcpState) -> StatePath {
        let states = rest.states();
        let skip = states
            .iter()
            .position(|s| *s != wrong)
            .unwrap_or(states.len());
        for s in &states[skip..] {
            self.push(*s);
        }
        self
    }
}
