//! Decode: raw frame bytes → what each layer says. Pure functions over
//! borrowed bytes, no allocation, never a panic on hostile input.

pub mod checksum;
pub mod encap;
pub mod fwlog;
pub mod link;
pub mod net;
mod ppp;
pub mod segment;
pub mod seq;
pub mod tcp;
mod tunnel;
pub mod wlan;

use encap::{Encap, EncapPath};
use link::{Link, LinkError, LinkKind, LinkTruncated, NetProto};
use net::{Arp, Ip, NetError};
use tcp::TcpView;

pub use segment::Segment;
pub use seq::SeqNum;

/// A capture timestamp. `nanos` is kept as the file stored it: a corrupt
/// file can hold values ≥ 10⁹, which `normalized` carries into the seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch (1970-01-01 UTC).
    pub secs: i64,
    /// Nanoseconds past `secs`; below 10⁹ unless the file was corrupt.
    pub nanos: u32,
}

impl Timestamp {
    /// A timestamp from seconds and nanoseconds, stored as given (not normalized).
    pub const fn new(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    /// The sub-second field was out of range in the file.
    pub fn is_invalid(&self) -> bool {
        self.nanos >= 1_000_000_000
    }

    /// The same instant with whole seconds carried out of `nanos`, so `nanos` < 10⁹.
    #[inline]
    pub fn normalized(self) -> Timestamp {
        if self.nanos < 1_000_000_000 {
            return self;
        }
        Timestamp {
            secs: self.secs + i64::from(self.nanos / 1_000_000_000),
            nanos: self.nanos % 1_000_000_000,
        }
    }

    /// Nanoseconds since the Unix epoch (normalized first).
    #[inline]
    pub fn as_nanos(self) -> i128 {
        let n = self.normalized();
        i128::from(n.secs) * 1_000_000_000 + i128::from(n.nanos)
    }

    /// `self - earlier` in nanoseconds (negative when time went backwards).
    #[inline]
    pub fn nanos_since(self, earlier: Timestamp) -> i128 {
        // Valid stamps less than 292 years apart: in 64 bits, no 128-bit multiply.
        if self.nanos < 1_000_000_000 && earlier.nanos < 1_000_000_000 {
            if let Some(ns) = self
                .secs
                .checked_sub(earlier.secs)
                .and_then(|s| s.checked_mul(1_000_000_000))
                .and_then(|s| s.checked_add(i64::from(self.nanos) - i64::from(earlier.nanos)))
            {
                return i128::from(ns);
            }
        }
        self.as_nanos() - earlier.as_nanos()
    }
}

/// One captured record, as the capture layer hands it over.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based record number in the input.
    pub number: u64,
    /// When the frame was captured.
    pub ts: Timestamp,
    /// Length on the wire; `data.len()` is what was captured.
    pub wire_len: u32,
    /// The captured bytes, from the start of the link-layer header (at most the snaplen).
    pub data: &'a [u8],
}

impl Frame<'_> {
    /// The snaplen cut this frame.
    pub fn is_cut(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.wire_len)
    }
}

/// The network layer of a frame, as far as it was decoded.
#[derive(Clone, Copy, Debug)]
pub enum Network {
    /// Nothing was decoded above the link layer.
    None,
    /// An IPv4 or IPv6 header.
    Ip(Ip),
    /// An ARP packet.
    Arp(Arp),
    /// An EtherType or address family synack does not decode.
    Other(NetProto),
}

/// A TCP segment: its captured header and how much payload it carries.
#[derive(Clone, Copy, Debug)]
pub struct Tcp<'a> {
    /// The captured TCP header; each accessor gives `None` for bytes not captured.
    pub header: TcpView<'a>,
    /// Payload length from the IP length (never padding, never the capture).
    pub payload_len: u32,
    /// The captured part of the payload.
    pub payload: &'a [u8],
}

/// A UDP header (RFC 768).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length from the UDP length field.
    pub len: u16,
}

/// An ICMP (RFC 792) or ICMPv6 (RFC 4443) message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// IP version it came in: 4 for ICMP, 6 for ICMPv6.
    pub version: u8,
    /// Message type, e.g. 8/0 echo request/reply (ICMPv6: 128/129).
    pub icmp_type: u8,
    /// Message code, refining the type (e.g. 3, port unreachable, under type 3).
    pub code: u8,
    /// Identifier and sequence of echo request/reply.
    pub echo: Option<(u16, u16)>,
    /// Message length in bytes, ICMP header included (the IP payload length).
    pub len: usize,
}

/// The transport layer of a frame, as far as it was decoded.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// No transport header: not IP, or decoding stopped before it.
    None,
    /// A TCP segment (protocol 6).
    Tcp(Tcp<'a>),
    /// A UDP datagram (protocol 17).
    Udp(Udp),
    /// An ICMP or ICMPv6 message (protocol 1 or 58).
    Icmp(Icmp),
    /// A non-first fragment: no transport header in it.
    Fragment,
    /// Another IP protocol, by number.
    Other(u8),
}

