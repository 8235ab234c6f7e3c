//! Views on a thread of their own, for views that show only connections
//! (the summary table, the conn.log, JSON connection records): the merger
//! hands them each retired connection, whole, in order, and goes on
//! reading while they write.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Segment, Timestamp};
use synack_core::pressure::PressureFacts;
use synack_core::track::{Connection, Event, Facts, Observation};
use synack_core::{Counts, Packet, Sink};

use super::merge::{Emit, Kept};
use crate::views::{RunEnd, ShardRun, View, ViewSet};

/// What the views are told, in order.
enum Told {
    /// One of the few packets these views learn from (see `worker.rs`,
    /// `whole_for_connections`).
    Packet(Box<Pkt>),
    Connection(Box<Connection>, Box<Facts>),
    Settled(Box<Connection>, Box<Facts>),
    Event(Event),
    /// Write out what is buffered, and say so.
    Flush,
    /// The run is over: the last word, then say so.
    Finish(Box<End>),
}

/// A packet, owned, to send.
struct Pkt {
    number: u64,
    ts: Timestamp,
    wire_len: u32,
    link: Result<LinkKind, i32>,
    data: Vec<u8>,
    segment: Option<Segment>,
    observation: Option<Observation>,
    events: Vec<Event>,
}

impl Pkt {
    fn of(p: &Packet<'_>) -> Pkt {
        Pkt {
            number: p.frame.number,
            ts: p.frame.ts,
            wire_len: p.frame.wire_len,
            link: p.link_or_dlt(),
            data: p.frame.data.to_vec(),
            segment: p.segment.copied(),
            observation: p.observation.copied(),
            events: p.events.to_vec(),
        }
    }

    /// Hand it to `sink` as the analyzer did.
    fn tell<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error> {
        let frame = Frame {
            number: self.number,
            ts: self.ts,
            wire_len: self.wire_len,
            data: &self.data,
        };
        Packet::rebuilt(
            &frame,
            self.link,
            self.segment.as_ref(),
            self.observation.as_ref(),
            &self.events,
            |p| sink.packet(p),
        )
    }
}

/// What the end of the run tells the views (owned, to send).
pub(crate) struct End {
    pub(crate) counts: Counts,
    pub(crate) errors: Vec<String>,
    pub(crate) pressure: PressureFacts,
    pub(crate) shard: Option<ShardRun>,
}

/// Told items go over in batches of about this many.
const BATCH: usize = 256;

/// The views' thread, as the merger sees it.
pub(crate) struct Apart {
    tx: Option<SyncSender<Vec<Told>>>,
    /// The answer to each `Flush` and `Finish`, or the first write error.
    answers: Receiver<io::Result<()>>,
    handle: Option<JoinHandle<()>>,
    pending: Vec<Told>,
    /// Where text would go: nowhere (the threads write none for these views).
    nowhere: io::Sink,
}

impl Apart {
    /// Start the views' thread: `make` builds the views and the output there.
    pub(crate) fn start<W: Write + Send + 'static>(
        make: impl FnOnce() -> Vec<Box<dyn View>> + Send + 'static,
        out: W,
    ) -> io::Result<Apart> {
        let (tx, rx) = mpsc::sync_channel::<Vec<Told>>(16);
        let (answer, answers) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("synack-views".into())
            .spawn(move || {
                let mut views = make();
                let mut out = out;
                if let Err(e) = run(&mut views, &mut out, &rx, &answer) {
                    // The merger learns it at its next word (this end is gone).
                    let _ = answer.send(Err(e));
                }
            })?;
        Ok(Apart {
            tx: Some(tx),
            answers,
            handle: Some(handle),
            pending: Vec::with_capacity(BATCH),
            nowhere: io::sink(),
        })
    }

    fn tell(&mut self, t: Told) -> io::Result<()> {
        self.pending.push(t);
        if self.pending.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    /// Hand over what has been told so far.
    pub(crate) fn send(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.failure())
        }
    }

    /// Why the views' thread stopped.
    fn failure(&mut self) -> io::Error {
        match self.answers.recv() {
            Ok(Err(e)) => e,
            _ => io::Error::other(crate::lang::pick(
                "the views' thread stopped unexpectedly",
                "显示线程意外停止",
            )),
        }
    }

    fn answered(&mut self, t: Told) -> io::Result<()> {
        self.pending.push(t);
        self.send()?;
        match self.answers.recv() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other(crate::lang::pick(
                "the views' thread stopped unexpectedly",
                "显示线程意外停止",
            ))),
        }
    }

    /// Everything told so far is written out.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.answered(Told::Flush)
    }

    /// The views' last word; the thread ends.
    pub(crate) fn finish(&mut self, end: End) -> io::Result<()> {
        self.answered(Told::Finish(Box::new(end)))?;
        self.tx = None;
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                return Err(io::Error::other(crate::lang::pick(
                    "the views' thread stopped unexpectedly",
                    "显示线程意外停止",
                )));
            }
        }
        Ok(())
    }
}

fn run(
    views: &mut [Box<dyn View>],
    out: &mut dyn Write,
    rx: &Receiver<Vec<Told>>,
    answer: &mpsc::Sender<io::Result<()>>,
) -> io::Result<()> {
    while let Ok(batch) = rx.recv() {
        let mut set = ViewSet {
            views: &mut *views,
            out: &mut *out,
        };
        for t in batch {
            match t {
                Told::Packet(p) => p.tell(&mut set)?,
                Told::Connection(c, f) => set.connection(&c, &f)?,
                Told::Settled(c, f) => set.settled(&c, &f)?,
                Told::Event(e) => set.event(&e)?,
                Told::Flush => {
                    set.out.flush()?;
                    let _ = answer.send(Ok(()));
                }
                Told::Finish(end) => {
                    let run_end = RunEnd {
                        counts: &end.counts,
                        errors: &end.errors,
                        kernel: None,
                        sections: &[],
                        pressure: &end.pressure,
                        shard: end.shard.as_ref(),
                    };
                    for v in set.views.iter_mut() {
                        v.finish(&run_end, set.out)?;
                    }
                    set.out.flush()?;
                    let _ = answer.send(Ok(()));
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

impl Sink for Apart {
    type Error = io::Error;

    fn packet(&mut self, p: &Packet<'_>) -> io::Result<()> {
        // These views show no packets, but learn from the few handed on whole.
        self.tell(Told::Packet(Box::new(Pkt::of(p))))
    }

    fn event(&mut self, e: &Event) -> io::Result<()> {
        self.tell(Told::Event(*e))
    }

    fn connection(&mut self, c: &Connection, f: &Facts) -> io::Result<()> {
        // The merger hands them over whole (Emit::hand_connection); a copy otherwise.
        self.tell(Told::Connection(Box::new(c.clone()), Box::new(f.clone())))
    }

    fn settled(&mut self, c: &Connection, f: &Facts) -> io::Result<()> {
        self.tell(Told::Settled(Box::new(c.clone()), Box::new(f.clone())))
    }
}

impl Emit for Apart {
    fn out(&mut self) -> &mut dyn Write {
        &mut self.nowhere
    }

    fn hand_connection(&mut self, c: Box<Connection>, f: Box<Facts>) -> io::Result<Kept> {
        self.tell(Told::Connection(c, f))?;
        Ok(None)
    }

    fn hand_settled(&mut self, c: Box<Connection>, f: Box<Facts>) -> io::Result<Kept> {
        self.tell(Told::Settled(c, f))?;
        Ok(None)
    }
}
