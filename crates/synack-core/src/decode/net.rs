//! The network layer: IPv4 (with options) and IPv6 (with extension headers)
//! through etherparse's lax slicing, which keeps what a snaplen left; ARP by hand.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{LaxIpv4Slice, LaxIpv6Slice, LenSource};

/// A fragment of a larger datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Byte offset of this fragment in the original datagram.
    pub offset: u32,
    /// More fragments follow (the MF flag, or the IPv6 M flag).
    pub more: bool,
    /// Identification shared by the datagram's fragments (16-bit IPv4, 32-bit IPv6).
    pub id: u32,
}

/// The facts of an IPv4 or IPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip {
    /// IP version: 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// The traffic class (IPv4 TOS byte, IPv6 traffic class): DSCP in the
    /// high six bits, the ECN codepoint in the low two (see [`Ecn`]).
    pub tos: u8,
    /// IPv4 identification.
    pub id: Option<u16>,
    /// Protocol after all extension headers.
    pub proto: u8,
    /// Bytes of IPv4 options.
    pub options_len: usize,
    /// IPv6 extension headers present, one bit per kind (see [`ext`]); their order is not kept.
    pub ext_headers: u8,
    /// Set for a fragment: IPv4 with MF or a non-zero offset, IPv6 with a Fragment header.
    pub fragment: Option<Fragment>,
    /// The payload length the IP header declares (what tcpdump and the
    /// kernel believe), never padding. Falls back to what was captured when
    /// the length field is unusable (0 with TSO, or smaller than the header).
    pub payload_len: usize,
    /// `payload_len` came from the captured bytes, not the header.
    pub payload_len_guessed: bool,
    /// Where the payload starts, from the start of the IP header.
    pub header_len: usize,
    /// The length field as sent: IPv4 total length (header included), IPv6
    /// payload length (extension headers included).
    pub length_field: u16,
    /// IPv4 flag bits (see [`ipv4_flag`]); 0 for IPv6.
    pub flags: u8,
    /// IPv6 flow label (20 bits); 0 for IPv4.
    pub flow_label: u32,
    /// The fixed header's protocol field: IPv6's next header (the first
    /// extension header when there is one); IPv4's protocol, as `proto`.
    pub next_header: u8,
}

/// The IPv4 flag bits (RFC 791 §3.1), as in [`Ip::flags`].
pub mod ipv4_flag {
    /// The reserved bit (RFC 3514's "evil bit"): must be zero.
    pub const RESERVED: u8 = 4;
    /// Don't Fragment.
    pub const DF: u8 = 2;
    /// More Fragments follow.
    pub const MF: u8 = 1;
}

/// The IP ECN codepoint (RFC 3168 §5): the low two bits of the traffic class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecn {
    /// 00: the sender does not do ECN.
    NotEct,
    /// 10: ECN-capable transport, codepoint 0 (classic ECN senders).
    Ect0,
    /// 01: ECN-capable transport, codepoint 1 (L4S senders).
    Ect1,
    /// 11: congestion experienced: a router marked it instead of dropping it.
    Ce,
}

impl Ecn {
    /// The codepoint in a traffic-class byte.
    pub fn of(tos: u8) -> Ecn {
        match tos & 3 {
            0 => Ecn::NotEct,
            2 => Ecn::Ect0,
            1 => Ecn::Ect1,
            _ => Ecn::Ce,
        }
    }

    /// The name tshark and RFC 3168 use: `Not-ECT`, `ECT(0)`, `ECT(1)`, `CE`.
    pub fn name(self) -> &'static str {
        match self {
            Ecn::NotEct => "Not-ECT",
            Ecn::Ect0 => "ECT(0)",
            Ecn::Ect1 => "ECT(1)",
            Ecn::Ce => "CE",
        }
    }
}

impl Ip {
    /// The ECN codepoint of this packet.
    pub fn ecn(&self) -> Ecn {
        Ecn::of(self.tos)
    }
}

