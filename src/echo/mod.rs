//! The bundled echo traffic generator: `synack echo server` and `synack echo client`.
//!
//! Real TCP, meant for loopback, so that each textbook situation can be produced on
//! demand and watched with `synack live`: who closes first (and so who holds TIME_WAIT),
//! half-close, RST from SO_LINGER 0 or from closing with unread data, zero windows from
//! a small receive buffer and a slow reader, keepalive probes, and a reconnect that
//! reuses a 4-tuple still in TIME_WAIT.
//!
//! With `capture`, this is the only module that does network I/O (design.md). Library
//! callers (the one-command demo) drive it in-process:
//!
//! - [`Server::bind`] then [`Server::serve`] in a thread, stopped by an [`AtomicBool`]
//!   (or by [`ServerOptions::exit_after`]), returning [`ServerStats`];
//! - [`run_client`] returning a [`ClientReport`]: per connection, the local address,
//!   the replies and the error the application saw ([`ConnError`]).
//!
//! [`AtomicBool`]: std::sync::atomic::AtomicBool

mod client;
mod server;
mod sockopt;

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::lang::{pick, tr};

pub use client::{
    run_client, run_lines, ClientArgs, ClientOptions, ClientReport, CloseMode, ConnectionReport,
    Payload,
};
pub use server::{Server, ServerArgs, ServerOptions, ServerStats, DEFAULT_MAX_CLIENTS};
pub use sockopt::Keepalive;

/// Errors that stop the echo server or client as a whole. A failure of one client
/// connection is not one of these: it is reported in [`ConnectionReport::error`].
#[derive(Debug)]
pub enum EchoError {
    /// bind() without SO_REUSEADDR failed although nobody listens on the port.
    AddrInUseTimeWait { addr: SocketAddr },

    /// Another socket listens on the port.
    AddrInUse { addr: SocketAddr },

    /// listen() (or bind) failed for another reason.
    Listen { addr: SocketAddr, source: io::Error },

    /// A socket option could not be set on the listening socket.
    SocketOption {
        option: &'static str,
        source: io::Error,
    },

    /// Options that contradict each other or cannot work; the message says which.
    InvalidOptions(String),

    /// Any other I/O failure, with what was being done.
    Io {
        context: &'static str,
        source: io::Error,
    },
}

impl fmt::Display for EchoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = match self {
            EchoError::AddrInUseTimeWait { addr } => tr!(
                "cannot listen on {addr}: address already in use — a previous connection on this \
                 port is probably in TIME_WAIT (it lasts 60 s on Linux); wait, or run without \
                 --no-reuseaddr",
                "无法在 {addr} 上监听：地址已被占用 (Address already in use) — 这个端口上之前的连接\
                 很可能还在 TIME_WAIT (Linux 上持续 60 s)；请等待，或不加 --no-reuseaddr 运行"
            ),
            EchoError::AddrInUse { addr } => tr!(
                "cannot listen on {addr}: address already in use — another program listens on this \
                 port (`ss -ltnp` shows which); stop it, or choose another port with --listen",
                "无法在 {addr} 上监听：地址已被占用 (Address already in use) — 另一个程序在这个端口上监听 \
                 (`ss -ltnp` 可以看到是谁)；停掉它，或用 --listen 换一个端口"
            ),
            EchoError::Listen { addr, source } => {
                let e = crate::lang::io_reason(source);
                tr!("cannot listen on {addr}: {e}", "无法在 {addr} 上监听：{e}")
            }
            EchoError::SocketOption { option, source } => {
                let e = crate::lang::io_reason(source);
                tr!(
                    "cannot set {option} on the listening socket: {e}",
                    "无法在监听套接字上设置 {option}：{e}"
                )
            }
            EchoError::InvalidOptions(msg) => msg.clone(),
            EchoError::Io { context, source } => {
                let e = crate::lang::io_reason(source);
                format!("{context}: {e}")
            }
        };
        f.write_str(&line)
    }
}

impl std::error::Error for EchoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EchoError::Listen { source, .. }
            | EchoError::SocketOption { source, .. }
            | EchoError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What a client connection ran into, as the application saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// connect() was answered by RST: nothing listens there.
    Refused,
    /// The peer sent RST (ECONNRESET, or EPIPE when writing after it).
    Reset,
    /// No answer within `--give-up-after`.
    TimedOut,
    /// The server closed (FIN) before echoing everything that was sent.
    PeerClosed,
    /// Anything else, already worded for a person.
    Other(String),
}

