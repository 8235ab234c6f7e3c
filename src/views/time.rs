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
    /// Local date and time, as tcpdump -tttt: 2026-11-22 12:00:01.000123
    Date,
    /// Seconds since 1970: 1795521601.000123 (as -tt)
    Epoch,
    /// Seconds since the first frame: 1.250000 (-ttttt writes it as 00:00:01.250000)
    Relative,
    /// Seconds since the previous frame: 0.000059 (-ttt writes it as 00:00:00.000059)
    Delta,
    /// No timestamp (as -t)
    None,
    /// Since the previous frame as tcpdump -ttt writes it: ` 00:00:00.000059`
    /// (a leading space, or '-' when time went back)
    #[value(skip)]
    DeltaClock,
    /// Since the first frame as tcpdump -ttttt writes it: ` 00:00:01.250000`
    #[value(skip)]
    RelativeClock,
}

impl TimeFormat {
    /// tcpdump's `-t` family: the number of t's given (1–5) as a format.
    pub(crate) fn from_tcpdump_t(count: u8) -> Option<TimeFormat> {
        match count {
            1 => Some(TimeFormat::None),
            2 => Some(TimeFormat::Epoch),
            3 => Some(TimeFormat::DeltaClock),
            4 => Some(TimeFormat::Date),
            5 => Some(TimeFormat::RelativeClock),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub(crate) struct TimeWriter {
    format: TimeFormat,
    nano: bool,
    first: Option<Timestamp>,
    prev: Option<Timestamp>,
    /// The clock text of the last few seconds written.
    cache: PointCache,
    /// The same for points in time (`point`), a few seconds at once: they
    /// come in their own order (a TIME_WAIT's end a minute ahead of the
    /// packets, next to one expiring now).
    point_cache: std::cell::RefCell<PointCache>,
}

impl TimeWriter {
    pub(crate) fn new(format: TimeFormat, nano: bool) -> TimeWriter {
        TimeWriter {
            format,
            nano,
            first: None,
            prev: None,
            cache: PointCache::default(),
            point_cache: std::cell::RefCell::new(PointCache::default()),
        }
    }

    /// Write the timestamp of the next frame (frames must come in order of reading).
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, raw: Timestamp) -> io::Result<()> {
        let ts = self.shown(raw);
        let first = *self.first.get_or_insert(ts);
        let prev = self.prev.replace(ts).unwrap_or(ts);
        match self.format {
            TimeFormat::None => return Ok(()),
            TimeFormat::Relative => write_seconds(out, ts.nanos_since(first), self.nano)?,
            TimeFormat::Delta => write_seconds(out, ts.nanos_since(prev), self.nano)?,
            TimeFormat::Epoch => write_seconds(out, ts.as_nanos(), self.nano)?,
            TimeFormat::DeltaClock => write_clock(out, ts.nanos_since(prev), self.nano),
            TimeFormat::RelativeClock => write_clock(out, ts.nanos_since(first), self.nano),
            TimeFormat::Local | TimeFormat::Utc | TimeFormat::Date => {
                // A few seconds cached: a table row's start and its
                // TIME_WAIT's end a minute later alternate.
                out.extend_from_slice(self.cache.get(self.format, ts.secs));
                write_fraction(out, ts.nanos, self.nano);
            }
        }
        if raw.is_invalid() {
            out.extend_from_slice(b"(bad-ts)");
        }
        Ok(())
    }
}

/// The clock text of the last few seconds asked for.
#[derive(Default, Clone)]
struct PointCache {
    slots: [(Option<i64>, Vec<u8>); 4],
    next: usize,
}

impl PointCache {
    fn get(&mut self, format: TimeFormat, secs: i64) -> &[u8] {
        let i = match self.slots.iter().position(|(s, _)| *s == Some(secs)) {
            Some(i) => i,
            None => {
                let i = self.next;
                self.next = (i + 1) % self.slots.len();
                let (sec, text) = &mut self.slots[i];
                text.clear();
                let _ = clock_text(format, secs, text);
                *sec = Some(secs);
                i
            }
        };
        &self.slots[i].1
    }
}

/// The date and time of day (to the second) of `secs` in a clock `format`.
fn clock_text(format: TimeFormat, secs: i64, out: &mut Vec<u8>) -> io::Result<()> {
    let fmt = if format == TimeFormat::Local {
        "%H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    match DateTime::<Utc>::from_timestamp(secs, 0) {
        Some(t) if format != TimeFormat::Utc => {
            write!(out, "{}", t.with_timezone(&Local).format(fmt))
        }
        Some(t) => write!(out, "{}", t.format(fmt)),
        None => write!(out, "@{secs}"),
    }
}

impl TimeWriter {
    /// The instant as shown: in microseconds unless `--nano`, cut (not
    /// rounded) as libpcap hands a nanosecond file to tcpdump, so a span is
    /// the difference of the times printed (tcpdump -ttt's too).
    fn shown(&self, raw: Timestamp) -> Timestamp {
        let ts = raw.normalized();
        if self.nano {
            ts
        } else {
            Timestamp::new(ts.secs, ts.nanos - ts.nanos % 1000)
        }
    }

    /// A frame went by without its time being written (`--time none`):
    /// points in time are still told relative to the first frame.
    pub(crate) fn pass(&mut self, raw: Timestamp) {
        let ts = self.shown(raw);
        self.first.get_or_insert(ts);
        self.prev = Some(ts);
    }

    /// A point in time (e.g. when TIME_WAIT ends) in this writer's style;
    /// delta styles show it relative to the first frame.
    pub(crate) fn point(&self, ts: Timestamp) -> String {
        let format = match self.format {
            TimeFormat::Delta | TimeFormat::None => TimeFormat::Relative,
            TimeFormat::DeltaClock => TimeFormat::RelativeClock,
            f => f,
        };
        let mut out = Vec::with_capacity(32);
        if matches!(
            format,
            TimeFormat::Local | TimeFormat::Utc | TimeFormat::Date
        ) {
            // As `write` does, with its own cache of the second.
            let shown = self.shown(ts);
            let mut cache = self.point_cache.borrow_mut();
            out.extend_from_slice(cache.get(format, shown.secs));
            write_fraction(&mut out, shown.nanos, self.nano);
            if ts.is_invalid() {
                out.extend_from_slice(b"(bad-ts)");
            }
        } else {
            let mut w = TimeWriter::new(format, self.nano);
            w.first = self.first;
            let _ = w.write(&mut out, ts);
        }
        // tcpdump's leading space lines up its columns; inside a sentence it is noise.
        let text = out.strip_prefix(b" ").unwrap_or(&out);
        String::from_utf8_lossy(text).into_owned()
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
    let mut out = Vec::with_capacity(12);
    write_time_of_day_ms(&mut out, ts);
    String::from_utf8(out).unwrap_or_default()
}

/// [`time_of_day_ms`], written straight into `out` (a table row).
pub(crate) fn write_time_of_day_ms(out: &mut Vec<u8>, ts: Timestamp) {
    let n = ts.normalized();
    let day = (n.secs + local_offset(n.secs)).rem_euclid(86_400);
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    two(out, day / 3600);
    out.push(b':');
    two(out, day % 3600 / 60);
    out.push(b':');
    two(out, day % 60);
    out.push(b'.');
    let ms = n.nanos / 1_000_000;
    out.push(b'0' + (ms / 100) as u8);
    out.push(b'0' + (ms / 10 % 10) as u8);
    out.push(b'0' + (ms % 10) as u8);
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

/// A signed span as tcpdump's -ttt and -ttttt write it: a space or '-',
/// then hours, minutes, seconds and the fraction. tcpdump formats the span
/// with gmtime(), so a span of a day or more starts again at 00; here the
/// hours keep counting (25:00:00.000000), the one difference.
fn write_clock(out: &mut Vec<u8>, nanos: i128, nano: bool) {
    out.push(if nanos < 0 { b'-' } else { b' ' });
    let n = nanos.unsigned_abs();
    let secs = n / 1_000_000_000;
    let two = |out: &mut Vec<u8>, v: u128| {
        out.push(b'0' + (v / 10 % 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    let hours = secs / 3600;
    if hours >= 100 {
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(hours).as_bytes());
    } else {
        two(out, hours);
    }
    out.push(b':');
    two(out, secs % 3600 / 60);
    out.push(b':');
    two(out, secs % 60);
    write_fraction(out, (n % 1_000_000_000) as u32, nano);
}

/// 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in seconds since 1970.
const YEAR_0000: i64 = -62_167_219_200;
const YEAR_10000: i64 = 253_402_300_800;

/// `YYYY-MM-DDTHH:MM:SS` in UTC for a year 0000–9999, by hand (the
/// proleptic Gregorian calendar, as chrono; H. Hinnant's civil_from_days).
fn write_utc_date_time(out: &mut Vec<u8>, secs: i64) {
    let days = secs.div_euclid(86_400);
    let day_secs = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let digits = |out: &mut Vec<u8>, v: i64, n: u32| {
        for k in (0..n).rev() {
            out.push(b'0' + (v / 10i64.pow(k) % 10) as u8);
        }
    };
    digits(out, year, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b'T');
    digits(out, day_secs / 3600, 2);
    out.push(b':');
    digits(out, day_secs % 3600 / 60, 2);
    out.push(b':');
    digits(out, day_secs % 60, 2);
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
            if (YEAR_0000..YEAR_10000).contains(&ts.secs) {
                write_utc_date_time(&mut self.cached, ts.secs);
            } else {
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
    fn date_is_local_date_and_time() {
        let ts = Timestamp::new(1_700_000_000, 123_456_789);
        let want = DateTime::<Utc>::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S.123456")
            .to_string();
        assert_eq!(
            render(&mut TimeWriter::new(TimeFormat::Date, false), ts),
            want
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
        // Spans are between the microseconds shown, as tcpdump's.
        render(&mut delta, Timestamp::new(103, 787_926));
        assert_eq!(render(&mut delta, Timestamp::new(103, 808_567)), "0.000021");
    }

    #[test]
    fn tcpdump_clock_spans() {
        let mut rel = TimeWriter::new(TimeFormat::RelativeClock, false);
        let mut delta = TimeWriter::new(TimeFormat::DeltaClock, true);
        assert_eq!(render(&mut rel, Timestamp::new(100, 0)), " 00:00:00.000000");
        assert_eq!(
            render(&mut delta, Timestamp::new(100, 0)),
            " 00:00:00.000000000"
        );
        for w in [&mut rel, &mut delta] {
            render(w, Timestamp::new(3_761, 500_000_000));
        }
        assert_eq!(
            render(&mut rel, Timestamp::new(3_762, 0)),
            " 01:01:02.000000"
        );
        assert_eq!(
            render(&mut delta, Timestamp::new(3_761, 0)),
            "-00:00:00.500000000"
        );
        // A day or more: the hours keep counting (tcpdump's gmtime would wrap).
        assert_eq!(
            render(&mut rel, Timestamp::new(100 + 90_000, 7_000)),
            " 25:00:00.000007"
        );
        assert_eq!(rel.point(Timestamp::new(160, 0)), "00:01:00.000000");
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
    fn utc_date_time_by_hand_matches_chrono() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut cases = vec![
            YEAR_0000,
            YEAR_10000 - 1,
            0,
            -1,
            951_782_400, // 2000-02-29
            4_107_542_399,
            -2_208_988_800,
        ];
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(YEAR_0000 + (x % (YEAR_10000 - YEAR_0000) as u64) as i64);
        }
        for secs in cases {
            let want = Utc
                .timestamp_opt(secs, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            let mut out = Vec::new();
            write_utc_date_time(&mut out, secs);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{secs}");
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
