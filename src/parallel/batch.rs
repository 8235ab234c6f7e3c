//! What goes between the reader, the analyzer threads and the merger: a
//! batch of frames in (shared by every thread), a batch of results out
//! (sent back, emptied, to be filled again).

use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Segment, Timestamp};
use synack_core::pressure::PressureOp;
use synack_core::track::{Connection, Event, Facts, Observation, Side};
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

/// Frames per batch: large enough that handing batches over costs little,
/// small enough that a pause in the input shows soon and memory stays small.
pub(crate) const FRAMES_PER_BATCH: usize = 4096;
const BYTES_PER_BATCH: usize = 2 << 20;

impl InBatch {
    pub(crate) fn new() -> InBatch {
        InBatch {
            frames: Vec::with_capacity(FRAMES_PER_BATCH),
            bytes: Vec::with_capacity(BYTES_PER_BATCH),
            end: End::More,
        }
    }

    /// Empty, for more frames (its room kept).
    pub(crate) fn clear(&mut self) {
        self.frames.clear();
        self.bytes.clear();
        self.end = End::More;
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

/// One frame as an analyzer thread handed it on, in the order it did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub(crate) frame: u64,
    pub(crate) what: StepKind,
    /// Events, retirements and settlements handed on before this frame
    /// (and after the previous one): a range of [`OutBatch::extras`].
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
    /// This thread's frame as the JSON view wrote it (in
    /// [`OutBatch::text`]), with the connection numbers in it to renumber.
    Text {
        conn: u64,
        text: (usize, usize),
        patches: (u32, u32),
    },
}

/// A connection number in written text, to write again renumbered: it
/// starts at `at` in [`OutBatch::text`] and is `len` digits long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Patch {
    pub(crate) at: usize,
    pub(crate) len: usize,
    pub(crate) own: u64,
}

/// Where a written record goes among the others between two frames.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Order {
    /// A timer event: by time, then connection, then side.
    Event {
        ts: Timestamp,
        conn: u64,
        side: Side,
    },
    /// A retirement: by connection.
    Retired { conn: u64 },
}

/// What the analyzer said between two frames.
#[derive(Debug)]
pub(crate) enum Extra {
    Event(Event),
    Retired(Box<Connection>, Box<Facts>),
    Settled(Box<Connection>, Box<Facts>),
    /// A record as the JSON view wrote it (in [`OutBatch::text`]).
    Text {
        order: Order,
        text: (usize, usize),
        patches: (u32, u32),
    },
    /// Already handed on.
    Taken,
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

/// Connections handed on, sent back to the thread that made them to be
/// freed there (memory is freed fastest by the thread that took it).
pub(crate) type Trash = Vec<(Box<Connection>, Box<Facts>)>;

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
    pub(crate) text: Vec<u8>,
    pub(crate) patches: Vec<Patch>,
    /// Pressure changes, each with the frame that caused it (`u64::MAX`: the end of input).
    pub(crate) ops: Vec<(u64, PressureOp)>,
    /// The most connections this thread held at once during the batch.
    pub(crate) held_max: usize,
    /// Every step of frames up to this one has been handed on (this batch
    /// or before): a frame without a step from this thread changed nothing here.
    pub(crate) through: u64,
    /// The input batch ended with `Flush` or `Finish`.
    pub(crate) end: Option<End>,
    /// At `Finish`: what this thread counted (its own frames only).
    pub(crate) counts: Option<Counts>,
    /// Coming back: connections to free.
    pub(crate) trash: Trash,
}

impl OutBatch {
    /// Empty it for the next input batch, keeping its room.
    pub(crate) fn clear(&mut self) {
        self.steps.clear();
        self.extras.clear();
        self.tail = (0, 0);
        self.packets.clear();
        self.bytes.clear();
        self.events.clear();
        self.text.clear();
        self.patches.clear();
        self.ops.clear();
        self.held_max = 0;
        self.through = 0;
        self.end = None;
        self.counts = None;
        self.trash.clear();
    }
}
