//! Whatever segments it is fed (both directions, any flags, sequence and
//! acknowledgment numbers near and far, segments lost on the way), the
//! analyzer never panics, every state change it reports is an edge of
//! RFC 9293's diagram (or a correction it marks as such), each packet of a
//! connection starts where the previous one left it, and the caps hold.
//! The state door's debug assertion runs here too: these tests are built
//! in debug mode.

use std::collections::HashMap;
use std::convert::Infallible;

use proptest::prelude::*;
use synack_core::analyzer::{AnalyzerConfig, Lookahead, Packet, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::Frame;
use synack_core::synth::{addr, ms, SegmentSpec};
use synack_core::track::{Connection, Event, Facts, TcpState, TrackerConfig, SECOND};
use synack_core::Analyzer;

#[derive(Default)]
struct Check {
    /// Each connection's states after its last packet.
    last: HashMap<u64, [TcpState; 2]>,
    problems: Vec<String>,
    packets: u64,
    retired: u64,
}

impl Sink for Check {
    type Error = Infallible;

    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        self.packets += 1;
        let Some(o) = p.observation else {
            return Ok(());
        };
        for (i, path) in o.paths.iter().enumerate() {
            for w in path.states().windows(2) {
                if !w[0].can_become(w[1]) && !o.corrected[i] {
                    self.problems.push(format!(
                        "frame {}: {} → {} is not an edge",
                        p.frame.number, w[0], w[1]
                    ));
                }
            }
            if let Some(prev) = self.last.get(&o.conn) {
                let was = prev[i];
                if was != path.before() && was != TcpState::Unknown && !o.corrected[i] {
                    self.problems.push(format!(
                        "frame {}: side {i} was {was}, the next packet starts at {}",
                        p.frame.number,
                        path.before()
                    ));
                }
            }
        }
        self.last.insert(o.conn, o.after());
        Ok(())
    }

    fn event(&mut self, e: &Event) -> Result<(), Infallible> {
        if let synack_core::track::EventKind::TimeWaitExpired = e.kind {
            if let Some(s) = self.last.get_mut(&e.conn) {
                s[e.side as usize] = TcpState::Closed;
            }
        }
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        self.retired += 1;
        if f.duration_ns < 0 {
            self.problems
                .push(format!("#{}: negative duration", c.id()));
        }
        self.last.remove(&c.id());
        Ok(())
    }
}

/// One segment: direction, flags, seq and ack offsets (small so they
/// collide, or far), payload length, which of a few 4-tuples, the time
/// step, and whether the capture saw it at all.
fn segment() -> impl Strategy<Value = (bool, u8, u32, u32, u16, u8, u16, bool)> {
    (
        any::<bool>(),
        prop_oneof![
            any::<u8>(),
            // The flags real segments carry, more often.
            prop::sample::select(vec![0x02u8, 0x12, 0x10, 0x18, 0x11, 0x19, 0x04, 0x14]),
        ],
        prop_oneof![0u32..64, any::<u32>()],
        prop_oneof![0u32..64, any::<u32>()],
        prop_oneof![Just(0u16), Just(1), 0u16..1500],
        0u8..3,
        0u16..2000,
        prop::bool::weighted(0.9),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn every_reported_transition_is_an_edge(
        segs in prop::collection::vec(segment(), 1..120),
        base in any::<u32>(),
        summary_only in any::<bool>(),
    ) {
        let mut a = Analyzer::new(AnalyzerConfig {
            tracker: TrackerConfig {
                time_wait_ns: 2 * SECOND,
                idle_timeout_ns: 30 * SECOND,
                max_connections: 2,
                pressure: Default::default(),
            },
            lookahead: (!summary_only).then_some(Lookahead::FILE),
            ..AnalyzerConfig::default()
        });
        let mut check = Check::default();
        let mut t = 0u64;
        let mut frames = 0u64;
        for (dir, flags, seq, ack, len, port, step, seen) in segs {
            t += u64::from(step);
            let c = addr([10, 0, 0, 1], 40000 + u16::from(port));
            let s = addr([10, 0, 0, 2], 80);
            let (src, dst) = if dir { (c, s) } else { (s, c) };
            if !seen {
                // Lost before the capture point: the peers act on it, the capture never sees it.
                continue;
            }
            let mut spec = SegmentSpec::new(src, dst);
            spec.flags = flags;
            spec.seq = base.wrapping_add(seq);
            spec.ack = base.wrapping_add(ack);
            spec.len = len;
            let (bytes, wire_len) = spec.bytes();
            frames += 1;
            let frame = Frame { number: frames, ts: ms(t), wire_len, data: &bytes };
            let Ok(()) = a.frame(&frame, LinkKind::Raw, &mut check);
            prop_assert!(a.tracker().len() <= 2, "the connection cap holds");
        }
        let Ok(()) = a.finish(&mut check);
        prop_assert!(check.problems.is_empty(), "{}", check.problems.join("\n"));
        prop_assert_eq!(check.packets, frames, "every frame is handed on once");
        prop_assert_eq!(check.retired, a.counts().connections);
        prop_assert!(a.tracker().is_empty());
    }
}