/// IPv6 extension header kinds, as bits of `Ip::ext_headers`.
pub mod ext {
    /// Hop-by-Hop Options header (next header 0).
    pub const HOP_BY_HOP: u8 = 1;
    /// Routing header (next header 43).
    pub const ROUTING: u8 = 2;
    /// Fragment header (next header 44).
    pub const FRAGMENT: u8 = 4;
    /// Destination Options header (next header 60).
    pub const DEST_OPTS: u8 = 8;
    /// IPsec Authentication Header (next header 51).
    pub const AUTH: u8 = 16;
}

/// Why the network layer could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The header was cut by the snaplen: this many bytes of it were captured.
    #[error("IPv{version} header truncated: {got} bytes captured")]
    Truncated {
        /// IP version of the header: 4 or 6.
        version: u8,
        /// Bytes captured from the start of the header.
        got: usize,
    },
    /// The header is not a valid IP header.
    #[error("bad IPv{version} header: {reason}")]
    Invalid {
        /// IP version being read: 4 or 6.
        version: u8,
        /// What is wrong, in words.
        reason: &'static str,
    },
    /// Extension headers could not be walked (the fixed header was read).
    #[error("bad IPv6 extension header")]
    BadExtension,
    /// An ARP packet shorter than its address lengths.
    #[error("ARP packet truncated: {got} bytes captured")]
    ArpTruncated {
        /// Bytes of the ARP packet captured.
        got: usize,
    },
}

/// Decode an IPv4 header; returns the header facts and the captured payload.
pub fn ipv4(data: &[u8]) -> Result<(Ip, &[u8]), NetError> {
    use etherparse::err::ipv4::HeaderError;
    use etherparse::err::ipv4::HeaderSliceError as E;
    let (slice, _auth_err) = LaxIpv4Slice::from_slice(data).map_err(|e| match e {
        E::Len(_) => NetError::Truncated {
            version: 4,
            got: data.len(),
        },
        E::Content(HeaderError::UnexpectedVersion { .. }) => NetError::Invalid {
            version: 4,
            reason: "version field is not 4",
        },
        E::Content(HeaderError::HeaderLengthSmallerThanHeader { .. }) => NetError::Invalid {
            version: 4,
            reason: "header length field below 5 words",
        },
    })?;
    let h = slice.header();
    let header_len = usize::from(h.ihl()) * 4;
    let payload = slice.payload();
    let declared = usize::from(h.total_len());
    let guessed = payload.len_source == LenSource::Slice && declared < header_len;
    let payload_len = if guessed {
        payload.payload.len()
    } else {
        declared.saturating_sub(header_len)
    };
    let offset = u32::from(h.fragments_offset().value()) * 8;
    let fragment = (h.more_fragments() || offset > 0).then_some(Fragment {
        offset,
        more: h.more_fragments(),
        id: u32::from(h.identification()),
    });
    let ip = Ip {
        version: 4,
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        ttl: h.ttl(),
        tos: (h.dcp().value() << 2) | h.ecn().value(),
        id: Some(h.identification()),
        proto: payload.ip_number.0,
        options_len: header_len - 20,
        ext_headers: 0,
        fragment,
        payload_len,
        payload_len_guessed: guessed,
        // Not data.len() − payload length: that would count an Ethernet
        // trailer (padding) as header.
        header_len,
        length_field: h.total_len(),
        // The header was read whole, so byte 6 is there.
        flags: data[6] >> 5,
        flow_label: 0,
        next_header: payload.ip_number.0,
    };
    Ok((ip, payload.payload))
}

