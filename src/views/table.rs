//! The `--summary` table: one row per connection, drawn by comfy-table on
//! a terminal (fitted to its width), as plain aligned columns into a pipe.

use std::io::{self, Write};

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

/// Rows per table: a page, for captures with very many connections.
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

/// Points in time in the `--time` style (relative ones count from the
/// first frame; delta and none are shown relative).
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

/// `--summary`: a table of connections, a page at a time.
pub(crate) struct TableView {
    look: Look,
    clock: Clock,
    rows: Vec<(u64, Cells)>,
    /// Tunnelled connections' paths, for their rows.
    paths: TunnelPaths,
}

impl TableView {
    pub(crate) fn new(look: Look, time: TimeFormat, nano: bool) -> TableView {
        let time = match time {
            TimeFormat::Delta | TimeFormat::None => TimeFormat::Relative,
            t => t,
        };
        TableView {
            look,
            clock: Clock(TimeWriter::new(time, nano)),
            rows: Vec::new(),
            paths: TunnelPaths::default(),
        }
    }

    /// Print the rows gathered so far as one table (in id order). Big captures
    /// get a table per page of rows, so memory stays bounded by the page.
    fn flush(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        self.rows.sort_by_key(|r| r.0);
        let rows: Vec<Cells> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|r| r.1)
            .collect();
        let text = if self.look.terminal {
            boxed(rows, self.look.width)
        } else {
            plain(&rows)
        };
        writeln!(out, "{text}")
    }
}

impl View for TableView {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        // Relative times count from the first frame.
        self.clock.0.pass(p.frame.ts);
        self.paths.note(p, super::lines::path_text);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        let paths = self.paths.take(c.id());
        self.rows
            .push((c.id(), row_of(c, f, &mut self.clock, paths)));
        if self.rows.len() >= TABLE_PAGE_ROWS {
            self.flush(out)?;
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.flush(out)?;
        let width = self.look.width.filter(|_| self.look.terminal);
        super::write_text_end(end, width, out)
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

/// Every column, padded to its widest cell, two spaces apart: for pipes
/// and files, which get the whole table whatever the width. Plain text
/// costs a tenth of boxes per row (a 200 000-connection capture spent
/// most of its time drawing them).
fn plain(cells: &[Cells]) -> String {
    let keep = shown(cells);
    let heads: Vec<String> = keep.iter().map(|&i| header(i)).collect();
    let widths: Vec<usize> = keep
        .iter()
        .zip(&heads)
        .map(|(&i, h)| {
            cells
                .iter()
                .map(|r| display_width(&r[i]))
                .chain(std::iter::once(display_width(h)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |row: &mut dyn Iterator<Item = &str>| {
        let start = out.len();
        for (k, text) in row.enumerate() {
            if k > 0 {
                out.push_str("  ");
            }
            out.push_str(text);
            if k + 1 < widths.len() {
                out.extend(std::iter::repeat_n(' ', widths[k] - display_width(text)));
            }
        }
        let trimmed = out[start..].trim_end().len();
        out.truncate(start + trimmed);
        out.push('\n');
    };
    line(&mut heads.iter().map(String::as_str));
    for r in cells {
        line(&mut keep.iter().map(|&i| r[i].as_str()));
    }
    out.pop();
    out
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

#[cfg(test)]
mod tests {
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
