//! `Segment`: the plain-value view of one TCP segment that the tracker and
//! the renderers share. Built only when the fixed TCP header was captured.

use std::net::SocketAddr;

use super::link::MacAddr;
use super::net::Ecn;
use super::seq::SeqNum;
use super::tcp::{flag, OptionSummary};
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
