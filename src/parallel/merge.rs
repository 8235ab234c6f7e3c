//! The merger: the analyzer threads' results back into one stream, exactly
//! as one analyzer would have handed it on.
//!
//! Every thread hands on every frame in capture order (its own, and a
//! stand-in for each of the others'), and between two frames what it found
//! there: timer events, retirements, settlements. So the merger takes one
//! frame at a time from every thread and hands on, as one analyzer does:
//!
//! 1. what was settled after the previous frame;
//! 2. the timer events due before this frame, in time, then connection order;
//! 3. the connections that retired before it, in connection order;
//! 4. the frame itself, from the thread that handled it.
//!
//! Connections are numbered again, in the order their first frames came
//! (each thread numbered only its own, in the same order); a port reuse
//! event names the previous connection by its new number too. Records the
//! threads wrote themselves (JSON) get their numbers rewritten. The
//! pressure counters are replayed in capture order into one `Pressure`
//! (at each frame, the other threads' changes first: those are the
//! clock's, which only ever lower counts, and come before the segment's).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::Sender;

use rustc_hash::FxHashMap;
use synack_core::decode::{Frame, Timestamp};
use synack_core::pressure::{Pressure, PressureOp};
use synack_core::track::{Connection, Event, EventKind, Facts, Side, TrackerConfig};
use synack_core::{Counts, Packet, Sink};

use super::batch::{End, Extra, Order, OutBatch, StepKind, Trash};
use crate::views::ViewSet;

/// Where the merged stream goes: the views (a sink), and their output for
/// text the threads wrote themselves.
pub(crate) trait Emit: Sink<Error = io::Error> {
    /// Where written text goes.
    fn out(&mut self) -> &mut dyn Write;

    /// A retired connection, handed over whole; what is given back is freed
    /// by the thread that made it.
    fn hand_connection(&mut self, c: Box<Connection>, f: Box<Facts>) -> io::Result<Kept> {
        self.connection(&c, &f)?;
        Ok(Some((c, f)))
    }

    /// A settled connection, handed over whole, as `hand_connection`.
    fn hand_settled(&mut self, c: Box<Connection>, f: Box<Facts>) -> io::Result<Kept> {
        self.settled(&c, &f)?;
        Ok(Some((c, f)))
    }
}

/// A connection given back after it was handed over (`None`: kept).
pub(crate) type Kept = Option<(Box<Connection>, Box<Facts>)>;

impl Emit for ViewSet<'_> {
    fn out(&mut self) -> &mut dyn Write {
        self.out
    }
}

/// A thread's next step: its frame, what it is, the range of its extras.
type Head = (u64, StepKind, (u32, u32));

/// One thread's results not yet merged.
struct Stream {
    /// Batches with steps still to merge (the front one from `step` on);
    /// the last batch stays until its tail is handed on.
    batches: VecDeque<OutBatch>,
    step: usize,
    /// Pressure changes with the frame that caused them, in order.
    ops: VecDeque<(u64, PressureOp)>,
    /// This thread's connection numbers → the merged numbers.
    numbers: FxHashMap<u64, u64>,
    /// The highest number of this thread's seen so far.
    last_own: u64,
    finished: bool,
    flushes: u64,
    /// Every step of frames up to this one has come.
    through: u64,
    counts: Option<Counts>,
    /// Per batch received, the most connections held at once.
    held: VecDeque<usize>,
    /// Where emptied batches go back to be filled again.
    returns: Sender<OutBatch>,
    /// Connections handed on, to go back with the next emptied batch.
    trash: Trash,
}

impl Stream {
    /// The next step to merge, if it has come.
    fn peek(&mut self) -> Option<Head> {
        loop {
            let b = self.batches.front()?;
            if let Some(s) = b.steps.get(self.step) {
                return Some((s.frame, s.what, s.extras));
            }
            if b.end == Some(End::Finish) {
                return None;
            }
            if let Some(mut b) = self.batches.pop_front() {
                b.trash = std::mem::take(&mut self.trash);
                // The thread may be gone (it finished): the batch is dropped here.
                let _ = self.returns.send(b);
            }
            self.step = 0;
        }
    }

    fn apply_ops_to(&mut self, frame: u64, pressure: &mut Pressure) {
        while let Some(&(at, op)) = self.ops.front() {
            if at > frame {
                break;
            }
            pressure.apply(op);
            self.ops.pop_front();
        }
    }
}

/// Something said between two frames, waiting for its place.
enum Said {
    Event(Event),
    /// Handed on by thread `w`.
    Conn(usize, Box<Connection>, Box<Facts>),
    /// Written by thread `w`: a range of its front batch's text and patches.
    Text {
        w: usize,
        text: (usize, usize),
        patches: (u32, u32),
    },
}

