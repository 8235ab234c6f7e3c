//! `--zeek`: connections as Zeek's conn.log, in its TSV form (the ASCII
//! writer's `#` header lines and `#close` footer) or, with `--json`, its
//! JSON form (one object per connection, unset fields left out).
//!
//! Field names, order and types are those of Zeek's `Conn::Info`
//! (base/protocols/conn/main.zeek; documented at
//! https://docs.zeek.org/en/v8.2.0/scripts/base/protocols/conn/main.zeek.html),
//! plus `community_id` as Zeek's community-id policy script names it. Filled
//! as Zeek fills them for TCP with no application analyzer: `service` unset;
//! `local_orig`/`local_resp` unset (synack knows no site's networks);
//! `tunnel_parents` unset; `duration` and the byte counts only when the
//! duration is above zero, as `set_conn` does.

use std::io::{self, Write};

use synack_core::decode::Timestamp;
use synack_core::track::{zeek, Connection, Facts, Side};

use super::json::{escape_into, Obj};
use super::{RunEnd, View};

/// conn.log's columns and Zeek types, in order.
const FIELDS: [(&str, &str); 23] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("ip_proto", "count"),
    ("community_id", "string"),
];

/// One conn.log value.
enum Value {
    Unset,
    Time(Timestamp),
    Interval(i128),
    Count(u64),
    Text(String),
    Addr(std::net::IpAddr),
}

/// conn.log rows, TSV (with Zeek's header) or JSON.
pub(crate) struct ZeekView {
    json: bool,
    header_written: bool,
    buf: Vec<u8>,
}

impl ZeekView {
    pub(crate) fn new(json: bool) -> ZeekView {
        ZeekView {
            json,
            header_written: false,
            buf: Vec::with_capacity(512),
        }
    }

    fn header(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.json || self.header_written {
            return Ok(());
        }
        self.header_written = true;
        let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
        let types: Vec<&str> = FIELDS.iter().map(|f| f.1).collect();
        // As Zeek's ASCII writer: the separator line uses a space, the rest a tab.
        write!(
            out,
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t{}\n#fields\t{}\n#types\t{}\n",
            wall_clock(),
            names.join("\t"),
            types.join("\t")
        )
    }
}

/// Zeek's `#open`/`#close` stamp: local wall-clock time, `%Y-%m-%d-%H-%M-%S`.
fn wall_clock() -> String {
    chrono::Local::now().format("%Y-%m-%d-%H-%M-%S").to_string()
}

/// The row of `c`, in `FIELDS` order.
fn row(c: &Connection, f: &Facts) -> [Value; 23] {
    let z = c.zeek();
    let (o, r) = (c.client(), c.server());
    let duration = z.duration_ns(c.first_ts());
    // set_conn: duration and sizes only once the connection lasted.
    let lasted = |v: Value| if duration > 0 { v } else { Value::Unset };
    let history = c.history();
    [
        Value::Time(c.first_ts()),
        Value::Text(zeek::uid(c)),
        Value::Addr(o.addr().ip()),
        Value::Count(u64::from(o.addr().port())),
        Value::Addr(r.addr().ip()),
        Value::Count(u64::from(r.addr().port())),
        Value::Text("tcp".into()),
        Value::Unset,
        lasted(Value::Interval(duration)),
        lasted(Value::Count(z.payload_bytes(Side::Client))),
        lasted(Value::Count(z.payload_bytes(Side::Server))),
        Value::Text(f.conn_state.name().into()),
        Value::Unset,
        Value::Unset,
        Value::Count(o.missed_bytes() + r.missed_bytes()),
        if history.is_empty() {
            Value::Unset
        } else {
            Value::Text(history.into())
        },
        Value::Count(o.packets()),
        Value::Count(o.ip_bytes()),
        Value::Count(r.packets()),
        Value::Count(r.ip_bytes()),
        Value::Unset,
        Value::Count(6),
        Value::Text(c.community_id().text()),
    ]
}

/// Seconds with six decimals, as Zeek renders `time` and `interval`
/// (rounded to the microsecond).
fn seconds(out: &mut Vec<u8>, ns: i128) -> io::Result<()> {
    let us = (ns + if ns >= 0 { 500 } else { -500 }) / 1000;
    let sign = if us < 0 { "-" } else { "" };
    let us = us.abs();
    write!(out, "{sign}{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The same number as JSON writes it: trailing zeros of the fraction dropped.
fn json_seconds(out: &mut Vec<u8>, ns: i128) -> io::Result<()> {
    let start = out.len();
    seconds(out, ns)?;
    while out.len() > start + 2 && out.ends_with(b"0") && !out.ends_with(b".0") {
        out.pop();
    }
    Ok(())
}

impl View for ZeekView {
    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        self.header(out)?;
        let values = row(c, f);
        self.buf.clear();
        if self.json {
            let mut o = Obj::new(&mut self.buf);
            for ((name, _), v) in FIELDS.iter().zip(&values) {
                match v {
                    Value::Unset => {}
                    Value::Time(t) => json_seconds(o.key(name), t.as_nanos())?,
                    Value::Interval(ns) => json_seconds(o.key(name), *ns)?,
                    Value::Count(n) => {
                        o.num(name, *n);
                    }
                    Value::Text(s) => {
                        o.text(name, s);
                    }
                    Value::Addr(a) => {
                        escape_into(o.key(name), &a.to_string());
                    }
                }
            }
            o.end();
        } else {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    self.buf.push(b'\t');
                }
                match v {
                    Value::Unset => self.buf.push(b'-'),
                    Value::Time(t) => seconds(&mut self.buf, t.as_nanos())?,
                    Value::Interval(ns) => seconds(&mut self.buf, *ns)?,
                    Value::Count(n) => write!(self.buf, "{n}")?,
                    Value::Text(s) if s.is_empty() => self.buf.extend_from_slice(b"(empty)"),
                    // Every text here (uid, codes, history, Community ID) is
                    // printable ASCII without tabs or commas: nothing to escape.
                    Value::Text(s) => self.buf.extend_from_slice(s.as_bytes()),
                    Value::Addr(a) => write!(self.buf, "{a}")?,
                }
            }
        }
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }

    fn finish(&mut self, _end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        self.header(out)?;
        writeln!(out, "#close\t{}", wall_clock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_as_zeek_writes_them() {
        let mut b = Vec::new();
        seconds(&mut b, 1_700_000_000_123_456_789).unwrap();
        assert_eq!(b, b"1700000000.123457");
        b.clear();
        json_seconds(&mut b, 2_500_000_000).unwrap();
        assert_eq!(b, b"2.5");
        b.clear();
        json_seconds(&mut b, 3_000_000_000).unwrap();
        assert_eq!(b, b"3.0");
    }
}
