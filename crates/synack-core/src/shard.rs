//! Shards: connections split by a hash of their canonical 4-tuple, so that
//! several trackers (threads of one process, or processes on several
//! machines reading the same files) each follow a share of the
//! connections, every segment of a connection in the same share.
//!
//! The hash is synack's own and fixed ([`flow_hash`] says how it is
//! computed): the same connection falls in the same shard on every machine
//! and in every run, whatever the platform or the Rust version. Frames
//! that carry no TCP segment belong to shard 0.

use std::net::{IpAddr, SocketAddr};

use crate::decode::link::LinkKind;
use crate::decode::{self, Frame, Segment};
use crate::track::ConnKey;

/// Shard `index` of `count` (`0 <= index < count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which share, from 0.
    pub index: u32,
    /// How many shares.
    pub count: u32,
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// The shard (of `count`) that the connection on `key` belongs to.
    pub fn of_key(key: &ConnKey, count: u32) -> u32 {
        shard_of_hash(flow_hash(key), count)
    }

    /// The shard (of `count`) of a frame: its connection's, or 0 for a frame
    /// without a TCP segment.
    pub fn of_frame(link: LinkKind, frame: &Frame<'_>, count: u32) -> u32 {
        match frame_key(link, frame) {
            Some(k) => Shard::of_key(&k, count),
            None => 0,
        }
    }

    /// This shard handles the frame.
    pub fn owns(&self, link: LinkKind, frame: &Frame<'_>) -> bool {
        self.count <= 1 || Shard::of_frame(link, frame, self.count) == self.index
    }
}

/// The connection a frame belongs to: the canonical 4-tuple of its TCP
/// segment, exactly as the tracker keys it (`None` when the frame carries
/// no segment the tracker would follow). The common frames (Ethernet or raw
/// IP; IPv4 without options or fragments, IPv6 without extension headers;
/// the whole fixed TCP header captured) are read directly; anything else is
/// decoded in full.
pub fn frame_key(link: LinkKind, frame: &Frame<'_>) -> Option<ConnKey> {
    match quick_key(link, frame.data) {
        Quick::Key(k) => Some(k),
        Quick::Unsure => decoded_key(link, frame),
    }
}

/// [`frame_key`] by the full decode.
fn decoded_key(link: LinkKind, frame: &Frame<'_>) -> Option<ConnKey> {
    let decoded = decode::decode(link, frame.data);
    let seg = Segment::from_decoded(frame, &decoded)?;
    Some(ConnKey::of(seg.src, seg.dst))
}

