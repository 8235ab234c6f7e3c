//! The `--summary` table: one row per connection, in connection-number
//! order (`#`, the order connections were first seen), however many there
//! are. Into a pipe or file it is one table of plain aligned columns; on a
//! terminal, comfy-table boxes, a table per [`TABLE_PAGE_ROWS`] rows.
//!
//! Memory stays bounded whatever the capture: a row is written as text
//! when its connection retires (the connection's state is freed), rows
//! wait in one buffer of fixed size, and past [`Bounds::rows`] rows (or
//! [`Bounds::bytes`] bytes) they are sorted and written to an anonymous
//! temporary file as one sorted run. At the end
//! the runs are merged back in `#` order while the table is written. When
//! [`Bounds::runs`] runs have piled up they are merged into one, so neither
//! the buffer nor the list of runs grows with the connections seen.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use synack_core::track::{Connection, Facts, Side};

use super::time::write_time_of_day_ms;
use super::words::{self, write_duration};
use super::{Look, RunEnd, View};

/// Rows per table on a terminal: a page.
const TABLE_PAGE_ROWS: usize = 1000;

const COLS: usize = 13;

const HEADERS: [&str; COLS] = [
    "#",
    "client",
    "server",
    "duration",
    "pkts c→s/s→c",
    "bytes c→s/s→c",
    "RTT",
    "close",
    "TIME_WAIT",
    "keep-alive",
    "retrans",
    "zero win",
    "zeek",
];

/// Room past `Bounds::bytes` for the row that crosses it.
const ROW_SLACK: usize = 64 << 10;

/// Between the cells of a row kept as text (no cell holds a control character).
const SEP: u8 = 0x1f;

/// How much the table holds before it spills to disk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Rows kept in memory before they are sorted and written out as a run.
    pub(crate) rows: usize,
    /// Bytes of row text kept in memory before they are written out.
    pub(crate) bytes: usize,
    /// Runs on disk before they are merged into one.
    pub(crate) runs: usize,
}

impl Bounds {
    /// 16,384 rows (about 2.5 MB) in memory; 64 runs (a million
    /// connections) before the first merge.
    pub(crate) const DEFAULT: Bounds = Bounds {
        rows: 16_384,
        bytes: 4 << 20,
        runs: 64,
    };
}

/// What the table holds right now (for the memory test).
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Held {
    /// Rows in memory.
    pub(crate) rows: usize,
    /// Bytes reserved in memory for them (text and index).
    pub(crate) bytes: usize,
    /// Sorted runs on disk.
    pub(crate) runs: usize,
}

/// `--summary`: a table of connections; see the module docs.
pub(crate) struct TableView {
    look: Look,
    bounds: Bounds,
    /// The rows in memory: each row's cells, `SEP` between them.
    text: Vec<u8>,
    /// Each row in memory: its id and where its text is in `text`.
    index: Vec<(u64, u32, u32)>,
    /// Widest cell of each column (in characters) over every row so far.
    widths: [usize; COLS],
    spill: Option<Spill>,
}

impl TableView {
    pub(crate) fn new(look: Look) -> TableView {
        TableView::with_bounds(look, Bounds::DEFAULT)
    }

    pub(crate) fn with_bounds(look: Look, bounds: Bounds) -> TableView {
        TableView {
            look,
            bounds: Bounds {
                rows: bounds.rows.max(1),
                bytes: bounds.bytes.max(1),
                runs: bounds.runs.max(2),
            },
            text: Vec::new(),
            index: Vec::new(),
            widths: [0; COLS],
            spill: None,
        }
    }

    /// What is held now: rows and bytes in memory, runs on disk.
    #[cfg(test)]
    pub(crate) fn held(&self) -> Held {
        Held {
            rows: self.index.len(),
            bytes: self.text.capacity()
                + self.index.capacity() * std::mem::size_of::<(u64, u32, u32)>(),
            runs: self.spill.as_ref().map_or(0, |s| s.runs.len()),
        }
    }

