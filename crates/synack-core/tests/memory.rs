//! Memory follows the connections open (or in TIME_WAIT), never the
//! connections ever seen: after 200,000 short connections the analyzer
//! holds no more than after 10,000, with the default cap and with a small one.

use std::convert::Infallible;

use synack_core::analyzer::{AnalyzerConfig, Lookahead, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::tcp::flag::{ACK, FIN, SYN};
use synack_core::decode::Frame;
use synack_core::synth::{addr, ms, SegmentSpec};
use synack_core::track::{Connection, Facts, TrackerConfig};
use synack_core::Analyzer;

#[derive(Default)]
struct Count {
    retired: u64,
}

impl Sink for Count {
    type Error = Infallible;
    fn connection(&mut self, _c: &Connection, _f: &Facts) -> Result<(), Infallible> {
        self.retired += 1;
        Ok(())
    }
}

/// What the analyzer holds now: connections, timers, packets held back.
fn held(a: &Analyzer) -> (usize, usize, usize) {
    (
        a.tracker().len(),
        a.tracker().timers_held(),
        a.held_packets(),
    )
}

/// `n` short connections, one every 5 ms, each closed by the client (so
/// each client end waits out TIME_WAIT): handshake, close.
fn run(n: u32, cfg: AnalyzerConfig, checkpoints: &[u32]) -> Vec<(usize, usize, usize)> {
    let mut a = Analyzer::new(cfg);
    let mut sink = Count::default();
    let server = addr([10, 0, 0, 2], 80);
    let mut frame = 0;
    let mut seen = Vec::new();
    for i in 0..n {
        let client = addr(
            [10, 1, (i >> 16) as u8, (i >> 8) as u8],
            1024 + (i % 60_000) as u16,
        );
        let t = u64::from(i) * 5;
        let c = 1000u32;
        let s = 5000u32;
        for (k, (from_client, flags, seq, ack)) in [
            (true, SYN, c, 0),
            (false, SYN | ACK, s, c + 1),
            (true, ACK, c + 1, s + 1),
            (true, FIN | ACK, c + 1, s + 1),
            (false, FIN | ACK, s + 1, c + 2),
            (true, ACK, c + 2, s + 2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut spec = if from_client {
                SegmentSpec::new(client, server)
            } else {
                SegmentSpec::new(server, client)
            };
            spec.flags = flags;
            spec.seq = seq;
            spec.ack = ack;
            let (bytes, wire_len) = spec.bytes();
            frame += 1;
            let f = Frame {
                number: frame,
                ts: ms(t + k as u64 / 2),
                wire_len,
                data: &bytes,
            };
            let Ok(()) = a.frame(&f, LinkKind::Raw, &mut sink);
        }
        if checkpoints.contains(&(i + 1)) {
            seen.push(held(&a));
        }
    }
    let Ok(()) = a.finish(&mut sink);
    assert_eq!(sink.retired, u64::from(n));
    seen
}

fn assert_bounded(seen: &[(usize, usize, usize)]) {
    let (early, late) = (seen[0], seen[seen.len() - 1]);
    assert!(
        late.0 <= early.0 + early.0 / 10 + 10,
        "connections: {seen:?}"
    );
    assert!(late.1 <= early.1 + early.1 / 10 + 1100, "timers: {seen:?}");
    assert!(late.2 <= early.2 + 100, "held packets: {seen:?}");
}

#[test]
fn what_is_held_after_200_000_connections_is_what_was_held_after_10_000() {
    // TIME_WAIT (60 s) at one connection per 5 ms: about 12,000 in it at once.
    let seen = run(
        200_000,
        AnalyzerConfig {
            tracker: TrackerConfig::default(),
            lookahead: Some(Lookahead::FILE),
            ..AnalyzerConfig::default()
        },
        &[20_000, 100_000, 200_000],
    );
    assert!(seen[0].0 > 10_000, "TIME_WAIT holds connections: {seen:?}");
    assert_bounded(&seen);
}

#[test]
fn the_connection_cap_bounds_time_wait_and_timers_too() {
    let seen = run(
        100_000,
        AnalyzerConfig {
            tracker: TrackerConfig {
                max_connections: 1000,
                ..TrackerConfig::default()
            },
            lookahead: None,
            ..AnalyzerConfig::default()
        },
        &[10_000, 100_000],
    );
    for s in &seen {
        assert!(s.0 <= 1000, "{seen:?}");
        assert!(s.1 <= 2 * 1000 + 1024, "{seen:?}");
    }
}
