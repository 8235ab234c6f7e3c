//! The analyzer: frames in, everything known about them out, in frame order,
//! to a [`Sink`].
//!
//! A receiver's state change is shown at the segment that caused it only
//! once a later segment proves the receiver got it. So the analyzer holds
//! packets back while such proof may still come (bounded by capture time
//! and by count), patches them when it comes, and hands them on in order.
//! Packets that nothing waits on pass straight through, uncopied.

use std::cell::OnceCell;
use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::counts::Counts;
use crate::decode::link::LinkKind;
use crate::decode::{self, Decoded, Frame, Segment, Timestamp};
use crate::track::connection::add_ns;
use crate::track::{ConnKey, Retired};
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
    /// What each header says, decoded when first asked for.
    headers: &'a Headers<'a>,
    /// The TCP segment, when the fixed TCP header was captured.
    pub segment: Option<&'a Segment>,
    /// Its connection and both endpoints' states.
    pub observation: Option<&'a Observation>,
    /// What happened at this frame (lifecycle and analysis).
    pub events: &'a [Event],
}

impl<'a> Packet<'a> {
    /// What each header says. Decoded the first time a sink asks (tracking
    /// reads only what it needs), then kept for the other sinks.
    pub fn decoded(&self) -> &'a Decoded<'a> {
        self.headers.get()
    }

    /// Has the frame layers between its link header and its innermost IP
    /// header (VLAN tags, tunnels: [`Decoded::encap`])? Known without the
    /// full decode for a frame that took the short way to its segment.
    pub fn encapsulated(&self) -> bool {
        !self.headers.plain && !self.decoded().encap.is_empty()
    }

    /// A packet handed on before, rebuilt from what was kept of it (its
    /// frame, its link or the `dlt` of a link synack does not decode, its
    /// segment, observation and events) and handed to `f`; its headers are
    /// decoded when first asked for. For sinks that keep packets to hand
    /// them on later (the merger of several analyzers' threads).
    pub fn rebuilt<R>(
        frame: &Frame<'_>,
        link: Result<LinkKind, i32>,
        segment: Option<&Segment>,
        observation: Option<&Observation>,
        events: &[Event],
        f: impl FnOnce(&Packet<'_>) -> R,
    ) -> R {
        let (link, dlt) = match link {
            Ok(l) => (Some(l), 0),
            Err(dlt) => (None, dlt),
        };
        let headers = Headers::new(link, dlt, frame.data, false);
        f(&Packet {
            frame,
            link,
            headers: &headers,
            segment,
            observation,
            events,
        })
    }

    /// The link as [`Packet::rebuilt`] takes it: the link type, or the
    /// `dlt` of one synack does not decode.
    pub fn link_or_dlt(&self) -> Result<LinkKind, i32> {
        match self.link {
            Some(l) => Ok(l),
            None => Err(self.headers.dlt),
        }
    }
}

/// A frame's headers, decoded on first use.
#[derive(Debug)]
struct Headers<'a> {
    link: Option<LinkKind>,
    dlt: i32,
    data: &'a [u8],
    /// Plain link, IP and TCP headers (the short way, `Segment::of_frame`):
    /// nothing encapsulated.
    plain: bool,
    decoded: OnceCell<Decoded<'a>>,
}

impl<'a> Headers<'a> {
    fn new(link: Option<LinkKind>, dlt: i32, data: &'a [u8], plain: bool) -> Headers<'a> {
        Headers {
            link,
            dlt,
            data,
            plain,
            decoded: OnceCell::new(),
        }
    }

    fn get(&self) -> &Decoded<'a> {
        self.decoded.get_or_init(|| {
            let mut decoded = Decoded::empty();
            match self.link {
                Some(l) => decode::decode_into(&mut decoded, l, self.data),
                None => decoded.error = Some(unsupported_link(self.dlt)),
            }
            decoded
        })
    }
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

    /// A connection's exchange is over (each side CLOSED or in TIME_WAIT),
    /// after its last packet so far; it retires later, when its timers
    /// run out. Only with [`AnalyzerConfig::settled`]. The facts are as of
    /// now (a TIME_WAIT still running).
    fn settled(&mut self, _c: &Connection, _f: &Facts) -> Result<(), Self::Error> {
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
    /// Reading a file: the future is on disk. A second of capture time
    /// covers the answer to nearly anything (a SYN+ACK, the ACK of a FIN, a
    /// resent FIN after its RTO); 50,000 packets bound memory.
    pub const FILE: Lookahead = Lookahead {
        max_ns: 1_000_000_000,
        max_packets: 50_000,
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
    /// Tell the sink when a connection's exchange is over ([`Sink::settled`]),
    /// not only when it retires (live: a person should not wait out 2MSL).
    pub settled: bool,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            tracker: TrackerConfig::default(),
            settled: false,
            lookahead: Some(Lookahead::FILE),
        }
    }
}

