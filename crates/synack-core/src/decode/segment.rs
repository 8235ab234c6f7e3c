//! `Segment`: the plain-value view of one TCP segment that the tracker and
//! the renderers share. Built only when the fixed TCP header was captured.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::link::{self, LinkKind, MacAddr, NetProto};
use super::net::Ecn;
use super::seq::SeqNum;
use super::tcp::{flag, OptionSummary, TcpView, MIN_HEADER_LEN};
use super::{Decoded, Frame, Timestamp};

/// One TCP segment as plain values: endpoints, flags, numbers, options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// 1-based record number of the frame that carried it.
    pub frame: u64,
    /// When it was captured.
    pub ts: Timestamp,
    /// Source MAC, when the link layer records one (Ethernet, Linux cooked).
    pub src_mac: Option<MacAddr>,
    /// Destination MAC, when the link layer records one (Ethernet).
    pub dst_mac: Option<MacAddr>,
    /// Sender's IP address and TCP port.
    pub src: SocketAddr,
    /// Receiver's IP address and TCP port.
    pub dst: SocketAddr,
    /// The TCP flag byte; test bits with `has` and the `tcp::flag` constants.
    pub flags: u8,
    /// Sequence number, absolute (as on the wire).
    pub seq: SeqNum,
    /// Present only when the ACK flag is set.
    pub ack: Option<SeqNum>,
    /// The raw 16-bit window field.
    pub window: u16,
    /// Urgent pointer: offset from `seq` to the end of urgent data (meaningful with URG).
    pub urgent_ptr: u16,
    /// Payload length from the IP length.
    pub payload_len: u32,
    /// The whole IP packet's length (IPv4 total length; IPv6 40 + payload
    /// length), as Zeek's `orig_ip_bytes` adds them up.
    pub ip_len: u32,
    /// What the options said: MSS, window scale, SACK, timestamps.
    pub options: OptionSummary,
    /// Something of this segment (options or payload) was not captured.
    pub truncated: bool,
    /// The AE flag (Accurate ECN, RFC 9768) was set.
    pub ae: bool,
    /// The IP ECN codepoint the packet carried.
    pub ecn: Ecn,
    /// The tunnel it travelled in ([`super::encap::EncapPath::tunnel_id`]; 0 for none).
    pub tunnel: u64,
}

impl Segment {
    /// The segment of a decoded frame: `None` unless it is TCP over IP with the
    /// fixed 20-byte header captured and a data offset of at least 5 words.
    pub fn from_decoded(frame: &Frame<'_>, d: &Decoded<'_>) -> Option<Segment> {
        let ip = d.ip()?;
        // An IP fragment holds part of a segment: its TCP header is shown,
        // but its length would mislead the sequence tracking (TCP avoids
        // fragmenting with its MSS, so this is rare).
        if ip.fragment.is_some() {
            return None;
        }
        let tcp = d.tcp()?;
        let h = &tcp.header;
        if !h.fixed_complete() || h.bad_header_len() {
            return None;
        }
        let flags = h.flags()?;
        let link = d.link.as_ref();
        Some(Segment {
            frame: frame.number,
            ts: frame.ts,
            src_mac: link.and_then(|l| l.src_mac),
            dst_mac: link.and_then(|l| l.dst_mac),
            src: SocketAddr::new(ip.src, h.src_port()?),
            dst: SocketAddr::new(ip.dst, h.dst_port()?),
            flags,
            seq: h.seq()?,
            ack: if flags & flag::ACK != 0 {
                h.ack_field()
            } else {
                None
            },
            window: h.window()?,
            urgent_ptr: h.urgent_ptr()?,
            payload_len: tcp.payload_len,
            ip_len: u32::try_from(ip.header_len + ip.payload_len).unwrap_or(u32::MAX),
            options: OptionSummary::of(h),
            truncated: frame.is_cut(),
            ae: h.ae().unwrap_or(false),
            ecn: ip.ecn(),
            tunnel: d.tunnel_id(),
        })
    }

