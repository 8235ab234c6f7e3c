//! Checksums checked: the IPv4 header's (RFC 791) and TCP's over its
//! pseudo-header (RFC 9293 §3.1). Pure and allocation-free; the 16-bit
//! one's-complement sums are etherparse's (`checksum::Sum16BitWords`).
//!
//! A capture often holds checksums nobody finished: with checksum offload
//! (Linux `CHECKSUM_PARTIAL`) the kernel writes only the sum of the
//! pseudo-header into the TCP checksum field and leaves the rest to the
//! network card, and a capture point before the card (loopback, outgoing
//! packets on a real interface) sees that partial sum. tcpdump calls those
//! "incorrect"; here they are [`Verdict::Offload`]: not judged. Which
//! bytes were damaged cannot be told apart from an unfinished sum only when
//! the damaged field happens to equal the pseudo-header sum.

use etherparse::checksum::Sum16BitWords;

use super::net::{ext, ipv4_opt, ipv4_options, Ip, Ipv4Option};
use super::{Decoded, Network};

const IPPROTO_TCP: u8 = 6;

/// What checking one checksum found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The checksum matches the bytes.
    Correct,
    /// It does not: the bytes were damaged, or the sender wrote a wrong sum.
    /// `expected` is what the field should hold (computed as tcpdump does).
    Incorrect {
        /// The value the checksum field should have had.
        expected: u16,
    },
    /// The field holds what a sender leaves for checksum offload: for TCP,
    /// the pseudo-header's sum (Linux `CHECKSUM_PARTIAL`, seen on loopback
    /// and on outgoing packets captured before the network card); for the
    /// IPv4 header, zero. Not judged.
    Offload,
    /// Not every byte the checksum covers was captured (a snaplen, a
    /// fragment), or the length it covers is unknown (IP length 0 with
    /// segmentation offload), or the pseudo-header's destination is in an
    /// IPv6 routing header. Not judged.
    Incomplete,
}

/// A checksum field and what checking it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// The field as sent.
    pub field: u16,
    /// Whether it is right, wrong, or could not be judged.
    pub verdict: Verdict,
}

impl Checksum {
    /// `Some(true)` correct, `Some(false)` incorrect, `None` not judged.
    pub fn ok(&self) -> Option<bool> {
        match self.verdict {
            Verdict::Correct => Some(true),
            Verdict::Incorrect { .. } => Some(false),
            Verdict::Offload | Verdict::Incomplete => None,
        }
    }
}

/// The checksums of one frame, checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksums {
    /// The IPv4 header checksum (`None` for IPv6, which has none, and for
    /// frames without IP).
    pub ip: Option<Checksum>,
    /// The TCP checksum (`None` when there is no TCP header or its checksum
    /// field was not captured).
    pub tcp: Option<Checksum>,
}

/// Check the checksums of a decoded frame; `frame` is the captured bytes
/// the frame was decoded from.
pub fn check(decoded: &Decoded<'_>, frame: &[u8]) -> Checksums {
    let (Some(link), Network::Ip(ip)) = (&decoded.link, &decoded.network) else {
        return Checksums::default();
    };
    let Some(packet) = frame.get(link.header_len..) else {
        return Checksums::default();
    };
    Checksums {
        ip: ipv4_header(ip, packet),
        tcp: tcp(ip, packet),
    }
}

/// The IPv4 header checksum; `packet` is the captured bytes from the IP
/// header on. `None` for IPv6 or a header not captured whole.
pub fn ipv4_header(ip: &Ip, packet: &[u8]) -> Option<Checksum> {
    if ip.version != 4 {
        return None;
    }
    let hlen = usize::from(packet.first()? & 0x0f) * 4;
    let header = packet.get(..hlen)?;
    let field = u16::from_be_bytes([*header.get(10)?, *header.get(11)?]);
    let computed = finish(Sum16BitWords::new().add_slice(header));
    let verdict = if computed == 0 {
        Verdict::Correct
    } else if field == 0 {
        // Windows leaves the field zero for the card to fill in.
        Verdict::Offload
    } else {
        Verdict::Incorrect {
            expected: should_be(field, computed),
        }
    };
    Some(Checksum { field, verdict })
}