/// Decode an IPv6 header and its extension headers.
pub fn ipv6(data: &[u8]) -> Result<(Ip, &[u8]), NetError> {
    use etherparse::err::ipv6::HeaderError;
    use etherparse::err::ipv6::HeaderSliceError as E;
    let (slice, ext_err) = LaxIpv6Slice::from_slice(data).map_err(|e| match e {
        E::Len(_) => NetError::Truncated {
            version: 6,
            got: data.len(),
        },
        E::Content(HeaderError::UnexpectedVersion { .. }) => NetError::Invalid {
            version: 6,
            reason: "version field is not 6",
        },
    })?;
    let h = slice.header();
    let payload = slice.payload();
    // The fixed header and the extension headers etherparse read (never a
    // trailer after the payload).
    let header_len = (40 + slice.extensions().slice().len()).min(data.len());
    // The extension headers are walked here, bounds-checked: etherparse's
    // own iterator reads out of bounds on some cut headers (get_unchecked).
    let (ext_headers, fragment) = walk_ipv6_extensions(data, h.next_header().0, header_len);
    let ext_len = header_len.saturating_sub(40);
    let declared = usize::from(h.payload_length());
    // Payload length 0 means a jumbogram (or TSO): only the capture can tell.
    let guessed = declared == 0 || ext_err.is_some();
    let payload_len = if guessed {
        payload.payload.len()
    } else {
        declared.saturating_sub(ext_len)
    };
    let ip = Ip {
        version: 6,
        src: IpAddr::V6(h.source_addr()),
        dst: IpAddr::V6(h.destination_addr()),
        ttl: h.hop_limit(),
        tos: h.traffic_class(),
        id: None,
        proto: payload.ip_number.0,
        options_len: 0,
        ext_headers,
        fragment,
        payload_len,
        payload_len_guessed: guessed,
        header_len,
        length_field: h.payload_length(),
        flags: 0,
        flow_label: u32::from_be_bytes([0, data[1] & 0x0f, data[2], data[3]]),
        next_header: h.next_header().0,
    };
    if ext_err.is_some() && payload.payload.is_empty() {
        return Err(NetError::BadExtension);
    }
    Ok((ip, payload.payload))
}

/// Walk IPv6 extension headers within `data[40..end]`: which kinds are
/// there, and the fragment header's facts.
fn walk_ipv6_extensions(data: &[u8], first: u8, end: usize) -> (u8, Option<Fragment>) {
    let end = end.min(data.len());
    let mut kinds = 0;
    let mut fragment = None;
    let mut next = first;
    let mut at = 40;
    while at + 2 <= end {
        let len = match next {
            0 | 43 | 60 => (usize::from(data[at + 1]) + 1) * 8,
            44 => 8,
            51 => (usize::from(data[at + 1]) + 2) * 4,
            _ => break,
        };
        kinds |= match next {
            0 => ext::HOP_BY_HOP,
            43 => ext::ROUTING,
            44 => ext::FRAGMENT,
            60 => ext::DEST_OPTS,
            _ => ext::AUTH,
        };
        if next == 44 && at + 8 <= end {
            let off = u16::from_be_bytes([data[at + 2], data[at + 3]]);
            fragment = Some(Fragment {
                offset: u32::from(off >> 3) * 8,
                more: off & 1 != 0,
                id: u32::from_be_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]),
            });
        }
        next = data[at];
        at += len;
    }
    (kinds, fragment)
}

/// IPv4 option kinds (RFC 791 §3.1 and the IANA registry) that are read further.
pub mod ipv4_opt {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No operation (padding between options).
    pub const NOP: u8 = 1;
    /// Record Route: each router writes its address into the next free slot.
    pub const RR: u8 = 7;
    /// Timestamp (RFC 791): routers add timestamps, with or without addresses.
    pub const TS: u8 = 68;
    /// Loose Source and Record Route.
    pub const LSRR: u8 = 131;
    /// Strict Source and Record Route.
    pub const SSRR: u8 = 137;
    /// Router Alert (RFC 2113).
    pub const RA: u8 = 148;
}

/// One IPv4 option, as found in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv4Option<'a> {
    /// A well-formed option: its kind and all its bytes (kind and length
    /// bytes included; just the kind byte for EOL and NOP).
    Option {
        /// The option kind (type) byte; see [`ipv4_opt`].
        kind: u8,
        /// The whole option, from its kind byte.
        bytes: &'a [u8],
    },
    /// The length byte is below 2, missing, or runs past the header: the
    /// list cannot be read further. `len` is the length byte (0 if missing).
    BadLength {
        /// The option kind.
        kind: u8,
        /// What the length byte said.
        len: u8,
    },
}

/// The options of an IPv4 header, in order; ends after EOL or a bad length.
#[derive(Clone, Debug)]
pub struct Ipv4Options<'a> {
    rest: &'a [u8],
}