/// Boxes of held packets kept for reuse.
const SPARE_HELD: usize = 1024;

enum Item {
    /// Boxed (from a pool): moving a pointer through the queue is cheaper
    /// than moving the packet.
    Packet(Box<HeldPacket>),
    /// An event between frames, after the packet numbered `.1` (boxed:
    /// the queue's items stay small).
    Event(Box<Event>, u64),
    /// A retirement, after the packet numbered `.2`.
    Retired(Box<Connection>, Box<Facts>, u64),
    /// A connection's exchange ended (key, id), after the packet numbered `.2`.
    Settled(Box<(ConnKey, u64)>, u64),
}

struct HeldPacket {
    number: u64,
    ts: Timestamp,
    wire_len: u32,
    /// Where its captured bytes are in the queue's byte ring.
    bytes: Span,
    link: Option<LinkKind>,
    dlt: i32,
    segment: Option<Segment>,
    /// Its segment came the short way (see `Headers::plain`).
    plain: bool,
    observation: Option<Observation>,
    events: Vec<Event>,
    /// Open holds: revisions that may still come for this frame.
    holds: u32,
    /// Held for a possible retraction until this capture time.
    until: Option<Timestamp>,
    /// The previous held packet of the same connection (a position).
    prev_in_conn: Option<u64>,
}

/// A held packet's bytes: their place in the ring (counted from the ring's
/// first byte ever) and their length.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    at: u64,
    len: u32,
}

/// The captured bytes of the held packets, back to back in chunks, oldest
/// first: packets leave in the order they came, so a chunk is freed once
/// its last packet has gone. Memory follows the bytes held (plus a chunk),
/// not the largest frame each held packet ever needed, and never doubles
/// on a burst.
#[derive(Default)]
struct ByteRing {
    chunks: VecDeque<Chunk>,
    /// One emptied chunk, kept for the next.
    spare: Option<Vec<u8>>,
    /// The ring position of the next byte.
    next: u64,
}

struct Chunk {
    /// The ring position of `buf[0]`.
    start: u64,
    buf: Vec<u8>,
}

/// Bytes per chunk (a frame larger than this gets a chunk of its own size).
const CHUNK: usize = 256 << 10;

impl ByteRing {
    fn push(&mut self, bytes: &[u8]) -> Span {
        let fits = self
            .chunks
            .back()
            .is_some_and(|c| c.buf.capacity() - c.buf.len() >= bytes.len());
        if !fits {
            let buf = match self.spare.take() {
                Some(b) if b.capacity() >= bytes.len() => b,
                _ => Vec::with_capacity(CHUNK.max(bytes.len())),
            };
            self.chunks.push_back(Chunk {
                start: self.next,
                buf,
            });
        }
        let at = self.next;
        if let Some(c) = self.chunks.back_mut() {
            c.buf.extend_from_slice(bytes);
        }
        self.next += bytes.len() as u64;
        Span {
            at,
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        }
    }

    fn get(&self, s: Span) -> &[u8] {
        self.chunks
            .iter()
            .find(|c| s.at >= c.start && s.at + u64::from(s.len) <= c.start + c.buf.len() as u64)
            .and_then(|c| {
                let from = usize::try_from(s.at - c.start).ok()?;
                c.buf.get(from..from + s.len as usize)
            })
            .unwrap_or(&[])
    }

    /// The oldest bytes, up to the end of `s`, are no longer needed.
    fn release(&mut self, s: Span) {
        let end = s.at + u64::from(s.len);
        while let Some(front) = self.chunks.front() {
            let front_end = front.start + front.buf.len() as u64;
            if end < front_end || (self.chunks.len() == 1 && end < self.next) {
                break;
            }
            if let Some(mut c) = self.chunks.pop_front() {
                if c.buf.capacity() == CHUNK {
                    c.buf.clear();
                    self.spare = Some(c.buf);
                }
            }
        }
    }
}

