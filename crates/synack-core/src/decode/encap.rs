//! The encapsulation path: every header between the link layer and the
//! innermost IP header (VLAN tags, MPLS labels, PPPoE, outer IP headers and
//! the tunnel headers in them), outermost first. A small fixed array, so a
//! decoded frame stays `Copy` and allocation-free.

use std::fmt;
use std::mem::MaybeUninit;
use std::net::IpAddr;

use super::link::MacAddr;
use super::net::Ecn;

/// The most layers a path holds. Deeper nesting is not followed: a frame
/// can carry tags and tunnels in any order, and a hostile one any number.
pub const MAX_ENCAP: usize = 10;

/// One layer of encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// An 802.1Q tag (TPID 0x8100) or an 802.1ad service tag (0x88a8, or the old 0x9100).
    Vlan {
        /// The TPID (EtherType) that introduced the tag.
        tpid: u16,
        /// VLAN identifier (the low 12 bits of the TCI); 0 is a priority-only tag.
        id: u16,
        /// Priority code point (802.1p class of service).
        pcp: u8,
    },
    /// One MPLS label stack entry (RFC 3032).
    Mpls {
        /// The 20-bit label.
        label: u32,
        /// Traffic class (the former EXP bits).
        tc: u8,
        /// Bottom of stack: the payload follows this entry.
        bottom: bool,
        /// Time to live.
        ttl: u8,
    },
    /// A PPPoE session header (RFC 2516, EtherType 0x8864).
    Pppoe {
        /// The session ID.
        session: u16,
        /// The PPP protocol it carries (0x0021 IPv4, 0x0057 IPv6).
        protocol: u16,
    },
    /// An IP header whose payload is another layer: IP-in-IP, or the outer
    /// header of a GRE, VXLAN or Geneve tunnel.
    Ip {
        /// 4 or 6.
        version: u8,
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
        /// The protocol after any extension headers (4, 41, 47 or 17).
        proto: u8,
        /// TTL or hop limit.
        ttl: u8,
        /// Traffic class: DSCP and the ECN codepoint.
        tos: u8,
    },
    /// A GRE header (RFC 2784, with RFC 2890's key and sequence number).
    Gre {
        /// The protocol type (an EtherType: 0x0800, 0x6558 Ethernet, 0x88be ERSPAN…).
        protocol: u16,
        /// The key, when the K bit is set.
        key: Option<u32>,
        /// The sequence number, when the S bit is set.
        seq: Option<u32>,
        /// The checksum field, when the C bit is set.
        checksum: Option<u16>,
    },
    /// An ERSPAN header inside GRE: type I (none), II or III.
    Erspan {
        /// 1, 2 or 3 (the header's version field is 1 for type II, 2 for type III).
        erspan_type: u8,
        /// The session ID (type I has none: 0).
        session: u16,
        /// The mirrored frame's original VLAN (0: none).
        vlan: u16,
    },
    /// A VXLAN header (RFC 7348, UDP port 4789).
    Vxlan {
        /// The 24-bit VXLAN network identifier.
        vni: u32,
    },
    /// A Geneve header (RFC 8926, UDP port 6081).
    Geneve {
        /// The 24-bit virtual network identifier.
        vni: u32,
        /// The protocol type of the payload (0x6558 Ethernet, or an EtherType).
        protocol: u16,
        /// Bytes of options after the fixed header.
        options_len: u16,
        /// The C bit: some option is critical.
        critical: bool,
    },
    /// An Ethernet header inside a tunnel (VXLAN, Geneve, GRE bridging, ERSPAN).
    Ethernet {
        /// Source MAC.
        src: MacAddr,
        /// Destination MAC.
        dst: MacAddr,
    },
}

