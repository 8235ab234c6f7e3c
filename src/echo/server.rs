//! The echo server: an accept loop, one thread per client, replies upper-cased.
//!
//! Every blocking call has a short timeout so that each thread looks at the stop flag
//! at least every 50 ms: `serve` returns promptly and leaves no thread behind.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use clap::Args;

use super::{note, parse_ms, parse_positive, sockopt, EchoError};

/// How long the accept loop and idle handlers sleep between looks at the stop flag.
const TICK: Duration = Duration::from_millis(10);
/// Read/write timeout on client sockets: a blocked handler notices a stop this fast.
const IO_TICK: Duration = Duration::from_millis(50);
/// Bytes per read. Small enough that a slow reader (--read-delay) drains its receive
/// buffer gradually, which is what makes the advertised window visibly shrink.
const READ_CHUNK: usize = 4096;

/// What the server does; `Default` is the classic echo server on 127.0.0.1:9999.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: SocketAddr,
    /// SO_REUSEADDR on the listening socket (default on): lets a restarted server bind
    /// while connections from its previous run are still in TIME_WAIT.
    pub reuse_address: bool,
    /// listen() backlog: handshakes the kernel completes and queues before accept().
    pub backlog: u32,
    /// Clients served at once; further handshakes wait in the backlog.
    pub max_clients: usize,
    /// Close each connection this long after the first reply (server closes first).
    pub close_first: Option<Duration>,
    /// On the client's FIN: finish replying, then shutdown(SHUT_WR) before closing.
    pub half_close: bool,
    /// Close with SO_LINGER 0, so the kernel sends RST instead of FIN.
    pub abort: bool,
    /// Never read from clients: their data piles up, our window closes. Reading-related
    /// options (close_first, half_close, delay, read_delay) are then ignored.
    pub no_read: bool,
    /// Never read, and close this long after accepting: with unread data, that is RST.
    pub unread_close: Option<Duration>,
    /// Wait this long before each reply.
    pub delay: Option<Duration>,
    /// SO_RCVBUF, set before listen() (accepted sockets inherit it).
    pub rcvbuf: Option<usize>,
    /// Wait this long before each read (a slow reader).
    pub read_delay: Option<Duration>,
    /// Stop after this many connections have been accepted and served.
    pub exit_after: Option<u64>,
    /// No per-connection lines on stderr.
    pub quiet: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 9999)),
            reuse_address: true,
            backlog: 128,
            max_clients: 1024,
            close_first: None,
            half_close: false,
            abort: false,
            no_read: false,
            unread_close: None,
            delay: None,
            rcvbuf: None,
            read_delay: None,
            exit_after: None,
            quiet: false,
        }
    }
}

impl ServerOptions {
    /// --unread-close implies --no-read: the RST comes from the data we left unread.
    fn reads(&self) -> bool {
        !self.no_read && self.unread_close.is_none()
    }
}

/// What happened over a server's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    pub accepted: u64,
    /// Connections the client closed with FIN.
    pub closed_by_peer: u64,
    /// Connections the server closed first (--close-first).
    pub closed_first: u64,
    /// RSTs received from clients (ECONNRESET / EPIPE).
    pub resets_seen: u64,
    /// Connections closed with SO_LINGER 0 (--abort).
    pub aborted: u64,
    /// Connections closed without reading (--unread-close).
    pub unread_closes: u64,
    /// Connections that ended on another error.
    pub errors: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

impl fmt::Display for ServerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections: {} closed by peer, {} closed first, {} resets seen, {} aborted, \
             {} closed unread, {} errors; {} bytes in, {} bytes out",
            self.accepted,
            self.closed_by_peer,
            self.closed_first,
            self.resets_seen,
            self.aborted,
            self.unread_closes,
            self.errors,
            self.bytes_received,
            self.bytes_sent
        )
    }
}

/// A bound, listening echo server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    opts: ServerOptions,
}