/// The TCP checksum over the pseudo-header and the whole segment; `packet`
/// is the captured bytes from the IP header on. `None` when the frame holds
/// no TCP header or its checksum field was not captured.
pub fn tcp(ip: &Ip, packet: &[u8]) -> Option<Checksum> {
    if ip.proto != IPPROTO_TCP || ip.fragment.is_some_and(|f| f.offset > 0) {
        return None;
    }
    let segment = packet.get(ip.header_len..)?;
    let field = u16::from_be_bytes([*segment.get(16)?, *segment.get(17)?]);
    let len = ip.payload_len;
    // The pseudo-header needs the segment's length: unknown in a first
    // fragment (the IP length is the fragment's) or with IP length 0.
    // With an IPv6 routing header, its destination is elsewhere.
    let pseudo_known =
        ip.fragment.is_none() && !ip.payload_len_guessed && ip.ext_headers & ext::ROUTING == 0;
    if !pseudo_known {
        return Some(Checksum {
            field,
            verdict: Verdict::Incomplete,
        });
    }
    let pseudo = match (ip.src, ip.dst) {
        (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) => Sum16BitWords::new()
            .add_4bytes(src.octets())
            .add_4bytes(final_destination(packet).unwrap_or(dst.octets()))
            .add_2bytes([0, IPPROTO_TCP])
            // An IPv4 datagram is at most 65535 bytes, so is its segment.
            .add_2bytes((len as u16).to_be_bytes()),
        (src, dst) => Sum16BitWords::new()
            .add_16bytes(v6_octets(src))
            .add_16bytes(v6_octets(dst))
            .add_4bytes((len as u32).to_be_bytes())
            .add_4bytes([0, 0, 0, IPPROTO_TCP]),
    };
    let partial = !finish(pseudo.clone());
    // Over the pseudo-header and the whole segment, when all captured.
    let computed = segment.get(..len).map(|all| finish(pseudo.add_slice(all)));
    let verdict = match computed {
        // A right sum can equal the partial one by chance: check it first.
        Some(0) => Verdict::Correct,
        _ if field == partial => Verdict::Offload,
        Some(computed) => Verdict::Incorrect {
            expected: should_be(field, computed),
        },
        None => Verdict::Incomplete,
    };
    Some(Checksum { field, verdict })
}

/// The one's complement of a sum, as a number (0 when the bytes summed,
/// checksum field included, are right).
fn finish(sum: Sum16BitWords) -> u16 {
    // etherparse sums the words in native byte order.
    u16::from_be(sum.ones_complement())
}

/// What the field should have held, as tcpdump's `in_cksum_shouldbe`
/// computes it (so that both print the same number): the field plus the
/// complement of the sum over everything, folded.
fn should_be(field: u16, computed: u16) -> u16 {
    let s = u32::from(field) + u32::from(computed);
    let s = (s & 0xffff) + (s >> 16);
    ((s & 0xffff) + (s >> 16)) as u16
}

/// With a source route (LSRR, SSRR), the pseudo-header carries the route's
/// last address, the datagram's final destination (RFC 791; as tcpdump).
fn final_destination(packet: &[u8]) -> Option<[u8; 4]> {
    ipv4_options(packet).find_map(|o| match o {
        Ipv4Option::Option { kind, bytes }
            if (kind == ipv4_opt::LSRR || kind == ipv4_opt::SSRR) && bytes.len() >= 7 =>
        {
            let a = &bytes[bytes.len() - 4..];
            Some([a[0], a[1], a[2], a[3]])
        }
        _ => None,
    })
}