    /// Write the row of `c` as text into the buffer.
    fn push_row(&mut self, c: &Connection, f: &Facts) {
        if self.text.capacity() == 0 {
            // Reserved once, so the buffer never grows (a row is far smaller than the slack).
            self.text.reserve_exact(self.bounds.bytes + ROW_SLACK);
            self.index.reserve_exact(self.bounds.rows);
        }
        let mut row = RowWriter {
            text: &mut self.text,
            widths: &mut self.widths,
            col: 0,
            start: 0,
        };
        let row_start = row.text.len();
        row.begin();
        num(row.text, c.id());
        row.end_cell();
        let _ = super::lines::write_endpoint(
            row.text,
            c.client().addr().ip(),
            Some(c.client().addr().port()),
        );
        row.end_cell();
        let _ = super::lines::write_endpoint(
            row.text,
            c.server().addr().ip(),
            Some(c.server().addr().port()),
        );
        row.end_cell();
        write_duration(row.text, f.duration_ns);
        row.end_cell();
        num(row.text, c.client().packets());
        row.text.extend_from_slice(b" / ");
        num(row.text, c.server().packets());
        row.end_cell();
        num(row.text, c.client().bytes());
        row.text.extend_from_slice(b" / ");
        num(row.text, c.server().bytes());
        row.end_cell();
        if let Some(r) = c.handshake().rtt_ns() {
            write_duration(row.text, i128::from(r));
        }
        row.end_cell();
        words::write_ending_short(row.text, f, c);
        row.end_cell();
        let mut first = true;
        for (side, tw) in [Side::Client, Side::Server].into_iter().zip(f.time_wait) {
            if let Some(tw) = tw {
                if !first {
                    row.text.extend_from_slice(b", ");
                }
                first = false;
                row.text.extend_from_slice(side.name().as_bytes());
                row.text.extend_from_slice(b" until ");
                write_time_of_day_ms(row.text, tw.until);
            }
        }
        row.end_cell();
        if let Some(k) = f.keepalive {
            num(row.text, k.probes);
            row.text.extend_from_slice(b" probes by ");
            row.text.extend_from_slice(k.by.name().as_bytes());
            if let Some(idle) = k.idle_ns {
                row.text.extend_from_slice(b", idle ");
                write_duration(row.text, idle);
            }
            if let Some(iv) = k.interval_ns {
                row.text.extend_from_slice(b", every ");
                write_duration(row.text, iv);
            }
        }
        row.end_cell();
        if f.retransmissions > 0 {
            num(row.text, f.retransmissions);
        }
        row.end_cell();
        if f.zero_window_ads > 0 {
            write_duration(row.text, f.zero_window_ns.iter().sum());
        }
        row.end_cell();
        row.text.extend_from_slice(f.conn_state.name().as_bytes());
        row.text.push(b' ');
        row.text.extend_from_slice(c.history().as_bytes());
        row.end_last_cell();
        let end = self.text.len();
        // A row is a few hundred bytes: a run of `Bounds::rows` rows fits u32 offsets.
        self.index.push((c.id(), row_start as u32, end as u32));
    }

    /// Sort the rows in memory and write them to disk as one run.
    fn spill_rows(&mut self) -> io::Result<()> {
        if self.index.is_empty() {
            return Ok(());
        }
        self.index.sort_unstable_by_key(|r| r.0);
        let mut spill = match self.spill.take() {
            Some(s) => s,
            None => Spill::new()?,
        };
        let start = spill.end;
        let mut w = RunWriter::new(&spill.file, start);
        for &(id, a, b) in &self.index {
            w.record(id, &self.text[a as usize..b as usize])?;
        }
        spill.end = w.finish()?;
        spill.runs.push((start, spill.end));
        self.index.clear();
        self.text.clear();
        if spill.runs.len() >= self.bounds.runs {
            spill.merge_all()?;
        }
        self.spill = Some(spill);
        Ok(())
    }
}

impl View for TableView {
    fn connection(&mut self, c: &Connection, f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        self.push_row(c, f);
        if self.index.len() >= self.bounds.rows || self.text.len() >= self.bounds.bytes {
            self.spill_rows()?;
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut render = Render::new(&self.widths, self.look, out);
        if self.spill.is_some() {
            self.spill_rows()?;
            if let Some(spill) = self.spill.take() {
                spill.merge(|_, text| render.row(text))?;
            }
        } else if !self.index.is_empty() {
            self.index.sort_unstable_by_key(|r| r.0);
            for &(_, a, b) in &self.index {
                render.row(&self.text[a as usize..b as usize])?;
            }
        }
        render.finish()?;
        self.index = Vec::new();
        self.text = Vec::new();
        super::write_text_end(end, None, out)
    }
}

fn num(out: &mut Vec<u8>, n: impl itoa::Integer) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
}