impl ConnError {
    /// Classifies an I/O error from connect, read or write.
    pub fn from_io(e: &io::Error) -> ConnError {
        use io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused => ConnError::Refused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => ConnError::Reset,
            // A socket read/write timeout surfaces as WouldBlock on Unix.
            K::TimedOut | K::WouldBlock => ConnError::TimedOut,
            K::UnexpectedEof => ConnError::PeerClosed,
            _ => ConnError::Other(e.to_string()),
        }
    }

    /// A sentence for a person: what happened and what to do about it.
    pub fn explain(&self, server: SocketAddr, timeout: Duration) -> String {
        match self {
            ConnError::Refused => tr!(
                "connection refused: nothing listens on {server} (is the server running?)",
                "连接被拒绝：{server} 上没有进程在监听 (服务器在运行吗？)"
            ),
            ConnError::Reset => pick(
                "connection reset by peer: the server sent RST (it aborted, or \
                 closed with data unread)",
                "连接被对方复位：服务器发来了 RST (它异常终止了，或关闭时还有数据没读)",
            )
            .to_owned(),
            ConnError::TimedOut => {
                let t = fmt_duration(timeout);
                tr!(
                    "timed out: no answer from {server} within {t} (--give-up-after)",
                    "超时：{server} 在 {t} 内没有回应 (--give-up-after)"
                )
            }
            ConnError::PeerClosed => pick(
                "the server closed the connection before echoing \
                 everything (server --close-after?)",
                "服务器在回显完全部数据之前就关闭了连接 (服务器用了 --close-after？)",
            )
            .to_owned(),
            ConnError::Other(msg) => msg.clone(),
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Refused => f.write_str(pick("connection refused", "连接被拒绝")),
            ConnError::Reset => f.write_str(pick("connection reset by peer", "连接被对方复位")),
            ConnError::TimedOut => f.write_str(pick("timed out", "超时")),
            ConnError::PeerClosed => f.write_str(pick(
                "closed by peer before the echo was complete",
                "回显完成之前对方就关闭了",
            )),
            ConnError::Other(msg) => f.write_str(msg),
        }
    }
}

const ECHO_ABOUT: &str = "\
The bundled traffic generator: an echo server and client that produce each TCP
situation on demand (who closes first, TIME_WAIT, half-close, RST, zero windows,
keepalives), to watch with `synack live` in another terminal.";

const ECHO_AFTER: &str = "\
Durations take a unit: 250ms, 1.5s, 2m, 1h; a bare number is seconds.
--listen and --connect take an address (127.0.0.1:9999, [::1]:9999) or a host name
with a port (localhost:9999).
Errors are one line starting with 'synack:'. Exit status: 0 ok, 1 a connection failed
or the server could not start, 2 a usage mistake.";

/// `synack echo server|client`.
#[derive(Debug, Args)]
#[command(about = ECHO_ABOUT, after_help = ECHO_AFTER)]
pub struct EchoArgs {
    #[command(subcommand)]
    pub command: EchoCommand,
}

#[derive(Debug, Subcommand)]
pub enum EchoCommand {
    /// Echo server: replies upper-cased, one event loop for every client
    #[command(after_help = server::AFTER_HELP)]
    Server(ServerArgs),

    /// Echo client: lines from stdin, or scripted with --send / --size
    #[command(after_help = client::AFTER_HELP)]
    Client(ClientArgs),
}

/// Runs `synack echo …`. Exit codes: 0 ok, 1 a connection failed or the server could
/// not start, 2 contradictory options (said in one line starting `synack:`, as every
/// error of the command is).
pub fn run(args: EchoArgs) -> Result<ExitCode, EchoError> {
    let result = match &args.command {
        EchoCommand::Server(a) => server::run_cli(a),
        EchoCommand::Client(a) => client::run_cli(a),
    };
    match result {
        Err(EchoError::InvalidOptions(msg)) => {
            note(format_args!("synack: {msg}"));
            Ok(ExitCode::from(2))
        }
        other => other,
    }
}