fn v6_octets(ip: std::net::IpAddr) -> [u8; 16] {
    match ip {
        std::net::IpAddr::V6(v6) => v6.octets(),
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link::LinkKind;
    use crate::decode::{decode, Decoded};

    /// Frame 1 of fixtures/ipv4-echo.pcap without its Ethernet header: a
    /// loopback SYN whose TCP checksum is the partial sum 0xfe30.
    const LOOPBACK_SYN: [u8; 60] = [
        0x45, 0x00, 0x00, 0x3c, 0xef, 0xcc, 0x40, 0x00, 0x40, 0x06, 0x4c, 0xed, 0x7f, 0x00, 0x00,
        0x01, 0x7f, 0x00, 0x00, 0x01, 0xbb, 0xf4, 0x27, 0x0f, 0x73, 0x78, 0x25, 0xa4, 0x00, 0x00,
        0x00, 0x00, 0xa0, 0x02, 0xff, 0xd7, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04,
        0x02, 0x08, 0x0a, 0x29, 0xcf, 0xb2, 0xee, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ];

    fn checked(bytes: &[u8]) -> Checksums {
        let d: Decoded<'_> = decode(LinkKind::Raw, bytes);
        check(&d, bytes)
    }

    #[test]
    fn loopback_partial_sum_is_offload_and_the_finished_sum_is_correct() {
        let c = checked(&LOOPBACK_SYN);
        assert_eq!(c.ip.unwrap().verdict, Verdict::Correct);
        let tcp = c.tcp.unwrap();
        assert_eq!((tcp.field, tcp.verdict), (0xfe30, Verdict::Offload));
        assert_eq!(tcp.ok(), None);
        // tcpdump -v: "cksum 0xfe30 (incorrect -> 0xf720)": with 0xf720 it is right.
        let mut fixed = LOOPBACK_SYN;
        fixed[36..38].copy_from_slice(&0xf720u16.to_be_bytes());
        assert_eq!(checked(&fixed).tcp.unwrap().verdict, Verdict::Correct);
        // Any other wrong value is incorrect, with what it should be.
        fixed[36..38].copy_from_slice(&0x1234u16.to_be_bytes());
        let tcp = checked(&fixed).tcp.unwrap();
        assert_eq!(tcp.verdict, Verdict::Incorrect { expected: 0xf720 });
        assert_eq!(tcp.ok(), Some(false));
    }

    #[test]
    fn ipv4_header_checksum() {
        let mut p = LOOPBACK_SYN;
        p[10..12].copy_from_slice(&0x4cecu16.to_be_bytes());
        let ip = checked(&p).ip.unwrap();
        assert_eq!(ip.verdict, Verdict::Incorrect { expected: 0x4ced });
        p[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(checked(&p).ip.unwrap().verdict, Verdict::Offload);
    }

    #[test]
    fn a_segment_not_all_captured_is_not_judged() {
        // Its partial sum still shows offload: the pseudo-header is all there.
        let c = checked(&LOOPBACK_SYN[..50]);
        assert_eq!(c.tcp.unwrap().verdict, Verdict::Offload);
        let mut other = LOOPBACK_SYN;
        other[36] = 0x12;
        let c = checked(&other[..50]);
        assert_eq!(c.tcp.unwrap().verdict, Verdict::Incomplete);
        // Without the checksum field there is nothing to say.
        assert_eq!(checked(&LOOPBACK_SYN[..36]).tcp, None);
    }

    #[test]
    fn should_be_matches_tcpdump_for_every_field() {
        // For any field value, field + should_be - field sums to the right value.
        for field in [0u16, 1, 0x7fff, 0xfe30, 0xffff] {
            let mut p = LOOPBACK_SYN;
            p[36..38].copy_from_slice(&field.to_be_bytes());
            if let Some(Checksum {
                verdict: Verdict::Incorrect { expected },
                ..
            }) = checked(&p).tcp
            {
                p[36..38].copy_from_slice(&expected.to_be_bytes());
                assert_eq!(checked(&p).tcp.unwrap().verdict, Verdict::Correct);
            }
        }
    }
}
