//! The table spills to disk and merges back without changing a byte, and
//! what it holds does not grow with the connections seen.

use std::io;

use synack_core::analyzer::{AnalyzerConfig, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::tcp::flag::{ACK, FIN, RST, SYN};
use synack_core::decode::Frame;
use synack_core::synth::{addr, ms, SegmentSpec};
use synack_core::track::{Connection, Facts, TrackerConfig};
use synack_core::{Analyzer, Counts};

use super::{Bounds, Held, TableView};
use crate::views::time::TimeFormat;
use crate::views::{Look, RunEnd, View};

const PLAIN: Look = Look {
    width: None,
    color: false,
    terminal: false,
};

/// A summary run as `synack read --summary` makes it: no look-ahead.
fn analyzer() -> Analyzer {
    Analyzer::new(AnalyzerConfig {
        tracker: TrackerConfig::default(),
        lookahead: None,
        settled: false,
    })
}

/// Connection `i`'s segments, `gap_ms` after the previous one's start:
/// most close (the client waits out TIME_WAIT), every 7th is refused,
/// and with `mixed` every 5th stays open to the end (so rows retire out
/// of `#` order).
fn segments(i: u32, gap_ms: u64, mixed: bool) -> Vec<(SegmentSpec, u64)> {
    let server = addr([10, 0, 0, 2], 80);
    let client = addr(
        [10, 1, (i >> 16) as u8, (i >> 8) as u8],
        1024 + (i % 60_000) as u16,
    );
    let t = u64::from(i) * gap_ms;
    let (c, s) = (1000u32, 5000u32);
    let steps: &[(bool, u8, u32, u32)] = if i % 7 == 3 {
        &[(true, SYN, c, 0), (false, RST | ACK, 0, c + 1)]
    } else if mixed && i % 5 == 1 {
        &[
            (true, SYN, c, 0),
            (false, SYN | ACK, s, c + 1),
            (true, ACK, c + 1, s + 1),
        ]
    } else {
        &[
            (true, SYN, c, 0),
            (false, SYN | ACK, s, c + 1),
            (true, ACK, c + 1, s + 1),
            (true, FIN | ACK, c + 1, s + 1),
            (false, FIN | ACK, s + 1, c + 2),
            (true, ACK, c + 2, s + 2),
        ]
    };
    steps
        .iter()
        .enumerate()
        .map(|(k, &(from_client, flags, seq, ack))| {
            let mut spec = if from_client {
                SegmentSpec::new(client, server)
            } else {
                SegmentSpec::new(server, client)
            };
            spec.flags = flags;
            spec.seq = seq;
            spec.ack = ack;
            (spec, t + k as u64 / 2)
        })
        .collect()
}

/// Feed `n` connections to `view`; after each, `each(i + 1, analyzer, view)`.
fn feed(
    n: u32,
    gap_ms: u64,
    mixed: bool,
    view: &mut TableView,
    mut each: impl FnMut(u32, &Analyzer, &TableView),
) -> Vec<u8> {
    let mut a = analyzer();
    let mut out = Vec::new();
    let mut frame = 0;
    for i in 0..n {
        for (spec, at) in segments(i, gap_ms, mixed) {
            let (bytes, wire_len) = spec.bytes();
            frame += 1;
            let f = Frame {
                number: frame,
                ts: ms(at),
                wire_len,
                data: &bytes,
            };
            let mut sink = Forward {
                view: &mut *view,
                out: &mut out,
            };
            a.frame(&f, LinkKind::Raw, &mut sink).expect("into memory");
        }
        each(i + 1, &a, view);
    }
    let mut sink = Forward {
        view: &mut *view,
        out: &mut out,
    };
    a.finish(&mut sink).expect("into memory");
    let counts = Counts::default();
    let pressure = a.pressure();
    let end = RunEnd {
        counts: &counts,
        errors: &[],
        kernel: None,
        sections: &[],
        pressure: &pressure,
        shard: None,
    };
    view.finish(&end, &mut out).expect("into memory");
    out
}

/// The analyzer's retired connections, to the table (as `ViewSet` does).
struct Forward<'a> {
    view: &'a mut TableView,
    out: &'a mut Vec<u8>,
}

impl Sink for Forward<'_> {
    type Error = io::Error;
    fn connection(&mut self, c: &Connection, f: &Facts) -> io::Result<()> {
        self.view.connection(c, f, self.out)
    }
}

