//! Firewall log devices as link layers: OpenBSD's pflog (a `pfloghdr`
//! before each logged packet) and Linux's NFLOG (a netlink message: a small
//! header and type-length-value attributes, one of them the packet).

use super::link::{invalid, need, Link, LinkError, LinkExtra, LinkKind, NetProto};

/// What a pflog header says about the logged packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PflogInfo {
    /// The packet's address family (2 IPv4; 24, 28 or 30 IPv6).
    pub af: u8,
    /// The rule's action: 0 pass, 1 block, 2 scrub, … (see `action_name`).
    pub action: u8,
    /// Why it was logged (0 match, 1 bad offset, …).
    pub reason: u8,
    /// 1 in, 2 out (0 both).
    pub dir: u8,
    /// The rule number (−1, all ones, for the default rule).
    pub rulenr: u32,
    /// The interface, NUL-padded.
    pub ifname: [u8; 16],
}

impl PflogInfo {
    /// The interface name (up to the first NUL).
    pub fn interface(&self) -> &str {
        let end = self.ifname.iter().position(|b| *b == 0).unwrap_or(16);
        std::str::from_utf8(&self.ifname[..end]).unwrap_or("?")
    }

    /// The action as pf's `pfctl` names it.
    pub fn action_name(&self) -> &'static str {
        match self.action {
            0 => "pass",
            1 => "block",
            2 => "scrub",
            3 => "no-scrub",
            4 => "nat",
            5 => "no-nat",
            6 => "binat",
            7 => "no-binat",
            8 => "rdr",
            9 => "no-rdr",
            10 => "synproxy-drop",
            11 => "defer",
            12 => "match",
            13 => "divert",
            14 => "rt",
            15 => "afrt",
            _ => "action",
        }
    }

    /// The direction: `in`, `out` or `in/out`.
    pub fn dir_name(&self) -> &'static str {
        match self.dir {
            1 => "in",
            2 => "out",
            _ => "in/out",
        }
    }
}

/// The smallest header pflog ever wrote (OpenBSD 3.x, BPF-word aligned:
/// tcpdump's MIN_PFLOG_HDRLEN).
const MIN_PFLOG_HDRLEN: usize = 45;

/// pflog: the header's first byte is its own length (padded to 4 bytes).
pub(crate) fn pflog(data: &[u8]) -> Result<Link, LinkError> {
    let kind = LinkKind::Pflog;
    need(kind, data, MIN_PFLOG_HDRLEN)?;
    let hdrlen = usize::from(data[0]).next_multiple_of(4);
    if hdrlen < MIN_PFLOG_HDRLEN {
        return Err(invalid(kind, "header length below 45 bytes"));
    }
    need(kind, data, hdrlen)?;
    let af = data[1];
    let net = match af {
        2 => NetProto::Ipv4,
        // AF_INET6: OpenBSD and NetBSD 24, FreeBSD 28, macOS 30, Linux 10.
        10 | 24 | 28 | 30 => NetProto::Ipv6,
        other => NetProto::AddressFamily(u32::from(other)),
    };
    let mut ifname = [0u8; 16];
    ifname.copy_from_slice(&data[4..20]);
    let mut link = Link::new(kind, net, hdrlen);
    link.extra = LinkExtra::Pflog(PflogInfo {
        af,
        action: data[2],
        reason: data[3],
        // The direction came with OpenBSD 3.1's 61-byte header.
        dir: if hdrlen >= 61 { data[60] } else { 0 },
        // pf writes the rule number in network byte order.
        rulenr: u32::from_be_bytes([data[36], data[37], data[38], data[39]]),
        ifname,
    });
    Ok(link)
}

/// What an NFLOG message says besides the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NflogInfo {
    /// The packet's family (2 IPv4, 10 IPv6, 7 bridge).
    pub family: u8,
    /// The log group (`nflog-group`, `group` in nftables).
    pub group: u16,
    /// The netfilter hook (0 prerouting, 1 input, 2 forward, 3 output,
    /// 4 postrouting), from the packet header attribute.
    pub hook: Option<u8>,
    /// Where the log prefix is in the frame: (offset, length), NUL excluded.
    pub prefix: Option<(u16, u16)>,
}

