//! The tracker never panics, whatever sequence of segments it is fed, and
//! its bookkeeping stays consistent.

use std::net::SocketAddr;

use proptest::prelude::*;
use synack::decode::tcp::{flag, OptionSummary};
use synack::decode::{Segment, SeqNum, Timestamp};
use synack::track::{Tracker, TrackerConfig, SECOND};

fn segment() -> impl Strategy<Value = (bool, u8, u32, u32, u16, u32, u8, u16)> {
    (
        any::<bool>(), // direction
        any::<u8>(),   // flags
        0u32..64,      // seq offset (small, so numbers collide)
        0u32..64,      // ack offset
        prop_oneof![Just(0u16), Just(1), any::<u16>()],
        prop_oneof![Just(0u32), Just(1), 0u32..3000],
        0u8..3,     // port variant (a few 4-tuples)
        0u16..2000, // time step in ms
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_segment_sequence_is_safe(segs in prop::collection::vec(segment(), 1..120), base in any::<u32>()) {
        let mut t = Tracker::new(TrackerConfig {
            time_wait_ns: 2 * SECOND,
            idle_timeout_ns: 30 * SECOND,
            max_connections: 2,
        });
        let mut ms = 0u64;
        for (i, (dir, flags, seq, ack, win, len, port, step)) in segs.into_iter().enumerate() {
            ms += u64::from(step);
            let a: SocketAddr = format!("10.0.0.1:{}", 40000 + u16::from(port)).parse().unwrap();
            let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
            let (src, dst) = if dir { (a, b) } else { (b, a) };
            let seg = Segment {
                frame: i as u64 + 1,
                ts: Timestamp::new((ms / 1000) as i64, ((ms % 1000) * 1_000_000) as u32),
                src_mac: None,
                dst_mac: None,
                src,
                dst,
                flags,
                seq: SeqNum(base.wrapping_add(seq)),
                ack: (flags & flag::ACK != 0).then_some(SeqNum(base.wrapping_add(ack))),
                window: win,
                urgent_ptr: 0,
                payload_len: len,
                options: OptionSummary { window_scale: Some(7), ..Default::default() },
                truncated: false,
            };
            let obs = t.observe(&seg);
            prop_assert!(obs.conn >= 1 && obs.conn <= t.connections_seen());
            for e in t.events() {
                prop_assert!(e.conn <= t.connections_seen());
            }
            prop_assert!(t.len() <= 2, "the connection cap holds");
            let _ = t.drain_retired().count();
        }
        t.finish();
        let mut retired = 0;
        while t.next_retired().is_some() {
            retired += 1;
        }
        prop_assert!(retired >= 1);
        prop_assert!(t.is_empty());
    }
}
