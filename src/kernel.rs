//! The kernel's own view of TCP, so the demo can put synack's inferences
//! beside the real thing: the socket table (/proc/net/tcp and tcp6), the
//! TCP counters (TcpExt in /proc/net/netstat) and sysctls (/proc/sys).
//! All of it as seen from the calling thread's network namespace.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use rustc_hash::FxHashMap;
use synack_core::track::TcpState;

/// One socket as the kernel lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KernelSocket {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) state: TcpState,
    /// Bytes sent and not yet acknowledged (for a listener: its backlog).
    pub(crate) tx_queue: u32,
    /// Bytes received and not yet read by the application (for a
    /// listener: connections waiting in the accept queue).
    pub(crate) rx_queue: u32,
    /// The kernel timer running on the socket, if any, and the time left.
    pub(crate) timer: Option<(KernelTimer, Duration)>,
}

/// The timers /proc/net/tcp names (the `tr` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KernelTimer {
    /// Retransmission (or, for a half-open request, the SYN-ACK timer).
    Retransmit,
    /// Keep-alive (or SYN-ACK for a listener's requests).
    Keepalive,
    /// TIME_WAIT's 2MSL.
    TimeWait,
    /// The zero-window probe timer.
    Probe,
}

fn timer_of(code: u8) -> Option<KernelTimer> {
    Some(match code {
        1 => KernelTimer::Retransmit,
        2 => KernelTimer::Keepalive,
        3 => KernelTimer::TimeWait,
        4 => KernelTimer::Probe,
        _ => return None,
    })
}

/// The clock ticks /proc counts timers in (USER_HZ).
fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
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
    let hz = clock_ticks();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let _slot = f.next()?;
            let local = parse_addr(f.next()?)?;
            let remote = parse_addr(f.next()?)?;
            let state = state_of(u8::from_str_radix(f.next()?, 16).ok()?)?;
            let (tx, rx) = f.next()?.split_once(':')?;
            let tx_queue = u32::from_str_radix(tx, 16).ok()?;
            let rx_queue = u32::from_str_radix(rx, 16).ok()?;
            let (tr, when) = f.next()?.split_once(':')?;
            let ticks = u64::from_str_radix(when, 16).unwrap_or(0);
            let timer = u8::from_str_radix(tr, 16)
                .ok()
                .and_then(timer_of)
                .map(|t| (t, Duration::from_millis(ticks * 1000 / hz)));
            Some(KernelSocket {
                local,
                remote,
                state,
                tx_queue,
                rx_queue,
                timer,
            })
        })
        .collect()
}

/// A file of /proc/net as the calling thread's network namespace has it
/// (/proc/net follows the process's first thread, which may be elsewhere).
fn proc_net(name: &str) -> std::io::Result<String> {
    std::fs::read_to_string(format!("/proc/thread-self/net/{name}"))
        .or_else(|_| std::fs::read_to_string(format!("/proc/net/{name}")))
}

/// Every TCP socket of this network namespace (IPv4 and IPv6).
pub(crate) fn sockets() -> std::io::Result<Vec<KernelSocket>> {
    let mut all = parse_proc_net_tcp(&proc_net("tcp")?);
    if let Ok(v6) = proc_net("tcp6") {
        all.extend(parse_proc_net_tcp(&v6));
    }
    Ok(all)
}

/// Counters by name from the two-line blocks of /proc/net/netstat and
/// snmp ("TcpExt: names…" then "TcpExt: values…"), prefixed with the block:
/// `TcpExt.ListenOverflows`, `Tcp.ActiveOpens`.
pub(crate) fn parse_counters(text: &str) -> FxHashMap<String, u64> {
    let mut out = FxHashMap::default();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else {
            continue;
        };
        let (Some((block, names)), Some((block2, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        if block != block2 {
            continue;
        }
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = v.parse::<u64>() {
                out.insert(format!("{block}.{n}"), v);
            }
        }
    }
    out
}

/// The kernel's TCP counters (TcpExt and Tcp) in this network namespace.
pub(crate) fn counters() -> FxHashMap<String, u64> {
    let mut all = FxHashMap::default();
    for file in ["netstat", "snmp"] {
        if let Ok(text) = proc_net(file) {
            all.extend(parse_counters(&text));
        }
    }
    all
}

/// A sysctl of this network namespace, `net.ipv4.NAME`, as its text (trimmed).
pub(crate) fn ipv4_sysctl(name: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
        .ok()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's state of the socket `local` → `remote`; CLOSED when it is gone.
    fn state_of_socket(all: &[KernelSocket], local: SocketAddr, remote: SocketAddr) -> TcpState {
        all.iter()
            .find(|s| s.local == local && s.remote == remote)
            .map_or(TcpState::Closed, |s| s.state)
    }

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
        // 0x1770 = 6000 ticks of USER_HZ (100 on Linux): 60 s of 2MSL left.
        let hz = clock_ticks();
        assert_eq!(
            s[1].timer,
            Some((
                KernelTimer::TimeWait,
                Duration::from_millis(6000 * 1000 / hz)
            ))
        );
        assert_eq!(s[0].timer, None);
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
    fn counters_pair_names_with_values() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 935 12 12\nIpExt: InNoRoutes\nIpExt: 0\n";
        let c = parse_counters(text);
        assert_eq!(c["TcpExt.SyncookiesSent"], 935);
        assert_eq!(c["TcpExt.ListenDrops"], 12);
        assert_eq!(c["IpExt.InNoRoutes"], 0);
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn parses_ipv6_loopback() {
        let s = parse_proc_net_tcp(V6);
        assert_eq!(s[0].local, "[::1]:9999".parse().unwrap());
        assert_eq!(s[0].remote, "[::1]:50001".parse().unwrap());
        assert_eq!(s[0].state, TcpState::Established);
    }
}