/// The merger's state: every thread's stream and the merged numbering.
pub(crate) struct Merger {
    streams: Vec<Stream>,
    next_number: u64,
    pressure: Pressure,
    settled: Vec<(usize, Box<Connection>, Box<Facts>)>,
    events: Vec<((Timestamp, u64, Side), Said)>,
    retired: Vec<(u64, Said)>,
    packet_events: Vec<Event>,
    /// Numbers to forget once the frame in hand is handed on.
    gone: Vec<(usize, u64)>,
    /// `--max-connections`, and whether all threads together may have held that many.
    cap: usize,
    cap_reached: bool,
    itoa: itoa::Buffer,
    /// Scratch: each thread's next step.
    heads: Vec<Option<Head>>,
}

impl Merger {
    pub(crate) fn new(returns: Vec<Sender<OutBatch>>, tracker: &TrackerConfig) -> Merger {
        Merger {
            streams: returns
                .into_iter()
                .map(|returns| Stream {
                    batches: VecDeque::new(),
                    step: 0,
                    ops: VecDeque::new(),
                    numbers: FxHashMap::default(),
                    last_own: 0,
                    finished: false,
                    flushes: 0,
                    through: 0,
                    counts: None,
                    held: VecDeque::new(),
                    returns,
                    trash: Vec::new(),
                })
                .collect(),
            next_number: 0,
            pressure: Pressure::new(tracker.time_wait_ns, tracker.pressure),
            settled: Vec::new(),
            events: Vec::new(),
            retired: Vec::new(),
            packet_events: Vec::new(),
            gone: Vec::new(),
            cap: tracker.max_connections,
            cap_reached: false,
            itoa: itoa::Buffer::new(),
            heads: Vec::new(),
        }
    }

    /// A thread's results for one input batch.
    pub(crate) fn receive(&mut self, thread: usize, mut batch: OutBatch) {
        let s = &mut self.streams[thread];
        s.ops.extend(batch.ops.drain(..));
        s.through = s.through.max(batch.through);
        match batch.end {
            Some(End::Flush) => s.flushes += 1,
            Some(End::Finish) => {
                s.finished = true;
                s.through = u64::MAX;
            }
            _ => {}
        }
        if let Some(c) = batch.counts.take() {
            s.counts = Some(c);
        }
        s.held.push_back(batch.held_max);
        s.batches.push_back(batch);
        // Batches line up across threads: the k-th of each came from the
        // same input batch. Held counts add up to a bound on one tracker's.
        while self.streams.iter().all(|s| !s.held.is_empty()) {
            let sum: usize = self
                .streams
                .iter_mut()
                .filter_map(|s| s.held.pop_front())
                .sum();
            if sum >= self.cap {
                self.cap_reached = true;
            }
        }
    }

    /// Every thread has finished.
    pub(crate) fn finished(&self) -> bool {
        self.streams.iter().all(|s| s.finished)
    }

    /// Every thread has answered `n` flushes.
    pub(crate) fn flushed(&self, n: u64) -> bool {
        self.streams.iter().all(|s| s.flushes >= n || s.finished)
    }

    /// All threads together may have held `--max-connections`: one thread
    /// would have evicted some, each of these evicts only at the cap of its own.
    pub(crate) fn cap_reached(&self) -> bool {
        self.cap_reached
    }

    /// Hand on every frame every thread has handed on. A thread hands on
    /// only the frames where something happened to it; the next frame is
    /// the earliest any thread has handed on, once every thread without it
    /// is known to be past it.
    pub(crate) fn merge<E: Emit>(&mut self, views: &mut E) -> io::Result<()> {
        let mut heads = std::mem::take(&mut self.heads);
        let result = loop {
            heads.clear();
            let mut next = u64::MAX;
            for s in &mut self.streams {
                let head = s.peek();
                if let Some((f, _, _)) = head {
                    next = next.min(f);
                }
                heads.push(head);
            }
            let ready = next != u64::MAX
                && self
                    .streams
                    .iter()
                    .zip(&heads)
                    .all(|(s, h)| h.is_some() || s.through >= next);
            if !ready {
                break Ok(());
            }
            for h in heads.iter_mut() {
                if h.is_some_and(|(f, _, _)| f != next) {
                    *h = None;
                }
            }
            if let Err(e) = self.merge_step(next, &heads, views) {
                break Err(e);
            }
        };
        self.heads = heads;
        result
    }

