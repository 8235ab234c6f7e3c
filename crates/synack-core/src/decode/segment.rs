//! `Segment`: the plain-value view of one TCP segment that the tracker and
//! the renderers share. Built only when the fixed TCP header was captured.

use std::net::SocketAddr;

use super::link::MacAddr;
use super::seq::SeqNum;
use super::tcp::{flag, OptionSummary};
use super::{Decoded, Frame, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub frame: u64,
    pub ts: Timestamp,
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: u8,
    pub seq: SeqNum,
    /// Present only when the ACK flag is set.
    pub ack: Option<SeqNum>,
    /// The raw 16-bit window field.
    pub window: u16,
    pub urgent_ptr: u16,
    /// Payload length from the IP length.
    pub payload_len: u32,
    pub options: OptionSummary,
    /// Something of this segment (options or payload) was not captured.
    pub truncated: bool,
}

impl Segment {
    pub fn from_decoded(frame: &Frame<'_>, d: &Decoded<'_>) -> Option<Segment> {
        let ip = d.ip()?;
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
            options: OptionSummary::of(h),
            truncated: frame.is_cut(),
        })
    }

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