impl Server {
    /// Creates the listening socket with the requested options. With port 0 the kernel
    /// picks a free port: [`Server::local_addr`] tells which.
    pub fn bind(opts: &ServerOptions) -> Result<Server, EchoError> {
        let addr = opts.listen;
        let option = |option| move |source| EchoError::SocketOption { option, source };
        let sock =
            sockopt::tcp_socket(&addr).map_err(|source| EchoError::Listen { addr, source })?;
        sock.set_reuse_address(opts.reuse_address)
            .map_err(option("SO_REUSEADDR"))?;
        if let Some(bytes) = opts.rcvbuf {
            // Before listen(): accepted sockets inherit it, and the window scale offered
            // in the SYN-ACK is computed from it.
            sock.set_recv_buffer_size(bytes)
                .map_err(option("SO_RCVBUF"))?;
        }
        sock.bind(&addr.into())
            .map_err(|e| bind_error(addr, opts.reuse_address, e))?;
        let backlog = i32::try_from(opts.backlog).unwrap_or(i32::MAX);
        sock.listen(backlog)
            .map_err(|source| EchoError::Listen { addr, source })?;
        bounded_accept(&sock).map_err(option("an accept timeout"))?;
        let listener = TcpListener::from(sock);
        let local_addr = listener
            .local_addr()
            .map_err(|source| EchoError::Listen { addr, source })?;
        Ok(Server {
            listener,
            local_addr,
            opts: opts.clone(),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Accepts and serves clients until `stop` is set (looked at every 10 ms) or, with
    /// `exit_after`, until that many connections were accepted and have ended. Returns
    /// once every connection thread has finished.
    pub fn serve(self, stop: &AtomicBool) -> Result<ServerStats, EchoError> {
        let shared = Arc::new(Shared {
            opts: self.opts,
            counters: Counters::default(),
            stopping: AtomicBool::new(false),
        });
        let mut handlers: Vec<JoinHandle<()>> = Vec::new();
        let mut accepted = 0u64;
        while !stop.load(Ordering::Relaxed) && !shared.done_accepting(accepted) {
            // Finished threads are detached by dropping their handle: nothing to collect.
            handlers.retain(|h| !h.is_finished());
            if handlers.len() >= shared.opts.max_clients {
                // At the bound: further handshakes wait in the kernel's backlog.
                thread::sleep(TICK);
                continue;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    accepted += 1;
                    if let Some(h) = spawn_handler(&shared, stream, peer, handlers.len() + 1) {
                        handlers.push(h);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !ACCEPT_WAITS {
                        thread::sleep(TICK);
                    }
                }
                // A client that gave up while queued, or a signal: nothing to report.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // E.g. EMFILE: keep serving the clients we have, try again shortly.
                    note(format_args!(
                        "echo server: accept failed: {e}; still serving"
                    ));
                    thread::sleep(TICK);
                }
            }
        }
        // Close the listener first: late clients are refused instead of left queued.
        drop(self.listener);
        wait_for_handlers(handlers, &shared, stop);
        Ok(shared.counters.snapshot())
    }
}

/// Whether accept() itself waits up to TICK (Linux) instead of returning at once.
const ACCEPT_WAITS: bool = cfg!(target_os = "linux");

/// Makes accept() return at least every TICK, so the loop sees the stop flag. On Linux
/// SO_RCVTIMEO bounds accept(), which then returns the moment a client arrives; other
/// systems may ignore it there, so they get a non-blocking accept and a TICK sleep
/// (a client may then wait up to TICK to be accepted).
fn bounded_accept(sock: &socket2::Socket) -> io::Result<()> {
    if ACCEPT_WAITS {
        sock.set_read_timeout(Some(TICK))
    } else {
        sock.set_nonblocking(true)
    }
}

/// Turns a failed bind() into an error that says what holds the port.
fn bind_error(addr: SocketAddr, reuse_address: bool, source: io::Error) -> EchoError {
    if source.kind() != io::ErrorKind::AddrInUse {
        return EchoError::Listen { addr, source };
    }
    // If SO_REUSEADDR would have let us bind, nobody listens: the port is held by a
    // connection that is not over yet, in practice one in TIME_WAIT.
    if !reuse_address && sockopt::bindable_with_reuseaddr(&addr) {
        EchoError::AddrInUseTimeWait { addr }
    } else {
        EchoError::AddrInUse { addr }
    }
}

/// Waits for every connection thread; once `stop` is set, asks them to finish.
fn wait_for_handlers(mut handlers: Vec<JoinHandle<()>>, shared: &Shared, stop: &AtomicBool) {
    loop {
        if stop.load(Ordering::Relaxed) {
            shared.stopping.store(true, Ordering::Relaxed);
        }
        let (done, running): (Vec<_>, Vec<_>) = handlers.into_iter().partition(|h| h.is_finished());
        for h in done {
            // A handler that panicked was reported by the panic hook already.
            let _ = h.join();
        }
        if running.is_empty() {
            return;
        }
        handlers = running;
        thread::sleep(TICK);
    }
}

fn spawn_handler(
    shared: &Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    active: usize,
) -> Option<JoinHandle<()>> {
    shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
    shared.log(peer, format_args!("accepted ({active} active)"));
    let sh = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(format!("echo {peer}"))
        .spawn(move || Connection::new(stream, peer, &sh).run());
    match spawned {
        Ok(h) => Some(h),
        Err(e) => {
            // The stream went down with the closure: the client sees a plain close.
            shared.counters.errors.fetch_add(1, Ordering::Relaxed);
            shared.log(peer, format_args!("cannot start a thread ({e}); closed"));
            None
        }
    }
}

/// State shared by the accept loop and the connection threads.
struct Shared {
    opts: ServerOptions,
    counters: Counters,
    /// Set when `serve` is asked to stop: connection threads close and exit.
    stopping: AtomicBool,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    fn done_accepting(&self, accepted: u64) -> bool {
        self.opts.exit_after.is_some_and(|n| accepted >= n)
    }

    fn log(&self, peer: SocketAddr, what: fmt::Arguments<'_>) {
        if !self.opts.quiet {
            note(format_args!("echo server: {peer}: {what}"));
        }
    }

    /// Sleeps `d` in short slices; false if the server started stopping meanwhile.
    fn nap(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            thread::sleep(left.min(TICK));
        }
        false
    }
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    closed_by_peer: AtomicU64,
    closed_first: AtomicU64,
    resets_seen: AtomicU64,
    aborted: AtomicU64,
    unread_closes: AtomicU64,
    errors: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            accepted: get(&self.accepted),
            closed_by_peer: get(&self.closed_by_peer),
            closed_first: get(&self.closed_first),
            resets_seen: get(&self.resets_seen),
            aborted: get(&self.aborted),
            unread_closes: get(&self.unread_closes),
            errors: get(&self.errors),
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
        }
    }
}

