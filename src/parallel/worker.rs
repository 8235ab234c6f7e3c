//! One analyzer thread: every frame of every batch goes through its own
//! `Analyzer`, its own frames whole, the others' as an empty frame on a
//! link it does not decode, when something may happen at its time. An
//! empty frame moves the clock exactly as any frame without a TCP segment
//! does (timers run, TIME_WAITs expire, idle connections go, held packets
//! whose wait is over go out), and it comes out of the analyzer in its
//! place, so what the analyzer says between two frames is known to belong
//! there. Other frames, before the analyzer's next deadline
//! (`Analyzer::quiet_until`), are left out: they would change nothing but
//! the clock, which is brought to the latest of them before the next frame.
//!
//! With JSON (and no view that needs the merged stream whole), the thread
//! also writes its records, with its own connection numbers: the merger
//! only puts them in order and writes the numbers again.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use memchr::memmem;
use rustc_hash::FxHashMap;
use synack_core::analyzer::AnalyzerConfig;
use synack_core::decode::{Frame, Timestamp};
use synack_core::pressure::PressureOp;
use synack_core::track::{Connection, Event, EventKind, Facts, Side};
use synack_core::{Analyzer, Packet, Sink};

use super::batch::{End, Extra, InBatch, Order, OutBatch, OwnedPacket, Patch, Step, StepKind};
use crate::views::json::{Extras, JsonView};
use crate::views::View;

/// The link type the stand-ins for other threads' frames carry (never
/// decoded; any value does, as they are told apart by their place).
const STAND_IN_DLT: i32 = -1;

/// What a thread hands the merger of its own frames.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Hand {
    /// Only the connection each frame belongs to (the views show connections).
    Connections,
    /// Every packet whole (the views run in the merger).
    Packets,
    /// JSON records, written here (`--json`; `packets: false` with `--summary`).
    Json { packets: bool, extras: Extras },
}

/// The channels of one thread.
pub(crate) struct Channels {
    pub(crate) input: Receiver<Arc<InBatch>>,
    pub(crate) output: Sender<(u32, OutBatch)>,
    /// Batches the merger is done with, to fill again.
    pub(crate) returned: Receiver<OutBatch>,
}

/// Run one analyzer thread until the input is over (or the merger is gone).
pub(crate) fn run(index: u32, cfg: AnalyzerConfig, hand: Hand, ch: Channels) {
    let mut analyzer = Analyzer::new(cfg);
    analyzer.record_pressure();
    let json = match hand {
        Hand::Json { packets, extras } => Some(JsonView::new(packets, extras)),
        _ => None,
    };
    let mut sink = Collect {
        hand,
        json,
        mine: VecDeque::new(),
        out: OutBatch::default(),
        pending: 0,
        first_handed: false,
        paths: FxHashMap::default(),
    };
    let mut stand_ins: u64 = 0;
    let mut ops: Vec<PressureOp> = Vec::new();
    // Other threads' frames stamped before this change nothing here but
    // the clock: they are left out (the clock is brought to the latest of
    // them before the next frame handed in).
    let mut quiet: Option<Timestamp> = None;
    let mut left_out: Option<Timestamp> = None;
    let mut latest = Timestamp::default();
    while let Ok(batch) = ch.input.recv() {
        for f in &batch.frames {
            let mine = f.owner == index;
            let ts = f.ts.normalized();
            if !mine && quiet.is_some_and(|q| ts < q) {
                left_out = left_out.max(Some(ts));
                continue;
            }
            if let Some(t) = left_out.take().filter(|t| *t > latest) {
                let Ok(()) = analyzer.tick(t, &mut sink);
                latest = t;
            }
            sink.mine.push_back(mine);
            let handed = if mine {
                let frame = batch.frame(f);
                match f.link {
                    Ok(link) => analyzer.frame(&frame, link, &mut sink),
                    Err(dlt) => analyzer.unsupported_frame(&frame, dlt, &mut sink),
                }
            } else {
                stand_ins += 1;
                let frame = stand_in(f.number, f.ts);
                analyzer.unsupported_frame(&frame, STAND_IN_DLT, &mut sink)
            };
            let Ok(()) = handed;
            latest = latest.max(ts);
            quiet = analyzer.quiet_until();
            analyzer.take_pressure_ops(&mut ops);
            if !ops.is_empty() {
                sink.out.ops.extend(ops.drain(..).map(|op| (f.number, op)));
            }
            if mine {
                sink.out.held_max = sink.out.held_max.max(analyzer.tracker().len());
            }
        }
        let finished = batch.end == End::Finish;
        if batch.end != End::More {
            // The clock stands where one analyzer's would (the end of input
            // stamps what is still running with it).
            if let Some(t) = left_out.take().filter(|t| *t > latest) {
                let Ok(()) = analyzer.tick(t, &mut sink);
                latest = t;
            }
        }
        match batch.end {
            End::More => {}
            End::Flush => {
                let Ok(()) = analyzer.flush(&mut sink);
            }
            End::Finish => {
                let Ok(()) = analyzer.finish(&mut sink);
                analyzer.take_pressure_ops(&mut ops);
                sink.out.ops.extend(ops.drain(..).map(|op| (u64::MAX, op)));
                let mut counts = analyzer.counts();
                // The stand-ins were counted as undecodable frames.
                counts.frames -= stand_ins;
                counts.undecodable -= stand_ins;
                sink.out.counts = Some(counts);
            }
        }
        sink.out.end = (batch.end != End::More).then_some(batch.end);
        // Every step of the frames before the oldest held one has been taken.
        let last = batch.frames.last().map_or(0, |f| f.number);
        sink.out.through = match analyzer.holding_since() {
            Some(n) => n.saturating_sub(1).min(last),
            None => last,
        };
        drop(batch);
        // An emptied batch to fill next, if the merger sent one back; the
        // connections it brings are freed here.
        let next = match ch.returned.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => OutBatch::default(),
        };
        let out = sink.take_batch(next, finished);
        if ch.output.send((index, out)).is_err() || finished {
            return;
        }
    }
}