    /// The segment of a frame, read the short way: the link header, then
    /// only what tracking needs of the IP and TCP headers, without building
    /// a [`Decoded`]. It is the segment `from_decoded(frame, &decode(kind,
    /// frame.data))` gives, or `None` whenever the frame is anything else
    /// than a TCP segment in one IPv4 datagram (no fragment) or in an IPv6
    /// packet without extension headers, with a length field that can be
    /// used and the fixed TCP header captured: the full decode is then the
    /// way (it also names what is wrong).
    pub fn of_frame(frame: &Frame<'_>, kind: LinkKind) -> Option<Segment> {
        let data = frame.data;
        let link = link::decode(kind, data).ok()?;
        // A VLAN tag belongs to the connection's key (its tunnel), and a
        // link trailer bounds the datagram: the full decode sees to both.
        if !link.vlans().is_empty() || link.trailer_len != 0 {
            return None;
        }
        let ip = data.get(link.header_len..)?;
        let be16 = |at: usize| u16::from_be_bytes([ip[at], ip[at + 1]]);
        let (src, dst, tos, ip_len, ip_payload_len, tcp) = match link.net {
            NetProto::Ipv4 => {
                if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 6 {
                    return None;
                }
                let header_len = usize::from(ip[0] & 0x0f) * 4;
                let total = usize::from(be16(2));
                // MF or a fragment offset: a fragment. A length field below
                // the header: the decoder guesses the length from the capture.
                if header_len < 20 || ip.len() < header_len || total < header_len {
                    return None;
                }
                if be16(6) & 0x3fff != 0 {
                    return None;
                }
                let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
                let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
                (
                    IpAddr::V4(src),
                    IpAddr::V4(dst),
                    ip[1],
                    total,
                    total - header_len,
                    &ip[header_len..total.min(ip.len())],
                )
            }
            NetProto::Ipv6 => {
                // Next header TCP: no extension headers. Payload length 0
                // (a jumbogram, or TSO): the capture must tell the length.
                if ip.len() < 40 || ip[0] >> 4 != 6 || ip[6] != 6 {
                    return None;
                }
                let declared = usize::from(be16(4));
                if declared == 0 {
                    return None;
                }
                let addr = |at: usize| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&ip[at..at + 16]);
                    IpAddr::V6(Ipv6Addr::from(a))
                };
                (
                    addr(8),
                    addr(24),
                    (ip[0] << 4) | (ip[1] >> 4),
                    40 + declared,
                    declared,
                    &ip[40..(40 + declared).min(ip.len())],
                )
            }
            _ => return None,
        };
        let h = TcpView::new(tcp);
        if !h.fixed_complete() || h.bad_header_len() {
            return None;
        }
        let tcp_header_len = h.header_len()?.max(MIN_HEADER_LEN);
        let flags = h.flags()?;
        Some(Segment {
            frame: frame.number,
            ts: frame.ts,
            src_mac: link.src_mac,
            dst_mac: link.dst_mac,
            src: SocketAddr::new(src, h.src_port()?),
            dst: SocketAddr::new(dst, h.dst_port()?),
            flags,
            seq: h.seq()?,
            ack: if flags & flag::ACK != 0 {
                h.ack_field()
            } else {
                None
            },
            window: h.window()?,
            urgent_ptr: h.urgent_ptr()?,
            payload_len: ip_payload_len.saturating_sub(tcp_header_len) as u32,
            ip_len: u32::try_from(ip_len).unwrap_or(u32::MAX),
            options: OptionSummary::of(&h),
            truncated: frame.is_cut(),
            ae: h.ae().unwrap_or(false),
            ecn: Ecn::of(tos),
            tunnel: 0,
        })
    }

    /// Any of the flag bits in `f` is set.
    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// Sequence space this segment occupies: payload, plus one each for SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload_len + u32::from(self.has(flag::SYN)) + u32::from(self.has(flag::FIN))
    }

    /// The sequence number just past this segment.
    pub fn next_seq(&self) -> SeqNum {
        self.seq.plus(self.seq_len())
    }
}