impl Encap {
    /// The name used in JSON (`encap[].kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Encap::Vlan { .. } => "vlan",
            Encap::Mpls { .. } => "mpls",
            Encap::Pppoe { .. } => "pppoe",
            Encap::Ip { .. } => "ip",
            Encap::Gre { .. } => "gre",
            Encap::Erspan { .. } => "erspan",
            Encap::Vxlan { .. } => "vxlan",
            Encap::Geneve { .. } => "geneve",
            Encap::Ethernet { .. } => "ethernet",
        }
    }

    /// An outer IP header's ECN codepoint.
    pub fn ecn(&self) -> Option<Ecn> {
        match self {
            Encap::Ip { tos, .. } => Some(Ecn::of(*tos)),
            _ => None,
        }
    }
}

/// The layers of one frame between its link header and its innermost IP
/// header, outermost first.
///
/// A fixed array that is written only as far as it is used: nearly every
/// frame has no layer, and initializing ten of them for each frame cost more
/// than the rest of the walk.
#[derive(Clone, Copy)]
pub struct EncapPath {
    /// Invariant: `layers[..len]` are initialized (written by `push` only).
    layers: [MaybeUninit<Encap>; MAX_ENCAP],
    len: u8,
}

impl Default for EncapPath {
    #[inline]
    fn default() -> Self {
        EncapPath {
            // SAFETY: an array of `MaybeUninit` needs no initialization (the
            // pattern of `MaybeUninit`'s documentation). Written as a whole
            // uninitialized value: `[MaybeUninit::uninit(); N]` compiled to a
            // memset of the whole array, for every frame.
            layers: unsafe {
                MaybeUninit::<[MaybeUninit<Encap>; MAX_ENCAP]>::uninit().assume_init()
            },
            len: 0,
        }
    }
}

impl fmt::Debug for EncapPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.layers()).finish()
    }
}

impl PartialEq for EncapPath {
    fn eq(&self, other: &Self) -> bool {
        self.layers() == other.layers()
    }
}

impl Eq for EncapPath {}

impl EncapPath {
    /// The layers, outermost first.
    pub fn layers(&self) -> &[Encap] {
        let init = &self.layers[..usize::from(self.len)];
        // SAFETY: the first `len` elements were written by `push` (the
        // invariant above), and `MaybeUninit<T>` has `T`'s layout.
        unsafe { &*(init as *const [MaybeUninit<Encap>] as *const [Encap]) }
    }

    /// No layer: the network header follows the link header directly.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Add a layer; false (and nothing added) when the path is full.
    pub(crate) fn push(&mut self, e: Encap) -> bool {
        let Some(slot) = self.layers.get_mut(usize::from(self.len)) else {
            return false;
        };
        slot.write(e);
        self.len += 1;
        true
    }

    /// Room for `n` more layers.
    pub(crate) fn room(&self, n: usize) -> bool {
        usize::from(self.len) + n <= MAX_ENCAP
    }

    /// A compact identity of the tunnel the frame travelled in, the same for
    /// both directions of a connection; 0 for a frame with no layer that
    /// counts. It is part of a connection's key (`track::ConnKey`), so the
    /// same inner addresses and ports in two tunnels are two connections.
    ///
    /// What counts, in order: each VLAN tag's ID (not a priority-only tag,
    /// ID 0), each PPPoE session ID, each outer IP header's address pair
    /// (unordered) and version, each GRE key (not its sequence number), each
    /// ERSPAN session, each VXLAN and Geneve VNI, with the kind of every
    /// layer that counts. What does not: MPLS labels (each hop swaps them,
    /// and the two directions of a path use different labels; with
    /// penultimate-hop popping one direction may have none), inner Ethernet
    /// addresses, GRE sequence numbers, TTLs, UDP source ports (a flow hash).
    /// Where the two directions of one connection still differ (Geneve with a
    /// VNI per direction, SRv6 with a segment ID per direction), the tracker
    /// pairs them by their sequence numbers.
    pub fn tunnel_id(&self) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mut h = Mix::default();
        for e in self.layers() {
            match *e {
                Encap::Vlan { id, .. } if id != 0 => h.add(1, u64::from(id)),
                Encap::Pppoe { session, .. } => h.add(2, u64::from(session)),
                Encap::Ip { src, dst, .. } => {
                    let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
                    h.add(3, addr_bits(a));
                    h.add(3, addr_bits(b));
                }
                Encap::Gre { key, .. } => h.add(4, key.map_or(1 << 32, u64::from)),
                Encap::Erspan { session, .. } => h.add(5, u64::from(session)),
                Encap::Vxlan { vni } => h.add(6, u64::from(vni)),
                Encap::Geneve { vni, .. } => h.add(7, u64::from(vni)),
                Encap::Vlan { .. } | Encap::Mpls { .. } | Encap::Ethernet { .. } => {}
            }
        }
        h.finish()
    }
}

