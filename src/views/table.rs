//! The `--summary` table: one row per connection, in connection-number
//! order (`#`, the order connections were first seen), however many there
//! are. Into a pipe or file it is one table of plain aligned columns; on a
//! terminal, comfy-table boxes fitted to its width, a table per
//! [`TABLE_PAGE_ROWS`] rows.
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

use comfy_table::presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED};
use comfy_table::{ContentArrangement, Table, TableComponent};

use synack_core::decode::Timestamp;
use synack_core::track::{Connection, Facts, Side};
use synack_core::Packet;

use super::charset;
use super::time::{TimeFormat, TimeWriter};
use super::width::display_width;
use super::words::{self, duration};
use super::{Look, RunEnd, TunnelPaths, View};
use crate::lang::tr;

/// Rows per table on a terminal: a page.
const TABLE_PAGE_ROWS: usize = 1000;

/// A column of the table.
struct Column {
    header: &'static str,
    /// Which columns go first when the terminal is too narrow: the highest
    /// rank first; rank 0 never goes.
    rank: u8,
    /// Its cells may wrap at spaces (an address or a number never does).
    wraps: bool,
}

const fn col(header: &'static str, rank: u8, wraps: bool) -> Column {
    Column {
        header,
        rank,
        wraps,
    }
}

/// The columns, in order. The ranks say what a person looks at a summary
/// for: how each connection ended, when it started (two connections on one
/// 4-tuple are told apart by it), TIME_WAIT, then the troubles; counts,
/// RTT and Zeek's codes are for a wide screen or a pipe.
const COLUMNS: [Column; NCOLS] = [
    col("#", 0, false),
    col("client", 0, false),
    col("server", 0, false),
    col("start", 2, true),
    col("duration", 7, false),
    col("pkts c→s/s→c", 10, false),
    col("payload bytes c→s/s→c", 8, false),
    col("RTT", 9, false),
    col("close", 1, true),
    col("TIME_WAIT", 3, true),
    col("keep-alive", 4, true),
    col("retrans", 5, false),
    col("zero win", 6, false),
    col("zeek", 11, true),
    // Only tunnelled connections have one (an empty column is not shown).
    col("via", 12, true),
];
const NCOLS: usize = 15;
// Where each column is in `COLUMNS` and in `Cells` (the report reads them too).
pub(crate) const CLIENT: usize = 1;
pub(crate) const SERVER: usize = 2;
pub(crate) const DURATION: usize = 4;
pub(crate) const PACKETS: usize = 5;
pub(crate) const BYTES: usize = 6;
pub(crate) const RTT: usize = 7;
pub(crate) const CLOSE: usize = 8;
pub(crate) const TIME_WAIT: usize = 9;
pub(crate) const KEEPALIVE: usize = 10;
pub(crate) const ZERO_WINDOW: usize = 12;
pub(crate) const ZEEK: usize = 13;

/// What the table shows of one connection, kept after the connection is gone.
pub(crate) type Cells = [String; NCOLS];

/// One connection's cells: what the table shows, and the report's table too;
/// `paths` are a tunnelled connection's (the `via` column).
pub(crate) fn row_of(
    c: &Connection,
    f: &Facts,
    clock: &mut Clock,
    paths: Option<(Vec<u8>, Option<Vec<u8>>)>,
) -> Cells {
    let via = match paths {
        None => String::new(),
        Some((first, None)) => String::from_utf8_lossy(&first).into_owned(),
        Some((first, Some(reply))) => {
            let (first, reply) = (
                String::from_utf8_lossy(&first),
                String::from_utf8_lossy(&reply),
            );
            tr!("{first}; replies: {reply}", "{first}；回程：{reply}")
        }
    };
    let tw = [Side::Client, Side::Server]
        .into_iter()
        .zip(f.time_wait)
        .filter_map(|(s, tw)| {
            tw.map(|tw| {
                let until = clock.at(tw.until);
                let (name, side) = (s.name(), crate::lang::glossary::side(s));
                tr!("{name} until {until}", "{side} 至 {until}")
            })
        })
        .collect::<Vec<_>>()
        .join(", ");
    let keepalive = match f.keepalive {
        None => String::new(),
        Some(k) => {
            let (n, name, by) = (k.probes, k.by.name(), crate::lang::glossary::side(k.by));
            let mut s = tr!("{n} probes by {name}", "{by}发了 {n} 个探测");
            if let Some(idle) = k.idle_ns {
                s.push_str(&tr!(", idle {}", "，空闲 {}", duration(idle)));
            }
            if let Some(iv) = k.interval_ns {
                s.push_str(&tr!(", every {}", "，间隔 {}", duration(iv)));
            }
            s
        }
    };
    let zw: i128 = f.zero_window_ns.iter().sum();
    [
        c.id().to_string(),
        super::lines::endpoint_string(c.client().addr()),
        super::lines::endpoint_string(c.server().addr()),
        clock.at(c.first_ts()),
        duration(f.duration_ns),
        format!("{} / {}", c.client().packets(), c.server().packets()),
        format!("{} / {}", c.client().bytes(), c.server().bytes()),
        c.handshake()
            .rtt_ns()
            .map(|r| duration(i128::from(r)))
            .unwrap_or_default(),
        words::ending_short(f, c),
        tw,
        keepalive,
        if f.retransmissions > 0 {
            f.retransmissions.to_string()
        } else {
            String::new()
        },
        if f.zero_window_ads > 0 {
            duration(zw)
        } else {
            String::new()
        },
        format!("{} {}", f.conn_state.name(), c.history()),
        via,
    ]
}

