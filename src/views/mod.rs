//! Views: the analysis turned into output. Every view implements [`View`]
//! (in the spirit of ripgrep's `Sink`): it is told about each packet, each
//! event between packets, each connection as it retires with its facts,
//! and the end of the run, and writes what it wants. Views only word facts;
//! `words` holds the English for every event and fact, in one place.
//!
//! Adding a view is one file here plus one line in `app::views_for`.

pub(crate) mod annotated_pcapng;
pub(crate) mod charset;
pub(crate) mod diagram;
pub(crate) mod dump;
pub(crate) mod graph;
pub(crate) mod json;
pub(crate) mod ladder;
pub(crate) mod lines;
pub(crate) mod mermaid;
pub(crate) mod only;
pub(crate) mod picture;
pub(crate) mod svg;
pub(crate) mod table;
pub(crate) mod text;
pub(crate) mod time;
pub(crate) mod verbose;
pub(crate) mod width;
pub(crate) mod words;
pub(crate) mod zeek;

use std::io::{self, Write};

use rustc_hash::FxHashMap;
use synack_core::counts::CaptureStats;
use synack_core::decode::encap::Encap;
use synack_core::pressure::PressureFacts;
use synack_core::track::{Connection, Event, Facts, Side};
use synack_core::{Counts, Packet, Sink};

/// Something that turns the analysis into output. Every method has a no-op default.
pub(crate) trait View {
    /// One frame, in frame order, with its states and events.
    fn packet(&mut self, _p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// An event between frames (TIME_WAIT expired, still running at the end).
    fn event(&mut self, _e: &Event, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// A connection retired, after its last packet, with its facts.
    fn connection(&mut self, _c: &Connection, _f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// Live: a connection's exchange is over (each side CLOSED or in
    /// TIME_WAIT); it retires later, when its timers run out.
    fn settled(&mut self, _c: &Connection, _f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// A connection retired that a filter (`--only`) leaves out: drop
    /// whatever was kept for it.
    fn forget(&mut self, _conn: u64) {}
    /// The run is over.
    fn finish(&mut self, _end: &RunEnd<'_>, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// What the end of a run tells every view.
pub(crate) struct RunEnd<'a> {
    pub(crate) counts: &'a Counts,
    /// Inputs that could not be read completely (each already reported).
    pub(crate) errors: &'a [String],
    /// Live capture: the kernel's counters.
    pub(crate) kernel: Option<CaptureStats>,
    /// Extra reports (the demo's kernel check), in the order given.
    pub(crate) sections: &'a [&'a dyn Section],
    /// What the capture shows about load on hosts and listeners.
    pub(crate) pressure: &'a PressureFacts,
    /// `--shard K/N`: this run handled one shard of the connections.
    pub(crate) shard: Option<&'a ShardRun>,
}

/// A run that handled one shard of the connections (`--shard K/N`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShardRun {
    pub(crate) shard: synack_core::shard::Shard,
    /// Every frame read, this shard's and the others'.
    pub(crate) frames_read: u64,
    /// Frames of other shards' connections: skipped before tracking (their
    /// times still ran the clock). The counts are of the rest.
    pub(crate) skipped: u64,
}

/// A report a command adds to the end of a run, worded for people and
/// given as fields for the JSON summary.
pub(crate) trait Section {
    /// Lines for people, printed before the closing summary line.
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()>;
    /// Fields of the JSON `summary` record.
    fn write_json(&self, o: &mut json::Obj<'_>);
}

/// How output looks, decided once from where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Look {
    /// Columns to fit, when the output is a terminal (or `COLUMNS` says).
    pub(crate) width: Option<usize>,
    /// ANSI colours (a terminal, and no `NO_COLOR`).
    pub(crate) color: bool,
    /// Boxes and alignment for a person rather than a pipe.
    pub(crate) terminal: bool,
}

/// Every view of a run, fed by the analyzer.
pub(crate) struct ViewSet<'a> {
    pub(crate) views: &'a mut [Box<dyn View>],
    pub(crate) out: &'a mut dyn Write,
}

impl Sink for ViewSet<'_> {
    type Error = io::Error;

    fn packet(&mut self, p: &Packet<'_>) -> io::Result<()> {
        for v in self.views.iter_mut() {
            v.packet(p, self.out)?;
        }
        Ok(())
    }

    fn event(&mut self, e: &Event) -> io::Result<()> {
        for v in self.views.iter_mut() {
            v.event(e, self.out)?;
        }
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts) -> io::Result<()> {
        for v in self.views.iter_mut() {
            v.connection(c, f, self.out)?;
        }
        Ok(())
    }

    fn settled(&mut self, c: &Connection, f: &Facts) -> io::Result<()> {
        for v in self.views.iter_mut() {
            v.settled(c, f, self.out)?;
        }
        Ok(())
    }
}

/// `--conn N`: one connection's packets, events and record.
pub(crate) struct OnlyConn<V> {
    pub(crate) id: u64,
    pub(crate) inner: V,
}

impl<V: View> View for OnlyConn<V> {
    fn packet(&mut self, p: &Packet<'_>, out: &mut dyn Write) -> io::Result<()> {
        if p.observation.is_some_and(|o| o.conn == self.id) {
            self.inner.packet(p, out)?;
        }
        Ok(())
    }
    fn event(&mut self, e: &Event, out: &mut dyn Write) -> io::Result<()> {
        if e.conn == self.id {
            self.inner.event(e, out)?;
        }
        Ok(())
    }
    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        if c.id() == self.id {
            self.inner.connection(c, f, out)?;
        }
        Ok(())
    }
    fn settled(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        if c.id() == self.id {
            self.inner.settled(c, f, out)?;
        }
        Ok(())
    }
    fn forget(&mut self, conn: u64) {
        self.inner.forget(conn);
    }
    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.inner.finish(end, out)
    }
}