/// Characters in UTF-8 text: the bytes that start one.
fn chars(text: &[u8]) -> usize {
    text.iter().filter(|b| (**b & 0xc0) != 0x80).count()
}

/// Writes one row's cells into the text buffer, noting each column's width.
struct RowWriter<'a> {
    text: &'a mut Vec<u8>,
    widths: &'a mut [usize; COLS],
    col: usize,
    start: usize,
}

impl RowWriter<'_> {
    fn begin(&mut self) {
        self.start = self.text.len();
    }

    fn note_width(&mut self) {
        let w = chars(&self.text[self.start..]);
        let max = &mut self.widths[self.col];
        *max = (*max).max(w);
    }

    fn end_cell(&mut self) {
        self.note_width();
        self.text.push(SEP);
        self.col += 1;
        self.start = self.text.len();
    }

    fn end_last_cell(&mut self) {
        self.note_width();
    }
}

/// Writes the rows out as they come, in order: plain aligned columns, or
/// comfy-table pages on a terminal.
struct Render<'a> {
    out: &'a mut dyn Write,
    look: Look,
    /// The columns shown: the first three, and those with text in some row.
    keep: Vec<usize>,
    /// Each shown column's width (header included).
    widths: Vec<usize>,
    line: Vec<u8>,
    page: Vec<Vec<String>>,
    /// A row has been written (plain: the header went out before it).
    started: bool,
}