fn rows_of(out: &[u8]) -> Vec<&str> {
    std::str::from_utf8(out)
        .expect("utf-8")
        .lines()
        .take_while(|l| !l.is_empty())
        .collect()
}

#[test]
fn rows_spilled_to_disk_come_back_in_order_byte_for_byte() {
    // 30 ms apart: most connections retire (TIME_WAIT over) while the
    // capture goes on, the open ones at its end.
    let mut memory = TableView::new(PLAIN, TimeFormat::Relative, false);
    let whole = feed(3_000, 30, true, &mut memory, |_, _, _| {});
    assert_eq!(memory.held().runs, 0);
    let mut spilling = TableView::with_bounds(
        PLAIN,
        TimeFormat::Relative,
        false,
        Bounds {
            rows: 97,
            bytes: 1 << 20,
            runs: 5,
        },
    );
    let mut most_runs = 0;
    let spilled = feed(3_000, 30, true, &mut spilling, |_, _, v| {
        most_runs = most_runs.max(v.held().runs);
    });
    // Five runs are merged into one as soon as the fifth is written.
    assert_eq!(most_runs, 4, "runs were written and merged");
    assert_eq!(
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(&spilled)
    );
    // One header, then every connection once, in `#` order.
    let rows = rows_of(&whole);
    assert!(rows[0].starts_with("#  "), "{}", rows[0]);
    let ids: Vec<u64> = rows[1..]
        .iter()
        .map(|r| r.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=3_000).collect::<Vec<u64>>());
    // Rows did retire out of order: the open ones came last.
    assert!(whole.windows(10).any(|w| w == b"still open"));
}

/// The byte budget, not only the row count, starts a run.
#[test]
fn a_small_byte_budget_spills_too() {
    let mut small = TableView::with_bounds(
        PLAIN,
        TimeFormat::Relative,
        false,
        Bounds {
            rows: 1_000_000,
            bytes: 4_000,
            runs: 3,
        },
    );
    let mut spilled = false;
    let out = feed(1_000, 100, false, &mut small, |_, _, v| {
        spilled |= v.held().runs > 0
    });
    assert!(spilled);
    let mut memory = TableView::new(PLAIN, TimeFormat::Relative, false);
    assert_eq!(out, feed(1_000, 100, false, &mut memory, |_, _, _| {}));
}

/// What the tracker and the table hold: connections, timers, and the
/// table's rows, bytes and runs.
fn held(a: &Analyzer, v: &TableView) -> (usize, usize, Held) {
    (a.tracker().len(), a.tracker().timers_held(), v.held())
}

#[test]
fn what_the_summary_holds_after_200_000_connections_is_no_more_than_after_10_000() {
    // One connection every 10 ms: with 60 s of TIME_WAIT about 6,000 are
    // held at once, reached well before 10,000. The table's bounds are small
    // so that it has spilled and merged many times by then.
    let mut view = TableView::with_bounds(
        PLAIN,
        TimeFormat::Relative,
        false,
        Bounds {
            rows: 1_000,
            bytes: 256 << 10,
            runs: 4,
        },
    );
    let mut early = (0, 0, Held::default());
    let mut late = (0, 0, Held::default());
    let mut at_10k = (0, 0, Held::default());
    feed(200_000, 10, false, &mut view, |i, a, v| {
        let now = held(a, v);
        let mark = if i <= 10_000 { &mut early } else { &mut late };
        mark.0 = mark.0.max(now.0);
        mark.1 = mark.1.max(now.1);
        mark.2.rows = mark.2.rows.max(now.2.rows);
        mark.2.bytes = mark.2.bytes.max(now.2.bytes);
        mark.2.runs = mark.2.runs.max(now.2.runs);
        if i == 10_000 {
            at_10k = now;
        }
    });
    assert!(at_10k.0 > 5_000, "TIME_WAIT holds connections: {at_10k:?}");
    assert!(early.2.runs > 0, "the table spilled by 10,000: {early:?}");
    // The most held at any moment between 10,000 and 200,000 is no more
    // than the most held in the first 10,000.
    assert!(late.0 <= early.0, "connections: {early:?} then {late:?}");
    assert!(late.1 <= early.1, "timers: {early:?} then {late:?}");
    assert!(late.2.rows <= early.2.rows, "rows: {early:?} then {late:?}");
    assert!(
        late.2.bytes <= early.2.bytes,
        "bytes: {early:?} then {late:?}"
    );
    assert!(late.2.runs <= early.2.runs, "runs: {early:?} then {late:?}");
}
