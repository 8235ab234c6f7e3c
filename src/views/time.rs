//! Timestamps as text: tcpdump's formats for packet lines, RFC 3339 for JSON.
//! The date part is cached per second: formatting it is the slow bit.

use std::io::{self, Write};

use chrono::{DateTime, Local, TimeZone, Utc};

use synack_core::decode::Timestamp;

/// How packet lines show time (`--time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum TimeFormat {
    /// Local time of day, as tcpdump: 12:00:01.000123
    #[default]
    Local,
    /// Date and time in UTC: 2026-11-22 12:00:01.000123
    Utc,
    /// Seconds since 1970: 1795521601.000123 (tcpdump -tt)
    Epoch,
    /// Seconds since the first frame (tcpdump -ttttt)
    Relative,
    /// Seconds since the previous frame (tcpdump -ttt)
    Delta,
    /// No timestamp (tcpdump -t)
    None,
}

pub(crate) struct TimeWriter {
    format: TimeFormat,
    nano: bool,
    first: Option<Timestamp>,
    prev: Option<Timestamp>,
    cached_sec: Option<i64>,
    cached: Vec<u8>,
}

impl TimeWriter {
    pub(crate) fn new(format: TimeFormat, nano: bool) -> TimeWriter {
        TimeWriter {
            format,
            nano,
            first: None,
            prev: None,
            cached_sec: None,
            cached: Vec::with_capacity(32),
        }
    }

    /// Write the timestamp of the next frame (frames must come in order of reading).
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, raw: Timestamp) -> io::Result<()> {
        let ts = raw.normalized();
        let first = *self.first.get_or_insert(ts);
        let prev = self.prev.replace(ts).unwrap_or(ts);
        match self.format {
            TimeFormat::None => return Ok(()),
            TimeFormat::Relative => write_seconds(out, ts.nanos_since(first), self.nano)?,
            TimeFormat::Delta => write_seconds(out, ts.nanos_since(prev), self.nano)?,
            TimeFormat::Epoch => write_seconds(out, ts.as_nanos(), self.nano)?,
            TimeFormat::Local | TimeFormat::Utc => {
                if self.cached_sec != Some(ts.secs) {
                    self.cached.clear();
                    let fmt = if self.format == TimeFormat::Local {
                        "%H:%M:%S"
                    } else {
                        "%Y-%m-%d %H:%M:%S"
                    };
                    match DateTime::<Utc>::from_timestamp(ts.secs, 0) {
                        Some(t) if self.format == TimeFormat::Local => {
                            write!(self.cached, "{}", t.with_timezone(&Local).format(fmt))?
                        }
                        Some(t) => write!(self.cached, "{}", t.format(fmt))?,
                        None => write!(self.cached, "@{}", ts.secs)?,
                    }
                    self.cached_sec = Some(ts.secs);
                }
                out.extend_from_slice(&self.cached);
                write_fraction(out, ts.nanos, self.nano);
            }
        }
        if raw.is_invalid() {
            out.extend_from_slice(b"(bad-ts)");
        }
        Ok(())
    }
}

impl TimeWriter {
    /// A frame went by without its time being written (`--time none`):
    /// points in time are still told relative to the first frame.
    pub(crate) fn pass(&mut self, raw: Timestamp) {
        let ts = raw.normalized();
        self.first.get_or_insert(ts);
        self.prev = Some(ts);
    }

    /// A point in time (e.g. when TIME_WAIT ends) in this writer's style;
    /// delta style shows it relative to the first frame.
    pub(crate) fn point(&self, ts: Timestamp) -> String {
        let mut w = TimeWriter::new(
            match self.format {
                TimeFormat::Delta | TimeFormat::None => TimeFormat::Relative,
                f => f,
            },
            self.nano,
        );
        w.first = self.first;
        let mut out = Vec::new();
        let _ = w.write(&mut out, ts);
        String::from_utf8_lossy(&out).into_owned()
    }
}

thread_local! {
    /// The local UTC offset of the last hour asked about: asking the time-zone
    /// database per row cost more than the rest of a summary row.
    static OFFSET: std::cell::Cell<Option<(i64, i64)>> = const { std::cell::Cell::new(None) };
}

/// Seconds east of UTC, locally, at `secs` (looked up once per hour of capture time).
fn local_offset(secs: i64) -> i64 {
    let hour = secs.div_euclid(3600);
    if let Some((h, off)) = OFFSET.get() {
        if h == hour {
            return off;
        }
    }
    let off = DateTime::<Utc>::from_timestamp(secs, 0).map_or(0, |t| {
        i64::from(t.with_timezone(&Local).offset().local_minus_utc())
    });
    OFFSET.set(Some((hour, off)));
    off
}

/// Local time of day with milliseconds, for tables: 12:01:03.250
pub(crate) fn time_of_day_ms(ts: Timestamp) -> String {
    let n = ts.normalized();
    let day = (n.secs + local_offset(n.secs)).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3600,
        day % 3600 / 60,
        day % 60,
        n.nanos / 1_000_000
    )
}