impl<'a> Render<'a> {
    fn new(widths: &[usize; COLS], look: Look, out: &'a mut dyn Write) -> Render<'a> {
        let keep: Vec<usize> = (0..COLS).filter(|&i| i < 3 || widths[i] > 0).collect();
        let widths = keep
            .iter()
            .map(|&i| widths[i].max(HEADERS[i].chars().count()))
            .collect();
        Render {
            out,
            look,
            keep,
            widths,
            line: Vec::with_capacity(256),
            page: Vec::new(),
            started: false,
        }
    }

    fn row(&mut self, text: &[u8]) -> io::Result<()> {
        let mut cells: [&[u8]; COLS] = [b""; COLS];
        for (slot, cell) in cells.iter_mut().zip(text.split(|b| *b == SEP)) {
            *slot = cell;
        }
        if self.look.terminal {
            let row = self
                .keep
                .iter()
                .map(|&i| String::from_utf8_lossy(cells[i]).into_owned())
                .collect();
            self.page.push(row);
            if self.page.len() >= TABLE_PAGE_ROWS {
                self.boxed_page()?;
            }
            return Ok(());
        }
        if !self.started {
            self.started = true;
            let headers = HEADERS.map(str::as_bytes);
            self.plain_line(&headers)?;
        }
        self.plain_line(&cells)
    }

    /// The shown columns' cells padded to their width, two spaces apart;
    /// trailing blanks cut.
    fn plain_line(&mut self, cells: &[&[u8]; COLS]) -> io::Result<()> {
        self.line.clear();
        let last = self.keep.len() - 1;
        for (k, &i) in self.keep.iter().enumerate() {
            let text = cells[i];
            if k > 0 {
                self.line.extend_from_slice(b"  ");
            }
            self.line.extend_from_slice(text);
            if k < last {
                let pad = self.widths[k].saturating_sub(chars(text));
                self.line.resize(self.line.len() + pad, b' ');
            }
        }
        while self.line.last() == Some(&b' ') {
            self.line.pop();
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn boxed_page(&mut self) -> io::Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        match self.look.width {
            Some(w) => {
                t.set_content_arrangement(ContentArrangement::Dynamic);
                t.set_width(u16::try_from(w).unwrap_or(u16::MAX));
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        t.set_header(self.keep.iter().map(|&i| HEADERS[i]));
        for row in self.page.drain(..) {
            t.add_row(row);
        }
        writeln!(self.out, "{t}")
    }

    fn finish(mut self) -> io::Result<()> {
        self.boxed_page()
    }
}

/// Sorted runs of rows in an anonymous temporary file (gone when closed).
struct Spill {
    file: File,
    /// Each run's byte range in the file.
    runs: Vec<(u64, u64)>,
    /// Where the next run goes.
    end: u64,
}

impl Spill {
    fn new() -> io::Result<Spill> {
        Ok(Spill {
            file: tempfile::tempfile()?,
            runs: Vec::new(),
            end: 0,
        })
    }

    /// Merge every run into one, in a new file (the old one goes).
    fn merge_all(&mut self) -> io::Result<()> {
        let mut merged = Spill::new()?;
        let mut w = RunWriter::new(&merged.file, 0);
        merge_runs(&self.file, &self.runs, |id, text| w.record(id, text))?;
        merged.end = w.finish()?;
        merged.runs.push((0, merged.end));
        *self = merged;
        Ok(())
    }

    /// Hand every row, in id order, to `f`.
    fn merge(self, f: impl FnMut(u64, &[u8]) -> io::Result<()>) -> io::Result<()> {
        merge_runs(&self.file, &self.runs, f)
    }
}

/// A k-way merge of sorted runs by id.
fn merge_runs(
    file: &File,
    runs: &[(u64, u64)],
    mut f: impl FnMut(u64, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut readers: Vec<RunReader<'_>> = runs
        .iter()
        .map(|&(a, b)| RunReader::new(file, a, b))
        .collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(id) = r.advance()? {
            heap.push(Reverse((id, i)));
        }
    }
    while let Some(Reverse((id, i))) = heap.pop() {
        let r = &mut readers[i];
        f(id, r.current())?;
        if let Some(next) = r.advance()? {
            heap.push(Reverse((next, i)));
        }
    }
    Ok(())
}

/// Appends records (id, length, text) at an offset of a file, buffered.
struct RunWriter<'a> {
    file: &'a File,
    at: u64,
    buf: Vec<u8>,
}

const IO_CHUNK: usize = 64 << 10;
const RECORD_HEAD: usize = 12;

impl<'a> RunWriter<'a> {
    fn new(file: &'a File, at: u64) -> RunWriter<'a> {
        RunWriter {
            file,
            at,
            buf: Vec::with_capacity(IO_CHUNK),
        }
    }

    fn record(&mut self, id: u64, text: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(&id.to_le_bytes());
        let len = u32::try_from(text.len()).map_err(io::Error::other)?;
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(text);
        if self.buf.len() >= IO_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.write_all_at(&self.buf, self.at)?;
        self.at += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Write what is buffered; the offset just past the run.
    fn finish(mut self) -> io::Result<u64> {
        self.flush()?;
        Ok(self.at)
    }
}

/// Reads one run's records back, a chunk at a time, with its own offset.
struct RunReader<'a> {
    file: &'a File,
    at: u64,
    end: u64,
    buf: Vec<u8>,
    /// The current record's text in `buf`, and where the next one starts.
    text: (usize, usize),
    next: usize,
}

impl<'a> RunReader<'a> {
    fn new(file: &'a File, start: u64, end: u64) -> RunReader<'a> {
        RunReader {
            file,
            at: start,
            end,
            buf: Vec::new(),
            text: (0, 0),
            next: 0,
        }
    }

    fn current(&self) -> &[u8] {
        &self.buf[self.text.0..self.text.1]
    }

    /// Have at least `n` bytes from `next` on in the buffer (false: the run ended first).
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.buf.len() - self.next >= n {
            return Ok(true);
        }
        self.buf.drain(..self.next);
        self.next = 0;
        while self.buf.len() < n && self.at < self.end {
            let want = (self.end - self.at).min(IO_CHUNK.max(n) as u64) as usize;
            let old = self.buf.len();
            self.buf.resize(old + want, 0);
            let got = self.file.read_at(&mut self.buf[old..], self.at)?;
            self.buf.truncate(old + got);
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the summary table's temporary file ended early",
                ));
            }
            self.at += got as u64;
        }
        Ok(self.buf.len() >= n)
    }

    /// Move to the next record; its id, or `None` at the end of the run.
    fn advance(&mut self) -> io::Result<Option<u64>> {
        if !self.fill(RECORD_HEAD)? {
            return Ok(None);
        }
        let head = &self.buf[self.next..self.next + RECORD_HEAD];
        let mut id = [0u8; 8];
        id.copy_from_slice(&head[..8]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&head[8..]);
        let len = u32::from_le_bytes(len) as usize;
        if !self.fill(RECORD_HEAD + len)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the summary table's temporary file ended early",
            ));
        }
        let start = self.next + RECORD_HEAD;
        self.text = (start, start + len);
        self.next = start + len;
        Ok(Some(u64::from_le_bytes(id)))
    }
}

#[cfg(test)]
mod tests;
