//! Decoding and analysis never panic, whatever the bytes, under every link
//! type. (Rendering the same frames is tested beside the views.)

use std::convert::Infallible;

use proptest::prelude::*;
use synack_core::analyzer::{Packet, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::{decode, Frame, Segment, Timestamp};
use synack_core::Analyzer;

const LINKS: [LinkKind; 6] = [
    LinkKind::Ethernet,
    LinkKind::LinuxSll,
    LinkKind::LinuxSll2,
    LinkKind::Null,
    LinkKind::Loop,
    LinkKind::Raw,
];

/// Frames that reach deep layers: a valid-looking prefix for the link type,
/// then random bytes, so the IP and TCP paths get exercised, not just the link.
fn plausible_frame() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (
        0..LINKS.len(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..160),
    )
        .prop_map(|(i, v6, tail)| {
            let mut f = match LINKS[i] {
                LinkKind::Ethernet => {
                    let mut h = vec![0x02; 12];
                    h.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
                    h
                }
                LinkKind::LinuxSll => {
                    let mut h = vec![0; 14];
                    h.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
                    h
                }
                LinkKind::LinuxSll2 => {
                    let mut h = if v6 {
                        vec![0x86, 0xdd]
                    } else {
                        vec![0x08, 0x00]
                    };
                    h.extend([0; 18]);
                    h
                }
                LinkKind::Null => vec![if v6 { 10 } else { 2 }, 0, 0, 0],
                LinkKind::Loop => vec![0, 0, 0, if v6 { 30 } else { 2 }],
                LinkKind::Raw => vec![],
            };
            if v6 {
                f.extend([0x60, 0, 0, 0]);
            } else {
                f.push(0x45);
            }
            f.extend(tail);
            (i, f)
        })
}

/// Counts what it is handed; asserts the packet's parts agree.
#[derive(Default)]
struct Seen(u64);

impl Sink for Seen {
    type Error = Infallible;
    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        self.0 += 1;
        assert_eq!(p.segment.is_some(), p.observation.is_some());
        Ok(())
    }
}

fn exercise(link: LinkKind, data: &[u8], wire_len: u32, a: &mut Analyzer) {
    let frame = Frame {
        number: 1,
        ts: Timestamp::new(1_700_000_000, 1_234_567_890),
        wire_len,
        data,
    };
    let decoded = decode(link, data);
    let _ = Segment::from_decoded(&frame, &decoded);
    let mut seen = Seen::default();
    let Ok(()) = a.frame(&frame, link, &mut seen);
    let Ok(()) = a.finish(&mut seen);
    assert_eq!(seen.0, 1, "the frame is handed on once");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn arbitrary_bytes_never_panic(i in 0..LINKS.len(), data in prop::collection::vec(any::<u8>(), 0..200), extra in 0u32..100) {
        let mut a = Analyzer::new(Default::default());
        exercise(LINKS[i], &data, data.len() as u32 + extra, &mut a);
    }

    #[test]
    fn plausible_frames_never_panic((i, data) in plausible_frame(), cut in 0usize..200) {
        let cut = cut.min(data.len());
        let mut a = Analyzer::new(Default::default());
        exercise(LINKS[i], &data[..cut], data.len() as u32, &mut a);
        let mut a = Analyzer::new(Default::default());
        exercise(LINKS[i], &data, data.len() as u32, &mut a);
    }
}
