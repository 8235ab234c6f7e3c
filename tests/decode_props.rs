//! Decoding and analysis never panic, whatever the bytes, under every link
//! type. (Rendering the same frames is tested beside the views.)

use std::convert::Infallible;

use proptest::prelude::*;
use synack_core::analyzer::{Packet, Sink};
use synack_core::counts::Counts;
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

/// TCP over IPv4 or IPv6 behind each link type, with the fields that steer
/// decoding drawn at random: header lengths, length fields (too short, too
/// long, zero), fragment bits, extension headers, data offset, options,
/// and a cut anywhere.
fn tcp_frame() -> impl Strategy<Value = (usize, Vec<u8>, usize)> {
    (
        (0..LINKS.len(), any::<bool>(), 0u8..3, any::<u16>()),
        (
            prop::sample::select(vec![4u8, 5, 5, 5, 6, 7, 15]),
            any::<u16>(),
            any::<u16>(),
        ),
        (
            prop::sample::select(vec![6u8, 6, 6, 0, 17, 44, 51, 60]),
            any::<u8>(),
        ),
        (
            prop::sample::select(vec![0u8, 4, 5, 5, 8, 10, 15]),
            prop::collection::vec(any::<u8>(), 0..60),
        ),
        (
            prop::collection::vec(any::<u8>(), 20),
            0usize..400,
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                (i, v6, len_kind, len_raw),
                (ihl, frag, tos),
                (proto, flags),
                (doff, opts),
                (tcp_fixed, cut, pad),
            )| {
                let (mut f, _) = (Vec::new(), 0);
                match LINKS[i] {
                    LinkKind::Ethernet => {
                        f.extend([0x02; 12]);
                        f.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
                    }
                    LinkKind::LinuxSll => {
                        f.extend([0; 14]);
                        f.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
                    }
                    LinkKind::LinuxSll2 => {
                        f.extend(if v6 { [0x86, 0xdd] } else { [0x08, 0x00] });
                        f.extend([0; 18]);
                    }
                    LinkKind::Null => f.extend([if v6 { 10 } else { 2 }, 0, 0, 0]),
                    LinkKind::Loop => f.extend([0, 0, 0, if v6 { 30 } else { 2 }]),
                    LinkKind::Raw => {}
                }
                let mut tcp = tcp_fixed.clone();
                tcp[12] = (doff << 4) | (tcp[12] & 0x0f);
                tcp[13] = flags;
                tcp.extend(&opts);
                let ip_start = f.len();
                if v6 {
                    f.extend([0x60 | (tos >> 12) as u8, (tos >> 4) as u8, 0, 0]);
                    f.extend([0, 0, proto, 64]);
                    f.extend((0..32).map(|k| (k * 7 + pad as usize) as u8));
                    if proto == 44 {
                        // A fragment header, then TCP.
                        f.extend([6, 0, (frag >> 8) as u8, frag as u8, 0, 0, 0, 1]);
                    }
                } else {
                    f.extend([
                        0x40 | ihl,
                        tos as u8,
                        0,
                        0,
                        0,
                        1,
                        (frag >> 8) as u8,
                        frag as u8,
                    ]);
                    f.extend([64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
                    for _ in 5..ihl.max(5) {
                        f.extend([1, 1, 1, 1]);
                    }
                }
                let header = f.len() - ip_start;
                f.extend(&tcp);
                // The length field: right, random, or zero.
                let body = f.len() - ip_start;
                let len = match len_kind {
                    0 => {
                        if v6 {
                            body - 40
                        } else {
                            body
                        }
                    }
                    1 => usize::from(len_raw),
                    _ => 0,
                } as u16;
                let at = ip_start + if v6 { 4 } else { 2 };
                f[at..at + 2].copy_from_slice(&len.to_be_bytes());
                let _ = header;
                // Ethernet padding past the datagram, sometimes.
                f.extend(std::iter::repeat_n(0u8, usize::from(pad % 8)));
                let cut = cut.min(f.len());
                (i, f, cut)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20000))]

    /// The short way to a segment gives what the full decode gives, and is
    /// only taken for frames the full decode counts as TCP.
    #[test]
    fn the_short_way_to_a_segment_is_the_full_decode(
        (i, data, cut) in tcp_frame(),
        (number, secs, nanos) in (1u64..1_000_000, any::<i32>(), 0u32..1_000_000_000),
    ) {
        for data in [&data[..], &data[..cut]] {
            let frame = Frame {
                number,
                ts: Timestamp::new(i64::from(secs), nanos),
                wire_len: 1500,
                data,
            };
            let decoded = decode(LINKS[i], data);
            let full = Segment::from_decoded(&frame, &decoded);
            if let Some(short) = Segment::of_frame(&frame, LINKS[i]) {
                prop_assert_eq!(Some(short), full);
                let (mut a, mut b) = (Counts::default(), Counts::default());
                a.add(&frame, &decoded);
                b.add_tcp(&frame);
                prop_assert_eq!(a, b);
            }
        }
    }
}
