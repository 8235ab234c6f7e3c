//! Link layers, dispatched on the capture's link type. Written by hand: each
//! is a few fixed fields, and LINUX_SLL2 and NULL/LOOP are not in etherparse.
//! PPP and Cisco HDLC are in `ppp.rs`, 802.11 and radiotap in `wlan.rs`,
//! the firewall logs (pflog, NFLOG) in `fwlog.rs`.

use std::fmt;

use super::fwlog::{NflogInfo, PflogInfo};
use super::wlan::WlanInfo;

/// libpcap DLT values as `pcap_datalink` reports them for files and devices.
pub mod dlt {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    pub const NULL: i32 = 0;
    /// Ethernet (of any speed), with 802.1Q/802.1ad tags if present.
    pub const EN10MB: i32 = 1;
    /// Raw IPv4/IPv6, no link header (DLT_RAW on most systems).
    pub const RAW_12: i32 = 12;
    /// Raw IPv4/IPv6, no link header (DLT_RAW on OpenBSD).
    pub const RAW_14: i32 = 14;
    /// PPP: the protocol field, after an optional HDLC address/control `ff 03`.
    pub const PPP: i32 = 9;
    /// PPP in HDLC-like framing (RFC 1662): LINKTYPE_PPP_HDLC 50 in files,
    /// DLT_PPP_SERIAL 50 in libpcap; may also hold Cisco HDLC frames.
    pub const PPP_SERIAL: i32 = 50;
    /// Raw IPv4/IPv6, no link header (LINKTYPE_RAW in capture files).
    pub const RAW: i32 = 101;
    /// Cisco HDLC: address, control, and an EtherType (LINKTYPE_C_HDLC).
    pub const C_HDLC: i32 = 104;
    /// IEEE 802.11 frames, no radio header.
    pub const IEEE802_11: i32 = 105;
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: i32 = 108;
    /// Linux cooked capture v1 (the "any" device): a 16-byte header.
    pub const LINUX_SLL: i32 = 113;
    /// OpenBSD pf's log device: a `pfloghdr` (the same 117 in files and libpcap).
    pub const PFLOG: i32 = 117;
    /// IEEE 802.11 frames after a radiotap header.
    pub const IEEE802_11_RADIO: i32 = 127;
    /// Raw IPv4, no link header.
    pub const IPV4: i32 = 228;
    /// Raw IPv6, no link header.
    pub const IPV6: i32 = 229;
    /// Linux netfilter NFLOG: a 4-byte header, then TLVs, one of them the packet.
    pub const NFLOG: i32 = 239;
    /// Linux IP over InfiniBand: a 44-byte header ending in an EtherType.
    pub const IPOIB: i32 = 242;
    /// Linux cooked capture v2: a 20-byte header with the interface index.
    pub const LINUX_SLL2: i32 = 276;
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// Deepest VLAN stack we unwrap; deeper tags are left in the payload.
pub const MAX_VLANS: usize = 4;

/// A link-layer header type synack decodes (several DLT values can map to one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// Ethernet, with up to `MAX_VLANS` VLAN tags unwrapped.
    Ethernet,
    /// Linux cooked capture v1 (`DLT_LINUX_SLL`).
    LinuxSll,
    /// Linux cooked capture v2 (`DLT_LINUX_SLL2`).
    LinuxSll2,
    /// BSD loopback, address family in host byte order (`DLT_NULL`).
    Null,
    /// OpenBSD loopback, address family big-endian (`DLT_LOOP`).
    Loop,
    /// Raw IP, no link header: the version nibble tells IPv4 from IPv6.
    Raw,
    /// PPP (`DLT_PPP`): an optional `ff 03`, then the protocol.
    Ppp,
    /// PPP in HDLC-like framing (`DLT_PPP_SERIAL`, LINKTYPE_PPP_HDLC).
    PppHdlc,
    /// Cisco HDLC (`DLT_C_HDLC`).
    CiscoHdlc,
    /// IEEE 802.11 without a radio header (`DLT_IEEE802_11`).
    Ieee80211,
    /// IEEE 802.11 after a radiotap header (`DLT_IEEE802_11_RADIO`).
    Radiotap,
    /// OpenBSD pflog (`DLT_PFLOG`).
    Pflog,
    /// Linux NFLOG (`DLT_NFLOG`).
    Nflog,
    /// Linux IP over InfiniBand (`DLT_IPOIB`).
    Ipoib,
}