    /// One frame: every thread's step for it in `heads` (`None`: nothing
    /// happened to that thread there).
    fn merge_step<E: Emit>(
        &mut self,
        frame: u64,
        heads: &[Option<Head>],
        views: &mut E,
    ) -> io::Result<()> {
        let mut owner = None;
        for (w, head) in heads.iter().enumerate() {
            let Some((_, what, extras)) = *head else {
                continue;
            };
            if !matches!(what, StepKind::Other) {
                owner = Some((w, what));
            }
            if extras.0 < extras.1 {
                self.take_extras(w, extras);
            }
        }
        if !(self.settled.is_empty() && self.events.is_empty() && self.retired.is_empty()) {
            self.hand_on_extras(views)?;
        }
        if let Some((w, what)) = owner {
            self.hand_on_frame(w, what, views)?;
        }
        // The clock's changes of the other threads, then the owner's.
        let owner_index = owner.map(|(w, _)| w);
        for (w, s) in self.streams.iter_mut().enumerate() {
            if Some(w) != owner_index {
                s.apply_ops_to(frame, &mut self.pressure);
            }
        }
        if let Some(w) = owner_index {
            self.streams[w].apply_ops_to(frame, &mut self.pressure);
        }
        for (w, own) in self.gone.drain(..) {
            self.streams[w].numbers.remove(&own);
        }
        for (s, head) in self.streams.iter_mut().zip(heads) {
            if head.is_some() {
                s.step += 1;
            }
        }
        Ok(())
    }

    /// Take thread `w`'s extras in `range` (of its front batch) into the
    /// lists for this frame, renumbered.
    fn take_extras(&mut self, w: usize, range: (u32, u32)) {
        let s = &mut self.streams[w];
        let Some(b) = s.batches.front_mut() else {
            return;
        };
        for i in range.0..range.1 {
            let x = std::mem::replace(&mut b.extras[i as usize], Extra::Taken);
            match x {
                Extra::Event(mut e) => {
                    renumber_event(&mut e, &s.numbers);
                    self.events
                        .push(((e.ts.normalized(), e.conn, e.side), Said::Event(e)));
                }
                Extra::Retired(mut c, f) => {
                    let own = c.id();
                    let n = number(&s.numbers, own);
                    c.renumber(n);
                    self.gone.push((w, own));
                    self.retired.push((n, Said::Conn(w, c, f)));
                }
                Extra::Settled(mut c, f) => {
                    c.renumber(number(&s.numbers, c.id()));
                    self.settled.push((w, c, f));
                }
                Extra::Text {
                    order,
                    text,
                    patches,
                } => {
                    let said = Said::Text { w, text, patches };
                    match order {
                        Order::Event { ts, conn, side } => {
                            let key = (ts.normalized(), number(&s.numbers, conn), side);
                            self.events.push((key, said));
                        }
                        Order::Retired { conn } => {
                            self.gone.push((w, conn));
                            self.retired.push((number(&s.numbers, conn), said));
                        }
                    }
                }
                Extra::Taken => {}
            }
        }
    }