fn stand_in(number: u64, ts: Timestamp) -> Frame<'static> {
    Frame {
        number,
        ts,
        wire_len: 0,
        data: &[],
    }
}

/// Collects what the analyzer hands on into the batch going out.
struct Collect {
    hand: Hand,
    json: Option<JsonView>,
    /// For each frame handed to the analyzer and not yet come out: whether
    /// it is this thread's own (frames come out in the order they went in).
    mine: VecDeque<bool>,
    out: OutBatch,
    /// Where the extras of the next step start.
    pending: u32,
    /// `Hand::Connections`: this thread's first frame has been handed on whole.
    first_handed: bool,
    /// `Hand::Connections`: tunnelled connections' first side and tunnel,
    /// and whether a reply through another tunnel was handed on whole.
    paths: FxHashMap<u64, (Side, u64, bool)>,
}

impl Collect {
    /// The batch so far, `next` taking its place. Extras after its last
    /// step go with the next batch (they belong before its first step),
    /// unless the input is over.
    fn take_batch(&mut self, next: OutBatch, finished: bool) -> OutBatch {
        let mut out = std::mem::replace(&mut self.out, next);
        let n = out.extras.len() as u32;
        if finished {
            out.tail = (self.pending, n);
        } else {
            let carried: Vec<Extra> = out.extras.drain(self.pending as usize..).collect();
            for x in carried {
                let x = match x {
                    Extra::Text {
                        order,
                        text,
                        patches,
                    } => self.copy_text(&out, order, text, patches),
                    other => other,
                };
                self.out.extras.push(x);
            }
        }
        self.pending = 0;
        out
    }

    /// A written record of `from`, copied into the batch being filled.
    fn copy_text(
        &mut self,
        from: &OutBatch,
        order: Order,
        text: (usize, usize),
        patches: (u32, u32),
    ) -> Extra {
        let to = &mut self.out;
        let t0 = to.text.len();
        to.text.extend_from_slice(&from.text[text.0..text.1]);
        let p0 = to.patches.len() as u32;
        for p in &from.patches[patches.0 as usize..patches.1 as usize] {
            to.patches.push(Patch {
                at: p.at - text.0 + t0,
                ..*p
            });
        }
        Extra::Text {
            order,
            text: (t0, to.text.len()),
            patches: (p0, to.patches.len() as u32),
        }
    }

    /// The packet handed on whole.
    fn whole(&mut self, p: &Packet<'_>) {
        let out = &mut self.out;
        let b0 = out.bytes.len();
        out.bytes.extend_from_slice(p.frame.data);
        let e0 = out.events.len() as u32;
        out.events.extend_from_slice(p.events);
        out.packets.push(OwnedPacket {
            number: p.frame.number,
            ts: p.frame.ts,
            wire_len: p.frame.wire_len,
            link: p.link_or_dlt(),
            bytes: (b0, out.bytes.len()),
            segment: p.segment.copied(),
            observation: p.observation.copied(),
            events: (e0, out.events.len() as u32),
        });
        let i = out.packets.len() as u32 - 1;
        self.step(p.frame.number, StepKind::Full(i));
    }

    /// The views that show only connections still learn from a few
    /// packets: the first (relative times count from it) and a tunnelled
    /// connection's first packet each way through a tunnel of its own (the
    /// `via` column; as `views::TunnelPaths` keeps them). This thread's
    /// first frame is handed on whole: the first of all is one of them.
    fn whole_for_connections(&mut self, p: &Packet<'_>) -> bool {
        if !self.first_handed {
            self.first_handed = true;
            return true;
        }
        let (Some(obs), true) = (p.observation, p.encapsulated()) else {
            return false;
        };
        let tunnel = p.decoded().tunnel_id();
        match self.paths.get_mut(&obs.conn) {
            None => {
                self.paths.insert(obs.conn, (obs.side, tunnel, false));
                true
            }
            Some((side, first_tunnel, replied))
                if !*replied && *side != obs.side && *first_tunnel != tunnel =>
            {
                *replied = true;
                true
            }
            Some(_) => false,
        }
    }