/// The options of a captured IPv4 header (`header` from its first byte;
/// nothing when the header was not captured whole or has no options).
pub fn ipv4_options(header: &[u8]) -> Ipv4Options<'_> {
    let hlen = header.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    Ipv4Options {
        rest: header.get(20..hlen).unwrap_or(&[]),
    }
}

impl<'a> Iterator for Ipv4Options<'a> {
    type Item = Ipv4Option<'a>;

    fn next(&mut self) -> Option<Ipv4Option<'a>> {
        let rest = self.rest;
        let kind = *rest.first()?;
        let len = if kind == ipv4_opt::EOL || kind == ipv4_opt::NOP {
            1
        } else {
            let len = rest.get(1).copied().unwrap_or(0);
            if len < 2 || usize::from(len) > rest.len() {
                self.rest = &[];
                return Some(Ipv4Option::BadLength { kind, len });
            }
            usize::from(len)
        };
        let (bytes, tail) = rest.split_at(len);
        // Nothing after EOL is an option.
        self.rest = if kind == ipv4_opt::EOL { &[] } else { tail };
        Some(Ipv4Option::Option { kind, bytes })
    }
}

/// An ARP packet (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// Opcode: 1 request, 2 reply (RFC 826).
    pub operation: u16,
    /// Sender and target protocol addresses, when they are IPv4.
    pub sender_ip: Option<Ipv4Addr>,
    /// Target protocol address, when it is IPv4.
    pub target_ip: Option<Ipv4Addr>,
    /// Sender hardware (MAC) address, for Ethernet/IPv4 ARP.
    pub sender_hw: Option<[u8; 6]>,
    /// Length in bytes from its address lengths, 8 + 2·hlen + 2·plen (no padding).
    pub len: usize,
}

