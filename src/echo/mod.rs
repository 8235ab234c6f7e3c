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
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

pub use client::{
    run_client, run_lines, ClientArgs, ClientOptions, ClientReport, CloseMode, ConnectionReport,
    Payload,
};
pub use server::{Server, ServerArgs, ServerOptions, ServerStats, DEFAULT_MAX_CLIENTS};
pub use sockopt::Keepalive;

/// Errors that stop the echo server or client as a whole. A failure of one client
/// connection is not one of these: it is reported in [`ConnectionReport::error`].
#[derive(Debug, thiserror::Error)]
pub enum EchoError {
    /// bind() without SO_REUSEADDR failed although nobody listens on the port.
    #[error(
        "cannot listen on {addr}: address already in use — a previous connection on this \
         port is probably in TIME_WAIT (it lasts 60 s on Linux); wait, or run without \
         --no-reuseaddr"
    )]
    AddrInUseTimeWait { addr: SocketAddr },

    /// Another socket listens on the port.
    #[error(
        "cannot listen on {addr}: address already in use — another program listens on this \
         port (`ss -ltnp` shows which); stop it, or choose another port with --listen"
    )]
    AddrInUse { addr: SocketAddr },

    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: io::Error },

    #[error("cannot set {option} on the listening socket: {source}")]
    SocketOption {
        option: &'static str,
        source: io::Error,
    },

    /// Options that contradict each other or cannot work; the message says which.
    #[error("{0}")]
    InvalidOptions(String),

    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        source: io::Error,
    },
}

/// What a client connection ran into, as the application saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// connect() was answered by RST: nothing listens there.
    Refused,
    /// The peer sent RST (ECONNRESET, or EPIPE when writing after it).
    Reset,
    /// No answer within `--timeout`.
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
            ConnError::Refused => {
                format!("connection refused: nothing listens on {server} (is the server running?)")
            }
            ConnError::Reset => "connection reset by peer: the server sent RST (it aborted, or \
                                 closed with data unread)"
                .to_owned(),
            ConnError::TimedOut => format!(
                "timed out: no answer from {server} within {} ms (--timeout)",
                timeout.as_millis()
            ),
            ConnError::PeerClosed => "the server closed the connection before echoing \
                                      everything (server --close-first?)"
                .to_owned(),
            ConnError::Other(msg) => msg.clone(),
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Refused => f.write_str("connection refused"),
            ConnError::Reset => f.write_str("connection reset by peer"),
            ConnError::TimedOut => f.write_str("timed out"),
            ConnError::PeerClosed => f.write_str("closed by peer before the echo was complete"),
            ConnError::Other(msg) => f.write_str(msg),
        }
    }
}

const ECHO_ABOUT: &str = "\
The bundled traffic generator: an echo server and client that produce each TCP
situation on demand (who closes first, TIME_WAIT, half-close, RST, zero windows,
keepalives), to watch with `synack live` in another terminal.";

/// `synack echo server|client`.
#[derive(Debug, Args)]
#[command(about = ECHO_ABOUT)]
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
/// not start, 2 contradictory options.
pub fn run(args: EchoArgs) -> Result<ExitCode, EchoError> {
    let result = match &args.command {
        EchoCommand::Server(a) => server::run_cli(a),
        EchoCommand::Client(a) => client::run_cli(a),
    };
    match result {
        Err(EchoError::InvalidOptions(msg)) => {
            note(format_args!("synack echo: {msg}"));
            Ok(ExitCode::from(2))
        }
        other => other,
    }
}

/// Parses a number of milliseconds, as every `MS` option takes.
fn parse_ms(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("expected a whole number of milliseconds, got {s:?}"))
}

/// Parses a positive number of seconds, decimals allowed (`--idle-timeout 0.5`).
fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 => {
            Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?} seconds is too long"))
        }
        _ => Err(format!("expected a positive number of seconds, got {s:?}")),
    }
}

/// Parses a positive count or size.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive whole number, got {s:?}")),
    }
}

/// One line on stderr. Unlike eprintln!, never panics when stderr is gone.
fn note(line: fmt::Arguments<'_>) {
    use io::Write;
    let line = crate::views::charset::text(line.to_string());
    let _ = writeln!(io::stderr().lock(), "{line}");
}