/// Packets, events and retirements waiting to go out in order. Frame
/// numbers only grow, so a packet is found by binary search; each held
/// packet links to the previous held packet of its connection, so a
/// revision walks only its own connection's packets. No allocation per packet.
#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// Position (in push order) of `items[0]`.
    base: u64,
    /// Each connection's newest held packet, by position.
    last_of_conn: FxHashMap<u64, u64>,
    /// Open holds per connection (only connections with some).
    open_holds: FxHashMap<u64, u32>,
    /// The frame number of the newest packet pushed.
    newest_frame: u64,
    /// The held packets' captured bytes.
    bytes: ByteRing,
}

impl Item {
    /// Where the item sorts: a packet by its frame number; an event or a
    /// retirement just after the packet before it.
    fn key(&self) -> (u64, bool) {
        match self {
            Item::Packet(p) => (p.number, false),
            Item::Event(_, after) | Item::Retired(_, _, after) | Item::Settled(_, after) => {
                (*after, true)
            }
        }
    }
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn push(&mut self, mut item: Item) {
        let pos = self.base + self.items.len() as u64;
        if let Item::Packet(p) = &mut item {
            self.newest_frame = p.number;
            if let Some(o) = &p.observation {
                p.prev_in_conn = self.last_of_conn.insert(o.conn, pos);
                if p.holds > 0 {
                    *self.open_holds.entry(o.conn).or_default() += p.holds;
                }
            }
        }
        self.items.push_back(item);
    }

    fn pop(&mut self) -> Option<Item> {
        let item = self.items.pop_front()?;
        let pos = self.base;
        self.base += 1;
        if let Item::Packet(p) = &item {
            if let Some(o) = &p.observation {
                if self.last_of_conn.get(&o.conn) == Some(&pos) {
                    self.last_of_conn.remove(&o.conn);
                }
                self.close_holds(o.conn, p.holds);
            }
        }
        Some(item)
    }

    /// The position of the held packet with this frame number.
    fn position(&self, frame: u64) -> Option<u64> {
        if frame > self.newest_frame {
            return None;
        }
        let i = self.items.partition_point(|it| it.key() < (frame, false));
        match self.items.get(i) {
            Some(Item::Packet(p)) if p.number == frame => Some(self.base + i as u64),
            _ => None,
        }
    }

    fn at(&mut self, pos: u64) -> Option<&mut HeldPacket> {
        let i = usize::try_from(pos.checked_sub(self.base)?).ok()?;
        match self.items.get_mut(i)? {
            Item::Packet(p) => Some(p),
            _ => None,
        }
    }

    fn held_mut(&mut self, frame: u64) -> Option<&mut HeldPacket> {
        let pos = self.position(frame)?;
        self.at(pos)
    }

    fn close_holds(&mut self, conn: u64, n: u32) {
        if n == 0 {
            return;
        }
        if let Some(h) = self.open_holds.get_mut(&conn) {
            *h = h.saturating_sub(n);
            if *h == 0 {
                self.open_holds.remove(&conn);
            }
        }
    }

    /// The held packets of `conn` from position `from` on, newest first.
    fn conn_positions_from(&mut self, conn: u64, from: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut next = self.last_of_conn.get(&conn).copied();
        while let Some(pos) = next.filter(|p| *p >= from && *p >= self.base) {
            out.push(pos);
            next = self.at(pos).and_then(|p| p.prev_in_conn);
        }
        out
    }

    /// A retired connection can be proven nothing more: its packets may go.
    fn release_conn(&mut self, conn: u64) {
        if self.open_holds.remove(&conn).is_none() {
            return;
        }
        let base = self.base;
        for pos in self.conn_positions_from(conn, base) {
            if let Some(p) = self.at(pos) {
                p.holds = 0;
            }
        }
    }
}

/// Decode + track for a stream of frames; see the module docs.
pub struct Analyzer {
    tracker: Tracker,
    counts: Counts,
    lookahead: Option<Lookahead>,
    /// Tell the sink when a connection's exchange is over.
    settled: bool,
    queue: Queue,
    /// Scratch for the events of the frame in hand.
    events: Vec<Event>,
    /// Scratch for the revisions of the frame in hand.
    revisions: Vec<Revision>,
    /// Scratch: whether each of those may change what is held.
    revisable: Vec<bool>,
    /// Returned boxes (with their buffers), for the next held packets: a
    /// box moves through the queue as a pointer, so it is kept whole.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<HeldPacket>>,
    /// Scratch for the timer events due at the frame in hand.
    due: Vec<Event>,
    /// Scratch for the connections retiring at the frame in hand.
    #[allow(clippy::vec_box)]
    retiring: Vec<(Box<Connection>, Retired)>,
    /// The newest frame's capture time (see `note_time`).
    now: Option<Timestamp>,
}