/// Nanoseconds in one of each unit a duration may be written in.
const UNITS: [(&str, u128); 4] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a duration as every duration option takes it: a decimal number with a unit
/// (`250ms`, `1.5s`, `2m`, `1h`, a space before the unit allowed); a bare number is
/// seconds. Parsed exactly (no floating point): `0.3` is 300 ms, not 299.999… ms.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    duration_in(s, 1_000_000_000)
}

/// A duration that must be more than zero (a timeout of nothing means nothing).
pub(crate) fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err(tr!(
            "expected a duration above zero, got {s:?}",
            "需要一个大于零的时长，给的是 {s:?}"
        )),
        d => Ok(d),
    }
}

/// The hidden old spellings (`--delay 100`, `--timeout 5000`…) took milliseconds: a
/// bare number keeps meaning milliseconds there; with a unit it is read as written.
pub(crate) fn parse_legacy_ms(s: &str) -> Result<Duration, String> {
    duration_in(s, 1_000_000)
}

/// `parse_duration`, with a bare number counted in `bare_unit_ns` nanoseconds.
fn duration_in(s: &str, bare_unit_ns: u128) -> Result<Duration, String> {
    let bad = || {
        tr!(
            "expected a duration such as 250ms or 2s, got {s:?}",
            "需要一个时长，例如 250ms 或 2s，给的是 {s:?}"
        )
    };
    let text = s.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err(bad());
    }
    let unit_ns = match unit.trim_start() {
        "" => bare_unit_ns,
        u => UNITS
            .iter()
            .find(|(name, _)| *name == u)
            .map(|&(_, ns)| ns)
            .ok_or_else(|| {
                let bad = bad();
                tr!(
                    "{bad}: the unit must be ms, s, m or h, not {u:?}",
                    "{bad}：单位必须是 ms、s、m 或 h，而不是 {u:?}"
                )
            })?,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    if fraction.contains('.') {
        return Err(bad());
    }
    let too_long = || tr!("{s:?} is too long a duration", "{s:?} 这个时长太长了");
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_long())?
    };
    let mut total = whole.checked_mul(unit_ns).ok_or_else(too_long)?;
    // Each fractional digit is a tenth of the one before; below a nanosecond, dropped.
    let mut scale = unit_ns;
    for digit in fraction.bytes() {
        scale /= 10;
        total = total
            .checked_add(u128::from(digit - b'0') * scale)
            .ok_or_else(too_long)?;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| too_long())?;
    // The remainder is below 10^9, so it fits a u32.
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// A duration for a person: `250 ms`, `1.5 s`, `10 s`, `2 min`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 && !d.is_zero() {
        format!("{} µs", d.as_micros())
    } else if ms < 1000.0 {
        format!("{} ms", trim_zeros(ms, 3))
    } else if d.as_secs() < 120 {
        format!("{} s", trim_zeros(d.as_secs_f64(), 3))
    } else {
        format!("{} min", trim_zeros(d.as_secs_f64() / 60.0, 2))
    }
}

/// `value` with at most `places` decimals, trailing zeros dropped (`1.500` → `1.5`).
fn trim_zeros(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Parses `--listen` and `--connect`: an address (`127.0.0.1:9999`, `[::1]:9999`) or a
/// host name with a port (`localhost:9999`), resolved now; of a name's addresses the
/// first IPv4 one is taken, so `localhost` is 127.0.0.1 as the server's default is.
pub(crate) fn parse_socket_addr(s: &str) -> Result<SocketAddr, String> {
    let text = s.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let usage = pick(
        "takes HOST:PORT, such as 127.0.0.1:9999 or localhost:9999",
        "要的是 HOST:PORT，例如 127.0.0.1:9999 或 localhost:9999",
    );
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(tr!(
            "{text:?} has no port: this option {usage}",
            "{text:?} 没有端口：这个选项{usage}"
        ));
    };
    if host.is_empty() || host.contains(':') {
        // An IPv6 address without brackets, or no host at all.
        return Err(tr!(
            "{text:?} is not an address: this option {usage} (IPv6 as [::1]:9999)",
            "{text:?} 不是地址：这个选项{usage} (IPv6 写作 [::1]:9999)"
        ));
    }
    let port: u16 = port.parse().map_err(|_| {
        tr!(
            "{port:?} is not a port (0 to 65535): this option {usage}",
            "{port:?} 不是端口 (0 到 65535)：这个选项{usage}"
        )
    })?;
    let resolved: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            let e = crate::lang::io_reason(&e);
            tr!(
                "cannot resolve {host:?} ({e}): this option {usage}",
                "无法解析 {host:?} ({e})：这个选项{usage}"
            )
        })?
        .collect();
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .ok_or_else(|| {
            tr!(
                "{host:?} has no address: this option {usage}",
                "{host:?} 没有地址：这个选项{usage}"
            )
        })
}

