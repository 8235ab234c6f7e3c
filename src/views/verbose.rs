//! `-v`: the IP header as tcpdump -v prints it (print-ip.c, print-ip6.c),
//! character for character, so the two can be compared, and the checksum
//! verdicts. tcpdump breaks the line after the IP part; synack keeps one
//! line per frame (as tcpdump -g does in its newer releases).

use std::io::{self, Write};
use std::net::Ipv4Addr;

use synack_core::decode::checksum::{Checksum, Checksums, Verdict};
use synack_core::decode::net::{ipv4_flag, ipv4_opt, ipv4_options, Ip, Ipv4Option};

use super::words;

/// `(tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60) `
/// for IPv4, `(flowlabel 0x6c9c4, hlim 64, next-header TCP (6) payload
/// length: 40) ` for IPv6; `packet` is the captured bytes from the IP header.
pub(crate) fn write_ip(
    out: &mut Vec<u8>,
    ip: &Ip,
    packet: &[u8],
    checks: &Checksums,
) -> io::Result<()> {
    if ip.version == 6 {
        out.push(b'(');
        if ip.tos != 0 {
            write!(out, "class 0x{:02x}, ", ip.tos)?;
        }
        if ip.flow_label != 0 {
            write!(out, "flowlabel 0x{:05x}, ", ip.flow_label)?;
        }
        write!(
            out,
            "hlim {}, next-header {} ({}) payload length: {}) ",
            ip.ttl,
            proto_name(ip.next_header),
            ip.next_header,
            ip.length_field
        )?;
        return Ok(());
    }
    write!(out, "(tos 0x{:x}", ip.tos)?;
    out.extend_from_slice(match ip.tos & 3 {
        1 => b",ECT(1)".as_slice(),
        2 => b",ECT(0)",
        3 => b",CE",
        _ => b"",
    });
    if ip.ttl >= 1 {
        write!(out, ", ttl {}", ip.ttl)?;
    }
    write!(
        out,
        ", id {}, offset {}, flags [",
        ip.id.unwrap_or(0),
        ip.fragment.map_or(0, |f| f.offset)
    )?;
    let mut sep = "";
    for (bit, name) in [
        (ipv4_flag::MF, "+"),
        (ipv4_flag::DF, "DF"),
        (ipv4_flag::RESERVED, "rsvd"),
    ] {
        if ip.flags & bit != 0 {
            write!(out, "{sep}{name}")?;
            sep = ", ";
        }
    }
    if sep.is_empty() {
        out.extend_from_slice(b"none");
    }
    write!(
        out,
        "], proto {} ({}), length {}",
        proto_name(ip.proto),
        ip.proto,
        ip.length_field
    )?;
    if ip.options_len > 0 {
        out.extend_from_slice(b", options (");
        write_options(out, packet)?;
        out.push(b')');
    }
    if let Some(c) = checks.ip {
        match c.verdict {
            Verdict::Correct => {}
            Verdict::Incorrect { expected } => {
                write!(out, ", bad cksum {:x} (->{expected:x})!", c.field)?;
            }
            v @ (Verdict::Offload | Verdict::Incomplete) => {
                write!(
                    out,
                    ", cksum {:x} ({})",
                    c.field,
                    words::checksum_unverified(v)
                )?;
            }
        }
    }
    out.extend_from_slice(b") ");
    Ok(())
}

/// `, cksum 0x3fd2 (correct)` after the TCP flags, as tcpdump -v.
pub(crate) fn write_tcp_checksum(out: &mut Vec<u8>, c: &Checksum) -> io::Result<()> {
    write!(out, ", cksum 0x{:04x} ", c.field)?;
    match c.verdict {
        Verdict::Correct => out.extend_from_slice(b"(correct)"),
        Verdict::Incorrect { expected } => write!(out, "(incorrect -> 0x{expected:04x})")?,
        v @ (Verdict::Offload | Verdict::Incomplete) => {
            write!(out, "({})", words::checksum_unverified(v))?;
        }
    }
    Ok(())
}