/// 64 bits standing for an address (IPv6 folded; only equality matters).
fn addr_bits(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let x = u128::from(v6);
            (x as u64) ^ ((x >> 64) as u64).rotate_left(17) ^ (1 << 63)
        }
    }
}

/// A small deterministic hash (splitmix64's finalizer over a running
/// state): the same input gives the same id on every run and machine.
#[derive(Default)]
struct Mix {
    state: u64,
    used: bool,
}

impl Mix {
    fn add(&mut self, tag: u64, v: u64) {
        self.used = true;
        self.state =
            mix64(self.state ^ mix64(v.wrapping_add(tag.wrapping_mul(0x9e37_79b9_7f4a_7c15))));
    }

    fn finish(&self) -> u64 {
        match (self.used, self.state) {
            (false, _) => 0,
            // 0 means "no tunnel".
            (true, 0) => 1,
            (true, s) => s,
        }
    }
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(layers: &[Encap]) -> EncapPath {
        let mut p = EncapPath::default();
        for l in layers {
            assert!(p.push(*l));
        }
        p
    }

    fn ip(src: &str, dst: &str) -> Encap {
        Encap::Ip {
            version: 4,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 17,
            ttl: 64,
            tos: 0,
        }
    }

    #[test]
    fn no_counting_layer_is_no_tunnel() {
        assert_eq!(EncapPath::default().tunnel_id(), 0);
        let mpls = Encap::Mpls {
            label: 100,
            tc: 0,
            bottom: true,
            ttl: 64,
        };
        let prio = Encap::Vlan {
            tpid: 0x8100,
            id: 0,
            pcp: 3,
        };
        assert_eq!(path(&[prio, mpls]).tunnel_id(), 0);
    }

    #[test]
    fn both_directions_share_an_id_and_vnis_differ() {
        let there = path(&[ip("10.0.0.1", "10.0.0.2"), Encap::Vxlan { vni: 42 }]);
        let back = path(&[ip("10.0.0.2", "10.0.0.1"), Encap::Vxlan { vni: 42 }]);
        let other = path(&[ip("10.0.0.1", "10.0.0.2"), Encap::Vxlan { vni: 43 }]);
        assert_eq!(there.tunnel_id(), back.tunnel_id());
        assert_ne!(there.tunnel_id(), other.tunnel_id());
        assert_ne!(there.tunnel_id(), 0);
        // The same VNI between other tunnel endpoints is another tunnel.
        let elsewhere = path(&[ip("10.0.0.1", "10.0.0.3"), Encap::Vxlan { vni: 42 }]);
        assert_ne!(there.tunnel_id(), elsewhere.tunnel_id());
    }

    #[test]
    fn a_full_path_refuses_more() {
        let mut p = EncapPath::default();
        for i in 0..MAX_ENCAP {
            assert!(p.push(Encap::Vxlan { vni: i as u32 }));
        }
        assert!(!p.push(Encap::Vxlan { vni: 99 }));
        assert_eq!(p.len(), MAX_ENCAP);
        assert!(!p.room(1));
    }
}
