//! PPP (RFC 1661) as a link layer and inside PPPoE, PPP in HDLC-like
//! framing (RFC 1662), and Cisco HDLC. Each is an address/control pair at
//! most and a protocol number; the protocol says what follows.

use super::link::{
    be16, invalid, need, Link, LinkError, LinkExtra, LinkKind, LinkTruncated, NetProto,
};

/// PPP protocol numbers (RFC 1661 and the IANA registry) synack follows.
pub(crate) mod proto {
    /// Internet Protocol version 4.
    pub(crate) const IPV4: u16 = 0x0021;
    /// Internet Protocol version 6.
    pub(crate) const IPV6: u16 = 0x0057;
    /// MPLS unicast (RFC 3032).
    pub(crate) const MPLS_UNICAST: u16 = 0x0281;
    /// MPLS multicast.
    pub(crate) const MPLS_MULTICAST: u16 = 0x0283;
}

/// Cisco HDLC's address byte for unicast and broadcast frames.
const CHDLC_UNICAST: u8 = 0x0f;
const CHDLC_BROADCAST: u8 = 0x8f;
/// HDLC's all-stations address and unnumbered-information control byte.
const PPP_ADDRESS: u8 = 0xff;
const PPP_CONTROL: u8 = 0x03;

/// What a PPP protocol number carries, in the link layer's terms (MPLS as
/// its EtherType, so the encapsulation walk follows it).
pub(crate) fn net_of(protocol: u16) -> NetProto {
    match protocol {
        proto::IPV4 => NetProto::Ipv4,
        proto::IPV6 => NetProto::Ipv6,
        proto::MPLS_UNICAST => NetProto::EtherType(0x8847),
        proto::MPLS_MULTICAST => NetProto::EtherType(0x8848),
        other => NetProto::Ppp(other),
    }
}

/// A PPP protocol field: two bytes, or one when protocol-field compression
/// was negotiated (a protocol's low byte is odd, its high byte even, so an
/// odd first byte is a whole one-byte protocol). Returns (protocol, length).
pub(crate) fn protocol_field(data: &[u8]) -> Option<(u16, usize)> {
    let first = *data.first()?;
    if first & 1 == 1 {
        Some((u16::from(first), 1))
    } else {
        Some((be16(data.get(..2)?, 0), 2))
    }
}

/// The PPP, PPP-in-HDLC and Cisco HDLC link layers.
pub(crate) fn link(kind: LinkKind, data: &[u8]) -> Result<Link, LinkError> {
    need(kind, data, 1)?;
    match (kind, data[0]) {
        // A PPP_HDLC capture may hold Cisco HDLC frames (libpcap's
        // DLT_PPP_SERIAL covers both, told apart by the address byte).
        (LinkKind::CiscoHdlc, _) | (LinkKind::PppHdlc, CHDLC_UNICAST | CHDLC_BROADCAST) => {
            need(kind, data, 4)?;
            let protocol = be16(data, 2);
            let mut link = Link::new(kind, NetProto::from_ethertype(protocol), 4);
            link.extra = LinkExtra::CiscoHdlc {
                address: data[0],
                protocol,
            };
            Ok(link)
        }
        (LinkKind::PppHdlc, PPP_ADDRESS) => {
            // As tcpdump: the address byte makes it PPP; the control byte is
            // skipped whatever it holds; the protocol is never compressed here.
            need(kind, data, 4)?;
            Ok(ppp_link(kind, be16(data, 2), 4, true))
        }
        (LinkKind::PppHdlc, _) => Err(invalid(
            kind,
            "address byte is neither PPP's 0xff nor Cisco HDLC's 0x0f/0x8f",
        )),
        _ => {
            // DLT_PPP: the address and control bytes may be there or not.
            let skip = if data.starts_with(&[PPP_ADDRESS, PPP_CONTROL]) {
                2
            } else {
                0
            };
            let (protocol, n) = protocol_field(&data[skip..]).ok_or(LinkTruncated {
                kind,
                needed: skip + 2,
                got: data.len(),
            })?;
            Ok(ppp_link(kind, protocol, skip + n, skip == 2))
        }
    }
}

fn ppp_link(kind: LinkKind, protocol: u16, header_len: usize, address_control: bool) -> Link {
    let mut link = Link::new(kind, net_of(protocol), header_len);
    link.extra = LinkExtra::Ppp {
        address_control,
        protocol,
    };
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    // PPP with HDLC address and control (RFC 1662), protocol IPv4; Cisco
    // HDLC unicast, control 0, EtherType IPv4. (tests/link_types.rs reads
    // whole public captures of both link types.)
    const PPP_IPV4: [u8; 6] = [0xff, 0x03, 0x00, 0x21, 0x45, 0xc0];
    const CHDLC_IPV4: [u8; 6] = [0x0f, 0x00, 0x08, 0x00, 0x45, 0x00];

    #[test]
    fn ppp_with_address_and_control() {
        let l = link(LinkKind::Ppp, &PPP_IPV4).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv4, 4));
        assert_eq!(
            l.extra,
            LinkExtra::Ppp {
                address_control: true,
                protocol: 0x0021
            }
        );
        // Without them, and with a compressed protocol field.
        let l = link(LinkKind::Ppp, &[0x00, 0x57, 0x60]).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv6, 2));
        let l = link(LinkKind::Ppp, &[0x21, 0x45]).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv4, 1));
        let l = link(LinkKind::Ppp, &[0x02, 0x81, 0, 0]).unwrap();
        assert_eq!(l.net, NetProto::EtherType(0x8847));
        let l = link(LinkKind::Ppp, &[0xc0, 0x21, 1]).unwrap();
        assert_eq!(l.net, NetProto::Ppp(0xc021));
    }

    #[test]
    fn hdlc_framings() {
        let l = link(LinkKind::CiscoHdlc, &CHDLC_IPV4).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv4, 4));
        // PPP_HDLC holds PPP or Cisco HDLC, by the address byte.
        let l = link(LinkKind::PppHdlc, &PPP_IPV4).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv4, 4));
        let l = link(LinkKind::PppHdlc, &CHDLC_IPV4).unwrap();
        assert!(matches!(
            l.extra,
            LinkExtra::CiscoHdlc { address: 0x0f, .. }
        ));
        // tcpdump's fuzzed ppp_ip_udp_dns.pcap: `ff 5f 7e 08`, protocol 0x7e08.
        let l = link(LinkKind::PppHdlc, &[0xff, 0x5f, 0x7e, 0x08, 0x00]).unwrap();
        assert_eq!(l.net, NetProto::Ppp(0x7e08));
        assert!(link(LinkKind::PppHdlc, &[0x42, 0, 0, 0]).is_err());
    }

    #[test]
    fn every_cut_is_an_error_not_a_panic() {
        for kind in [LinkKind::Ppp, LinkKind::PppHdlc, LinkKind::CiscoHdlc] {
            for frame in [&PPP_IPV4[..], &CHDLC_IPV4[..]] {
                for cut in 0..frame.len() {
                    let _ = link(kind, &frame[..cut]);
                }
            }
        }
        assert!(link(LinkKind::Ppp, &[0xff, 0x03]).is_err());
        assert!(link(LinkKind::Ppp, &[0xff, 0x03, 0x00]).is_err());
    }
}
