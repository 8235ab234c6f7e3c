//! The SYN flood's sender: SYNs built by hand (IPv4 and TCP headers with
//! their checksums) from forged addresses, sent from a raw socket to
//! 127.0.0.1 only, and only from a network namespace that holds nothing but
//! loopback. Bounded: a fixed number, in batches spread over about a second.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Where the forged sources come from: 198.18.0.0/15, RFC 2544's range for
/// benchmarking, which no real host uses.
pub(super) const FORGED_NET: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 18, 0, 0), 15);

/// The `i`-th forged source: a new address for every SYN (198.18.0.1, …).
pub(super) fn forged_source(i: u32) -> SocketAddrV4 {
    let ip = Ipv4Addr::new(
        198,
        18 + (i / 62_500) as u8,
        (i / 250 % 250) as u8,
        (i % 250 + 1) as u8,
    );
    SocketAddrV4::new(ip, 1024 + (i % 60_000) as u16)
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|p| u32::from(u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)])))
        .sum()
}

/// A SYN with an MSS option, IPv4 header included, checksums filled in.
pub(super) fn syn(src: SocketAddrV4, dst: SocketAddrV4, isn: u32) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(24);
    tcp.extend_from_slice(&src.port().to_be_bytes());
    tcp.extend_from_slice(&dst.port().to_be_bytes());
    tcp.extend_from_slice(&isn.to_be_bytes());
    tcp.extend_from_slice(&0u32.to_be_bytes());
    tcp.push(6 << 4); // 24-byte header
    tcp.push(0x02); // SYN
    tcp.extend_from_slice(&64_240u16.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.ip().octets());
    pseudo.extend_from_slice(&dst.ip().octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    let sum = fold(sum16(&pseudo) + sum16(&tcp));
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut ip = Vec::with_capacity(20 + tcp.len());
    ip.extend_from_slice(&[0x45, 0]);
    ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    ip.extend_from_slice(&src.ip().octets());
    ip.extend_from_slice(&dst.ip().octets());
    let sum = fold(sum16(&ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&tcp);
    ip
}

/// What was sent.
pub(super) struct Sent {
    pub(super) syns: usize,
    pub(super) took: Duration,
}

/// Send `n` SYNs to `dst` (which must be 127.0.0.1) from forged sources, in
/// `batches` spread over `span`. Refuses unless this thread's network
/// namespace holds nothing but loopback.
pub(super) fn send(dst: SocketAddr, n: u32, batches: u32, span: Duration) -> Result<Sent, String> {
    let SocketAddr::V4(dst) = dst else {
        return Err(super::text::err_flood_loopback_only().into());
    };
    if *dst.ip() != Ipv4Addr::LOCALHOST {
        return Err(super::text::err_flood_loopback_only().into());
    }
    let ifs = super::netns::interfaces();
    if ifs != ["lo"] {
        return Err(super::text::err_flood_not_private(&ifs));
    }
    // IPPROTO_RAW: we write the IP header ourselves (IP_HDRINCL).
    let sock = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    )
    .map_err(|e| super::text::err_raw_socket(&e))?;
    let to = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
    let started = Instant::now();
    // Initial sequence numbers: any values will do; a simple generator.
    let mut x = (started.elapsed().as_nanos() as u32) | 1;
    let per_batch = n.div_ceil(batches.max(1));
    let gap = span / batches.max(1);
    let mut sent = 0;
    for b in 0..batches.max(1) {
        for _ in 0..per_batch {
            if sent >= n {
                break;
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let packet = syn(forged_source(sent), dst, x);
            sock.send_to(&packet, &to)
                .map_err(|e| super::text::err_send_syn(&e))?;
            sent += 1;
        }
        let next = gap * (b + 1);
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            thread::sleep(wait);
        }
    }
    Ok(Sent {
        syns: sent as usize,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_core::decode::link::LinkKind;
    use synack_core::decode::{decode, tcp::flag};

    #[test]
    fn a_built_syn_decodes_with_valid_checksums() {
        let src = forged_source(251);
        assert_eq!(src.to_string(), "198.18.1.2:1275");
        let dst = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9999);
        let bytes = syn(src, dst, 12345);
        let d = decode(LinkKind::Raw, &bytes);
        assert!(d.error.is_none(), "{:?}", d.error);
        let tcp = d.tcp().unwrap();
        assert_eq!(tcp.header.flags(), Some(flag::SYN));
        assert_eq!(tcp.header.seq().unwrap().0, 12345);
        // Both checksums come out to zero when summed with themselves.
        assert_eq!(fold(sum16(&bytes[..20])), 0);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&bytes[12..20]);
        pseudo.extend_from_slice(&[0, 6, 0, 24]);
        assert_eq!(fold(sum16(&pseudo) + sum16(&bytes[20..])), 0);
    }

    #[test]
    fn forged_sources_stay_in_the_benchmarking_range() {
        for i in [0, 249, 250, 62_499, 99_999] {
            let ip = forged_source(i).ip().octets();
            assert!(ip[0] == 198 && (18..=19).contains(&ip[1]), "{i}: {ip:?}");
        }
    }
}