    fn step(&mut self, frame: u64, what: StepKind) {
        let end = self.out.extras.len() as u32;
        self.out.steps.push(Step {
            frame,
            what,
            extras: (self.pending, end),
        });
        self.pending = end;
    }

    /// What the JSON view writes, into the batch's text, with the
    /// connection numbers in it found (`previous`: a port reuse event names
    /// the one before); `None` without the JSON view.
    fn write(
        &mut self,
        previous: bool,
        f: impl FnOnce(&mut JsonView, &mut Vec<u8>),
    ) -> Option<((usize, usize), (u32, u32))> {
        let json = self.json.as_mut()?;
        let out = &mut self.out;
        let t0 = out.text.len();
        f(json, &mut out.text);
        let p0 = out.patches.len() as u32;
        find_numbers(&out.text, t0, previous, &mut out.patches);
        Some(((t0, out.text.len()), (p0, out.patches.len() as u32)))
    }
}

/// The connection numbers in one JSON record written from `from` on: the
/// value of its `conn` key, and of `previous_conn` when `previous` (a port
/// reuse event is in it). No string value can hold `"conn":`, as its quotes
/// would be escaped; each key comes once in a record.
fn find_numbers(text: &[u8], from: usize, previous: bool, patches: &mut Vec<Patch>) {
    let first = patches.len();
    let mut keys = [(&CONN, true), (&PREVIOUS_CONN, previous)];
    for (finder, wanted) in &mut keys {
        if !*wanted {
            continue;
        }
        let Some(i) = finder.find(&text[from..]) else {
            continue;
        };
        let at = from + i + finder.needle().len();
        let len = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        let own = std::str::from_utf8(&text[at..at + len])
            .ok()
            .and_then(|s| s.parse().ok());
        if let Some(own) = own {
            patches.push(Patch { at, len, own });
        }
    }
    patches[first..].sort_by_key(|p| p.at);
}

static CONN: std::sync::LazyLock<memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memmem::Finder::new(b"\"conn\":"));
static PREVIOUS_CONN: std::sync::LazyLock<memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memmem::Finder::new(b"\"previous_conn\":"));

impl Sink for Collect {
    type Error = Infallible;

    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        let number = p.frame.number;
        if !self.mine.pop_front().unwrap_or(true) {
            self.step(number, StepKind::Other);
            return Ok(());
        }
        let conn = p.observation.map_or(0, |o| o.conn);
        match self.hand {
            Hand::Connections => {
                if self.whole_for_connections(p) {
                    self.whole(p)
                } else {
                    self.step(number, StepKind::Lite { conn })
                }
            }
            Hand::Json { .. } => {
                let reuse = p
                    .events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::PortReuse { .. }));
                let written = self.write(reuse, |json, text| {
                    let _ = json.packet(p, text);
                });
                if let Some((text, patches)) = written {
                    self.step(
                        number,
                        StepKind::Text {
                            conn,
                            text,
                            patches,
                        },
                    );
                }
            }
            Hand::Packets => self.whole(p),
        }
        Ok(())
    }

    fn event(&mut self, e: &Event) -> Result<(), Infallible> {
        if matches!(
            self.hand,
            Hand::Connections | Hand::Json { packets: false, .. }
        ) {
            // The views that show only connections say nothing of events.
            return Ok(());
        }
        let reuse = matches!(e.kind, EventKind::PortReuse { .. });
        let written = self.write(reuse, |json, text| {
            let _ = json.event(e, text);
        });
        let x = match written {
            Some((text, patches)) => Extra::Text {
                order: Order::Event {
                    ts: e.ts,
                    conn: e.conn,
                    side: e.side,
                },
                text,
                patches,
            },
            None => Extra::Event(*e),
        };
        self.out.extras.push(x);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        if !self.paths.is_empty() {
            self.paths.remove(&c.id());
        }
        let written = self.write(false, |json, text| {
            let _ = json.connection(c, f, text);
        });
        let x = match written {
            Some((text, patches)) => Extra::Text {
                order: Order::Retired { conn: c.id() },
                text,
                patches,
            },
            None => Extra::Retired(Box::new(c.clone()), Box::new(f.clone())),
        };
        self.out.extras.push(x);
        Ok(())
    }

    fn settled(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        // JSON says nothing of a settled exchange.
        if self.json.is_none() {
            self.out
                .extras
                .push(Extra::Settled(Box::new(c.clone()), Box::new(f.clone())));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_in_written_json() {
        let text = br#"xx{"type":"packet","conn":12,"events":[{"kind":"port_reuse","previous_conn":7}],"note":"\"conn\":5"}"#;
        let mut p = Vec::new();
        find_numbers(text, 2, true, &mut p);
        let found: Vec<(usize, u64)> = p.iter().map(|p| (p.len, p.own)).collect();
        assert_eq!(found, vec![(2, 12), (1, 7)]);
        assert_eq!(&text[p[0].at..p[0].at + 2], b"12");
    }
}