/// Why decoding stopped before the end of the headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The link-layer header was cut.
    #[error(transparent)]
    Link(#[from] LinkTruncated),
    /// The IPv4, IPv6 or ARP header could not be read.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The TCP header was cut: this many bytes of it were captured.
    #[error("TCP header truncated: {got} bytes captured")]
    TcpTruncated {
        /// Bytes captured from the start of the TCP header.
        got: usize,
    },
    /// The TCP data offset is below 5 words.
    #[error("bad TCP header: data offset {words} words (minimum 5)")]
    TcpBadHeaderLen {
        /// The data-offset field, in 32-bit words.
        words: u8,
    },
    /// The UDP header was cut: fewer than its 8 bytes were captured.
    #[error("UDP header truncated: {got} of 8 bytes captured")]
    UdpTruncated {
        /// Bytes of the UDP header captured.
        got: usize,
    },
    /// The ICMP header was cut: fewer than its first 4 bytes were captured.
    #[error("ICMP header truncated: {got} bytes captured")]
    IcmpTruncated {
        /// Bytes of the ICMP header captured.
        got: usize,
    },
    /// The frame's interface has a link type synack does not decode.
    #[error("link type {dlt} is not supported")]
    UnsupportedLink {
        /// The link type (libpcap DLT / LINKTYPE number) of that interface.
        dlt: i32,
    },
    /// The link-layer header is not a valid one of its kind.
    #[error("bad {} header: {reason}", kind.name())]
    LinkInvalid {
        /// The link layer being read.
        kind: LinkKind,
        /// What is wrong, in words.
        reason: &'static str,
    },
    /// An 802.11 frame's body is encrypted.
    #[error("802.11 frame is protected (encrypted): decrypt the capture first (airdecap-ng, or Wireshark with the keys)")]
    Protected,
    /// A tag, label or tunnel header was cut short.
    #[error("{layer} header truncated: {got} of {needed} bytes captured")]
    LayerTruncated {
        /// The header: `GRE`, `VXLAN`, `MPLS`, `802.1Q`…
        layer: &'static str,
        /// Bytes it needed (from where it starts).
        needed: usize,
        /// Bytes captured (from where it starts).
        got: usize,
    },
    /// A tag, label or tunnel header is not valid.
    #[error("bad {layer} header: {reason}")]
    LayerInvalid {
        /// The header.
        layer: &'static str,
        /// What is wrong, in words.
        reason: &'static str,
    },
    /// More layers of tags and tunnels than a path holds.
    #[error("encapsulation nested deeper than {max} layers: not followed")]
    TooDeep {
        /// The most layers followed ([`encap::MAX_ENCAP`]).
        max: usize,
    },
}

impl From<LinkError> for DecodeError {
    fn from(e: LinkError) -> DecodeError {
        match e {
            LinkError::Truncated(t) => DecodeError::Link(t),
            LinkError::Invalid { kind, reason } => DecodeError::LinkInvalid { kind, reason },
        }
    }
}

/// Everything decoded from one frame.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    /// `None` only when even the link header was cut.
    pub link: Option<Link>,
    /// Tags, labels and tunnels between the link header and `network`,
    /// outermost first (the link's own VLAN tags included).
    pub encap: EncapPath,
    /// The network layer, as far as decoded: the innermost IP header of a
    /// tunnelled frame.
    pub network: Network,
    /// The transport layer, as far as decoded.
    pub transport: Transport<'a>,
    /// Where decoding stopped early, if it did.
    pub error: Option<DecodeError>,
}

impl<'a> Decoded<'a> {
    /// The IPv4 or IPv6 header, when one was decoded.
    pub fn ip(&self) -> Option<&Ip> {
        match &self.network {
            Network::Ip(ip) => Some(ip),
            _ => None,
        }
    }

    /// The TCP segment, when one was found (its header may still be cut short).
    pub fn tcp(&self) -> Option<&Tcp<'a>> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The frame's tunnel, as a connection key counts it (see
    /// [`EncapPath::tunnel_id`]); 0 for none.
    pub fn tunnel_id(&self) -> u64 {
        self.encap.tunnel_id()
    }

    /// Nothing decoded yet.
    #[inline]
    pub(crate) fn empty() -> Decoded<'static> {
        Decoded {
            link: None,
            encap: EncapPath::default(),
            network: Network::None,
            transport: Transport::None,
            error: None,
        }
    }
}

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;

/// Decode one frame of the given link type: the link header, every tag
/// and tunnel (see [`Decoded::encap`]), the innermost IP header and what it carries.
#[inline]
pub fn decode(kind: LinkKind, data: &[u8]) -> Decoded<'_> {
    let mut out = Decoded::empty();
    decode_into(&mut out, kind, data);
    out
}

