//! What goes between the reader, the analyzer threads and the merger: a
//! batch of frames in (shared by every thread), a batch of results out.

use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Segment, Timestamp};
use synack_core::pressure::PressureOp;
use synack_core::track::{Connection, Event, Facts, Observation};
use synack_core::Counts;

/// No thread handles the frame: its connection belongs to another shard.
pub(crate) const NOBODY: u32 = u32::MAX;

/// One frame of an input batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InFrame {
    pub(crate) number: u64,
    pub(crate) ts: Timestamp,
    pub(crate) wire_len: u32,
    /// Where its bytes are in the batch (only a handled frame's are kept).
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// The thread that handles it, or [`NOBODY`].
    pub(crate) owner: u32,
    /// The link type, or the pcapng link type synack does not decode.
    pub(crate) link: Result<LinkKind, i32>,
}

/// What follows the frames of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// More frames come.
    More,
    /// Hand on everything held (the input paused, or broke off).
    Flush,
    /// The input is over.
    Finish,
}

/// Frames in capture order, shared (read-only) by every analyzer thread:
/// each handles its own frames and lets the others' move its clock.
#[derive(Debug)]
pub(crate) struct InBatch {
    pub(crate) frames: Vec<InFrame>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) end: End,
}

impl InBatch {
    pub(crate) fn new() -> InBatch {
        InBatch {
            frames: Vec::with_capacity(FRAMES_PER_BATCH),
            bytes: Vec::with_capacity(BYTES_PER_BATCH),
            end: End::More,
        }
    }

    /// Full: time to hand it to the threads.
    pub(crate) fn full(&self) -> bool {
        self.frames.len() >= FRAMES_PER_BATCH || self.bytes.len() >= BYTES_PER_BATCH
    }

    pub(crate) fn frame(&self, f: &InFrame) -> Frame<'_> {
        Frame {
            number: f.number,
            ts: f.ts,
            wire_len: f.wire_len,
            data: &self.bytes[f.start..f.start + f.len],
        }
    }
}

/// Frames per batch: large enough that handing batches over costs little,
/// small enough that a pause in the input shows soon and memory stays small.
pub(crate) const FRAMES_PER_BATCH: usize = 4096;
const BYTES_PER_BATCH: usize = 2 << 20;

/// One frame as an analyzer thread handed it on, in the order it did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub(crate) frame: u64,
    pub(crate) what: StepKind,
    /// Events, retirements and settlements handed on before this frame
    /// (and after the previous one): indexes into [`OutBatch::extras`].
    pub(crate) extras: (u32, u32),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum StepKind {
    /// Another thread's frame (it only moved this thread's clock).
    Other,
    /// This thread's frame, when no view shows packets: its connection
    /// (0: none), for numbering connections.
    Lite { conn: u64 },
    /// This thread's frame, whole: an index into [`OutBatch::packets`].
    Full(u32),
}

/// What the analyzer said between two frames.
#[derive(Debug)]
pub(crate) enum Extra {
    Event(Event),
    Retired(Box<Connection>, Box<Facts>),
    Settled(Box<Connection>, Box<Facts>),
}

/// A packet as an analyzer thread handed it on, owned (its bytes and its
/// events are in the batch's arenas).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OwnedPacket {
    pub(crate) number: u64,
    pub(crate) ts: Timestamp,
    pub(crate) wire_len: u32,
    pub(crate) link: Result<LinkKind, i32>,
    pub(crate) bytes: (usize, usize),
    pub(crate) segment: Option<Segment>,
    pub(crate) observation: Option<Observation>,
    pub(crate) events: (u32, u32),
}

/// An analyzer thread's results for one input batch.
#[derive(Debug, Default)]
pub(crate) struct OutBatch {
    pub(crate) steps: Vec<Step>,
    pub(crate) extras: Vec<Extra>,
    /// Extras after the last step: only at the end of the input (the
    /// connections still open, TIME_WAITs still running).
    pub(crate) tail: (u32, u32),
    pub(crate) packets: Vec<OwnedPacket>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) events: Vec<Event>,
    /// Pressure changes, each with the frame that caused it (`u64::MAX`: the end of input).
    pub(crate) ops: Vec<(u64, PressureOp)>,
    /// The most connections this thread held at once during the batch.
    pub(crate) held_max: usize,
    /// The input batch ended with `Flush` or `Finish`.
    pub(crate) end: Option<End>,
    /// At `Finish`: what this thread counted (its own frames only).
    pub(crate) counts: Option<Counts>,
}