/// [`row_of`] written straight into `out` as text, cells apart by `SEP`,
/// without a String per cell: for English in Unicode (the table's rows are
/// most of its time on a big capture); `false` (nothing written) otherwise.
fn write_row(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    c: &Connection,
    f: &Facts,
    clock: &mut Clock,
    paths: Option<&(Vec<u8>, Option<Vec<u8>>)>,
) -> bool {
    if crate::lang::zh() || charset::ascii() {
        return false;
    }
    fn num(out: &mut Vec<u8>, n: impl itoa::Integer) {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
    // TIME_WAIT first: `row_of` asks the clock for it before the start.
    scratch.clear();
    for (s, tw) in [Side::Client, Side::Server].into_iter().zip(f.time_wait) {
        if let Some(tw) = tw {
            if !scratch.is_empty() {
                scratch.extend_from_slice(b", ");
            }
            scratch.extend_from_slice(s.name().as_bytes());
            scratch.extend_from_slice(b" until ");
            let _ = clock.0.write(scratch, tw.until);
        }
    }
    num(out, c.id());
    out.push(SEP);
    let (client, server) = (c.client().addr(), c.server().addr());
    let _ = super::lines::write_endpoint(out, client.ip(), Some(client.port()));
    out.push(SEP);
    let _ = super::lines::write_endpoint(out, server.ip(), Some(server.port()));
    out.push(SEP);
    let _ = clock.0.write(out, c.first_ts());
    out.push(SEP);
    words::write_duration(out, f.duration_ns);
    out.push(SEP);
    num(out, c.client().packets());
    out.extend_from_slice(b" / ");
    num(out, c.server().packets());
    out.push(SEP);
    num(out, c.client().bytes());
    out.extend_from_slice(b" / ");
    num(out, c.server().bytes());
    out.push(SEP);
    if let Some(r) = c.handshake().rtt_ns() {
        words::write_duration(out, i128::from(r));
    }
    out.push(SEP);
    words::write_ending_words(out, f, c);
    out.push(SEP);
    out.extend_from_slice(scratch);
    out.push(SEP);
    if let Some(k) = f.keepalive {
        num(out, k.probes);
        out.extend_from_slice(b" probes by ");
        out.extend_from_slice(k.by.name().as_bytes());
        if let Some(idle) = k.idle_ns {
            out.extend_from_slice(b", idle ");
            words::write_duration(out, idle);
        }
        if let Some(iv) = k.interval_ns {
            out.extend_from_slice(b", every ");
            words::write_duration(out, iv);
        }
    }
    out.push(SEP);
    if f.retransmissions > 0 {
        num(out, f.retransmissions);
    }
    out.push(SEP);
    if f.zero_window_ads > 0 {
        words::write_duration(out, f.zero_window_ns.iter().sum());
    }
    out.push(SEP);
    out.extend_from_slice(f.conn_state.name().as_bytes());
    out.push(b' ');
    out.extend_from_slice(c.history().as_bytes());
    out.push(SEP);
    if let Some((first, reply)) = paths {
        // As `row_of` has them: lossy UTF-8, the reply path after the first.
        out.extend_from_slice(String::from_utf8_lossy(first).as_bytes());
        if let Some(reply) = reply {
            out.extend_from_slice(b"; replies: ");
            out.extend_from_slice(String::from_utf8_lossy(reply).as_bytes());
        }
    }
    true
}

/// Points in time in the `--time` style (relative ones count from the
/// first frame; delta and none are shown relative).
#[derive(Clone)]
pub(crate) struct Clock(TimeWriter);

impl Clock {
    /// Points in time as `--time` (with `--nano`) writes them.
    pub(crate) fn new(time: TimeFormat, nano: bool) -> Clock {
        Clock(TimeWriter::new(time, nano))
    }

    /// Relative times count from the first frame: every frame passes here.
    pub(crate) fn pass(&mut self, ts: Timestamp) {
        self.0.pass(ts);
    }

    fn at(&mut self, ts: Timestamp) -> String {
        let mut out = Vec::with_capacity(32);
        // Writing into a Vec cannot fail.
        let _ = self.0.write(&mut out, ts);
        String::from_utf8_lossy(&out).into_owned()
    }
}

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
    clock: Clock,
    /// Tunnelled connections' paths, for their rows.
    paths: TunnelPaths,
    bounds: Bounds,
    /// The rows in memory: each row's cells, `SEP` between them.
    text: Vec<u8>,
    /// Each row in memory: its id and where its text is in `text`.
    index: Vec<(u64, u32, u32)>,
    /// Widest cell of each column (display width) over every row so far.
    widths: [usize; NCOLS],
    /// Columns where some row has text.
    filled: [bool; NCOLS],
    spill: Option<Spill>,
    /// A row's TIME_WAIT cell, written before its place in the row.
    scratch: Vec<u8>,
}

