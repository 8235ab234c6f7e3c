//! The `--summary` table: one row per connection, drawn by comfy-table.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use super::annotation::duration;
use super::time::time_of_day_ms;
use crate::track::connection::Connection;
use crate::track::event::{Analysis, CloseVariant};
use crate::track::{zeek, Retired, Side, TcpState};

/// What the table shows of one connection, kept after the connection is gone.
#[derive(Clone, Debug)]
pub struct ConnRow {
    pub id: u64,
    pub client: String,
    pub server: String,
    pub duration: String,
    pub packets: String,
    pub bytes: String,
    pub rtt: String,
    pub close: String,
    pub time_wait: String,
    pub keepalive: String,
    pub retransmissions: String,
    pub zero_window: String,
    pub zeek: String,
}

fn close_text(c: &Connection, why: Retired) -> String {
    if c.refused {
        return "refused".into();
    }
    if let Some((by, cause)) = c.first_reset {
        return format!("RST by {}: {}", by.name(), cause.name().replace('_', " "));
    }
    let first = c.close.first_fin.map(Side::name).unwrap_or("?");
    let half = if c.close.half_close {
        ", half-close"
    } else {
        ""
    };
    match c.close.variant {
        Some(CloseVariant::FourWay) => format!("four-way, {first} first{half}"),
        Some(CloseVariant::ThreeWay) => format!("three-packet, {first} first{half}"),
        Some(CloseVariant::Simultaneous) => format!("simultaneous{half}"),
        None if c.close.first_fin.is_some() => format!("{first} sent FIN{half}"),
        None => match why {
            Retired::Idle => "idle (evicted)".into(),
            Retired::Evicted => "evicted (max connections)".into(),
            _ if c.client.resets + c.server.resets > 0 => "reset".into(),
            _ if c.client.state == TcpState::SynSent => "no answer".into(),
            _ => "still open".into(),
        },
    }
}

impl ConnRow {
    pub fn of(c: &Connection, why: Retired) -> ConnRow {
        let tw = [Side::Client, Side::Server]
            .into_iter()
            .filter_map(|s| {
                c.endpoint(s)
                    .time_wait_until
                    .map(|u| format!("{} until {}", s.name(), time_of_day_ms(u)))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let k = [&c.client, &c.server]
            .into_iter()
            .find(|e| e.keepalive.probes > 0)
            .map(|e| &e.keepalive);
        let keepalive = match k {
            None => String::new(),
            Some(k) => {
                let mut s = format!(
                    "{} probes",
                    c.client.keepalive.probes + c.server.keepalive.probes
                );
                if let Some(idle) = k.idle_ns {
                    s.push_str(&format!(", idle {}", duration(idle)));
                }
                if let Some(iv) = k.interval_ns {
                    s.push_str(&format!(", every {}", duration(iv)));
                }
                s
            }
        };
        let retrans = c.client.retransmissions() + c.server.retransmissions();
        let zw: i128 = [&c.client, &c.server]
            .iter()
            .map(|e| {
                e.zero_window_ns
                    + e.zero_window_since
                        .map_or(0, |since| c.last_ts.nanos_since(since))
            })
            .sum();
        let zw_events = c.client.count(Analysis::ZeroWindow) + c.server.count(Analysis::ZeroWindow);
        ConnRow {
            id: c.id,
            client: super::lines::endpoint_string(c.client.addr),
            server: super::lines::endpoint_string(c.server.addr),
            duration: duration(c.last_ts.nanos_since(c.first_ts)),
            packets: format!("{} / {}", c.client.packets, c.server.packets),
            bytes: format!("{} / {}", c.client.bytes, c.server.bytes),
            rtt: c
                .handshake
                .rtt_ns
                .map(|r| duration(i128::from(r)))
                .unwrap_or_default(),
            close: close_text(c, why),
            time_wait: tw,
            keepalive,
            retransmissions: if retrans > 0 {
                retrans.to_string()
            } else {
                String::new()
            },
            zero_window: if zw_events > 0 {
                duration(zw)
            } else {
                String::new()
            },
            zeek: format!("{} {}", zeek::conn_state(c), c.history.as_str()),
        }
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
pub fn render(rows: Vec<ConnRow>, width: Option<u16>, boxed: bool) -> String {
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
            t.set_width(w);
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