/// The encapsulation paths of tunnelled connections, rendered when their
/// first packet passes, for the connection's record or row: the path of its
/// first packet, and of the first packet the other way when that came
/// through another tunnel (a direction joined by its sequence numbers).
#[derive(Default)]
pub(crate) struct TunnelPaths {
    paths: FxHashMap<u64, ConnPaths>,
}

struct ConnPaths {
    first_side: Side,
    tunnel: u64,
    first: Vec<u8>,
    reply: Option<Vec<u8>>,
}

impl TunnelPaths {
    /// Note a packet's path (only the first one each way is kept).
    pub(crate) fn note(&mut self, p: &Packet<'_>, render: fn(&mut Vec<u8>, &[Encap])) {
        let (Some(obs), true) = (p.observation, p.encapsulated()) else {
            return;
        };
        let tunnel = p.decoded().tunnel_id();
        match self.paths.get_mut(&obs.conn) {
            None => {
                let mut first = Vec::new();
                render(&mut first, p.decoded().encap.layers());
                let paths = ConnPaths {
                    first_side: obs.side,
                    tunnel,
                    first,
                    reply: None,
                };
                self.paths.insert(obs.conn, paths);
            }
            Some(c) if c.reply.is_none() && c.first_side != obs.side && c.tunnel != tunnel => {
                let mut reply = Vec::new();
                render(&mut reply, p.decoded().encap.layers());
                c.reply = Some(reply);
            }
            Some(_) => {}
        }
    }

    /// A retired connection's paths (and forget them).
    pub(crate) fn take(&mut self, conn: u64) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        self.paths.remove(&conn).map(|c| (c.first, c.reply))
    }
}

/// The closing lines of a text view: the sections, then one summary line.
pub(crate) fn write_text_end(
    end: &RunEnd<'_>,
    width: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    for s in end.sections {
        s.write_text(out)?;
    }
    let clock = |ts: synack_core::decode::Timestamp| time::time_of_day_ms(ts);
    let mut lines: Vec<String> = end
        .pressure
        .floods()
        .map(words::syn_flood_warning)
        .collect();
    lines.extend(words::pressure_line(end.pressure, &clock));
    lines.push(words::summary_line(end.counts, end.kernel, end.shard));
    writeln!(out)?;
    for line in lines {
        match width {
            Some(w) => writeln!(out, "{}", words::wrap(&line, w))?,
            None => writeln!(out, "{line}")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod props;
