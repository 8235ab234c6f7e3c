//! The `--summary` table: one row per connection, drawn by comfy-table on
//! a terminal, as plain aligned columns into a pipe.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use synack_core::track::{Connection, Facts, Side};

use super::time::time_of_day_ms;
use super::words::{self, duration};
use super::{Look, RunEnd, View};

/// Rows per table: a page, for captures with very many connections.
const TABLE_PAGE_ROWS: usize = 1000;

/// What the table shows of one connection, kept after the connection is gone.
#[derive(Clone, Debug)]
pub(crate) struct ConnRow {
    pub(crate) id: u64,
    pub(crate) client: String,
    pub(crate) server: String,
    pub(crate) duration: String,
    pub(crate) packets: String,
    pub(crate) bytes: String,
    pub(crate) rtt: String,
    pub(crate) close: String,
    pub(crate) time_wait: String,
    pub(crate) keepalive: String,
    pub(crate) retransmissions: String,
    pub(crate) zero_window: String,
    pub(crate) zeek: String,
}

impl ConnRow {
    pub(crate) fn of(c: &Connection, f: &Facts) -> ConnRow {
        let tw = [Side::Client, Side::Server]
            .into_iter()
            .zip(f.time_wait)
            .filter_map(|(s, tw)| {
                tw.map(|tw| format!("{} until {}", s.name(), time_of_day_ms(tw.until)))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let keepalive = match f.keepalive {
            None => String::new(),
            Some(k) => {
                let mut s = format!("{} probes by {}", k.probes, k.by.name());
                if let Some(idle) = k.idle_ns {
                    s.push_str(&format!(", idle {}", duration(idle)));
                }
                if let Some(iv) = k.interval_ns {
                    s.push_str(&format!(", every {}", duration(iv)));
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
        super::write_text_end(end, None, out)
    }
}

/// Columns padded to their widest cell, two spaces apart.
fn plain(cells: &[[String; 13]], keep: &[usize]) -> String {
    let widths: Vec<usize> = keep
        .iter()
        .map(|&i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(HEADERS[i].chars().count()))
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
                out.extend(std::iter::repeat_n(' ', widths[k] - text.chars().count()));
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

const HEADERS: [&str; 13] = [
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