impl Analyzer {
    /// An analyzer with nothing seen yet.
    pub fn new(cfg: AnalyzerConfig) -> Analyzer {
        Analyzer {
            tracker: Tracker::new(cfg.tracker),
            counts: Counts::default(),
            lookahead: cfg.lookahead,
            settled: cfg.settled,
            queue: Queue::default(),
            events: Vec::new(),
            revisions: Vec::new(),
            revisable: Vec::new(),
            spare: Vec::new(),
            due: Vec::new(),
            retiring: Vec::new(),
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

    /// What the capture shows so far about load on hosts and listeners.
    pub fn pressure(&self) -> crate::pressure::PressureFacts {
        self.tracker.pressure()
    }

    /// The tracker, for looking at live connections.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Record the pressure counters' changes instead of counting them: this
    /// analyzer sees only some of the connections (see
    /// [`crate::pressure::PressureOp`]); take them after each frame with
    /// [`Analyzer::take_pressure_ops`].
    pub fn record_pressure(&mut self) {
        self.tracker.record_pressure();
    }

    /// The pressure changes recorded since the last call, appended to `out`.
    pub fn take_pressure_ops(&mut self, out: &mut Vec<crate::pressure::PressureOp>) {
        self.tracker.take_pressure_ops(out);
    }

    /// Pack every connection now, as if all were quiet (tests: packing
    /// changes nothing the analyzer says).
    #[doc(hidden)]
    pub fn pack_all_connections(&mut self) {
        self.tracker.pack_all_connections();
    }

    /// Packets (and events, retirements) held back waiting for proof.
    pub fn held_packets(&self) -> usize {
        self.queue.items.len()
    }

    /// Frames stamped before this time change nothing but the clock: no
    /// timer runs out, no idle connection goes, no held packet's wait ends
    /// (`None`: the next frame may, whenever it is stamped). A frame of a
    /// connection this analyzer does not follow may then be left out, as
    /// long as the clock is brought to the latest time left out (with
    /// [`Analyzer::tick`]) before the next frame handed in.
    pub fn quiet_until(&self) -> Option<Timestamp> {
        let mut until = self.tracker.quiet_until()?;
        if let Some(front) = self.queue.items.front() {
            let limits = self.lookahead?;
            let Item::Packet(p) = front else {
                return None;
            };
            if self.queue.items.len() > limits.max_packets {
                return None;
            }
            until = until.min(add_ns(p.ts.normalized(), limits.max_ns));
            if let (0, Some(u)) = (p.holds, p.until) {
                until = until.min(u);
            }
        }
        Some(until)
    }

    /// The first frame whose packet is still held back: everything about
    /// earlier frames has been handed on (`None`: nothing is held).
    pub fn holding_since(&self) -> Option<u64> {
        Some(match self.queue.items.front()? {
            Item::Packet(p) => p.number,
            Item::Event(_, after) | Item::Retired(_, _, after) | Item::Settled(_, after) => {
                after + 1
            }
        })
    }

    /// One frame captured on a link of kind `link`.
    pub fn frame<S: Sink>(
        &mut self,
        frame: &Frame<'_>,
        link: LinkKind,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.process(frame, Some(link), 0, sink)?;
        self.take_settled(sink)
    }

    /// One frame from an interface whose link type (`dlt`) synack does not
    /// decode: counted as undecodable and shown as such.
    pub fn unsupported_frame<S: Sink>(
        &mut self,
        frame: &Frame<'_>,
        dlt: i32,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.process(frame, None, dlt, sink)
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
        self.tracker.finish_lazily();
        // One at a time: a capture can end with a hundred thousand TIME_WAITs.
        while let Some(e) = self.tracker.next_end_event() {
            self.take_event(e, sink)?;
        }
        self.take_retired(sink)?;
        self.release(true, sink)
    }

    /// The time of the newest frame (or tick), which says how long a held
    /// packet has waited. Not the greatest time seen: when the capture's
    /// clock goes back (a second file older than the first, a clock step),
    /// packets held after it wait by their own clock, so their proofs are
    /// still awaited (`max_packets` bounds the wait).
    fn note_time(&mut self, ts: Timestamp) {
        self.now = Some(ts.normalized());
    }

    fn process<S: Sink>(
        &mut self,
        frame: &Frame<'_>,
        link: Option<LinkKind>,
        dlt: i32,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        // One read of the headers for tracking; the full decode only for
        // what is not a plain TCP segment (and for sinks that ask).
        let short = link.and_then(|l| Segment::of_frame(frame, l));
        let headers = Headers::new(link, dlt, frame.data, short.is_some());
        let segment = match short {
            Some(s) => {
                self.counts.add_tcp(frame);
                Some(s)
            }
            None => {
                let decoded = headers.get();
                self.counts.add(frame, decoded);
                Segment::from_decoded(frame, decoded)
            }
        };
        self.note_time(frame.ts);
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
        // Nothing held and nothing to hold: the packet goes straight out
        // (revisions can only change held packets).
        let holds_here = self.lookahead.is_some()
            && self
                .tracker
                .revisions()
                .iter()
                .any(|r| matches!(r, Revision::Hold { frame: f, .. } if *f == frame.number));
        if self.queue.is_empty() && !holds_here {
            let p = Packet {
                frame,
                link,
                headers: &headers,
                segment: segment.as_ref(),
                observation: observation.as_ref(),
                events: &self.tracker.events()[split..],
            };
            return sink.packet(&p);
        }
        self.events.clear();
        self.events
            .extend_from_slice(&self.tracker.events()[split..]);
        let mut hold_here = 0;
        let mut until_here = None;
        if self.lookahead.is_some() && !self.tracker.revisions().is_empty() {
            let mut revisions = std::mem::take(&mut self.revisions);
            revisions.clear();
            revisions.extend_from_slice(self.tracker.revisions());
            // What may change is decided before any of this frame's
            // revisions settles a hold (a RST settles the SYN it refuses,
            // then shows the refusal at it).
            let mut revisable = std::mem::take(&mut self.revisable);
            revisable.clear();
            for r in &revisions {
                revisable.push(match *r {
                    Revision::Defer { conn, cause, .. } | Revision::Retract { conn, cause, .. } => {
                        self.held_for(conn, cause)
                    }
                    _ => true,
                });
            }
            // A change moves back only if every earlier one of the same side
            // at this packet did (they are taken from the front of its path).
            let mut blocked = [false; 2];
            for (r, may) in revisions.iter().zip(revisable.iter().copied()) {
                match *r {
                    Revision::Defer { side, .. } => {
                        let i = side_index(side);
                        let moved =
                            !blocked[i] && may && self.defer(r, frame.number, observation.as_mut());
                        if !moved {
                            blocked[i] = true;
                        }
                    }
                    Revision::Retract { .. } if !may => {}
                    Revision::Hold {
                        frame: f, until, ..
                    } if f == frame.number => match until {
                        None => hold_here += 1,
                        Some(t) => until_here = until_here.max(Some(t)),
                    },
                    _ => self.revise(r, observation.as_mut()),
                }
            }
            self.revisable = revisable;
            self.revisions = revisions;
        }
        let must_hold = hold_here > 0 || until_here.is_some();
        if self.queue.is_empty() && !must_hold {
            let p = Packet {
                frame,
                link,
                headers: &headers,
                segment: segment.as_ref(),
                observation: observation.as_ref(),
                events: &self.events,
            };
            return sink.packet(&p);
        }
        let mut held = self.spare.pop().unwrap_or_else(|| {
            Box::new(HeldPacket {
                number: 0,
                ts: Timestamp::default(),
                wire_len: 0,
                bytes: Span::default(),
                link: None,
                dlt: 0,
                segment: None,
                plain: false,
                observation: None,
                events: Vec::new(),
                holds: 0,
                until: None,
                prev_in_conn: None,
            })
        });
        let h = &mut *held;
        h.number = frame.number;
        h.ts = frame.ts;
        h.wire_len = frame.wire_len;
        h.bytes = self.queue.bytes.push(frame.data);
        h.link = link;
        h.dlt = dlt;
        h.segment = segment;
        h.plain = headers.plain;
        h.observation = observation;
        h.events.clear();
        // Exactly as many as it has: an event is large, and a burst holds many packets.
        h.events.reserve_exact(self.events.len());
        h.events.extend_from_slice(&self.events);
        h.holds = hold_here;
        h.until = until_here;
        h.prev_in_conn = None;
        self.queue.push(Item::Packet(held));
        self.release(false, sink)
    }

    /// Whether connection `conn` still waits for proof at frame `cause` or
    /// before it: then its packets from there on are held for its own
    /// sake, and a revision may still change them. A packet held only
    /// behind another connection's wait is not changed: what is shown for a
    /// connection must not depend on other connections' traffic (nor, so,
    /// on how connections are spread over threads).
    fn held_for(&mut self, conn: u64, cause: u64) -> bool {
        let Some(cause_pos) = self.queue.position(cause) else {
            return false;
        };
        let now = self.now.unwrap_or_default();
        let base = self.queue.base;
        let mut next = self.queue.last_of_conn.get(&conn).copied();
        while let Some(pos) = next.filter(|p| *p >= base) {
            let Some(p) = self.queue.at(pos) else {
                break;
            };
            if pos <= cause_pos && (p.holds > 0 || p.until.is_some_and(|u| u > now)) {
                return true;
            }
            next = p.prev_in_conn;
        }
        false
    }

    /// Apply a revision from the frame in hand to what is held.
    fn revise(&mut self, r: &Revision, obs: Option<&mut Observation>) {
        match *r {
            Revision::Hold { conn, frame, until } => {
                if let Some(p) = self.queue.held_mut(frame) {
                    match until {
                        None => {
                            p.holds += 1;
                            *self.queue.open_holds.entry(conn).or_default() += 1;
                        }
                        Some(t) => p.until = p.until.max(Some(t)),
                    }
                }
            }
            Revision::Settle { conn, frame } => {
                let settled = match self.queue.held_mut(frame) {
                    Some(p) if p.holds > 0 => {
                        p.holds -= 1;
                        true
                    }
                    _ => false,
                };
                if settled {
                    self.queue.close_holds(conn, 1);
                }
            }
            Revision::Retract {
                conn,
                side,
                cause,
                wrong,
                right,
            } => {
                let Some(cause_pos) = self.queue.position(cause) else {
                    return;
                };
                let i = side_index(side);
                if let Some(obs) = obs {
                    obs.paths[i] = StatePath::at(right).tap_rest(&obs.paths[i], wrong);
                    obs.corrected[i] = false;
                }
                for pos in self.queue.conn_positions_from(conn, cause_pos) {
                    let Some(p) = self.queue.at(pos) else {
                        continue;
                    };
                    let Some(o) = p.observation.as_mut() else {
                        continue;
                    };
                    if pos == cause_pos {
                        o.paths[i].retract(wrong, right);
                    } else {
                        o.paths[i] = rebased(o.paths[i], right);
                    }
                }
            }
            _ => {}
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
        if cause == current {
            return false;
        }
        let Some(cause_pos) = self.queue.position(cause) else {
            return false;
        };
        let i = side_index(side);
        if let Some(obs) = obs {
            // Only a change at the start of this packet's path can move back.
            if obs.paths[i].before() != path.before() {
                return false;
            }
            let k = path.states().len() - 1;
            obs.paths[i] = obs.paths[i].skip(k);
        }
        let mut moved_events = Vec::new();
        self.events.retain(|e| {
            if e.frame == Some(cause) {
                moved_events.push(*e);
                false
            } else {
                true
            }
        });
        for pos in self.queue.conn_positions_from(conn, cause_pos) {
            let Some(p) = self.queue.at(pos) else {
                continue;
            };
            let Some(o) = p.observation.as_mut() else {
                continue;
            };
            if pos == cause_pos {
                o.paths[i].extend(&path);
                p.events.extend_from_slice(&moved_events);
            } else {
                o.paths[i] = rebased(o.paths[i], path.after());
            }
        }
        true
    }

    /// Events of timers that ran out before the frame in hand, in time order,
    /// then connection order (not the timers' own order: how a tracker keeps
    /// its timers must not show, and several analyzers each holding some of
    /// the connections must give the same order).
    fn take_timer_events<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let n = self
            .tracker
            .events()
            .iter()
            .take_while(|e| e.frame.is_none())
            .count();
        if n == 0 {
            return Ok(());
        }
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        due.extend_from_slice(&self.tracker.events()[..n]);
        due.sort_by_key(|e| (e.ts.normalized(), e.conn, e.side));
        let mut result = Ok(());
        for e in &due {
            result = self.take_event(*e, sink);
            if result.is_err() {
                break;
            }
        }
        self.due = due;
        result
    }

    /// An event between frames: out now, or after what is held.
    fn take_event<S: Sink>(&mut self, e: Event, sink: &mut S) -> Result<(), S::Error> {
        if self.queue.is_empty() {
            sink.event(&e)
        } else {
            let after = self.queue.newest_frame;
            self.queue.push(Item::Event(Box::new(e), after));
            Ok(())
        }
    }

    fn take_settled<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        if !self.settled {
            return Ok(());
        }
        let Some((key, id)) = self.tracker.settled() else {
            return Ok(());
        };
        if self.queue.is_empty() {
            if let Some(c) = self.tracker.connection(&key) {
                sink.settled(c, &Facts::of(c, Retired::Finished))?;
            }
        } else {
            let after = self.queue.newest_frame;
            self.queue.push(Item::Settled(Box::new((key, id)), after));
        }
        Ok(())
    }

    /// Connections that left the tracker at the frame in hand, in connection
    /// order (not the order of the tracker's timers and tables, for the same
    /// reasons as timer events).
    fn take_retired<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let Some(first) = self.tracker.next_retired() else {
            return Ok(());
        };
        let mut retiring = std::mem::take(&mut self.retiring);
        retiring.clear();
        retiring.push(first);
        while let Some(r) = self.tracker.next_retired() {
            retiring.push(r);
        }
        retiring.sort_by_key(|(c, _)| c.id);
        let mut result = Ok(());
        for (c, why) in retiring.drain(..) {
            if result.is_err() {
                continue;
            }
            let facts = Facts::of(&c, why);
            if self.queue.is_empty() {
                result = sink.connection(&c, &facts);
                continue;
            }
            // Nothing more can be proven for it: its held packets may go.
            self.queue.release_conn(c.id);
            let after = self.queue.newest_frame;
            self.queue.push(Item::Retired(c, Box::new(facts), after));
        }
        self.retiring = retiring;
        result
    }