impl LinkKind {
    /// Every DLT value synack decodes; `from_dlt` is `Some` exactly for these.
    pub const DLTS: [i32; 18] = [
        dlt::EN10MB,
        dlt::LINUX_SLL,
        dlt::LINUX_SLL2,
        dlt::NULL,
        dlt::LOOP,
        dlt::RAW,
        dlt::RAW_12,
        dlt::RAW_14,
        dlt::IPV4,
        dlt::IPV6,
        dlt::PPP,
        dlt::PPP_SERIAL,
        dlt::C_HDLC,
        dlt::IEEE802_11,
        dlt::IEEE802_11_RADIO,
        dlt::PFLOG,
        dlt::NFLOG,
        dlt::IPOIB,
    ];

    /// The link kind of a libpcap DLT value; `None` when synack does not decode it.
    pub fn from_dlt(dlt: i32) -> Option<LinkKind> {
        Some(match dlt {
            dlt::EN10MB => LinkKind::Ethernet,
            dlt::LINUX_SLL => LinkKind::LinuxSll,
            dlt::LINUX_SLL2 => LinkKind::LinuxSll2,
            dlt::NULL => LinkKind::Null,
            dlt::LOOP => LinkKind::Loop,
            dlt::RAW | dlt::RAW_12 | dlt::RAW_14 | dlt::IPV4 | dlt::IPV6 => LinkKind::Raw,
            dlt::PPP => LinkKind::Ppp,
            dlt::PPP_SERIAL => LinkKind::PppHdlc,
            dlt::C_HDLC => LinkKind::CiscoHdlc,
            dlt::IEEE802_11 => LinkKind::Ieee80211,
            dlt::IEEE802_11_RADIO => LinkKind::Radiotap,
            dlt::PFLOG => LinkKind::Pflog,
            dlt::NFLOG => LinkKind::Nflog,
            dlt::IPOIB => LinkKind::Ipoib,
            _ => return None,
        })
    }

    /// The name used in JSON (`link`).
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Ethernet => "ethernet",
            LinkKind::LinuxSll => "linux_sll",
            LinkKind::LinuxSll2 => "linux_sll2",
            LinkKind::Null => "null",
            LinkKind::Loop => "loop",
            LinkKind::Raw => "raw",
            LinkKind::Ppp => "ppp",
            LinkKind::PppHdlc => "ppp_hdlc",
            LinkKind::CiscoHdlc => "c_hdlc",
            LinkKind::Ieee80211 => "ieee802_11",
            LinkKind::Radiotap => "ieee802_11_radio",
            LinkKind::Pflog => "pflog",
            LinkKind::Nflog => "nflog",
            LinkKind::Ipoib => "ipoib",
        }
    }
}

/// What is carried above the link layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetProto {
    /// IPv4 (EtherType 0x0800, or the AF_INET family).
    Ipv4,
    /// IPv6 (EtherType 0x86DD, or an AF_INET6 family).
    Ipv6,
    /// ARP (EtherType 0x0806).
    Arp,
    /// An EtherType we do not decode (or an 802.3 length / SLL protocol below 0x600).
    EtherType(u16),
    /// A BSD loopback address family we do not decode.
    AddressFamily(u32),
    /// A PPP protocol number we do not decode (LCP 0xc021, IPCP 0x8021…).
    Ppp(u16),
    /// 802.2 LLC without a SNAP header (spanning tree, NetBIOS…).
    Llc {
        /// Destination service access point.
        dsap: u8,
        /// Source service access point.
        ssap: u8,
    },
    /// An 802.11 frame with no network-layer payload: management, control,
    /// a data frame without a body (null), or an A-MSDU (not unpacked).
    Wlan {
        /// Frame type: 0 management, 1 control, 2 data, 3 extension.
        frame_type: u8,
        /// Subtype within the type (8 beacon, 4 probe request, 13 ACK…).
        subtype: u8,
    },
    /// The payload is encrypted (an 802.11 frame with the Protected bit).
    Protected,
    /// A payload whose type nothing names and whose first bytes are not
    /// IP (after an MPLS label stack, or an ERSPAN III frame not of Ethernet).
    Unknown,
}

