//! Decoding and analysis never panic, whatever the bytes, under every link
//! type. (Rendering the same frames is tested beside the views.)

use std::convert::Infallible;

use proptest::prelude::*;
use synack_core::analyzer::{Packet, Sink};
use synack_core::counts::Counts;
use synack_core::decode::link::LinkKind;
use synack_core::decode::{decode, Frame, Segment, Timestamp};
use synack_core::Analyzer;

const LINKS: [LinkKind; 14] = [
    LinkKind::Ethernet,
    LinkKind::LinuxSll,
    LinkKind::LinuxSll2,
    LinkKind::Null,
    LinkKind::Loop,
    LinkKind::Raw,
    LinkKind::Ppp,
    LinkKind::PppHdlc,
    LinkKind::CiscoHdlc,
    LinkKind::Ieee80211,
    LinkKind::Radiotap,
    LinkKind::Pflog,
    LinkKind::Nflog,
    LinkKind::Ipoib,
];

/// A valid link header announcing IPv4 or IPv6, for each link type.
fn link_prefix(link: LinkKind, v6: bool) -> Vec<u8> {
    let ethertype = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let wlan = || {
        // A data frame To DS (24 bytes), then LLC/SNAP.
        let mut h = vec![0x08, 0x01, 0, 0];
        h.extend([0x02; 20]);
        h.extend([0xaa, 0xaa, 0x03, 0, 0, 0]);
        h.extend(ethertype);
        h
    };
    match link {
        LinkKind::Ethernet => {
            let mut h = vec![0x02; 12];
            h.extend(ethertype);
            h
        }
        LinkKind::LinuxSll => {
            let mut h = vec![0; 14];
            h.extend(ethertype);
            h
        }
        LinkKind::LinuxSll2 => {
            let mut h = ethertype.to_vec();
            h.extend([0; 18]);
            h
        }
        LinkKind::Null => vec![if v6 { 10 } else { 2 }, 0, 0, 0],
        LinkKind::Loop => vec![0, 0, 0, if v6 { 30 } else { 2 }],
        LinkKind::Raw => vec![],
        LinkKind::Ppp | LinkKind::PppHdlc => vec![0xff, 0x03, 0x00, if v6 { 0x57 } else { 0x21 }],
        LinkKind::CiscoHdlc => {
            let mut h = vec![0x0f, 0];
            h.extend(ethertype);
            h
        }
        LinkKind::Ieee80211 => wlan(),
        LinkKind::Radiotap => {
            let mut h = vec![0, 0, 8, 0, 0, 0, 0, 0];
            h.extend(wlan());
            h
        }
        LinkKind::Pflog => {
            let mut h = vec![100, if v6 { 24 } else { 2 }, 0, 0];
            h.resize(100, 0);
            h
        }
        // The payload attribute claims more than any frame holds.
        LinkKind::Nflog => vec![if v6 { 10 } else { 2 }, 0, 0, 1, 0xf0, 0xff, 9, 0],
        LinkKind::Ipoib => {
            let mut h = vec![0; 40];
            h.extend(ethertype);
            h.extend([0, 0]);
            h
        }
    }
}

/// Frames that reach deep layers: a valid-looking prefix for the link type,
/// then random bytes, so the IP and TCP paths get exercised, not just the link.
fn plausible_frame() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (
        0..LINKS.len(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..160),
    )
        .prop_map(|(i, v6, tail)| {
            let mut f = link_prefix(LINKS[i], v6);
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
        (
            0..LINKS.len(),
            any::<bool>(),
            0u8..3,
            any::<u16>(),
            any::<u8>(),
        ),
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
                (i, v6, len_kind, len_raw, vlan),
                (ihl, frag, tos),
                (proto, flags),
                (doff, opts),
                (tcp_fixed, cut, pad),
            )| {
                let mut f = link_prefix(LINKS[i], v6);
                // Sometimes a VLAN tag (ID 0 too: priority only) in Ethernet:
                // a tagged frame belongs to its VLAN's connection.
                if LINKS[i] == LinkKind::Ethernet && vlan % 4 == 0 {
                    f.splice(12..12, [0x81, 0x00, vlan >> 4, 0]);
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
                prop_assert!(decoded.encap.is_empty());
                let (mut a, mut b) = (Counts::default(), Counts::default());
                a.add(&frame, &decoded);
                b.add_tcp(&frame);
                prop_assert_eq!(a, b);
            }
        }
    }
}

