//! `--threads N`: the connections spread over N analyzer threads by a hash
//! of their canonical 4-tuple, and the results merged back into the one
//! stream a single analyzer would give, so every view's output is the same
//! byte for byte.
//!
//! ```text
//!  reader (this thread) ──▶ batch of frames, shared ──▶ thread 0: Analyzer ──┐
//!  each frame's owner:                             ──▶ thread 1: Analyzer ──┼─▶ merger (this
//!  hash of its 4-tuple                             ──▶ …                    ┘   thread) ─▶ views
//! ```
//!
//! Every thread sees every frame: its own whole, the others' as stand-ins
//! that only move its clock, so its timers fire at the same frames as one
//! analyzer's would, and every frame comes out of every thread in its
//! place. The merger ([`merge`]) takes one frame at a time from all of them.
//!
//! Where the output can differ from one thread's (documented in `--help`):
//! when all threads together hold `--max-connections` (one analyzer would
//! evict its least recently active connections; each thread evicts only at
//! the cap of its own; synack says so on stderr); and where one
//! connection's packets are held back for proof while another's proof
//! arrives, the look-ahead is each thread's (a correction shown at its
//! cause only if that packet is still held).

mod apart;
pub(crate) mod batch;
mod merge;
mod worker;

pub(crate) use worker::Hand;

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use synack_core::analyzer::AnalyzerConfig;
use synack_core::decode::link::LinkKind;
use synack_core::decode::Frame;
use synack_core::shard::{self, Shard};

use crate::error::Error;
use crate::views::{RunEnd, Section, View, ViewSet};

use batch::{End, InBatch, InFrame, OutBatch, NOBODY};
use merge::Merger;

/// Input batches a thread may have waiting: enough to keep it busy while
/// the reader reads, few enough to bound memory.
const QUEUED_BATCHES: usize = 4;

struct Thread {
    input: SyncSender<Arc<InBatch>>,
    handle: Option<JoinHandle<()>>,
}

/// The views of a run on threads: built, to run in the merger's thread;
/// or to build on a thread of their own.
pub(crate) enum ThreadViews {
    Here(Vec<Box<dyn View>>),
    Apart(Box<dyn FnOnce() -> Vec<Box<dyn View>> + Send>),
}

/// Where the views run.
enum Views<W> {
    /// In the merger's thread.
    Here { views: Vec<Box<dyn View>>, out: W },
    /// On a thread of their own (views that show only connections).
    Apart(apart::Apart),
}

/// Frames in, views out, through N analyzer threads; see the module docs.
pub(crate) struct Threaded<W: Write> {
    views: Views<W>,
    threads: Vec<Thread>,
    results: Receiver<(u32, OutBatch)>,
    batch: InBatch,
    /// Batches handed to the threads, oldest first: each is filled again
    /// once every thread is done with it (a fresh 2 MB batch each time
    /// cost the reader a page fault per 4 KB).
    sent: VecDeque<Arc<InBatch>>,
    merger: Merger,
    errors: Vec<String>,
    limit: Option<u64>,
    frames: u64,
    shard: Option<Shard>,
    skipped: u64,
    flushes: u64,
    input_done: bool,
}

