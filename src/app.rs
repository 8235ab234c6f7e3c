//! The pipeline: capture → decode → track → render, one frame at a time.

use std::io::{self, IsTerminal, Write};

use crate::capture::{check_filter, FileSource, Filter};
use crate::cli::{OutputArgs, ReadConfig};
use crate::decode::{self, Frame, Segment};
use crate::error::{Error, Result};
use crate::render::json::JsonRenderer;
use crate::render::lines::LineRenderer;
use crate::render::{Counts, PacketRecord};
use crate::track::Tracker;

enum Renderer {
    Lines(LineRenderer),
    Json(JsonRenderer),
}

/// Frames in, rendered text out; owns the tracker and the counts.
pub struct Pipeline<W: Write> {
    out: W,
    renderer: Renderer,
    tracker: Tracker,
    counts: Counts,
    errors: Vec<String>,
    limit: Option<u64>,
}

impl<W: Write> Pipeline<W> {
    pub fn new(out: W, opts: &OutputArgs) -> Pipeline<W> {
        let renderer = if opts.json {
            Renderer::Json(JsonRenderer::new())
        } else {
            Renderer::Lines(LineRenderer::new(opts.line_options()))
        };
        Pipeline {
            out,
            renderer,
            tracker: Tracker::new(),
            counts: Counts::default(),
            errors: Vec::new(),
            limit: opts.count,
        }
    }

    /// The `-c` limit was reached.
    pub fn done(&self) -> bool {
        self.limit.is_some_and(|n| self.counts.frames >= n)
    }

    pub fn frame(&mut self, frame: &Frame<'_>, link: decode::link::LinkKind) -> Result<()> {
        let decoded = decode::decode(link, frame.data);
        let segment = Segment::from_decoded(frame, &decoded);
        let observation = segment.as_ref().map(|s| self.tracker.observe(s));
        let rec = PacketRecord {
            frame,
            link,
            decoded: &decoded,
            segment: segment.as_ref(),
            observation: observation.as_ref(),
        };
        self.counts.add(&rec);
        let bytes = match &mut self.renderer {
            Renderer::Lines(r) => r.render(&rec)?,
            Renderer::Json(r) => r.render(&rec),
        };
        self.out.write_all(bytes)?;
        Ok(())
    }

    /// Remember an input error for the summary (it was already reported).
    pub fn note_error(&mut self, e: &Error) {
        self.errors.push(e.to_string());
    }

    pub fn finish(mut self) -> Result<()> {
        self.counts.connections = self.tracker.len() as u64;
        match &mut self.renderer {
            Renderer::Json(r) => {
                let bytes = r.summary(&self.counts, &self.errors);
                self.out.write_all(bytes)?;
            }
            Renderer::Lines(_) => {
                let c = &self.counts;
                writeln!(
                    self.out,
                    "\nsummary: {} frames ({} TCP, {} UDP, {} ICMP, {} ARP, {} IP fragments, {} other, {} undecodable), {} TCP connection{}, {} cut by snaplen",
                    c.frames,
                    c.tcp,
                    c.udp,
                    c.icmp,
                    c.arp,
                    c.fragments,
                    c.other,
                    c.undecodable,
                    c.connections,
                    if c.connections == 1 { "" } else { "s" },
                    c.cut_by_snaplen
                )?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}

/// How a run ended, for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// Some input could not be read completely (each was reported on stderr).
    InputErrors,
}

/// `synack read`: every input in order, through one pipeline.
pub fn read(cfg: &ReadConfig, out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    if let Some(f) = &cfg.filter {
        check_filter(f)?;
    }
    let mut pipe = Pipeline::new(out, &cfg.output);
    let mut outcome = Outcome::Clean;
    let mut number_offset = 0;
    for input in &cfg.inputs {
        if pipe.done() {
            break;
        }
        let result = FileSource::open(input, cfg.filter.as_deref())
            .and_then(|mut src| read_one(&mut src, &mut pipe, &cfg.output, number_offset, err));
        match result {
            Ok(records) => number_offset += records,
            Err(e) if matches!(e, Error::Output(_)) => return Err(e),
            Err(e) => {
                if let Error::Truncated { last_frame, .. } | Error::Read { last_frame, .. } = &e {
                    number_offset += last_frame;
                }
                pipe.out.flush()?;
                writeln!(err, "synack: {e}")?;
                pipe.note_error(&e);
                outcome = Outcome::InputErrors;
            }
        }
    }
    pipe.finish()?;
    Ok(outcome)
}

const PROGRESS_MIN_BYTES: u64 = 32 << 20;

fn read_one<W: Write>(
    src: &mut FileSource,
    pipe: &mut Pipeline<W>,
    opts: &OutputArgs,
    number_offset: u64,
    err: &mut impl Write,
) -> Result<u64> {
    if !opts.json {
        let (name, desc) = src.link_names();
        writeln!(
            err,
            "reading from file {}, link-type {name} ({desc}), snapshot length {}",
            src.name(),
            src.snaplen()
        )?;
    }
    let filter: Option<Filter> = src.take_filter();
    let link = src.link();
    let progress = progress_bar(src);
    loop {
        if pipe.done() {
            break;
        }
        let Some(mut frame) = src.next_frame()? else {
            break;
        };
        if let Some(f) = &filter {
            if !f.matches(frame.data) {
                continue;
            }
        }
        frame.number += number_offset;
        pipe.frame(&frame, link)?;
        if let Some(bar) = &progress {
            if frame.number % 8192 == 0 {
                if let Some((pos, _)) = src.progress() {
                    bar.set_position(pos);
                }
            }
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(src.records())
}

/// A progress bar on stderr for long file reads, when a person is watching
/// stderr and the packets are going elsewhere.
fn progress_bar(src: &FileSource) -> Option<indicatif::ProgressBar> {
    let (_, size) = src.progress()?;
    if size < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() || io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
        )
        .ok()?
        .progress_chars("=> "),
    );
    bar.set_message(src.name().to_string());
    Some(bar)
}
