//! Shards: connections split by a hash of their canonical 4-tuple, so that
//! several trackers (threads of one process, or processes on several
//! machines reading the same files) each follow a share of the
//! connections, every segment of a connection in the same share.
//!
//! The hash is synack's own and fixed (FNV-1a over the canonical 4-tuple's
//! bytes, then a 64-bit finalizer): the same connection falls in the same
//! shard on every machine and in every run, whatever the platform or the
//! Rust version. Frames that carry no TCP segment belong to shard 0.

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
/// no segment the tracker would follow).
pub fn frame_key(link: LinkKind, frame: &Frame<'_>) -> Option<ConnKey> {
    let decoded = decode::decode(link, frame.data);
    let seg = Segment::from_decoded(frame, &decoded)?;
    Some(ConnKey::of(seg.src, seg.dst))
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

/// synack's stable hash of a canonical 4-tuple (see the module docs).
pub fn flow_hash(key: &ConnKey) -> u64 {
    let mut h = Fnv::new();
    for end in [key.lo, key.hi] {
        h.endpoint(end);
    }
    finalize(h.0)
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv {
        Fnv(Self::OFFSET)
    }

    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn endpoint(&mut self, a: SocketAddr) {
        match a.ip() {
            IpAddr::V4(ip) => {
                self.bytes(&[4]);
                self.bytes(&ip.octets());
            }
            IpAddr::V6(ip) => {
                self.bytes(&[6]);
                self.bytes(&ip.octets());
            }
        }
        self.bytes(&a.port().to_be_bytes());
    }
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
        // Pinned (computed apart, in Python, from the bytes 4 10.0.0.1 40000
        // 4 10.0.0.2 443): shards must not move between versions or machines.
        assert_eq!(
            flow_hash(&key("10.0.0.2:443", "10.0.0.1:40000")),
            0x7734_c11c_f11a_16b3
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

    #[test]
    fn only_indexes_below_the_count() {
        assert!(Shard::new(0, 1).is_some());
        assert!(Shard::new(3, 4).is_some());
        assert!(Shard::new(4, 4).is_none());
        assert!(Shard::new(0, 0).is_none());
    }
}
