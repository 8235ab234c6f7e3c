//! Build raw IPv4 TCP frames by hand (link type RAW), for tests, examples
//! and benchmarks: a segment described by its fields becomes the bytes a
//! capture would hold. Payload bytes are not stored: the frame is cut after
//! the headers (as a small snaplen would), while the IP length tells the
//! payload's real size.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::decode::Timestamp;

/// One TCP segment to build.
#[derive(Clone, Copy, Debug)]
pub struct SegmentSpec {
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// TCP flags (see [`crate::decode::tcp::flag`]).
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (sent whatever the ACK flag says).
    pub ack: u32,
    /// Window field.
    pub window: u16,
    /// Payload length (not stored, only declared by the IP length).
    pub len: u16,
    /// A TCP timestamps option (value, echo reply).
    pub timestamps: Option<(u32, u32)>,
    /// A SACK option with one block (left edge, right edge).
    pub sack: Option<(u32, u32)>,
    /// The AE flag (Accurate ECN), next to the data offset.
    pub ae: bool,
    /// The IP ECN codepoint bits (0 Not-ECT, 2 ECT(0), 1 ECT(1), 3 CE).
    pub ecn: u8,
}

impl SegmentSpec {
    /// A segment from `src` to `dst` with nothing set.
    pub fn new(src: SocketAddrV4, dst: SocketAddrV4) -> SegmentSpec {
        SegmentSpec {
            src,
            dst,
            flags: 0,
            seq: 0,
            ack: 0,
            window: 1000,
            len: 0,
            timestamps: None,
            sack: None,
            ae: false,
            ecn: 0,
        }
    }

    /// The frame's bytes (IPv4 header, TCP header and options) and its
    /// length on the wire (headers plus payload).
    pub fn bytes(&self) -> (Vec<u8>, u32) {
        let opt_len = if self.timestamps.is_some() { 12 } else { 0 }
            + if self.sack.is_some() { 12 } else { 0 };
        let tcp_len = 20 + opt_len;
        let total = 20 + tcp_len + usize::from(self.len);
        let total16 = u16::try_from(total).unwrap_or(u16::MAX);
        let mut b = Vec::with_capacity(20 + tcp_len);
        b.extend_from_slice(&[0x45, self.ecn & 3]);
        b.extend_from_slice(&total16.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        b.extend_from_slice(&self.src.ip().octets());
        b.extend_from_slice(&self.dst.ip().octets());
        let sum = checksum(&b);
        b[10..12].copy_from_slice(&sum.to_be_bytes());
        b.extend_from_slice(&self.src.port().to_be_bytes());
        b.extend_from_slice(&self.dst.port().to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.ack.to_be_bytes());
        b.push((((tcp_len / 4) as u8) << 4) | u8::from(self.ae));
        b.push(self.flags);
        b.extend_from_slice(&self.window.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        if let Some((val, ecr)) = self.timestamps {
            b.extend_from_slice(&[1, 1, 8, 10]);
            b.extend_from_slice(&val.to_be_bytes());
            b.extend_from_slice(&ecr.to_be_bytes());
        }
        if let Some((left, right)) = self.sack {
            b.extend_from_slice(&[1, 1, 5, 10]);
            b.extend_from_slice(&left.to_be_bytes());
            b.extend_from_slice(&right.to_be_bytes());
        }
        (b, total as u32)
    }
}

/// The IPv4 header checksum (RFC 1071).
fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in header.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Milliseconds from an arbitrary start, as a capture timestamp.
pub fn ms(ms: u64) -> Timestamp {
    Timestamp::new(
        1_700_000_000 + (ms / 1000) as i64,
        ((ms % 1000) * 1_000_000) as u32,
    )
}

/// `a.b.c.d:port`.
pub fn addr(ip: [u8; 4], port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(ip), port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link::LinkKind;
    use crate::decode::{decode, tcp::flag};

    #[test]
    fn a_built_segment_decodes_to_what_was_asked() {
        let mut s = SegmentSpec::new(addr([10, 0, 0, 1], 50000), addr([10, 0, 0, 2], 80));
        s.flags = flag::SYN | flag::ACK;
        s.seq = 7;
        s.ack = 9;
        s.len = 300;
        s.timestamps = Some((5, 6));
        let (bytes, wire) = s.bytes();
        assert_eq!(wire, 20 + 32 + 300);
        let d = decode(LinkKind::Raw, &bytes);
        assert!(d.error.is_none(), "{:?}", d.error);
        let tcp = d.tcp().unwrap();
        assert_eq!(tcp.payload_len, 300);
        assert_eq!(tcp.header.seq().unwrap().0, 7);
        assert_eq!(tcp.header.flags(), Some(flag::SYN | flag::ACK));
    }
}