/// Parses a positive count or size.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(tr!(
            "expected a positive whole number, got {s:?}",
            "需要一个正整数，给的是 {s:?}"
        )),
    }
}

/// Parses a positive count that fits a u32 (`--repeat`, `--connections`).
fn parse_count(s: &str) -> Result<u32, String> {
    parse_positive(s)
        .and_then(|n| u32::try_from(n).map_err(|_| tr!("{s:?} is too many", "{s:?} 太多了")))
}

/// One line on stderr. Unlike eprintln!, never panics when stderr is gone.
fn note(line: fmt::Arguments<'_>) {
    use io::Write;
    let line = crate::views::charset::text(line.to_string());
    let _ = writeln!(io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_take_a_unit_and_a_bare_number_is_seconds() {
        for (text, want) in [
            ("250ms", ms(250)),
            ("1.5s", ms(1500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("2", Duration::from_secs(2)),
            ("0.3", ms(300)),
            (".5", ms(500)),
            ("0", Duration::ZERO),
            (" 10 s ", Duration::from_secs(10)),
            ("1.5ms", Duration::from_micros(1500)),
            ("0.0000000019s", Duration::from_nanos(1)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn a_bad_duration_says_what_was_expected() {
        for text in [
            "", "x", "ms", "-1", "1.2.3", "1e3", "1 sec", "1,5s", "5 s 3",
        ] {
            let e = parse_duration(text).expect_err(text);
            assert!(
                e.starts_with("expected a duration such as 250ms or 2s, got "),
                "{text:?}: {e}"
            );
            assert!(e.contains(&format!("{text:?}")), "{text:?}: {e}");
        }
        let e = parse_duration("3d").unwrap_err();
        assert!(e.contains("the unit must be ms, s, m or h"), "{e}");
        let e = parse_duration("99999999999999999999h").unwrap_err();
        assert!(e.contains("too long"), "{e}");
    }

    #[test]
    fn old_millisecond_spellings_keep_their_unit() {
        assert_eq!(parse_legacy_ms("100"), Ok(ms(100)));
        assert_eq!(parse_legacy_ms("2s"), Ok(ms(2000)));
        assert!(parse_legacy_ms("soon").is_err());
    }

    #[test]
    fn positive_durations_refuse_zero() {
        assert!(parse_positive_duration("0").is_err());
        assert!(parse_positive_duration("0ms").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(ms(1)));
    }

    #[test]
    fn durations_are_said_in_the_unit_a_person_would_use() {
        assert_eq!(fmt_duration(ms(250)), "250 ms");
        assert_eq!(fmt_duration(ms(1500)), "1.5 s");
        assert_eq!(fmt_duration(Duration::from_secs(10)), "10 s");
        assert_eq!(fmt_duration(Duration::from_secs(300)), "5 min");
        assert_eq!(fmt_duration(Duration::from_micros(20)), "20 µs");
        assert_eq!(fmt_duration(Duration::ZERO), "0 ms");
    }

    #[test]
    fn addresses_and_host_names() {
        assert_eq!(
            parse_socket_addr("127.0.0.1:9999"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9999)))
        );
        assert_eq!(
            parse_socket_addr("[::1]:80"),
            Ok("[::1]:80".parse().unwrap())
        );
        // /etc/hosts: no DNS query leaves the machine.
        assert_eq!(
            parse_socket_addr("localhost:9999"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9999)))
        );
        for (text, says) in [
            ("localhost", "has no port"),
            ("127.0.0.1", "has no port"),
            ("::1:80", "IPv6 as [::1]:9999"),
            (":80", "is not an address"),
            ("localhost:99999", "is not a port"),
        ] {
            let e = parse_socket_addr(text).expect_err(text);
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.contains("such as 127.0.0.1:9999"), "{text:?}: {e}");
        }
    }
}