impl NetProto {
    pub(crate) fn from_ethertype(t: u16) -> NetProto {
        match t {
            ETHERTYPE_IPV4 => NetProto::Ipv4,
            ETHERTYPE_IPV6 => NetProto::Ipv6,
            ETHERTYPE_ARP => NetProto::Arp,
            other => NetProto::EtherType(other),
        }
    }
}

/// A 48-bit Ethernet MAC address; displays as `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// One VLAN tag: 802.1Q, or an 802.1ad (QinQ) service tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanTag {
    /// The TPID that introduced this tag (0x8100, 0x88a8 or 0x9100).
    pub tpid: u16,
    /// VLAN identifier (VID, the low 12 bits of the TCI).
    pub id: u16,
    /// Priority code point (the top 3 bits of the TCI, 802.1p class of service).
    pub pcp: u8,
}

/// Linux cooked-capture packet types (`sll_pkttype`).
pub fn sll_pkttype_name(t: u8) -> &'static str {
    match t {
        0 => "In",
        1 => "B",
        2 => "M",
        3 => "P",
        4 => "Out",
        _ => "?",
    }
}

/// The decoded link-layer header of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Which link layer it is.
    pub kind: LinkKind,
    /// Source MAC: Ethernet, or a Linux cooked capture with a 6-byte address.
    pub src_mac: Option<MacAddr>,
    /// Destination MAC: Ethernet only (cooked captures do not record it).
    pub dst_mac: Option<MacAddr>,
    vlans: [VlanTag; MAX_VLANS],
    vlan_count: u8,
    /// Linux cooked captures: direction of the packet.
    pub pkttype: Option<u8>,
    /// LINUX_SLL2: interface index.
    pub ifindex: Option<u32>,
    /// The EtherType or address family the link layer named.
    pub net: NetProto,
    /// Bytes of link-layer header (including VLAN tags).
    pub header_len: usize,
    /// Bytes at the end of the frame that belong to the link layer (an
    /// 802.11 FCS, what follows an NFLOG payload), not to the payload.
    pub trailer_len: usize,
    /// What the header of the less common link types says.
    pub extra: LinkExtra,
}

/// The header fields of the less common link types, for `-e` lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkExtra {
    /// Nothing beyond `Link`'s own fields.
    None,
    /// PPP, and PPP in HDLC framing.
    Ppp {
        /// The frame started with the HDLC address and control bytes (`ff 03`).
        address_control: bool,
        /// The PPP protocol number (0x0021 IPv4, 0x0057 IPv6, 0x0281 MPLS…).
        protocol: u16,
    },
    /// Cisco HDLC.
    CiscoHdlc {
        /// 0x0f unicast, 0x8f broadcast.
        address: u8,
        /// The protocol (an EtherType).
        protocol: u16,
    },
    /// IEEE 802.11, with or without radiotap.
    Wlan(WlanInfo),
    /// OpenBSD pflog.
    Pflog(PflogInfo),
    /// Linux NFLOG.
    Nflog(NflogInfo),
}

impl Link {
    pub(crate) fn new(kind: LinkKind, net: NetProto, header_len: usize) -> Link {
        Link {
            kind,
            src_mac: None,
            dst_mac: None,
            vlans: [VlanTag {
                tpid: 0,
                id: 0,
                pcp: 0,
            }; MAX_VLANS],
            vlan_count: 0,
            pkttype: None,
            ifindex: None,
            net,
            header_len,
            trailer_len: 0,
            extra: LinkExtra::None,
        }
    }

    /// The VLAN tags, outermost first (at most `MAX_VLANS`).
    pub fn vlans(&self) -> &[VlanTag] {
        &self.vlans[..usize::from(self.vlan_count)]
    }

    /// The EtherType carried, when the link has one (for `-e` output).
    pub fn ethertype(&self) -> Option<u16> {
        match self.net {
            NetProto::Ipv4 => Some(ETHERTYPE_IPV4),
            NetProto::Ipv6 => Some(ETHERTYPE_IPV6),
            NetProto::Arp => Some(ETHERTYPE_ARP),
            NetProto::EtherType(t) => Some(t),
            _ => None,
        }
    }
}