fn write_fraction(out: &mut Vec<u8>, nanos: u32, nano: bool) {
    let (value, width) = if nano { (nanos, 9) } else { (nanos / 1000, 6) };
    out.push(b'.');
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(value);
    out.extend(std::iter::repeat_n(b'0', width - digits.len()));
    out.extend_from_slice(digits.as_bytes());
}

fn write_seconds(out: &mut Vec<u8>, nanos: i128, nano: bool) -> io::Result<()> {
    if nanos < 0 {
        out.push(b'-');
    }
    let n = nanos.unsigned_abs();
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n / 1_000_000_000).as_bytes());
    write_fraction(out, (n % 1_000_000_000) as u32, nano);
    Ok(())
}

/// RFC 3339 in UTC with as many fraction digits as carry information
/// (0, 3, 6 or 9): lossless for micro- and nanosecond captures alike.
pub(crate) struct Rfc3339 {
    cached_sec: Option<i64>,
    cached: Vec<u8>,
}

impl Default for Rfc3339 {
    fn default() -> Self {
        Rfc3339::new()
    }
}

impl Rfc3339 {
    pub(crate) fn new() -> Rfc3339 {
        Rfc3339 {
            cached_sec: None,
            cached: Vec::with_capacity(24),
        }
    }

    pub(crate) fn write(&mut self, out: &mut Vec<u8>, raw: Timestamp) {
        let ts = raw.normalized();
        if self.cached_sec != Some(ts.secs) {
            self.cached.clear();
            match Utc.timestamp_opt(ts.secs, 0).single() {
                Some(t) => {
                    let _ = write!(self.cached, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
                }
                // Out of chrono's range (a corrupt file): keep it machine-readable.
                None => {
                    let _ = write!(
                        self.cached,
                        "{}",
                        if ts.secs < 0 {
                            "0000-01-01T00:00:00"
                        } else {
                            "9999-12-31T23:59:59"
                        }
                    );
                }
            }
            self.cached_sec = Some(ts.secs);
        }
        out.extend_from_slice(&self.cached);
        let n = ts.nanos;
        if n != 0 {
            let (value, width) = if n % 1_000_000 == 0 {
                (n / 1_000_000, 3)
            } else if n % 1000 == 0 {
                (n / 1000, 6)
            } else {
                (n, 9)
            };
            out.push(b'.');
            let mut buf = itoa::Buffer::new();
            let digits = buf.format(value);
            out.extend(std::iter::repeat_n(b'0', width - digits.len()));
            out.extend_from_slice(digits.as_bytes());
        }
        out.push(b'Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(w: &mut TimeWriter, ts: Timestamp) -> String {
        let mut out = Vec::new();
        w.write(&mut out, ts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn utc_and_epoch() {
        let ts = Timestamp::new(1_700_000_000, 123_456_789);
        assert_eq!(
            render(&mut TimeWriter::new(TimeFormat::Utc, false), ts),
            "2023-11-14 22:13:20.123456"
        );
        assert_eq!(
            render(&mut TimeWriter::new(TimeFormat::Epoch, true), ts),
            "1700000000.123456789"
        );
    }

    #[test]
    fn relative_and_delta() {
        let mut rel = TimeWriter::new(TimeFormat::Relative, false);
        let mut delta = TimeWriter::new(TimeFormat::Delta, false);
        for w in [&mut rel, &mut delta] {
            render(w, Timestamp::new(100, 0));
            render(w, Timestamp::new(101, 500_000_000));
        }
        assert_eq!(render(&mut rel, Timestamp::new(102, 0)), "2.000000");
        assert_eq!(render(&mut delta, Timestamp::new(102, 0)), "0.500000");
    }

    #[test]
    fn bad_nanos_are_carried_and_flagged() {
        let ts = Timestamp::new(1_700_000_000, 1_000_000_001);
        assert_eq!(
            render(&mut TimeWriter::new(TimeFormat::Utc, true), ts),
            "2023-11-14 22:13:21.000000001(bad-ts)"
        );
    }

    #[test]
    fn time_of_day_matches_chrono() {
        for secs in [0i64, 1_700_000_000, 1_700_003_599, 1_800_000_123] {
            let ts = Timestamp::new(secs, 250_000_000);
            let want = DateTime::<Utc>::from_timestamp(secs, 250_000_000)
                .unwrap()
                .with_timezone(&Local)
                .format("%H:%M:%S%.3f")
                .to_string();
            assert_eq!(time_of_day_ms(ts), want);
        }
    }

    #[test]
    fn rfc3339_keeps_every_digit_that_matters() {
        let mut r = Rfc3339::new();
        let mut out = Vec::new();
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789] {
            r.write(&mut out, Timestamp::new(1_700_000_000, nanos));
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2023-11-14T22:13:20Z 2023-11-14T22:13:20.120Z 2023-11-14T22:13:20.123456Z 2023-11-14T22:13:20.123456789Z "
        );
    }
}