    /// Hand on what is no longer waited for, oldest first; with `all`, everything.
    fn release<S: Sink>(&mut self, all: bool, sink: &mut S) -> Result<(), S::Error> {
        let limits = self.lookahead.unwrap_or(Lookahead {
            max_ns: 0,
            max_packets: 0,
        });
        let now = self.now.unwrap_or_default();
        while let Some(front) = self.queue.items.front() {
            if !all {
                if let Item::Packet(p) = front {
                    let waiting = p.holds > 0 || p.until.is_some_and(|u| u > now);
                    if waiting {
                        let too_old = add_ns(p.ts.normalized(), limits.max_ns) < now;
                        let too_many = self.queue.items.len() > limits.max_packets;
                        if !too_old && !too_many {
                            break;
                        }
                    }
                }
            }
            let Some(item) = self.queue.pop() else {
                break;
            };
            match item {
                Item::Event(e, _) => sink.event(&e)?,
                Item::Retired(c, f, _) => sink.connection(&c, &f)?,
                Item::Settled(settled, _) => {
                    let (key, id) = *settled;
                    // Retired meanwhile: its record went (or goes) out instead.
                    if let Some(c) = self.tracker.connection(&key).filter(|c| c.id == id) {
                        sink.settled(c, &Facts::of(c, Retired::Finished))?;
                    }
                }
                Item::Packet(mut p) => {
                    let data = self.queue.bytes.get(p.bytes);
                    let frame = Frame {
                        number: p.number,
                        ts: p.ts,
                        wire_len: p.wire_len,
                        data,
                    };
                    let headers = Headers::new(p.link, p.dlt, data, p.plain);
                    let packet = Packet {
                        frame: &frame,
                        link: p.link,
                        headers: &headers,
                        segment: p.segment.as_ref(),
                        observation: p.observation.as_ref(),
                        events: &p.events,
                    };
                    sink.packet(&packet)?;
                    self.queue.bytes.release(p.bytes);
                    // A few kept for the next held packets; a burst's worth
                    // is not kept after the burst.
                    if self.spare.len() < SPARE_HELD {
                        p.events.clear();
                        if p.events.capacity() > 2 {
                            p.events = Vec::new();
                        }
                        self.spare.push(p);
                    }
                }
            }
        }
        Ok(())
    }
}

fn unsupported_link(dlt: i32) -> decode::DecodeError {
    decode::DecodeError::UnsupportedLink { dlt }
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