impl<W: Write + Send + 'static> Threaded<W> {
    /// Start `n` analyzer threads (at least 2) feeding `views`; `hand`
    /// says what the threads hand on of their frames.
    pub(crate) fn new(
        out: W,
        views: ThreadViews,
        cfg: AnalyzerConfig,
        limit: Option<u64>,
        n: usize,
        hand: Hand,
    ) -> io::Result<Threaded<W>> {
        let views = match views {
            ThreadViews::Apart(make) => Views::Apart(apart::Apart::start(make, out)?),
            ThreadViews::Here(views) => Views::Here { views, out },
        };
        let (tx, results): (Sender<(u32, OutBatch)>, _) = mpsc::channel();
        let mut threads = Vec::with_capacity(n);
        let mut returns = Vec::with_capacity(n);
        for i in 0..n {
            let (input, rx) = mpsc::sync_channel(QUEUED_BATCHES);
            let (give_back, returned) = mpsc::channel();
            returns.push(give_back);
            let channels = worker::Channels {
                input: rx,
                output: tx.clone(),
                returned,
            };
            let handle = std::thread::Builder::new()
                .name(format!("synack-analyzer-{i}"))
                .spawn(move || worker::run(i as u32, cfg, hand, channels))?;
            threads.push(Thread {
                input,
                handle: Some(handle),
            });
        }
        Ok(Threaded {
            views,
            threads,
            results,
            batch: InBatch::new(),
            sent: VecDeque::with_capacity(QUEUED_BATCHES + 2),
            merger: Merger::new(returns, &cfg.tracker),
            errors: Vec::new(),
            limit,
            frames: 0,
            shard: None,
            skipped: 0,
            flushes: 0,
            input_done: false,
        })
    }

    /// Handle only the connections of `shard` (`--shard`).
    pub(crate) fn set_shard(&mut self, shard: Option<Shard>) {
        self.shard = shard;
    }

    /// The `-c` limit was reached.
    pub(crate) fn done(&self) -> bool {
        self.limit.is_some_and(|n| self.frames >= n)
    }

    /// Frames handed in so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    fn owner_of(&mut self, link: LinkKind, frame: &Frame<'_>) -> u32 {
        let n = self.threads.len() as u32;
        match shard::frame_key(link, frame) {
            Some(key) => {
                let h = shard::flow_hash(&key);
                if self
                    .shard
                    .is_some_and(|s| shard::shard_of_hash(h, s.count) != s.index)
                {
                    return NOBODY;
                }
                shard::thread_of_hash(h, n)
            }
            None if self.shard.is_some_and(|s| s.index != 0) => NOBODY,
            None => 0,
        }
    }

    pub(crate) fn frame(&mut self, frame: &Frame<'_>, link: LinkKind) -> io::Result<()> {
        let owner = self.owner_of(link, frame);
        self.push(frame, Ok(link), owner)
    }

    /// A frame from an interface whose link type synack does not decode.
    pub(crate) fn unsupported_frame(&mut self, frame: &Frame<'_>, dlt: i32) -> io::Result<()> {
        let owner = if self.shard.is_some_and(|s| s.index != 0) {
            NOBODY
        } else {
            0
        };
        self.push(frame, Err(dlt), owner)
    }

    fn push(
        &mut self,
        frame: &Frame<'_>,
        link: Result<LinkKind, i32>,
        owner: u32,
    ) -> io::Result<()> {
        self.frames += 1;
        let start = self.batch.bytes.len();
        let len = if owner == NOBODY {
            self.skipped += 1;
            0
        } else {
            self.batch.bytes.extend_from_slice(frame.data);
            frame.data.len()
        };
        self.batch.frames.push(InFrame {
            number: frame.number,
            ts: frame.ts,
            wire_len: frame.wire_len,
            start,
            len,
            owner,
            link,
        });
        if self.batch.full() {
            self.send(End::More)?;
        }
        Ok(())
    }

    /// Hand the batch to every thread, then merge what has come back.
    fn send(&mut self, end: End) -> io::Result<()> {
        let next = self.reused_batch();
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.end = end;
        let batch = Arc::new(batch);
        for t in &self.threads {
            if t.input.send(Arc::clone(&batch)).is_err() {
                return Err(thread_gone());
            }
        }
        self.sent.push_back(batch);
        while let Ok((w, out)) = self.results.try_recv() {
            self.merger.receive(w as usize, out);
        }
        self.merge()
    }

    /// The oldest batch sent, emptied, if every thread is done with it;
    /// else a new one.
    fn reused_batch(&mut self) -> InBatch {
        while let Some(oldest) = self.sent.pop_front() {
            match Arc::try_unwrap(oldest) {
                Ok(mut b) => {
                    b.clear();
                    return b;
                }
                // Still in use: kept for later, unless too many are.
                Err(busy) if self.sent.len() < 2 * QUEUED_BATCHES => {
                    self.sent.push_front(busy);
                    break;
                }
                Err(_) => {}
            }
        }
        InBatch::new()
    }

    fn merge(&mut self) -> io::Result<()> {
        match &mut self.views {
            Views::Here { views, out } => self.merger.merge(&mut ViewSet { views, out }),
            Views::Apart(a) => {
                self.merger.merge(a)?;
                a.send()
            }
        }
    }

    fn flush_views(&mut self) -> io::Result<()> {
        match &mut self.views {
            Views::Here { out, .. } => out.flush(),
            Views::Apart(a) => a.flush(),
        }
    }

    /// Wait for results until `ready` says the merger has all it needs.
    fn wait(&mut self, ready: impl Fn(&Merger) -> bool) -> io::Result<()> {
        while !ready(&self.merger) {
            let Ok((w, out)) = self.results.recv() else {
                return Err(thread_gone());
            };
            self.merger.receive(w as usize, out);
            self.merge()?;
        }
        Ok(())
    }

    /// Hand on everything the threads hold (before an error is reported).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if !self.input_done {
            self.send(End::Flush)?;
            self.flushes += 1;
            let n = self.flushes;
            self.wait(|m| m.flushed(n))?;
        }
        self.flush_views()
    }

    /// Remember an input error for the summary (it was already reported).
    pub(crate) fn note_error(&mut self, e: &Error) {
        self.errors.push(e.to_string());
    }

    /// The input is over: everything held goes out and every connection retires.
    pub(crate) fn end_input(&mut self) -> io::Result<()> {
        if self.input_done {
            return Ok(());
        }
        self.input_done = true;
        self.send(End::Finish)?;
        self.wait(Merger::finished)?;
        for t in &mut self.threads {
            if let Some(h) = t.handle.take() {
                if h.join().is_err() {
                    return Err(thread_gone());
                }
            }
        }
        match &mut self.views {
            Views::Here { views, out } => self.merger.finish(&mut ViewSet { views, out }),
            Views::Apart(a) => self.merger.finish(a),
        }
    }

    /// End the run: every view says its last word, with `sections` added.
    pub(crate) fn finish(&mut self, sections: &[&dyn Section]) -> io::Result<()> {
        self.end_input()?;
        let counts = self.merger.counts();
        let pressure = self.merger.pressure();
        let shard = self.shard.map(|shard| crate::views::ShardRun {
            shard,
            frames_read: self.frames,
            skipped: self.skipped,
        });
        match &mut self.views {
            Views::Here { views, out } => {
                let end = RunEnd {
                    counts: &counts,
                    errors: &self.errors,
                    kernel: None,
                    sections,
                    pressure: &pressure,
                    shard: shard.as_ref(),
                };
                for v in views.iter_mut() {
                    v.finish(&end, out)?;
                }
                out.flush()
            }
            Views::Apart(a) => {
                // Sections are a demo's; `read` has none.
                debug_assert!(sections.is_empty());
                a.send()?;
                a.finish(apart::End {
                    counts,
                    errors: self.errors.clone(),
                    pressure,
                    shard,
                })
            }
        }
    }

    /// All threads together may have held `--max-connections`.
    pub(crate) fn cap_reached(&self) -> bool {
        self.merger.cap_reached()
    }

    /// Connections numbered so far.
    pub(crate) fn connections(&self) -> u64 {
        self.merger.connections()
    }
}

fn thread_gone() -> io::Error {
    io::Error::other(crate::lang::pick(
        "an analyzer thread stopped unexpectedly",
        "一个分析线程意外停止",
    ))
}
