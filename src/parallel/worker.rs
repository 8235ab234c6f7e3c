//! One analyzer thread: every frame of every batch goes through its own
//! `Analyzer`, its own frames whole, the others' as an empty frame on a
//! link it does not decode. An empty frame moves the clock exactly as any
//! frame without a TCP segment does (timers run, TIME_WAITs expire, idle
//! connections go), and it comes out of the analyzer in its place, so
//! what the analyzer says between two frames is known to belong there.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use synack_core::analyzer::AnalyzerConfig;
use synack_core::decode::{Frame, Timestamp};
use synack_core::pressure::PressureOp;
use synack_core::track::{Connection, Event, Facts};
use synack_core::{Analyzer, Packet, Sink};

use super::batch::{End, Extra, InBatch, OutBatch, OwnedPacket, Step, StepKind};

/// The link type the stand-ins for other threads' frames carry (never
/// decoded; any value does, as they are told apart by their place).
const STAND_IN_DLT: i32 = -1;

/// Run one analyzer thread until the input is over (or the merger is gone).
pub(crate) fn run(
    index: u32,
    cfg: AnalyzerConfig,
    whole_packets: bool,
    input: Receiver<Arc<InBatch>>,
    output: Sender<(u32, OutBatch)>,
) {
    let mut analyzer = Analyzer::new(cfg);
    analyzer.record_pressure();
    let mut sink = Collect {
        whole_packets,
        mine: VecDeque::new(),
        out: OutBatch::default(),
        pending: 0,
    };
    let mut stand_ins: u64 = 0;
    let mut ops: Vec<PressureOp> = Vec::new();
    while let Ok(batch) = input.recv() {
        for f in &batch.frames {
            let mine = f.owner == index;
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
            analyzer.take_pressure_ops(&mut ops);
            sink.out.ops.extend(ops.drain(..).map(|op| (f.number, op)));
            if mine {
                sink.out.held_max = sink.out.held_max.max(analyzer.tracker().len());
            }
        }
        let finished = batch.end == End::Finish;
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
        drop(batch);
        let out = sink.take_batch(finished);
        if output.send((index, out)).is_err() || finished {
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
    whole_packets: bool,
    /// For each frame handed to the analyzer and not yet come out: whether
    /// it is this thread's own (frames come out in the order they went in).
    mine: VecDeque<bool>,
    out: OutBatch,
    /// Where the extras of the next step start.
    pending: u32,
}

impl Collect {
    /// The batch so far; extras after its last step go with the next batch,
    /// unless the input is over.
    fn take_batch(&mut self, finished: bool) -> OutBatch {
        let mut out = std::mem::take(&mut self.out);
        let n = out.extras.len() as u32;
        if finished {
            out.tail = (self.pending, n);
        } else {
            let carried: Vec<Extra> = out.extras.drain(self.pending as usize..).collect();
            self.out.extras.extend(carried);
        }
        self.pending = 0;
        out
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
}

impl Sink for Collect {
    type Error = Infallible;

    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        let number = p.frame.number;
        if !self.mine.pop_front().unwrap_or(true) {
            self.step(number, StepKind::Other);
            return Ok(());
        }
        if !self.whole_packets {
            let conn = p.observation.map_or(0, |o| o.conn);
            self.step(number, StepKind::Lite { conn });
            return Ok(());
        }
        let out = &mut self.out;
        let b0 = out.bytes.len();
        out.bytes.extend_from_slice(p.frame.data);
        let e0 = out.events.len() as u32;
        out.events.extend_from_slice(p.events);
        let link = match (p.link, p.decoded.error) {
            (Some(l), _) => Ok(l),
            (None, Some(synack_core::decode::DecodeError::UnsupportedLink { dlt })) => Err(dlt),
            (None, _) => Err(0),
        };
        out.packets.push(OwnedPacket {
            number,
            ts: p.frame.ts,
            wire_len: p.frame.wire_len,
            link,
            bytes: (b0, out.bytes.len()),
            segment: p.segment.copied(),
            observation: p.observation.copied(),
            events: (e0, out.events.len() as u32),
        });
        let i = out.packets.len() as u32 - 1;
        self.step(number, StepKind::Full(i));
        Ok(())
    }

    fn event(&mut self, e: &Event) -> Result<(), Infallible> {
        self.out.extras.push(Extra::Event(*e));
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        self.out
            .extras
            .push(Extra::Retired(Box::new(c.clone()), Box::new(f.clone())));
        Ok(())
    }

    fn settled(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        self.out
            .extras
            .push(Extra::Settled(Box::new(c.clone()), Box::new(f.clone())));
        Ok(())
    }
}