impl NflogInfo {
    /// The log prefix, read from the frame it was decoded from.
    pub fn prefix<'a>(&self, frame: &'a [u8]) -> Option<&'a str> {
        let (at, len) = self.prefix?;
        let bytes = frame.get(usize::from(at)..usize::from(at) + usize::from(len))?;
        std::str::from_utf8(bytes).ok()
    }
}

/// NFLOG attribute types (linux/netfilter/nfnetlink_log.h).
const NFULA_PACKET_HDR: u16 = 1;
const NFULA_PAYLOAD: u16 = 9;
const NFULA_PREFIX: u16 = 10;

/// NFLOG: family, version, group (big-endian), then attributes of
/// length (header included), type and value, each padded to 4 bytes. The
/// length and type are in the capturing host's byte order.
pub(crate) fn nflog(data: &[u8]) -> Result<Link, LinkError> {
    let kind = LinkKind::Nflog;
    need(kind, data, 4)?;
    if data[1] != 0 {
        return Err(invalid(kind, "NFLOG version is not 0"));
    }
    let mut info = NflogInfo {
        family: data[0],
        group: u16::from_be_bytes([data[2], data[3]]),
        hook: None,
        prefix: None,
    };
    let little_endian = byte_order(&data[4..]);
    let read16 = |b: [u8; 2]| {
        if little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let mut at = 4;
    let mut payload = None;
    while at + 4 <= data.len() {
        let len = usize::from(read16([data[at], data[at + 1]]));
        // The top two bits of the type are netlink flags (nested, byte order).
        let typ = read16([data[at + 2], data[at + 3]]) & 0x3fff;
        if len < 4 {
            return Err(invalid(kind, "attribute length below 4 bytes"));
        }
        let value = at + 4..at + len;
        match typ {
            NFULA_PAYLOAD => {
                payload = Some(value);
                break;
            }
            NFULA_PACKET_HDR if len >= 7 && at + 7 <= data.len() => info.hook = Some(data[at + 6]),
            NFULA_PREFIX if value.end <= data.len() => {
                let v = &data[value.clone()];
                let n = v.iter().position(|b| *b == 0).unwrap_or(v.len());
                info.prefix = Some((value.start as u16, n as u16));
            }
            _ => {}
        }
        at += len.next_multiple_of(4);
    }
    let Some(payload) = payload else {
        return Err(if at >= data.len() {
            invalid(kind, "no payload attribute (NFULA_PAYLOAD) in the message")
        } else {
            LinkError::Truncated(super::link::LinkTruncated {
                kind,
                needed: at + 4,
                got: data.len(),
            })
        });
    };
    let net = match info.family {
        2 => NetProto::Ipv4,
        10 => NetProto::Ipv6,
        // Other families (bridge, ARP) log what their hook saw; guess by the version.
        _ => match data.get(payload.start).map(|b| b >> 4) {
            Some(4) => NetProto::Ipv4,
            Some(6) => NetProto::Ipv6,
            _ => NetProto::AddressFamily(u32::from(info.family)),
        },
    };
    let mut link = Link::new(kind, net, payload.start.min(data.len()));
    link.trailer_len = data.len().saturating_sub(payload.end.max(payload.start));
    link.extra = LinkExtra::Nflog(info);
    Ok(link)
}

/// The byte order of the attribute headers: the first attribute's length
/// must be at least 4 and fit in the message (Wireshark's test, too).
fn byte_order(tlvs: &[u8]) -> bool {
    let Some(b) = tlvs.get(..2) else {
        return true;
    };
    let le = usize::from(u16::from_le_bytes([b[0], b[1]]));
    let be = usize::from(u16::from_be_bytes([b[0], b[1]]));
    let fits = |n: usize| n >= 4 && n <= tlvs.len();
    fits(le) || !fits(be)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of frame 1 of fixtures/nflog.pcap (a SYN in the output
    /// hook, prefix `synack-out`), up to the payload's first bytes.
    const NFLOG_SYN: [u8; 60] = [
        0x02, 0x00, 0x00, 0x05, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x0f, 0x00, 0x0a,
        0x00, 0x73, 0x79, 0x6e, 0x61, 0x63, 0x6b, 0x2d, 0x6f, 0x75, 0x74, 0x00, 0x00, 0x08, 0x00,
        0x05, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x09, 0x00, 0x45, 0x00, 0x00, 0x3c,
    ];

    #[test]
    fn nflog_finds_the_payload() {
        let l = nflog(&NFLOG_SYN).unwrap();
        assert_eq!(l.net, NetProto::Ipv4);
        assert_eq!(l.header_len, 56);
        let LinkExtra::Nflog(info) = l.extra else {
            panic!("{:?}", l.extra)
        };
        assert_eq!((info.family, info.group, info.hook), (2, 5, Some(3)));
        assert_eq!(info.prefix(&NFLOG_SYN), Some("synack-out"));
        // The same message with big-endian attribute headers.
        let mut be = NFLOG_SYN;
        let mut at = 4;
        while at + 4 <= 56 {
            let len = usize::from(u16::from_le_bytes([be[at], be[at + 1]]));
            be.swap(at, at + 1);
            be.swap(at + 2, at + 3);
            at += len.next_multiple_of(4);
        }
        assert_eq!(nflog(&be).unwrap().header_len, 56);
    }

    #[test]
    fn nflog_without_payload_or_cut() {
        assert!(matches!(
            nflog(&NFLOG_SYN[..52]),
            Err(LinkError::Invalid { .. })
        ));
        for cut in 0..NFLOG_SYN.len() {
            let _ = nflog(&NFLOG_SYN[..cut]);
        }
        // A zero-length attribute must not loop.
        assert!(nflog(&[2, 0, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0]).is_err());
    }

    /// A pflog header as OpenBSD's `struct pfloghdr` lays it out (100
    /// bytes): af 2, action block, interface vio0, rule 5, direction in.
    fn pflog_header() -> Vec<u8> {
        let mut h = vec![100, 2, 1, 0];
        let mut name = [0u8; 16];
        name[..4].copy_from_slice(b"vio0");
        h.extend(name);
        h.extend([0u8; 16]); // ruleset
        h.extend(5u32.to_be_bytes());
        h.extend(u32::MAX.to_be_bytes()); // subrule
        h.extend([0u8; 16]); // uid, pid, rule uid, rule pid
        h.extend([1, 0, 0, 0]); // dir in, pad
        h.extend([0u8; 36]); // saddr, daddr, sport, dport
        h
    }

    #[test]
    fn pflog_header_fields() {
        let mut f = pflog_header();
        assert_eq!(f.len(), 100);
        f.extend([0x45, 0, 0, 0x40]);
        let l = pflog(&f).unwrap();
        assert_eq!((l.net, l.header_len), (NetProto::Ipv4, 100));
        let LinkExtra::Pflog(p) = l.extra else {
            panic!("{:?}", l.extra)
        };
        assert_eq!(p.interface(), "vio0");
        assert_eq!(
            (p.action_name(), p.dir_name(), p.rulenr),
            ("block", "in", 5)
        );
        // The OpenBSD 3.x header: 61 bytes, padded to 64.
        let mut old = pflog_header()[..64].to_vec();
        old[0] = 61;
        old[1] = 24;
        assert_eq!(pflog(&old).unwrap().net, NetProto::Ipv6);
        assert_eq!(pflog(&old).unwrap().header_len, 64);
        let mut short = pflog_header();
        short[0] = 20;
        assert!(pflog(&short).is_err());
        for cut in 0..f.len() {
            let _ = pflog(&f[..cut]);
        }
    }
}