/// The link header was shorter than its fixed part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} header truncated: {got} of {needed} bytes captured", kind.name())]
pub struct LinkTruncated {
    /// The link layer being read.
    pub kind: LinkKind,
    /// Bytes the header needed up to where it was cut (VLAN tags included).
    pub needed: usize,
    /// Bytes that were captured.
    pub got: usize,
}

/// Why a link header could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The header was cut short.
    #[error(transparent)]
    Truncated(#[from] LinkTruncated),
    /// The header is not a valid one of its kind.
    #[error("bad {} header: {reason}", kind.name())]
    Invalid {
        /// The link layer being read.
        kind: LinkKind,
        /// What is wrong, in words.
        reason: &'static str,
    },
}

pub(crate) fn need(kind: LinkKind, data: &[u8], n: usize) -> Result<(), LinkTruncated> {
    if data.len() < n {
        Err(LinkTruncated {
            kind,
            needed: n,
            got: data.len(),
        })
    } else {
        Ok(())
    }
}

pub(crate) fn invalid(kind: LinkKind, reason: &'static str) -> LinkError {
    LinkError::Invalid { kind, reason }
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn mac_at(b: &[u8], at: usize) -> MacAddr {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    MacAddr(m)
}

/// Decode the link layer; the returned `Link::header_len` is where the
/// network layer starts, and it ends `trailer_len` bytes before the frame does.
pub fn decode(kind: LinkKind, data: &[u8]) -> Result<Link, LinkError> {
    match kind {
        LinkKind::Ethernet => Ok(ethernet(data)?),
        LinkKind::Ppp | LinkKind::PppHdlc | LinkKind::CiscoHdlc => super::ppp::link(kind, data),
        LinkKind::Ieee80211 | LinkKind::Radiotap => super::wlan::link(kind, data),
        LinkKind::Pflog => super::fwlog::pflog(data),
        LinkKind::Nflog => super::fwlog::nflog(data),
        LinkKind::Ipoib => {
            // The Linux IPoIB pseudo-header: 40 bytes of hardware addresses,
            // then the EtherType of RFC 4391's 4-byte encapsulation header.
            need(kind, data, 44)?;
            Ok(Link::new(
                kind,
                NetProto::from_ethertype(be16(data, 40)),
                44,
            ))
        }
        LinkKind::LinuxSll => {
            need(kind, data, 16)?;
            let addr_len = usize::from(be16(data, 4));
            let mut link = Link::new(kind, NetProto::from_ethertype(be16(data, 14)), 16);
            link.pkttype = Some(be16(data, 0) as u8);
            if addr_len == 6 {
                link.src_mac = Some(mac_at(data, 6));
            }
            Ok(link)
        }
        LinkKind::LinuxSll2 => {
            need(kind, data, 20)?;
            let mut link = Link::new(kind, NetProto::from_ethertype(be16(data, 0)), 20);
            link.ifindex = Some(u32::from_be_bytes([data[4], data[5], data[6], data[7]]));
            link.pkttype = Some(data[10]);
            if data[11] == 6 {
                link.src_mac = Some(mac_at(data, 12));
            }
            Ok(link)
        }
        LinkKind::Null | LinkKind::Loop => {
            need(kind, data, 4)?;
            let raw = [data[0], data[1], data[2], data[3]];
            // NULL is in the capturing host's byte order; LOOP is big-endian.
            // A family is small, so the non-zero half tells NULL's order.
            let family = if kind == LinkKind::Loop || u32::from_le_bytes(raw) > 0xffff {
                u32::from_be_bytes(raw)
            } else {
                u32::from_le_bytes(raw)
            };
            let net = match family {
                2 => NetProto::Ipv4,
                // AF_INET6 differs per OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
                10 | 24 | 28 | 30 => NetProto::Ipv6,
                other => NetProto::AddressFamily(other),
            };
            Ok(Link::new(kind, net, 4))
        }
        LinkKind::Raw => {
            need(kind, data, 1)?;
            let net = match data[0] >> 4 {
                4 => NetProto::Ipv4,
                6 => NetProto::Ipv6,
                _ => NetProto::EtherType(0),
            };
            Ok(Link::new(kind, net, 0))
        }
    }
}

fn ethernet(data: &[u8]) -> Result<Link, LinkTruncated> {
    let kind = LinkKind::Ethernet;
    need(kind, data, 14)?;
    let mut link = Link::new(kind, NetProto::EtherType(0), 14);
    link.dst_mac = Some(mac_at(data, 0));
    link.src_mac = Some(mac_at(data, 6));
    let mut ethertype = be16(data, 12);
    let mut at = 14;
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) && usize::from(link.vlan_count) < MAX_VLANS
    {
        need(kind, data, at + 4)?;
        let tci = be16(data, at);
        link.vlans[usize::from(link.vlan_count)] = VlanTag {
            tpid: ethertype,
            id: tci & 0x0fff,
            pcp: (tci >> 13) as u8,
        };
        link.vlan_count += 1;
        ethertype = be16(data, at + 2);
        at += 4;
    }
    link.header_len = at;
    // Below 0x600 the field is an 802.3 length, not a type: LLC follows.
    link.net = NetProto::from_ethertype(ethertype);
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_qinq() {
        let mut f = vec![0xaa; 6];
        f.extend([0xbb; 6]);
        f.extend([0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x21, 0x2c, 0x08, 0x00]);
        f.extend([0x45; 20]);
        let link = decode(LinkKind::Ethernet, &f).unwrap();
        assert_eq!(link.header_len, 22);
        assert_eq!(link.net, NetProto::Ipv4);
        let ids: Vec<u16> = link.vlans().iter().map(|v| v.id).collect();
        assert_eq!(ids, vec![200, 300]);
        assert_eq!(link.vlans()[1].pcp, 1);
        assert_eq!(link.src_mac.unwrap().to_string(), "bb:bb:bb:bb:bb:bb");
    }

    #[test]
    fn vlan_tag_cut_short_is_truncation() {
        let mut f = vec![0; 12];
        f.extend([0x81, 0x00, 0x00]);
        let LinkError::Truncated(err) = decode(LinkKind::Ethernet, &f).unwrap_err() else {
            panic!("not a truncation");
        };
        assert_eq!((err.needed, err.got), (18, 15));
    }

    #[test]
    fn null_loopback_in_either_byte_order() {
        let le = decode(LinkKind::Null, &[2, 0, 0, 0]).unwrap();
        assert_eq!(le.net, NetProto::Ipv4);
        let be = decode(LinkKind::Null, &[0, 0, 0, 30]).unwrap();
        assert_eq!(be.net, NetProto::Ipv6);
        let lo = decode(LinkKind::Loop, &[0, 0, 0, 2]).unwrap();
        assert_eq!(lo.net, NetProto::Ipv4);
        assert_eq!(
            decode(LinkKind::Null, &[7, 0, 0, 0]).unwrap().net,
            NetProto::AddressFamily(7)
        );
    }

    #[test]
    fn sll2_fields() {
        let f = [
            0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        let link = decode(LinkKind::LinuxSll2, &f).unwrap();
        assert_eq!(link.net, NetProto::Ipv6);
        assert_eq!(link.ifindex, Some(1));
        assert_eq!(link.pkttype, Some(4));
        assert_eq!(link.header_len, 20);
    }

    #[test]
    fn unknown_dlt_is_none() {
        assert_eq!(LinkKind::from_dlt(182), None);
        assert_eq!(LinkKind::from_dlt(113), Some(LinkKind::LinuxSll));
    }

    #[test]
    fn dlts_lists_exactly_the_decoded_link_types() {
        for dlt in -1..1000 {
            assert_eq!(
                LinkKind::from_dlt(dlt).is_some(),
                LinkKind::DLTS.contains(&dlt),
                "DLT {dlt}"
            );
        }
    }

    #[test]
    fn ipoib_header_ends_in_an_ethertype() {
        // The Linux IPoIB pseudo-header: 40 bytes of addresses, then
        // RFC 4391's type and reserved fields.
        let mut f = vec![0u8; 40];
        f.extend([0x08, 0x00, 0, 0, 0x45, 0]);
        let l = decode(LinkKind::Ipoib, &f).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv4, 44));
        f[40..42].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(decode(LinkKind::Ipoib, &f).unwrap().net, NetProto::Arp);
        assert!(decode(LinkKind::Ipoib, &f[..43]).is_err());
    }
}