/// Why a connection's conversation ended; decides how the server closes it.
#[derive(Debug)]
enum End {
    /// The client's FIN: read() returned 0.
    PeerClosed,
    /// The client's RST.
    PeerReset,
    /// Our --close-first timer fired.
    CloseFirst,
    /// Our --unread-close timer fired.
    UnreadClose,
    /// The server is stopping.
    Stopped,
    Failed(io::Error),
}

impl End {
    fn from_error(e: io::Error) -> End {
        if is_reset(&e) {
            End::PeerReset
        } else {
            End::Failed(e)
        }
    }
}

/// ECONNRESET on read; EPIPE (or ECONNRESET) on a write after the peer's RST.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// A read or write timeout (our IO_TICK) or a signal: just look at the flags again.
fn is_tick(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// One client, served by its own thread.
struct Connection<'a> {
    stream: TcpStream,
    peer: SocketAddr,
    sh: &'a Shared,
    received: u64,
    sent: u64,
}

impl<'a> Connection<'a> {
    fn new(stream: TcpStream, peer: SocketAddr, sh: &'a Shared) -> Self {
        Connection {
            stream,
            peer,
            sh,
            received: 0,
            sent: 0,
        }
    }

    fn run(mut self) {
        let end = match self.setup() {
            Ok(()) if self.sh.opts.reads() => self.echo_loop(),
            Ok(()) => self.hold_unread(),
            Err(e) => End::Failed(e),
        };
        let c = &self.sh.counters;
        c.bytes_received.fetch_add(self.received, Ordering::Relaxed);
        c.bytes_sent.fetch_add(self.sent, Ordering::Relaxed);
        self.finish(end);
    }

    fn setup(&self) -> io::Result<()> {
        // Accepted sockets inherit O_NONBLOCK from the listener on BSD and macOS (not on
        // Linux): be explicit.
        self.stream.set_nonblocking(false)?;
        self.stream.set_read_timeout(Some(IO_TICK))?;
        self.stream.set_write_timeout(Some(IO_TICK))
    }