impl TableView {
    pub(crate) fn new(look: Look, time: TimeFormat, nano: bool) -> TableView {
        TableView::with_bounds(look, time, nano, Bounds::DEFAULT)
    }

    pub(crate) fn with_bounds(
        look: Look,
        time: TimeFormat,
        nano: bool,
        bounds: Bounds,
    ) -> TableView {
        let time = match time {
            TimeFormat::Delta | TimeFormat::None => TimeFormat::Relative,
            t => t,
        };
        TableView {
            look,
            clock: Clock(TimeWriter::new(time, nano)),
            paths: TunnelPaths::default(),
            bounds: Bounds {
                rows: bounds.rows.max(1),
                bytes: bounds.bytes.max(1),
                runs: bounds.runs.max(2),
            },
            text: Vec::new(),
            index: Vec::new(),
            widths: [0; NCOLS],
            filled: [false; NCOLS],
            spill: None,
            scratch: Vec::new(),
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
        let paths = self.paths.take(c.id());
        let row_start = self.text.len();
        // In debug builds every row is checked against `row_of` (the report's).
        let check = cfg!(debug_assertions).then(|| self.clock.clone());
        if write_row(
            &mut self.text,
            &mut self.scratch,
            c,
            f,
            &mut self.clock,
            paths.as_ref(),
        ) {
            if let Some(mut clock) = check {
                let cells = row_of(c, f, &mut clock, paths);
                let text = &self.text[row_start..];
                debug_assert_eq!(
                    String::from_utf8_lossy(text),
                    cells.join("\u{1f}"),
                    "the table's row is row_of's"
                );
            }
        } else {
            let cells = row_of(c, f, &mut self.clock, paths);
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    self.text.push(SEP);
                }
                self.text.extend_from_slice(cell.as_bytes());
            }
        }
        // Each column's widest cell, and which columns have any.
        let mut col = 0;
        for cell in self.text[row_start..].split(|b| *b == SEP) {
            if !cell.is_empty() {
                self.filled[col] = true;
                let w = if cell.is_ascii() {
                    cell.len()
                } else {
                    display_width(&String::from_utf8_lossy(cell))
                };
                self.widths[col] = self.widths[col].max(w);
            }
            col += 1;
        }
        debug_assert_eq!(col, NCOLS);
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
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        // Relative times count from the first frame.
        self.clock.pass(p.frame.ts);
        self.paths.note(p, super::lines::path_text);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        self.push_row(c, f);
        if self.index.len() >= self.bounds.rows || self.text.len() >= self.bounds.bytes {
            self.spill_rows()?;
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut render = Render::new(&self.widths, &self.filled, self.look, out);
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
        let width = self.look.width.filter(|_| self.look.terminal);
        super::write_text_end(end, width, out)
    }
}

