//! The socket options the echo generator demonstrates, set through socket2.
//!
//! std covers connect, accept, read and write; socket2 is needed for what std does not
//! expose: options that must be set before bind/listen/connect (SO_REUSEADDR, SO_RCVBUF),
//! SO_LINGER, and the keepalive timers.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::str::FromStr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// TCP keepalive timers: probe after `idle` without traffic, then every `interval`, and
/// give up (the kernel resets the connection) after `count` unanswered probes.
///
/// Parsed from `IDLE,INTERVAL,COUNT`, durations in whole seconds with or without a unit,
/// as `--keepalive 5s,1s,3` or `--keepalive 5,1,3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// TCP_KEEPIDLE: idle time before the first probe.
    pub idle: Duration,
    /// TCP_KEEPINTVL: time between unanswered probes.
    pub interval: Duration,
    /// TCP_KEEPCNT: unanswered probes before the connection is dropped.
    pub count: u32,
}

/// Linux caps TCP_KEEPIDLE and TCP_KEEPINTVL at this many seconds (MAX_TCP_KEEPIDLE).
const MAX_KEEPALIVE_SECS: u64 = 32_767;
/// Linux caps TCP_KEEPCNT at this (MAX_TCP_KEEPCNT).
const MAX_KEEPALIVE_COUNT: u32 = 127;

impl FromStr for Keepalive {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || {
            crate::lang::tr!(
                "--keepalive wants IDLE,INTERVAL,COUNT, e.g. 5s,1s,3 (a bare number is \
                 seconds; got {s:?})",
                "--keepalive 要的是 IDLE,INTERVAL,COUNT，例如 5s,1s,3 (不带单位的数字是秒；给的是 {s:?})"
            )
        };
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [idle, interval, count] = parts[..] else {
            return Err(usage());
        };
        // The kernel counts keep-alive timers in whole seconds.
        let secs = |v: &str, what: &str| -> Result<Duration, String> {
            match super::parse_duration(v) {
                Ok(d)
                    if d.subsec_nanos() == 0 && (1..=MAX_KEEPALIVE_SECS).contains(&d.as_secs()) =>
                {
                    Ok(d)
                }
                _ => {
                    let usage = usage();
                    Err(crate::lang::tr!(
                        "{usage}: {what} must be whole seconds, 1 to {MAX_KEEPALIVE_SECS} (the kernel \
                         counts keep-alive timers in seconds)",
                        "{usage}：{what} 必须是整秒数，1 到 {MAX_KEEPALIVE_SECS} (内核以秒为单位计算保活计时器)"
                    ))
                }
            }
        };
        let count = match count.parse::<u32>() {
            Ok(n) if (1..=MAX_KEEPALIVE_COUNT).contains(&n) => n,
            _ => {
                let usage = usage();
                return Err(crate::lang::tr!(
                    "{usage}: COUNT must be 1 to {MAX_KEEPALIVE_COUNT}",
                    "{usage}：COUNT 必须在 1 到 {MAX_KEEPALIVE_COUNT} 之间"
                ));
            }
        };
        Ok(Keepalive {
            idle: secs(idle, "IDLE")?,
            interval: secs(interval, "INTERVAL")?,
            count,
        })
    }
}

impl fmt::Display for Keepalive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (idle, interval, count) = (self.idle.as_secs(), self.interval.as_secs(), self.count);
        f.write_str(&crate::lang::tr!(
            "idle {idle} s, interval {interval} s, count {count}",
            "空闲 {idle} s，间隔 {interval} s，次数 {count}"
        ))
    }
}

/// A fresh, unbound TCP socket of the address's family.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
}

/// SO_KEEPALIVE on, with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT from `ka`.
pub(crate) fn set_keepalive(sock: &Socket, ka: &Keepalive) -> io::Result<()> {
    let params = TcpKeepalive::new()
        .with_time(ka.idle)
        .with_interval(ka.interval)
        .with_retries(ka.count);
    // set_tcp_keepalive also turns SO_KEEPALIVE on.
    sock.set_tcp_keepalive(&params)
}

/// The keepalive settings the kernel holds for this socket (getsockopt), or None when
/// SO_KEEPALIVE is off. Reading them back shows what was really applied.
pub(crate) fn keepalive_of(stream: &TcpStream) -> io::Result<Option<Keepalive>> {
    let sock = SockRef::from(stream);
    if !sock.keepalive()? {
        return Ok(None);
    }
    Ok(Some(Keepalive {
        idle: sock.tcp_keepalive_time()?,
        interval: sock.tcp_keepalive_interval()?,
        count: sock.tcp_keepalive_retries()?,
    }))
}

/// SO_LINGER with a zero timeout: the next close() discards unsent data and sends RST
/// instead of FIN, so neither side goes through TIME_WAIT.
pub(crate) fn set_abortive_close(stream: &impl AsFd) -> io::Result<()> {
    SockRef::from(stream).set_linger(Some(Duration::ZERO))
}

/// Whether `addr` could be bound right now if SO_REUSEADDR were set. Used to tell why a
/// bind without it failed: if this succeeds, nobody listens there and what holds the
/// port is a connection lingering in TIME_WAIT (or another non-listening state).
pub(crate) fn bindable_with_reuseaddr(addr: &SocketAddr) -> bool {
    let probe = || -> io::Result<()> {
        let sock = tcp_socket(addr)?;
        sock.set_reuse_address(true)?;
        // Bound but never listening: no packet is ever sent; dropping it frees the port.
        sock.bind(&(*addr).into())
    };
    probe().is_ok()
}

/// Bytes received but not yet read (FIONREAD): how a server that does not read can
/// still tell that the client sent something.
pub(crate) fn unread_bytes(stream: &impl AsRawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid for it.
    if unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut n) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (each client is a file
/// descriptor; the soft limit is often 1024) and returns the limit now in force.
pub(crate) fn raise_fd_limit() -> io::Result<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    Ok(lim.rlim_cur)
}