    /// Reads, upper-cases and writes back until the client closes or a timer fires.
    fn echo_loop(&mut self) -> End {
        let mut buf = [0u8; READ_CHUNK];
        let mut close_at: Option<Instant> = None;
        loop {
            if self.sh.stopping() {
                return End::Stopped;
            }
            if let Some(at) = close_at {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return End::CloseFirst;
                }
                // Wake up in time for --close-first, not up to IO_TICK late.
                if let Err(e) = self.stream.set_read_timeout(Some(left.min(IO_TICK))) {
                    return End::Failed(e);
                }
            }
            let n = match (&self.stream).read(&mut buf) {
                Ok(0) => return End::PeerClosed,
                Ok(n) => n,
                Err(e) if is_tick(&e) => continue,
                Err(e) => return End::from_error(e),
            };
            self.received += n as u64;
            if let Err(end) = self.reply(&mut buf[..n]) {
                return end;
            }
            if close_at.is_none() {
                close_at = self.sh.opts.close_first.map(|d| Instant::now() + d);
            }
            if let Some(d) = self.sh.opts.read_delay {
                if !self.sh.nap(d) {
                    return End::Stopped;
                }
            }
        }
    }

    fn reply(&mut self, data: &mut [u8]) -> Result<(), End> {
        if let Some(d) = self.sh.opts.delay {
            if !self.sh.nap(d) {
                return Err(End::Stopped);
            }
        }
        data.make_ascii_uppercase();
        self.write_all(data)
    }

    /// write_all that keeps looking at the stop flag while the client's window is full.
    fn write_all(&mut self, mut data: &[u8]) -> Result<(), End> {
        while !data.is_empty() {
            if self.sh.stopping() {
                return Err(End::Stopped);
            }
            match (&self.stream).write(data) {
                Ok(0) => return Err(End::Failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.sent += n as u64;
                    data = &data[n..];
                }
                Err(e) if is_tick(&e) => {}
                Err(e) => return Err(End::from_error(e)),
            }
        }
        Ok(())
    }

    /// --no-read / --unread-close: hold the connection without ever reading.
    fn hold_unread(&self) -> End {
        let until = self.sh.opts.unread_close.map(|d| Instant::now() + d);
        loop {
            if self.sh.stopping() {
                return End::Stopped;
            }
            if until.is_some_and(|t| Instant::now() >= t) {
                return End::UnreadClose;
            }
            // Without reading, a client's RST shows only as the socket's pending error.
            // (Its FIN cannot be seen: the connection then sits in CLOSE_WAIT until we
            // close, which is itself worth watching.)
            match self.stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => return End::from_error(e),
            }
            thread::sleep(TICK);
        }
    }

    /// Logs how the conversation ended and closes the way the options ask.
    /// Dropping `self.stream` at the end is the close() itself.
    fn finish(self, end: End) {
        let (c, opts) = (&self.sh.counters, &self.sh.opts);
        let bytes = format!("{} bytes in, {} out", self.received, self.sent);
        match end {
            End::PeerClosed => {
                c.closed_by_peer.fetch_add(1, Ordering::Relaxed);
                if opts.abort {
                    self.log(format_args!("closed by peer (FIN), {bytes}"));
                    self.abort();
                } else if opts.half_close {
                    // Every reply is written by now; SHUT_WR queues our FIN behind them.
                    let how = match self.stream.shutdown(Shutdown::Write) {
                        Ok(()) => "shutdown(SHUT_WR): our FIN follows the last reply".to_owned(),
                        Err(e) => format!("shutdown(SHUT_WR) failed: {e}"),
                    };
                    self.log(format_args!("closed by peer (FIN), {bytes}; {how}"));
                } else {
                    self.log(format_args!("closed by peer (FIN), {bytes}; closing"));
                }
            }
            End::PeerReset => {
                c.resets_seen.fetch_add(1, Ordering::Relaxed);
                self.log(format_args!(
                    "connection reset by peer (RST), {bytes}; still serving"
                ));
            }
            End::CloseFirst => {
                c.closed_first.fetch_add(1, Ordering::Relaxed);
                if opts.abort {
                    self.abort();
                } else {
                    self.log(format_args!(
                        "closing first (--close-first), {bytes}: this side will hold TIME_WAIT"
                    ));
                }
            }
            End::UnreadClose => {
                c.unread_closes.fetch_add(1, Ordering::Relaxed);
                self.log(format_args!(
                    "closing without reading (--unread-close): with data unread the kernel \
                     sends RST, not FIN"
                ));
            }
            End::Stopped => self.log(format_args!("closing: the server is stopping")),
            End::Failed(e) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                self.log(format_args!("error: {e}; closing"));
            }
        }
    }

    fn abort(&self) {
        match sockopt::set_abortive_close(&self.stream) {
            Ok(()) => {
                self.sh.counters.aborted.fetch_add(1, Ordering::Relaxed);
                self.log(format_args!(
                    "aborting (SO_LINGER 0): the kernel sends RST instead of FIN"
                ));
            }
            Err(e) => self.log(format_args!(
                "cannot set SO_LINGER 0 ({e}); closing with FIN"
            )),
        }
    }

    fn log(&self, what: fmt::Arguments<'_>) {
        self.sh.log(self.peer, what);
    }
}

