//! The `--summary` table: one row per connection, drawn by comfy-table on
//! a terminal, as plain aligned columns into a pipe.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use synack_core::track::{Connection, Facts, Side};

use super::time::time_of_day_ms;
use super::width::display_width;
use super::words::{self, duration};
use super::{Look, RunEnd, View};
use crate::lang::tr;

/// Rows per table: a page, for captures with very many connections.
const TABLE_PAGE_ROWS: usize = 1000;

/// What the table shows of one connection, kept after the connection is gone.
#[derive(Clone, Debug)]
struct ConnRow {
    id: u64,
    client: String,
    server: String,
    duration: String,
    packets: String,
    bytes: String,
    rtt: String,
    close: String,
    time_wait: String,
    keepalive: String,
    retransmissions: String,
    zero_window: String,
    zeek: String,
}

impl ConnRow {
    fn of(c: &Connection, f: &Facts) -> ConnRow {
        let tw = [Side::Client, Side::Server]
            .into_iter()
            .zip(f.time_wait)
            .filter_map(|(s, tw)| {
                tw.map(|tw| {
                    let until = time_of_day_ms(tw.until);
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
        ConnRow {
            id: c.id(),
            client: super::lines::endpoint_string(c.client().addr()),
            server: super::lines::endpoint_string(c.server().addr()),
            duration: duration(f.duration_ns),
            packets: format!("{} / {}", c.client().packets(), c.server().packets()),
            bytes: format!("{} / {}", c.client().bytes(), c.server().bytes()),
            rtt: c
                .handshake()
                .rtt_ns()
                .map(|r| duration(i128::from(r)))
                .unwrap_or_default(),
            close: words::ending_short(f, c),
            time_wait: tw,
            keepalive,
            retransmissions: if f.retransmissions > 0 {
                f.retransmissions.to_string()
            } else {
                String::new()
            },
            zero_window: if f.zero_window_ads > 0 {
                duration(zw)
            } else {
                String::new()
            },
            zeek: format!("{} {}", f.conn_state.name(), c.history()),
        }
    }
}

/// `--summary`: a table of connections, a page at a time.
pub(crate) struct TableView {
    look: Look,
    rows: Vec<ConnRow>,
}

impl TableView {
    pub(crate) fn new(look: Look) -> TableView {
        TableView {
            look,
            rows: Vec::new(),
        }
    }

    /// Print the rows gathered so far as one table (in id order). Big captures
    /// get a table per page of rows, so memory stays bounded by the page.
    fn flush(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        self.rows.sort_by_key(|r| r.id);
        let rows = std::mem::take(&mut self.rows);
        writeln!(out, "{}", render(rows, self.look.width, self.look.terminal))
    }
}

impl View for TableView {
    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        self.rows.push(ConnRow::of(c, f));
        if self.rows.len() >= TABLE_PAGE_ROWS {
            self.flush(out)?;
        }
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.flush(out)?;
        // Under a boxed table on a terminal, the closing lines wrap to its width too.
        let width = self.look.width.filter(|_| self.look.terminal);
        super::write_text_end(end, width, out)
    }
}

/// Columns padded to their widest cell, two spaces apart.
fn plain(cells: &[[String; 13]], keep: &[usize]) -> String {
    let widths: Vec<usize> = keep
        .iter()
        .map(|&i| {
            cells
                .iter()
                .map(|r| display_width(&r[i]))
                .chain(std::iter::once(display_width(HEADERS[i])))
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
    line(&mut keep.iter().map(|&i| HEADERS[i]));
    for r in cells {
        line(&mut keep.iter().map(|&i| r[i].as_str()));
    }
    out.pop();
    out
}

/// The column headers, in the run's language (chosen once, before any table).
static HEADERS: std::sync::LazyLock<[&str; 13]> = std::sync::LazyLock::new(|| {
    if crate::lang::zh() {
        [
            "#",
            "客户端",
            "服务器",
            "时长",
            "报文 c→s/s→c",
            "字节 c→s/s→c",
            "RTT",
            "关闭",
            "TIME_WAIT",
            "保活",
            "重传",
            "零窗口",
            "zeek",
        ]
    } else {
        [
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
        ]
    }
});

impl ConnRow {
    fn into_cells(self) -> [String; 13] {
        [
            self.id.to_string(),
            self.client,
            self.server,
            self.duration,
            self.packets,
            self.bytes,
            self.rtt,
            self.close,
            self.time_wait,
            self.keepalive,
            self.retransmissions,
            self.zero_window,
            self.zeek,
        ]
    }
}

/// Columns given up first when even their narrowest layout is wider than
/// the terminal (the zeek codes first; "#", the addresses and the close stay).
const DROP_ORDER: [usize; 9] = [12, 4, 6, 5, 3, 11, 10, 9, 8];

/// The columns that fit in `width` when comfy-table squeezes each to its
/// widest character (two columns for a Chinese one) and its padding.
fn fit_columns(mut keep: Vec<usize>, cells: &[[String; 13]], width: usize) -> Vec<usize> {
    let narrowest = |i: usize| {
        std::iter::once(HEADERS[i])
            .chain(cells.iter().map(|r| r[i].as_str()))
            .flat_map(str::chars)
            .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
            .max()
            .unwrap_or(1)
            .max(1)
    };
    let needs = |keep: &[usize]| keep.iter().map(|&i| narrowest(i) + 3).sum::<usize>() + 1;
    for drop in DROP_ORDER {
        if needs(&keep) <= width {
            break;
        }
        keep.retain(|&i| i != drop);
    }
    keep
}

/// Draw the table; `width` is the terminal's, when known. Columns empty in
/// every row (no keep-alives, no retransmissions…) are left out. For a
/// person at a terminal it is a comfy-table; into a pipe or file, the same
/// columns as plain aligned text, which costs a tenth as much per row (a
/// 200 000-connection capture spent most of its time drawing boxes).
fn render(rows: Vec<ConnRow>, width: Option<usize>, boxed: bool) -> String {
    let cells: Vec<[String; 13]> = rows.into_iter().map(ConnRow::into_cells).collect();
    let keep: Vec<usize> = (0..HEADERS.len())
        .filter(|&i| i < 3 || cells.iter().any(|r| !r[i].is_empty()))
        .collect();
    if !boxed {
        return plain(&cells, &keep);
    }
    let keep = match width {
        Some(w) => fit_columns(keep, &cells, w),
        None => keep,
    };
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(u16::try_from(w).unwrap_or(u16::MAX));
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(keep.iter().map(|&i| HEADERS[i]));
    for r in cells {
        let mut r = r.map(Some);
        t.add_row(keep.iter().map(|&i| r[i].take().unwrap_or_default()));
    }
    t.to_string()
}