/// What a stack of headers built from the inside out has become, so the
/// next header out can name it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Inner {
    Ipv4,
    Ipv6,
    /// An MPLS label stack entry on top.
    Mpls,
    /// A VLAN tag with this TPID on top.
    Vlan(u16),
    Pppoe,
    /// A whole Ethernet frame (inside a tunnel).
    Ethernet,
    /// A GRE header on top (an IP protocol 47 payload).
    Gre,
    /// A UDP header and a VXLAN or Geneve header on top (IP protocol 17).
    Udp,
    /// An ERSPAN II header on top (GRE protocol 0x88be with S).
    Erspan,
}

impl Inner {
    /// The EtherType naming it; `None` where a tunnel header must come first.
    fn ethertype(self) -> Option<u16> {
        Some(match self {
            Inner::Ipv4 => 0x0800,
            Inner::Ipv6 => 0x86dd,
            Inner::Mpls => 0x8847,
            Inner::Vlan(tpid) => tpid,
            Inner::Pppoe => 0x8864,
            Inner::Ethernet | Inner::Gre | Inner::Udp | Inner::Erspan => return None,
        })
    }
}

/// A TCP SYN from 10.0.0.1:40000 to 10.0.0.2:9999 in IPv4 (the innermost packet).
fn syn_packet() -> Vec<u8> {
    let mut p = vec![
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    p.extend([
        0x9c, 0x40, 0x27, 0x0f, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
    ]);
    p.extend([0, 0, 0, 0]);
    p
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend(total.to_be_bytes());
    h.extend([0, 0, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    h.extend(payload);
    h
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([next, 64]);
    h.extend(
        [0x20, 0x01, 0x0d, 0xb8]
            .iter()
            .chain([0u8; 11].iter())
            .chain([1].iter()),
    );
    h.extend(
        [0x20, 0x01, 0x0d, 0xb8]
            .iter()
            .chain([0u8; 11].iter())
            .chain([2].iter()),
    );
    h.extend(payload);
    h
}

fn udp(port: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0xc0, 0x01];
    h.extend(port.to_be_bytes());
    h.extend(((8 + payload.len()) as u16).to_be_bytes());
    h.extend([0, 0]);
    h.extend(payload);
    h
}

/// Wrap `(bytes, inner)` in one more header chosen by `choice`, if that
/// header can carry what is inside; `None` when it cannot.
fn wrap(choice: u8, r: u8, bytes: &[u8], inner: Inner) -> Option<(Vec<u8>, Inner)> {
    let mut h = Vec::new();
    let out = match choice % 10 {
        0 | 1 => {
            // 802.1Q, 802.1ad or the old QinQ TPID.
            let t = inner.ethertype()?;
            let tpid = [0x8100, 0x88a8, 0x9100][usize::from(r % 3)];
            h.extend(u16::from(r).to_be_bytes());
            h.extend(t.to_be_bytes());
            Inner::Vlan(tpid)
        }
        2 => {
            let bottom = match inner {
                Inner::Ipv4 | Inner::Ipv6 => 0x100,
                Inner::Mpls => 0,
                _ => return None,
            };
            h.extend(((u32::from(r) << 12) | bottom | 64).to_be_bytes());
            Inner::Mpls
        }
        3 => {
            let proto: u16 = match inner {
                Inner::Ipv4 => 0x0021,
                Inner::Ipv6 => 0x0057,
                Inner::Mpls => 0x0281,
                _ => return None,
            };
            h.extend([0x11, 0, 0, r]);
            h.extend(((bytes.len() + 2) as u16).to_be_bytes());
            h.extend(proto.to_be_bytes());
            Inner::Pppoe
        }
        4 => {
            let t = inner.ethertype()?;
            h.extend([0x02, 0, 0, 0, 0, r, 0x02, 0, 0, 0, 1, r]);
            h.extend(t.to_be_bytes());
            Inner::Ethernet
        }
        5 => {
            // GRE with any of C, K, S, around anything with an EtherType.
            let (proto, seq) = match inner {
                Inner::Ethernet => (0x6558, r & 4 != 0),
                Inner::Erspan => (0x88be, true),
                other => (other.ethertype()?, r & 4 != 0),
            };
            let (c, k) = (r & 1 != 0, r & 2 != 0);
            let flags: u16 = (u16::from(c) << 15) | (u16::from(k) << 13) | (u16::from(seq) << 12);
            h.extend(flags.to_be_bytes());
            h.extend(proto.to_be_bytes());
            for present in [c, k, seq] {
                if present {
                    h.extend([0, 0, 0, r]);
                }
            }
            Inner::Gre
        }
        6 => {
            if inner != Inner::Ethernet {
                return None;
            }
            h.extend([0x10, 0, 0, r, 0, 0, 0, 5]);
            Inner::Erspan
        }
        7 => {
            if inner != Inner::Ethernet {
                return None;
            }
            let mut vx = vec![0x08, 0, 0, 0, 0, 0, r, 0];
            vx.extend(bytes);
            return Some((udp(4789, &vx), Inner::Udp));
        }
        8 => {
            let proto = match inner {
                Inner::Ethernet => 0x6558,
                other => other.ethertype()?,
            };
            let opt_words = r % 4;
            let mut gv = vec![opt_words, 0];
            gv.extend(proto.to_be_bytes());
            gv.extend([0, 0, r, 0]);
            gv.extend(vec![0u8; usize::from(opt_words) * 4]);
            gv.extend(bytes);
            return Some((udp(6081, &gv), Inner::Udp));
        }
        _ => {
            let proto = match inner {
                Inner::Ipv4 => 4,
                Inner::Ipv6 => 41,
                Inner::Gre => 47,
                Inner::Udp => 17,
                _ => return None,
            };
            return Some(if r & 1 == 0 {
                (ipv4(proto, bytes), Inner::Ipv4)
            } else {
                (ipv6(proto, bytes), Inner::Ipv6)
            });
        }
    };
    h.extend(bytes);
    Some((h, out))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Random stacks of tags, labels and tunnels around a SYN: decoded to
    /// the SYN with one path entry per header while they fit, stopped
    /// with "nested too deep" beyond, never a panic, never more than
    /// MAX_ENCAP layers.
    #[test]
    fn hostile_nesting_is_followed_or_stopped(
        layers in prop::collection::vec((any::<u8>(), any::<u8>()), 0..40),
        cut in any::<prop::sample::Index>(),
    ) {
        use synack_core::decode::encap::MAX_ENCAP;
        use synack_core::decode::DecodeError;
        let (mut bytes, mut inner) = (syn_packet(), Inner::Ipv4);
        let mut headers = 0;
        for (choice, r) in layers {
            if let Some(w) = wrap(choice, r, &bytes, inner) {
                (bytes, inner) = w;
                headers += 1;
            }
        }
        // Tunnel headers still need their carrier; then an Ethernet header,
        // the link layer (not part of the path).
        let frame = loop {
            let carrier = match inner {
                Inner::Ethernet => {
                    headers -= 1;
                    break bytes;
                }
                Inner::Erspan => 5,
                Inner::Gre | Inner::Udp => 9,
                _ => {
                    let mut f = vec![0x02, 0, 0, 0, 0, 9, 0x02, 0, 0, 0, 0, 8];
                    f.extend(inner.ethertype().unwrap().to_be_bytes());
                    f.extend(bytes);
                    break f;
                }
            };
            (bytes, inner) = wrap(carrier, 0, &bytes, inner).unwrap();
            headers += 1;
        };
        let d = decode(LinkKind::Ethernet, &frame);
        prop_assert!(d.encap.len() <= MAX_ENCAP);
        if headers <= MAX_ENCAP {
            prop_assert!(d.error.is_none(), "{:?} after {:?}", d.error, d.encap.layers());
            prop_assert_eq!(d.encap.len(), headers);
            let tcp = d.tcp().expect("the SYN inside");
            prop_assert_eq!(tcp.header.dst_port(), Some(9999));
        } else {
            prop_assert!(matches!(d.error, Some(DecodeError::TooDeep { .. })), "{:?}", d.error);
        }
        // Any cut of the same frame: no panic, still bounded.
        let cut = cut.index(frame.len() + 1);
        let d = decode(LinkKind::Ethernet, &frame[..cut]);
        prop_assert!(d.encap.len() <= MAX_ENCAP);
        let mut a = Analyzer::new(Default::default());
        exercise(LinkKind::Ethernet, &frame[..cut], frame.len() as u32, &mut a);
    }
}