/// tcpdump's `ipproto_values` (ipproto.c), "unknown" for the rest.
fn proto_name(p: u8) -> &'static str {
    match p {
        0 => "Options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        8 => "EGP",
        9 => "IGRP",
        17 => "UDP",
        33 => "DCCP",
        41 => "IPv6",
        43 => "Routing",
        44 => "Fragment",
        46 => "RSVP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        55 => "Mobile IP",
        58 => "ICMPv6",
        62 => "Mobile IP (old)",
        88 => "EIGRP",
        89 => "OSPF",
        103 => "PIM",
        108 => "Compressed IP",
        112 => "VRRP",
        113 => "PGM",
        132 => "SCTP",
        135 => "Mobility",
        143 => "Ethernet",
        _ => "unknown",
    }
}

/// The IPv4 options as tcpdump's `ip_optprint`: names joined by commas,
/// routes and timestamps spelled out.
fn write_options(out: &mut Vec<u8>, header: &[u8]) -> io::Result<()> {
    for (i, opt) in ipv4_options(header).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let kind = match opt {
            Ipv4Option::Option { kind, .. } | Ipv4Option::BadLength { kind, .. } => kind,
        };
        match kind {
            ipv4_opt::EOL => out.extend_from_slice(b"EOL"),
            ipv4_opt::NOP => out.extend_from_slice(b"NOP"),
            ipv4_opt::TS => out.extend_from_slice(b"timestamp"),
            130 => out.extend_from_slice(b"security"),
            ipv4_opt::RR => out.extend_from_slice(b"RR"),
            ipv4_opt::SSRR => out.extend_from_slice(b"SSRR"),
            ipv4_opt::LSRR => out.extend_from_slice(b"LSRR"),
            ipv4_opt::RA => out.extend_from_slice(b"RA"),
            82 => out.extend_from_slice(b"traceroute"),
            k => write!(out, "unknown {k}")?,
        }
        let bytes = match opt {
            Ipv4Option::BadLength { len, .. } => {
                write!(out, " [bad length {len}]")?;
                return Ok(());
            }
            Ipv4Option::Option { bytes, .. } => bytes,
        };
        match kind {
            ipv4_opt::RR | ipv4_opt::SSRR | ipv4_opt::LSRR => write_route(out, bytes)?,
            ipv4_opt::TS => write_timestamps(out, bytes)?,
            ipv4_opt::RA if bytes.len() < 4 => write!(out, " [bad length {}]", bytes.len())?,
            ipv4_opt::RA => {
                let v = u16::from_be_bytes([bytes[2], bytes[3]]);
                if v != 0 {
                    write!(out, " value {v}")?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn addr_at(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let a = bytes.get(at..at + 4)?;
    Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
}

/// tcpdump's `ip_printroute`: each slot's address, a comma after those
/// already filled (below the pointer).
fn write_route(out: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    let length = bytes.len() as u32;
    if length < 3 {
        return write!(out, " [bad length {length}]");
    }
    if (length + 1) & 3 != 0 {
        write!(out, " [bad length {length}]")?;
    }
    let ptr = u32::from(bytes[2]).wrapping_sub(1);
    if ptr < 3 || (ptr.wrapping_add(1)) & 3 != 0 || ptr > length + 1 {
        write!(out, " [bad ptr {}]", bytes[2])?;
    }
    let mut len = 3;
    while len < length {
        let Some(a) = addr_at(bytes, len as usize) else {
            break;
        };
        write!(out, " {a}")?;
        if ptr > len {
            out.push(b',');
        }
        len += 4;
    }
    Ok(())
}

/// tcpdump's `ip_printts`: the flavour, then each hop's `time@address`,
/// `^` where the pointer stands.
fn write_timestamps(out: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    let length = bytes.len() as u32;
    if length < 4 {
        return write!(out, "[bad length {length}]");
    }
    out.extend_from_slice(b" TS{");
    let flavour = bytes[3] & 0xf;
    let hoplen: u32 = if flavour != 0 { 8 } else { 4 };
    if (length - 4) & (hoplen - 1) != 0 {
        write!(out, "[bad length {length}]")?;
    }
    let ptr = u32::from(bytes[2]).wrapping_sub(1);
    if ptr < 4 || (ptr.wrapping_sub(4)) & (hoplen - 1) != 0 || ptr > length + 1 {
        write!(out, "[bad ptr {}]", bytes[2])?;
    }
    let mut len = 0;
    match flavour {
        0 => out.extend_from_slice(b"TSONLY"),
        1 => out.extend_from_slice(b"TS+ADDR"),
        3 => out.extend_from_slice(b"PRESPEC"),
        f => write!(out, "[bad ts type {f}]")?,
    }
    if matches!(flavour, 0 | 1 | 3) {
        len = 4;
        while len < length {
            let at = len as usize;
            let Some(t) = bytes.get(at + hoplen as usize - 4..at + hoplen as usize) else {
                break;
            };
            out.extend_from_slice(if ptr == len { b" ^ " } else { b" " });
            write!(out, "{}@", u32::from_be_bytes([t[0], t[1], t[2], t[3]]))?;
            if hoplen == 8 {
                if let Some(a) = addr_at(bytes, at) {
                    write!(out, "{a}")?;
                }
            }
            len += hoplen;
        }
    }
    if ptr == len {
        out.extend_from_slice(b" ^ ");
    }
    if bytes[3] >> 4 != 0 {
        write!(out, " [{} hops not recorded]}} ", bytes[3] >> 4)
    } else {
        write!(out, "}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(opts: &[u8]) -> String {
        let mut h = vec![0x45 + (opts.len() / 4) as u8; 1];
        h.resize(20, 0);
        h.extend_from_slice(opts);
        let mut out = Vec::new();
        write_options(&mut out, &h).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn record_route_as_tcpdump() {
        // Both shapes are in fixtures/ip-options.pcap; tcpdump -v prints them so.
        assert_eq!(
            options(&[1, 7, 11, 8, 10, 99, 1, 1, 0, 0, 0, 0]),
            "NOP,RR 10.99.1.1, 0.0.0.0"
        );
        assert_eq!(
            options(&[7, 11, 12, 10, 99, 1, 1, 10, 99, 1, 2, 0]),
            "RR 10.99.1.1, 10.99.1.2,,EOL"
        );
        assert_eq!(options(&[7, 1, 0, 0]), "RR [bad length 1]");
    }

    #[test]
    fn timestamps_and_router_alert() {
        // Frame 17 of fixtures/checksums.pcap (a ping -T tsandaddr reply),
        // as tcpdump -v prints it.
        let ts_and_addr = [
            0x44, 0x24, 0x1d, 0x01, 0x0a, 0x63, 0x05, 0x01, 0x04, 0x7f, 0x7b, 0x86, 0x0a, 0x63,
            0x05, 0x02, 0x04, 0x7f, 0x7b, 0x86, 0x0a, 0x63, 0x05, 0x02, 0x04, 0x7f, 0x7b, 0x86, 0,
            0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            options(&ts_and_addr),
            "timestamp TS{TS+ADDR 75463558@10.99.5.1 75463558@10.99.5.2 75463558@10.99.5.2 ^ 0@0.0.0.0}"
        );
        // The same shape as frame 14 (ping -T tsonly), cut to two slots.
        assert_eq!(
            options(&[68, 12, 9, 0, 0, 0, 0, 7, 0, 0, 0, 0]),
            "timestamp TS{TSONLY 7@ ^ 0@}"
        );
        assert_eq!(options(&[148, 4, 0, 0]), "RA");
        assert_eq!(options(&[148, 4, 0, 1]), "RA value 1");
    }
}
