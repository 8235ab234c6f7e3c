//! The kernel's own view of TCP sockets, from /proc/net/tcp and tcp6, so
//! the demo can put synack's inferred states beside the real ones.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use synack_core::track::TcpState;

/// One socket as the kernel lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KernelSocket {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) state: TcpState,
}

/// The kernel's state codes (include/net/tcp_states.h).
fn state_of(code: u8) -> Option<TcpState> {
    Some(match code {
        0x01 => TcpState::Established,
        0x02 => TcpState::SynSent,
        0x03 | 0x0c => TcpState::SynRcvd, // 0x0c: NEW_SYN_RECV, a request socket
        0x04 => TcpState::FinWait1,
        0x05 => TcpState::FinWait2,
        0x06 => TcpState::TimeWait,
        0x07 => TcpState::Closed,
        0x08 => TcpState::CloseWait,
        0x09 => TcpState::LastAck,
        0x0a => TcpState::Listen,
        0x0b => TcpState::Closing,
        _ => return None,
    })
}

/// "0100007F:270F": the address is printed as 32-bit words with `%08X` of
/// each word's in-memory value, so the word's native-endian bytes are the
/// address bytes (this host is the kernel's host).
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    if ip.len() % 8 != 0 || !ip.is_ascii() {
        return None;
    }
    let mut bytes = Vec::with_capacity(16);
    for i in 0..ip.len() / 8 {
        let word = u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let addr = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&bytes);
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(addr, port))
}

/// Parse the text of /proc/net/tcp or /proc/net/tcp6.
pub(crate) fn parse_proc_net_tcp(text: &str) -> Vec<KernelSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let _slot = f.next()?;
            let local = parse_addr(f.next()?)?;
            let remote = parse_addr(f.next()?)?;
            let state = state_of(u8::from_str_radix(f.next()?, 16).ok()?)?;
            Some(KernelSocket {
                local,
                remote,
                state,
            })
        })
        .collect()
}

/// Every TCP socket of this network namespace (IPv4 and IPv6).
pub(crate) fn sockets() -> std::io::Result<Vec<KernelSocket>> {
    let mut all = parse_proc_net_tcp(&std::fs::read_to_string("/proc/net/tcp")?);
    if let Ok(v6) = std::fs::read_to_string("/proc/net/tcp6") {
        all.extend(parse_proc_net_tcp(&v6));
    }
    Ok(all)
}

/// The kernel's state of the socket `local` → `remote`; CLOSED when it is gone.
pub(crate) fn state_of_socket(
    all: &[KernelSocket],
    local: SocketAddr,
    remote: SocketAddr,
) -> TcpState {
    all.iter()
        .find(|s| s.local == local && s.remote == remote)
        .map_or(TcpState::Closed, |s| s.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    // In the layout of /proc/net/tcp and tcp6 on this x86_64 (little-endian)
    // machine, with addresses chosen for the test.
    const V4: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:270F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C350 0100007F:270F 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
";
    const V6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:270F 00000000000000000000000001000000:C351 01 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn parses_ipv4_listen_and_time_wait() {
        let s = parse_proc_net_tcp(V4);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].local, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(s[0].state, TcpState::Listen);
        assert_eq!(s[1].local, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(s[1].state, TcpState::TimeWait);
        assert_eq!(
            state_of_socket(
                &s,
                "127.0.0.1:50000".parse().unwrap(),
                "127.0.0.1:9999".parse().unwrap()
            ),
            TcpState::TimeWait
        );
        assert_eq!(
            state_of_socket(
                &s,
                "127.0.0.1:1".parse().unwrap(),
                "127.0.0.1:2".parse().unwrap()
            ),
            TcpState::Closed
        );
    }

    #[test]
    fn parses_ipv6_loopback() {
        let s = parse_proc_net_tcp(V6);
        assert_eq!(s[0].local, "[::1]:9999".parse().unwrap());
        assert_eq!(s[0].remote, "[::1]:50001".parse().unwrap());
        assert_eq!(s[0].state, TcpState::Established);
    }
}