/// [`decode`] into `out` (which must be [`Decoded::empty`]): a decoded
/// frame is several hundred bytes, and building it in place saves copying
/// it for every frame.
#[inline]
pub(crate) fn decode_into<'a>(out: &mut Decoded<'a>, kind: LinkKind, data: &'a [u8]) {
    match link::decode(kind, data) {
        Ok(l) => {
            let link = out.link.insert(l);
            let (net, start, trailer) = (link.net, link.header_len, link.trailer_len);
            for v in link.vlans() {
                // At most MAX_VLANS of them: the path has room.
                out.encap.push(Encap::Vlan {
                    tpid: v.tpid,
                    id: v.id,
                    pcp: v.pcp,
                });
            }
            let start = start.min(data.len());
            let end = data.len().saturating_sub(trailer).max(start);
            // Not `bounded`: the capture may have cut the frame before its
            // trailer (an FCS), so what was cut off may have been payload.
            tunnel::walk(out, net, &data[start..end], false);
        }
        Err(e) => out.error = Some(e.into()),
    }
}

/// The innermost IP header and what it carries.
fn transport<'a>(out: &mut Decoded<'a>, ip: Ip, payload: &'a [u8]) {
    out.network = Network::Ip(ip);
    if matches!(ip.fragment, Some(f) if f.offset > 0) {
        out.transport = Transport::Fragment;
        return;
    }
    match ip.proto {
        IPPROTO_TCP => decode_tcp(out, &ip, payload),
        IPPROTO_UDP => {
            if payload.len() < 8 {
                out.error = Some(DecodeError::UdpTruncated { got: payload.len() });
            } else {
                let field = |i: usize| u16::from_be_bytes([payload[i], payload[i + 1]]);
                out.transport = Transport::Udp(Udp {
                    src_port: field(0),
                    dst_port: field(2),
                    len: field(4).saturating_sub(8),
                });
            }
        }
        IPPROTO_ICMP | IPPROTO_ICMPV6 => {
            if payload.len() < 4 {
                out.error = Some(DecodeError::IcmpTruncated { got: payload.len() });
            } else {
                let (icmp_type, code) = (payload[0], payload[1]);
                let is_echo = if ip.proto == IPPROTO_ICMP {
                    icmp_type == 0 || icmp_type == 8
                } else {
                    icmp_type == 128 || icmp_type == 129
                };
                let echo = (is_echo && payload.len() >= 8).then(|| {
                    (
                        u16::from_be_bytes([payload[4], payload[5]]),
                        u16::from_be_bytes([payload[6], payload[7]]),
                    )
                });
                out.transport = Transport::Icmp(Icmp {
                    version: ip.version,
                    icmp_type,
                    code,
                    echo,
                    len: ip.payload_len,
                });
            }
        }
        other => out.transport = Transport::Other(other),
    }
}

fn decode_tcp<'a>(out: &mut Decoded<'a>, ip: &Ip, payload: &'a [u8]) {
    let header = TcpView::new(payload);
    if header.bad_header_len() {
        out.error = Some(DecodeError::TcpBadHeaderLen {
            words: header.header_len().unwrap_or(0) as u8 / 4,
        });
    } else if !header.header_complete() {
        out.error = Some(DecodeError::TcpTruncated { got: payload.len() });
    }
    let hlen = header
        .header_len()
        .unwrap_or(tcp::MIN_HEADER_LEN)
        .max(tcp::MIN_HEADER_LEN);
    let payload_len = ip.payload_len.saturating_sub(hlen) as u32;
    let captured_payload = payload.get(hlen..).unwrap_or(&[]);
    let captured_payload = &captured_payload[..captured_payload.len().min(payload_len as usize)];
    out.transport = Transport::Tcp(Tcp {
        header,
        payload_len,
        payload: captured_payload,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_normalizes_bad_nanos() {
        let t = Timestamp::new(10, 1_500_000_000);
        assert!(t.is_invalid());
        assert_eq!(t.normalized(), Timestamp::new(11, 500_000_000));
        assert_eq!(Timestamp::new(11, 0).nanos_since(t), -500_000_000);
    }

    #[test]
    fn raw_ipv4_tcp_with_padding_counts_no_padding() {
        // IPv4 total length 40 (20 + 20), then 6 bytes of trailer.
        let mut p = vec![
            0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend([
            0x30, 0x39, 0x27, 0x0f, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 1, 0,
        ]);
        p.extend([0, 0, 0, 0]);
        p.extend([0xee; 6]);
        let d = decode(LinkKind::Raw, &p);
        assert!(d.error.is_none());
        let tcp = d.tcp().unwrap();
        assert_eq!(tcp.payload_len, 0);
        assert_eq!(tcp.header.src_port(), Some(12345));
    }

    #[test]
    fn non_first_fragment_has_no_transport() {
        let p = vec![
            0x45, 0, 0, 28, 0, 1, 0x00, 0x10, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 2, 3, 4,
            5, 6, 7, 8,
        ];
        let d = decode(LinkKind::Raw, &p);
        assert!(matches!(d.transport, Transport::Fragment));
        assert_eq!(d.ip().unwrap().fragment.unwrap().offset, 128);
    }
}