/// Decode ARP for Ethernet/IPv4 (the only kind seen in practice); other
/// hardware or protocol types keep their operation only.
pub fn arp(data: &[u8]) -> Result<Arp, NetError> {
    if data.len() < 8 {
        return Err(NetError::ArpTruncated { got: data.len() });
    }
    let hlen = usize::from(data[4]);
    let plen = usize::from(data[5]);
    let operation = u16::from_be_bytes([data[6], data[7]]);
    let total = 8 + 2 * hlen + 2 * plen;
    let mut arp = Arp {
        operation,
        sender_ip: None,
        target_ip: None,
        sender_hw: None,
        len: total,
    };
    if data.len() < total {
        return Err(NetError::ArpTruncated { got: data.len() });
    }
    if hlen == 6 && plen == 4 {
        let mut hw = [0u8; 6];
        hw.copy_from_slice(&data[8..14]);
        arp.sender_hw = Some(hw);
        arp.sender_ip = Some(Ipv4Addr::new(data[14], data[15], data[16], data[17]));
        arp.target_ip = Some(Ipv4Addr::new(data[24], data[25], data[26], data[27]));
    }
    Ok(arp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_header(total_len: u16, ihl: u8) -> Vec<u8> {
        let mut h = vec![0x40 | ihl, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0];
        h[2..4].copy_from_slice(&total_len.to_be_bytes());
        h.extend([127, 0, 0, 1, 127, 0, 0, 2]);
        h.resize(usize::from(ihl) * 4, 1);
        h
    }

    #[test]
    fn padding_is_not_payload() {
        let mut p = v4_header(40, 5);
        p.extend([0u8; 20]); // TCP header
        p.extend([0u8; 6]); // Ethernet padding
        let (ip, payload) = ipv4(&p).unwrap();
        assert_eq!(ip.payload_len, 20);
        assert_eq!(payload.len(), 20);
        assert!(!ip.payload_len_guessed);
        // The padding is not header either: the packet is its total length.
        assert_eq!(ip.header_len + ip.payload_len, 40);
    }

    #[test]
    fn ipv6_padding_is_neither_header_nor_payload() {
        // 40-byte header, payload length 20 (a TCP header), 6 bytes of padding.
        let mut p = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        p.extend([0u8; 32]);
        p.extend([0u8; 20]);
        p.extend([0u8; 6]);
        let (ip, payload) = ipv6(&p).unwrap();
        assert_eq!((ip.header_len, ip.payload_len), (40, 20));
        assert_eq!(payload.len(), 20);
    }

    #[test]
    fn a_trailer_is_not_header() {
        let mut p = v4_header(44, 6);
        p.extend([0xaa; 20]); // the TCP header
        p.extend([0, 0]); // Ethernet padding
        let (ip, _) = ipv4(&p).unwrap();
        assert_eq!(ip.header_len, 24);
        let mut v6 = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        v6.extend([0u8; 32]);
        v6.extend([0xaa; 20]);
        v6.extend([0; 4]);
        let (ip, payload) = ipv6(&v6).unwrap();
        assert_eq!((ip.header_len, ip.payload_len, payload.len()), (40, 20, 20));
    }

    #[test]
    fn options_and_truncation() {
        let mut p = v4_header(100, 6);
        p.extend([0u8; 10]);
        let (ip, payload) = ipv4(&p).unwrap();
        assert_eq!(ip.options_len, 4);
        assert_eq!(ip.header_len, 24);
        assert_eq!(ip.payload_len, 76);
        assert_eq!(payload.len(), 10);
    }

    #[test]
    fn options_of_a_record_route_header() {
        // NOP, RR (length 11, pointer 8, 10.99.1.1, 0.0.0.0), as in ip-options.pcap.
        let mut h = v4_header(72, 8);
        h[20..32].copy_from_slice(&[1, 7, 11, 8, 10, 99, 1, 1, 0, 0, 0, 0]);
        let opts: Vec<_> = ipv4_options(&h).collect();
        assert_eq!(
            opts,
            vec![
                Ipv4Option::Option {
                    kind: ipv4_opt::NOP,
                    bytes: &[1]
                },
                Ipv4Option::Option {
                    kind: ipv4_opt::RR,
                    bytes: &[7, 11, 8, 10, 99, 1, 1, 0, 0, 0, 0]
                },
            ]
        );
        // Nothing after EOL counts.
        let mut e = v4_header(60, 6);
        e[20..24].copy_from_slice(&[0, 7, 3, 4]);
        assert_eq!(ipv4_options(&e).count(), 1);
        // A length running past the header stops the list.
        h[22] = 40;
        assert_eq!(
            ipv4_options(&h).nth(1),
            Some(Ipv4Option::BadLength { kind: 7, len: 40 })
        );
        assert_eq!(ipv4_options(&h).count(), 2);
        assert_eq!(ipv4_options(&h[..20]).count(), 0);
    }

    #[test]
    fn cut_header_is_truncated() {
        let p = v4_header(40, 5);
        assert_eq!(
            ipv4(&p[..12]).unwrap_err(),
            NetError::Truncated {
                version: 4,
                got: 12
            }
        );
    }

    #[test]
    fn ihl_below_five_is_invalid() {
        let mut p = v4_header(40, 5);
        p[0] = 0x44;
        assert!(matches!(ipv4(&p), Err(NetError::Invalid { .. })));
    }

    #[test]
    fn ipv6_extension_walk_survives_cut_and_hostile_headers() {
        let mut p = vec![0x60, 0, 0, 0, 0, 16, 44, 64];
        p.extend([0u8; 32]);
        // A fragment header (offset 1448, more), then a hop-by-hop claiming 2 KiB.
        p.extend([0, 0, 0x05, 0xa9, 0, 0, 0x12, 0x34]);
        p.extend([6, 0xff, 0, 0, 0, 0, 0, 0]);
        let (ip, _) = ipv6(&p).unwrap();
        let f = ip.fragment.unwrap();
        assert_eq!((f.offset, f.more, f.id), (1448, true, 0x1234));
        for cut in 0..p.len() {
            let _ = ipv6(&p[..cut]);
        }
    }

    #[test]
    fn arp_request() {
        let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
        a.extend([
            1, 2, 3, 4, 5, 6, 10, 99, 0, 1, 0, 0, 0, 0, 0, 0, 10, 99, 0, 2,
        ]);
        let arp = arp(&a).unwrap();
        assert_eq!(arp.operation, 1);
        assert_eq!(arp.target_ip, Some(Ipv4Addr::new(10, 99, 0, 2)));
    }
}