enum Quick {
    Key(ConnKey),
    /// Not a frame the quick reading is sure of.
    Unsure,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const TCP: u8 = 6;

/// The key of a common frame, or `Unsure`. Sure only where the full decode
/// can say nothing else: it is tested against it (see the tests).
fn quick_key(link: LinkKind, data: &[u8]) -> Quick {
    let ip = match link {
        LinkKind::Ethernet => {
            let Some(h) = data.get(..14) else {
                return Quick::Unsure;
            };
            match u16::from_be_bytes([h[12], h[13]]) {
                ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => &data[14..],
                _ => return Quick::Unsure,
            }
        }
        LinkKind::Raw => data,
        _ => return Quick::Unsure,
    };
    match ip.first().map(|b| b >> 4) {
        Some(4) => quick_v4(ip),
        Some(6) => quick_v6(ip),
        _ => Quick::Unsure,
    }
}

fn quick_v4(ip: &[u8]) -> Quick {
    let Some(h) = ip.get(..20) else {
        return Quick::Unsure;
    };
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
    // No options, not a fragment, TCP itself (not under an AH).
    if h[0] != 0x45 || frag != 0 || h[9] != TCP || total < 40 {
        return Quick::Unsure;
    }
    let payload = &ip[20..total.min(ip.len())];
    let src = [h[12], h[13], h[14], h[15]];
    let dst = [h[16], h[17], h[18], h[19]];
    quick_tcp(payload, src.into(), dst.into())
}

fn quick_v6(ip: &[u8]) -> Quick {
    let Some(h) = ip.get(..40) else {
        return Quick::Unsure;
    };
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    // TCP right after the fixed header (no extension headers, no jumbogram).
    if h[6] != TCP || len < 20 {
        return Quick::Unsure;
    }
    let payload = &ip[40..(40 + len).min(ip.len())];
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    dst.copy_from_slice(&h[24..40]);
    quick_tcp(payload, src.into(), dst.into())
}

fn quick_tcp(tcp: &[u8], src: IpAddr, dst: IpAddr) -> Quick {
    // The fixed header captured, and a data offset of at least 5 words:
    // otherwise the tracker follows no segment (the full decode says why).
    if tcp.len() < 20 || tcp[12] >> 4 < 5 {
        return Quick::Unsure;
    }
    let sport = u16::from_be_bytes([tcp[0], tcp[1]]);
    let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
    Quick::Key(ConnKey::of(
        SocketAddr::new(src, sport),
        SocketAddr::new(dst, dport),
    ))
}

/// The shard (of `count`) of a connection whose [`flow_hash`] is `h`: the
/// hash's range cut into `count` equal parts (Lemire's multiply-shift, on
/// the high bits).
pub fn shard_of_hash(h: u64, count: u32) -> u32 {
    ((u128::from(h) * u128::from(count.max(1))) >> 64) as u32
}

/// The thread (of `threads`) that follows a connection whose [`flow_hash`]
/// is `h`, within a process: from the low 32 bits, so that within one
/// shard (which fixes the high bits) connections still spread evenly.
pub fn thread_of_hash(h: u64, threads: u32) -> u32 {
    (((h & 0xffff_ffff) * u64::from(threads.max(1))) >> 32) as u32
}

/// synack's stable hash of a canonical 4-tuple (see the module docs): the
/// 4-tuple as 64-bit words (for each end, lower first: an IPv4 address as
/// `0x4_0000_0000` plus the address, an IPv6 address as its high and low
/// halves then the word 6; then the port), each mixed in as
/// `h = fold((h ^ word) × K)` where `fold` xors the high and low halves of
/// the 128-bit product; then MurmurHash3's finalizer.
pub fn flow_hash(key: &ConnKey) -> u64 {
    let mut h = SEED;
    for end in [key.lo, key.hi] {
        match end.ip() {
            IpAddr::V4(ip) => h = mix(h, 0x4_0000_0000 | u64::from(u32::from(ip))),
            IpAddr::V6(ip) => {
                let a = u128::from(ip);
                h = mix(h, (a >> 64) as u64);
                h = mix(h, a as u64);
                h = mix(h, 6);
            }
        }
        h = mix(h, u64::from(end.port()));
    }
    finalize(h)
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K: u64 = 0x9e37_79b9_7f4a_7c15;

fn mix(h: u64, word: u64) -> u64 {
    let m = u128::from(h ^ word) * u128::from(K);
    (m as u64) ^ ((m >> 64) as u64)
}

/// MurmurHash3's 64-bit finalizer: every input bit moves every output bit,
/// so the top bits (which pick the shard) are as good as the low ones.
fn finalize(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: &str, b: &str) -> ConnKey {
        ConnKey::of(a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn both_directions_fall_in_the_same_shard() {
        let k1 = key("10.0.0.1:40000", "10.0.0.2:443");
        let k2 = key("10.0.0.2:443", "10.0.0.1:40000");
        for n in 1..9 {
            assert_eq!(Shard::of_key(&k1, n), Shard::of_key(&k2, n));
        }
    }

    #[test]
    fn the_hash_is_fixed() {
        // Pinned (computed apart, in Python, from the words the docs name):
        // shards must not move between versions or machines.
        assert_eq!(
            flow_hash(&key("10.0.0.2:443", "10.0.0.1:40000")),
            0x66db_e1e6_38f4_304f
        );
        assert_eq!(
            flow_hash(&key("[2001:db8::2]:443", "[2001:db8::1]:40000")),
            0x38f6_7e7f_ba93_9000
        );
    }

    #[test]
    fn shards_are_even() {
        let n = 4;
        let mut per = [0u32; 4];
        for port in 30_000..40_000u16 {
            let k = key(&format!("192.168.1.7:{port}"), "10.1.2.3:80");
            per[Shard::of_key(&k, n) as usize] += 1;
        }
        for c in per {
            assert!((2_300..2_700).contains(&c), "{per:?}");
        }
    }

    #[test]
    fn threads_spread_evenly_within_a_shard() {
        let mut per = [0u32; 2];
        let mut in_shard = 0;
        for port in 30_000..50_000u16 {
            let h = flow_hash(&key(&format!("192.168.1.7:{port}"), "10.1.2.3:80"));
            if shard_of_hash(h, 2) == 1 {
                in_shard += 1;
                per[thread_of_hash(h, 2) as usize] += 1;
            }
        }
        assert!(in_shard > 9_000, "{in_shard}");
        for c in per {
            assert!(c * 10 > in_shard * 4, "{per:?}");
        }
    }

    /// Frames the quick reading is sure of, and frames damaged at random
    /// (header lengths, lengths, fragment fields, protocols, data offsets,
    /// cut short): its key always equals the full decode's.
    #[test]
    fn the_quick_key_is_the_decoded_key() {
        use crate::decode::tcp::flag;
        use crate::decode::Timestamp;
        use crate::synth::{addr, SegmentSpec};

        let mut seed = 0x1234_5678_u64;
        let mut rand = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let mut sure = 0;
        for i in 0..20_000u32 {
            let mut s = SegmentSpec::new(
                addr([10, 0, (i % 7) as u8, 1], 40_000 + (i % 500) as u16),
                addr([10, 1, 0, 2], 443),
            );
            s.flags = flag::ACK;
            s.len = (rand() % 1400) as u16;
            s.timestamps = (i % 3 == 0).then_some((1, 2));
            let (v4, _) = s.bytes();
            let mut v6 = vec![0x60, 0, 0, 0];
            let tcp = &v4[20..];
            let plen = (tcp.len() + usize::from(s.len)) as u16;
            v6.extend_from_slice(&plen.to_be_bytes());
            v6.extend_from_slice(&[6, 64]);
            v6.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            v6.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
            v6.extend_from_slice(tcp);
            for (ip, ethertype) in [(v4, [8u8, 0]), (v6, [0x86, 0xdd])] {
                let mut eth = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
                eth.extend_from_slice(&ethertype);
                eth.extend_from_slice(&ip);
                for (link, mut bytes) in [(LinkKind::Raw, ip.clone()), (LinkKind::Ethernet, eth)] {
                    // Damage some: a byte of the headers changed, or the frame cut.
                    match rand() % 4 {
                        0 => {}
                        1 => {
                            let at = (rand() as usize) % bytes.len().min(80);
                            bytes[at] = rand() as u8;
                        }
                        2 => bytes.truncate((rand() as usize) % (bytes.len() + 1)),
                        _ => {
                            let at = (rand() as usize) % bytes.len().min(80);
                            bytes[at] ^= 1 << (rand() % 8);
                        }
                    }
                    let frame = Frame {
                        number: 1,
                        ts: Timestamp::new(1, 0),
                        wire_len: bytes.len() as u32,
                        data: &bytes,
                    };
                    let quick = match quick_key(link, &bytes) {
                        Quick::Key(k) => {
                            sure += 1;
                            Some(k)
                        }
                        Quick::Unsure => continue,
                    };
                    assert_eq!(quick, decoded_key(link, &frame), "{link:?} {bytes:02x?}");
                }
            }
        }
        assert!(sure > 40_000, "the quick reading was sure of {sure} frames");
    }

    #[test]
    fn only_indexes_below_the_count() {
        assert!(Shard::new(0, 1).is_some());
        assert!(Shard::new(3, 4).is_some());
        assert!(Shard::new(4, 4).is_none());
        assert!(Shard::new(0, 0).is_none());
    }
}