/// Writes the rows out as they come, in order: plain aligned columns, or
/// fitted boxes a page at a time on a terminal.
struct Render<'a> {
    out: &'a mut dyn Write,
    look: Look,
    /// The columns shown (plain): the first three, and those with text in some row.
    keep: Vec<usize>,
    /// Each shown column's width (header included).
    widths: Vec<usize>,
    heads: Vec<String>,
    line: Vec<u8>,
    page: Vec<Cells>,
    /// A row has been written (plain: the header went out before it).
    started: bool,
}

impl<'a> Render<'a> {
    fn new(
        widths: &[usize; NCOLS],
        filled: &[bool; NCOLS],
        look: Look,
        out: &'a mut dyn Write,
    ) -> Render<'a> {
        let keep: Vec<usize> = (0..NCOLS)
            .filter(|&i| COLUMNS[i].rank == 0 || filled[i])
            .collect();
        let heads: Vec<String> = keep.iter().map(|&i| header(i)).collect();
        let widths = keep
            .iter()
            .zip(&heads)
            .map(|(&i, h)| widths[i].max(display_width(h)))
            .collect();
        Render {
            out,
            look,
            keep,
            widths,
            heads,
            line: Vec::with_capacity(256),
            page: Vec::new(),
            started: false,
        }
    }

    fn row(&mut self, text: &[u8]) -> io::Result<()> {
        let mut cells: [&[u8]; NCOLS] = [b""; NCOLS];
        for (slot, cell) in cells.iter_mut().zip(text.split(|b| *b == SEP)) {
            *slot = cell;
        }
        if self.look.terminal {
            let row: Cells = cells.map(|c| String::from_utf8_lossy(c).into_owned());
            self.page.push(row);
            if self.page.len() >= TABLE_PAGE_ROWS {
                self.boxed_page()?;
            }
            return Ok(());
        }
        if !self.started {
            self.started = true;
            let heads = std::mem::take(&mut self.heads);
            let mut head_cells: [&[u8]; NCOLS] = [b""; NCOLS];
            for (&i, h) in self.keep.iter().zip(&heads) {
                head_cells[i] = h.as_bytes();
            }
            self.plain_line(&head_cells)?;
        }
        self.plain_line(&cells)
    }

    /// The shown columns' cells padded to their width, two spaces apart;
    /// trailing blanks cut.
    fn plain_line(&mut self, cells: &[&[u8]; NCOLS]) -> io::Result<()> {
        self.line.clear();
        let last = self.keep.len() - 1;
        for (k, &i) in self.keep.iter().enumerate() {
            let text = cells[i];
            if k > 0 {
                self.line.extend_from_slice(b"  ");
            }
            self.line.extend_from_slice(text);
            if k < last {
                let shown = if text.is_ascii() {
                    text.len()
                } else {
                    display_width(&String::from_utf8_lossy(text))
                };
                let pad = self.widths[k].saturating_sub(shown);
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
        let text = boxed(std::mem::take(&mut self.page), self.look.width);
        writeln!(self.out, "{text}")
    }

    fn finish(mut self) -> io::Result<()> {
        self.boxed_page()
    }
}

/// The headers under `--lang zh`, in the order of COLUMNS.
const HEADERS_ZH: [&str; NCOLS] = [
    "#",
    "客户端",
    "服务器",
    "开始",
    "时长",
    "报文 c→s/s→c",
    "载荷字节 c→s/s→c",
    "RTT",
    "关闭",
    "TIME_WAIT",
    "保活",
    "重传",
    "零窗口",
    "zeek",
    "经由",
];

fn header(i: usize) -> String {
    if crate::lang::zh() {
        return HEADERS_ZH[i].to_string();
    }
    charset::text(COLUMNS[i].header.to_string())
}

/// The columns to show: the first three always, the rest where some row has something.
fn shown(cells: &[Cells]) -> Vec<usize> {
    (0..NCOLS)
        .filter(|&i| COLUMNS[i].rank == 0 || cells.iter().any(|r| !r[i].is_empty()))
        .collect()
}

/// A column as laid out: its header and cells (lines split at '\n').
struct Laid {
    /// Index into COLUMNS (for the rank; client and server stacked count as the client).
    of: usize,
    header: String,
    cells: Vec<String>,
}

/// Columns on a terminal (a Chinese character takes two).
fn widest_line(s: &str) -> usize {
    s.lines().map(display_width).max().unwrap_or(0)
}

/// The widest piece wrapping never breaks (Chinese breaks between characters).
fn longest_word(s: &str) -> usize {
    super::width::longest_piece(s)
}

impl Laid {
    /// The width that needs no wrapping.
    fn natural(&self) -> usize {
        self.cells
            .iter()
            .map(|c| widest_line(c))
            .chain(std::iter::once(widest_line(&self.header)))
            .max()
            .unwrap_or(0)
    }

    /// The least width: no word is ever broken, and columns that do not
    /// wrap keep their widest cell. A header wraps at its spaces.
    fn least(&self) -> usize {
        let cells = self
            .cells
            .iter()
            .map(|c| {
                if COLUMNS[self.of].wraps {
                    longest_word(c)
                } else {
                    widest_line(c)
                }
            })
            .max()
            .unwrap_or(0);
        cells.max(longest_word(&self.header))
    }
}

/// Box borders and padding: `│ a ┆ b │` is 3 per column and 1.
fn frame(columns: usize) -> usize {
    3 * columns + 1
}

/// Which columns fit in `width`, and how wide each is. Columns go in rank
/// order (least important first) until the rest fit with their words
/// whole; the room left widens columns, most important first, so they wrap
/// less. `None` if even the columns that never go do not fit.
fn fit(cols: &[Laid], width: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    let least = |keep: &[usize]| -> usize {
        keep.iter().map(|&k| cols[k].least()).sum::<usize>() + frame(keep.len())
    };
    while least(&keep) > width {
        let drop = keep
            .iter()
            .enumerate()
            .filter(|(_, &k)| COLUMNS[cols[k].of].rank > 0)
            .max_by_key(|(_, &k)| (COLUMNS[cols[k].of].rank, k))
            .map(|(pos, _)| pos)?;
        keep.remove(drop);
    }
    let mut widths: Vec<usize> = keep.iter().map(|&k| cols[k].least()).collect();
    let mut room = width - least(&keep);
    let mut by_rank: Vec<usize> = (0..keep.len()).collect();
    by_rank.sort_by_key(|&p| (COLUMNS[cols[keep[p]].of].rank, p));
    for p in by_rank {
        let more = cols[keep[p]].natural().saturating_sub(widths[p]).min(room);
        widths[p] += more;
        room -= more;
    }
    Some((keep, widths))
}

/// For a terminal: boxes, fitted to `width` when it is known. When not all
/// columns fit, the least important go, headers and text wrap at spaces,
/// and an address is never broken: if that keeps more columns, the server
/// goes under the client in one column.
fn boxed(rows: Vec<Cells>, width: Option<usize>) -> String {
    let keep = shown(&rows);
    let mut columns: Vec<Vec<String>> =
        (0..NCOLS).map(|_| Vec::with_capacity(rows.len())).collect();
    for r in rows {
        for (i, cell) in r.into_iter().enumerate() {
            columns[i].push(cell);
        }
    }
    let side_by_side: Vec<Laid> = keep
        .iter()
        .map(|&i| Laid {
            of: i,
            header: header(i),
            cells: std::mem::take(&mut columns[i]),
        })
        .collect();
    let Some(width) = width else {
        let widths = side_by_side.iter().map(Laid::natural).collect();
        return draw(
            &side_by_side,
            &(0..side_by_side.len()).collect::<Vec<_>>(),
            widths,
        );
    };
    let stacked: Vec<Laid> = side_by_side
        .iter()
        .filter(|c| c.of != SERVER)
        .map(|c| match c.of {
            CLIENT => {
                let server = side_by_side.iter().find(|s| s.of == SERVER);
                Laid {
                    of: CLIENT,
                    header: format!("{}\n{}", header(CLIENT), header(SERVER)),
                    cells: c
                        .cells
                        .iter()
                        .zip(server.map(|s| s.cells.as_slice()).unwrap_or(&[]))
                        .map(|(a, b)| format!("{a}\n{b}"))
                        .collect(),
                }
            }
            _ => Laid {
                of: c.of,
                header: c.header.clone(),
                cells: c.cells.clone(),
            },
        })
        .collect();
    let apart = fit(&side_by_side, width);
    let under = fit(&stacked, width);
    let count = |f: &Option<(Vec<usize>, Vec<usize>)>| f.as_ref().map_or(0, |f| f.0.len());
    // Side by side unless stacking keeps more of the other columns.
    match (apart, under) {
        (Some((keep, widths)), u) if keep.len() > count(&u) => draw(&side_by_side, &keep, widths),
        (_, Some((keep, widths))) => draw(&stacked, &keep, widths),
        // Too narrow for the addresses alone: they stay whole, the line is long.
        (_, None) => {
            let keep: Vec<usize> = (0..stacked.len())
                .filter(|&k| COLUMNS[stacked[k].of].rank == 0)
                .collect();
            let widths = keep.iter().map(|&k| stacked[k].least()).collect();
            draw(&stacked, &keep, widths)
        }
    }
}

/// Each cell wrapped to its column's width.
fn wrapped(text: &str, width: usize) -> String {
    text.lines()
        .map(|l| words::wrap(l, width))
        .collect::<Vec<_>>()
        .join("\n")
}

fn draw(cols: &[Laid], keep: &[usize], widths: Vec<usize>) -> String {
    let mut t = Table::new();
    if charset::ascii() {
        t.load_preset(ASCII_FULL_CONDENSED);
        // `+` where the header's `=` line crosses a column, as `-` lines do.
        t.set_style(TableComponent::MiddleHeaderIntersections, '+');
    } else {
        t.load_preset(UTF8_FULL_CONDENSED);
    }
    // The widths are decided here; comfy-table only draws.
    t.set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(
        keep.iter()
            .zip(&widths)
            .map(|(&k, &w)| wrapped(&cols[k].header, w)),
    );
    let rows = cols.first().map_or(0, |c| c.cells.len());
    for r in 0..rows {
        t.add_row(
            keep.iter()
                .zip(&widths)
                .map(|(&k, &w)| wrapped(&cols[k].cells[r], w)),
        );
    }
    t.to_string()
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
mod layout_tests {
    use super::*;

    #[test]
    fn the_named_columns_are_where_they_say() {
        let named = [
            (0, "#"),
            (CLIENT, "client"),
            (SERVER, "server"),
            (DURATION, "duration"),
            (PACKETS, "pkts c→s/s→c"),
            (BYTES, "payload bytes c→s/s→c"),
            (RTT, "RTT"),
            (CLOSE, "close"),
            (TIME_WAIT, "TIME_WAIT"),
            (KEEPALIVE, "keep-alive"),
            (ZERO_WINDOW, "zero win"),
            (ZEEK, "zeek"),
        ];
        for (i, h) in named {
            assert_eq!(COLUMNS[i].header, h);
        }
    }

    /// Rows as a capture would give them (the longest IPv6 endpoints).
    fn rows(client: &str, server: &str) -> Vec<Cells> {
        let mut r: Cells = Default::default();
        let vals = [
            "1",
            client,
            server,
            "03:44:04.476350",
            "694 µs",
            "6 / 4",
            "5 / 5",
            "37 µs",
            "three-packet, client first",
            "client until 03:45:04.477025",
            "",
            "2",
            "",
            "SF ShADadFf",
        ];
        for (cell, v) in r.iter_mut().zip(vals) {
            *cell = v.to_string();
        }
        vec![r]
    }

    fn widest(t: &str) -> usize {
        t.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    #[test]
    fn a_narrow_terminal_drops_columns_and_keeps_addresses_whole() {
        let long = "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1234]:65535";
        let long2 = "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:4321]:443";
        for w in [60, 80, 100, 120, 200] {
            let t = boxed(rows(long, long2), Some(w));
            assert!(widest(&t) <= w, "{w}: {}\n{t}", widest(&t));
            assert!(t.contains(long) && t.contains(long2), "{w}:\n{t}");
            // Beside two 46-character addresses, 60 columns hold nothing more.
            if w >= 80 {
                assert!(
                    t.contains("close"),
                    "{w}: the most important column stays\n{t}"
                );
            }
        }
        // At 60 the two addresses cannot sit side by side: one goes under the other.
        let t = boxed(rows(long, long2), Some(60));
        let client_line = t.lines().position(|l| l.contains(long)).unwrap();
        assert!(
            t.lines().nth(client_line + 1).unwrap().contains(long2),
            "{t}"
        );
        // Wide enough: every column, one line per row, nothing wrapped.
        let t = boxed(rows("10.99.1.1:42788", "10.99.1.2:9999"), Some(250));
        assert!(t.contains("zeek") && t.contains("client until 03:45:04.477025"));
        assert_eq!(t.lines().count(), 5, "{t}");
    }

    #[test]
    fn too_narrow_even_for_the_addresses_still_never_breaks_one() {
        let long = "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1234]:65535";
        let t = boxed(rows(long, long), Some(30));
        assert!(t.contains(long), "{t}");
    }
}

#[cfg(test)]
mod tests;