    /// Settlements, timer events and retirements, in one analyzer's order.
    fn hand_on_extras<E: Emit>(&mut self, views: &mut E) -> io::Result<()> {
        let mut settled = std::mem::take(&mut self.settled);
        for (w, c, f) in settled.drain(..) {
            if let Some(back) = views.hand_settled(c, f)? {
                self.streams[w].trash.push(back);
            }
        }
        self.settled = settled;
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|(k, _)| *k);
        for (_, said) in events.drain(..) {
            self.hand_on(said, views)?;
        }
        self.events = events;
        let mut retired = std::mem::take(&mut self.retired);
        retired.sort_by_key(|(n, _)| *n);
        for (_, said) in retired.drain(..) {
            self.hand_on(said, views)?;
        }
        self.retired = retired;
        Ok(())
    }

    fn hand_on<E: Emit>(&mut self, said: Said, views: &mut E) -> io::Result<()> {
        match said {
            Said::Event(e) => views.event(&e),
            Said::Conn(w, c, f) => {
                if let Some(back) = views.hand_connection(c, f)? {
                    self.streams[w].trash.push(back);
                }
                Ok(())
            }
            Said::Text { w, text, patches } => self.write_text(w, text, patches, views.out()),
        }
    }

    /// Thread `w`'s written text in `text` (of its front batch), with its
    /// connection numbers in `patches` written again.
    fn write_text(
        &mut self,
        w: usize,
        text: (usize, usize),
        patches: (u32, u32),
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let s = &self.streams[w];
        let Some(b) = s.batches.front() else {
            return Ok(());
        };
        let mut at = text.0;
        for p in &b.patches[patches.0 as usize..patches.1 as usize] {
            out.write_all(&b.text[at..p.at])?;
            out.write_all(self.itoa.format(number(&s.numbers, p.own)).as_bytes())?;
            at = p.at + p.len;
        }
        out.write_all(&b.text[at..text.1])
    }

    fn hand_on_frame<E: Emit>(
        &mut self,
        w: usize,
        what: StepKind,
        views: &mut E,
    ) -> io::Result<()> {
        let next_number = &mut self.next_number;
        let s = &mut self.streams[w];
        let mut first_seen = |own: u64, s: &mut Stream| {
            if own > s.last_own {
                s.last_own = own;
                *next_number += 1;
                s.numbers.insert(own, *next_number);
            }
        };
        match what {
            StepKind::Other => Ok(()),
            StepKind::Lite { conn } => {
                if conn != 0 {
                    first_seen(conn, s);
                }
                Ok(())
            }
            StepKind::Text {
                conn,
                text,
                patches,
            } => {
                if conn != 0 {
                    first_seen(conn, s);
                }
                self.write_text(w, text, patches, views.out())
            }
            StepKind::Full(i) => {
                let Some(b) = s.batches.front() else {
                    return Ok(());
                };
                let p = b.packets[i as usize];
                if let Some(o) = &p.observation {
                    first_seen(o.conn, s);
                }
                let b = &s.batches[0];
                let observation = p.observation.map(|mut o| {
                    o.conn = number(&s.numbers, o.conn);
                    o
                });
                self.packet_events.clear();
                self.packet_events
                    .extend_from_slice(&b.events[p.events.0 as usize..p.events.1 as usize]);
                for e in &mut self.packet_events {
                    renumber_event(e, &s.numbers);
                }
                let data = &b.bytes[p.bytes.0..p.bytes.1];
                let frame = Frame {
                    number: p.number,
                    ts: p.ts,
                    wire_len: p.wire_len,
                    data,
                };
                Packet::rebuilt(
                    &frame,
                    p.link,
                    p.segment.as_ref(),
                    observation.as_ref(),
                    &self.packet_events,
                    |p| views.packet(p),
                )
            }
        }
    }

    /// The input is over and every thread has handed on everything: the
    /// connections still open and the TIME_WAITs still running, in one
    /// analyzer's order.
    pub(crate) fn finish<E: Emit>(&mut self, views: &mut E) -> io::Result<()> {
        self.merge(views)?;
        for w in 0..self.streams.len() {
            // Past every step: the last batch is in front.
            let _ = self.streams[w].peek();
            let tail = match self.streams[w].batches.front() {
                Some(b) if b.end == Some(End::Finish) => b.tail,
                _ => (0, 0),
            };
            self.take_extras(w, tail);
        }
        self.hand_on_extras(views)?;
        for s in &mut self.streams {
            s.apply_ops_to(u64::MAX, &mut self.pressure);
        }
        Ok(())
    }

    /// What every thread counted, together (after `finish`).
    pub(crate) fn counts(&self) -> Counts {
        let mut total = Counts::default();
        for c in self.streams.iter().filter_map(|s| s.counts.as_ref()) {
            total.frames += c.frames;
            total.tcp += c.tcp;
            total.udp += c.udp;
            total.icmp += c.icmp;
            total.arp += c.arp;
            total.fragments += c.fragments;
            total.other += c.other;
            total.undecodable += c.undecodable;
            total.cut_by_snaplen += c.cut_by_snaplen;
            total.connections += c.connections;
            total.evicted_idle += c.evicted_idle;
            total.evicted_cap += c.evicted_cap;
            total.time_went_back += c.time_went_back;
        }
        total
    }

    /// Connections numbered so far.
    pub(crate) fn connections(&self) -> u64 {
        self.next_number
    }

    /// The pressure counters of all threads together.
    pub(crate) fn pressure(&self) -> synack_core::pressure::PressureFacts {
        self.pressure.facts()
    }
}

fn number(numbers: &FxHashMap<u64, u64>, own: u64) -> u64 {
    // Every connection a thread names was first seen in one of its frames,
    // numbered then; a miss would be a bug, shown as 0.
    numbers.get(&own).copied().unwrap_or(0)
}

fn renumber_event(e: &mut Event, numbers: &FxHashMap<u64, u64>) {
    e.conn = number(numbers, e.conn);
    if let EventKind::PortReuse { previous, .. } = &mut e.kind {
        *previous = number(numbers, *previous);
    }
}