pub(super) const AFTER_HELP: &str = "\
Scenarios (watch each with `sudo synack live 'tcp port 9999'` in another terminal):
  synack echo server                            the client closes first: client TIME_WAIT
  synack echo server --close-first 100          the server closes first: server TIME_WAIT
  synack echo server --close-first 0 --abort    RST instead of FIN, no TIME_WAIT
  synack echo server --unread-close 500         close with unread data: RST
  synack echo server --half-close --delay 200   replies flow after the client's FIN
  synack echo server --rcvbuf 4096 --read-delay 200   slow reader, small window: zero window
  synack echo server --no-reuseaddr             restart after --close-first: address in use

One line per connection event on stderr (accepted, closed by peer, reset by peer…);
Ctrl-C stops and prints totals.";

/// Options that only make sense for a server that reads (not --no-read/--unread-close).
const NEEDS_READING: [&str; 4] = ["close_first", "half_close", "delay", "read_delay"];

/// `synack echo server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 lets the kernel choose (the line "listening on" tells)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9999")]
    pub listen: SocketAddr,

    /// Leave SO_REUSEADDR off: a restart then fails with "address already in use" while
    /// a connection of the previous run is in TIME_WAIT (60 s on Linux)
    #[arg(long)]
    pub no_reuseaddr: bool,

    /// listen() backlog: handshakes the kernel completes and queues before accept()
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub backlog: u32,

    /// Serve at most N clients at once; further handshakes wait in the backlog
    #[arg(long, value_name = "N", default_value = "1024", value_parser = parse_positive)]
    pub max_clients: usize,

    /// Close each connection MS ms after the first reply: the server sends the first FIN,
    /// so the server holds TIME_WAIT
    #[arg(long, value_name = "MS", value_parser = parse_ms)]
    pub close_first: Option<Duration>,

    /// When the client half-closes (its FIN), send the remaining replies, then
    /// shutdown(SHUT_WR): our FIN follows the data
    #[arg(long, conflicts_with = "abort")]
    pub half_close: bool,

    /// Close with SO_LINGER 0: the kernel sends RST instead of FIN (and skips TIME_WAIT)
    #[arg(long)]
    pub abort: bool,

    /// Never read: the client's data piles up in our receive buffer until our window is
    /// zero; a client's FIN leaves us in CLOSE_WAIT (until Ctrl-C or --unread-close)
    #[arg(long, conflicts_with_all = NEEDS_READING)]
    pub no_read: bool,

    /// Never read, and close MS ms after accepting: closing with unread data makes the
    /// kernel send RST instead of FIN
    #[arg(long, value_name = "MS", value_parser = parse_ms, conflicts_with_all = NEEDS_READING)]
    pub unread_close: Option<Duration>,

    /// Wait MS before each reply: the ACK of the request and the reply become separate
    /// segments
    #[arg(long, value_name = "MS", value_parser = parse_ms)]
    pub delay: Option<Duration>,

    /// SO_RCVBUF in bytes, set before listen() so the handshake's window scale follows:
    /// a small receive window
    #[arg(long, value_name = "BYTES", value_parser = parse_positive)]
    pub rcvbuf: Option<usize>,

    /// Slow reader: wait MS before each read; with a small --rcvbuf the window drops to
    /// zero and the client sends zero-window probes
    #[arg(long, value_name = "MS", value_parser = parse_ms)]
    pub read_delay: Option<Duration>,

    /// Exit after serving N connections, so scripted runs end by themselves
    #[arg(long, value_name = "N")]
    pub exit_after: Option<u64>,

    /// No per-connection lines on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

impl ServerArgs {
    pub fn options(&self) -> ServerOptions {
        ServerOptions {
            listen: self.listen,
            reuse_address: !self.no_reuseaddr,
            backlog: self.backlog,
            max_clients: self.max_clients,
            close_first: self.close_first,
            half_close: self.half_close,
            abort: self.abort,
            no_read: self.no_read,
            unread_close: self.unread_close,
            delay: self.delay,
            rcvbuf: self.rcvbuf,
            read_delay: self.read_delay,
            exit_after: self.exit_after,
            quiet: self.quiet,
        }
    }
}

/// `synack echo server`: serve until Ctrl-C (or --exit-after), then print totals.
pub(super) fn run_cli(args: &ServerArgs) -> Result<ExitCode, EchoError> {
    let opts = args.options();
    let server = Server::bind(&opts)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|source| EchoError::Io {
            context: "cannot install the Ctrl-C handler",
            source,
        })?;
    }
    if !opts.quiet {
        note(format_args!(
            "echo server: listening on {} (Ctrl-C stops)",
            server.local_addr()
        ));
    }
    let stats = server.serve(&stop)?;
    if !opts.quiet {
        note(format_args!("echo server: {stats}"));
    }
    Ok(ExitCode::SUCCESS)
}
