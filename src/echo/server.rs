//! The echo server: one thread, one event loop (mio), replies upper-cased.
//!
//! Every client is a non-blocking socket registered with the poller, and every wait an
//! option asks for (--reply-delay, --read-pause, --close-after, --close-unread-after,
//! --idle-timeout) is a deadline in a timer heap, never a sleep: a slow or silent
//! client holds up nobody. A client costs a small struct, plus a buffer only while a
//! reply waits to be written, so ten thousand clients fit in a few megabytes (the
//! kernel's socket buffers are not part of the process).
//!
//! The loop looks at the stop flag at least every TICK: `serve` returns promptly.
//! When accept() fails for lack of a resource (EMFILE and ENFILE: out of file
//! descriptors; ENOBUFS, ENOMEM), the server says so once per burst, leaves further
//! clients in the backlog as it does at --max-clients, retries every ACCEPT_BACKOFF
//! and keeps serving the clients it has. Nothing a client does stops the server.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::lang::{pick, tr};
use clap::Args;
use mio::net::{TcpListener as MioListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::{
    fmt_duration, note, parse_duration, parse_legacy_ms, parse_positive, parse_positive_duration,
    parse_socket_addr, sockopt, EchoError,
};

/// The longest the loop waits in poll(): how often it looks at the stop flag.
const TICK: Duration = Duration::from_millis(10);
/// Bytes per read. Small enough that a slow reader (--read-pause) drains its receive
/// buffer gradually, which is what makes the advertised window visibly shrink.
const READ_CHUNK: usize = 4096;
/// Chunks one client may echo in a row before the others get their turn.
const CHUNKS_PER_TURN: usize = 16;
/// Connections accepted in a row before the clients already connected get a turn.
const ACCEPTS_PER_TURN: usize = 256;
/// After accept() failed for lack of a resource, wait this long before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);
/// The listening socket's token; client `i` of the slab has `Token(i + 1)`.
const LISTENER: Token = Token(0);
/// Readiness events taken from the poller at once.
const EVENTS: usize = 1024;

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
    /// Close a connection after this long without data from the client (None: never).
    pub idle_timeout: Option<Duration>,
    /// Stop after this many connections have been accepted and served.
    pub exit_after: Option<u64>,
    /// No per-connection lines on stderr.
    pub quiet: bool,
}

/// Clients served at once unless told otherwise.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 9999)),
            reuse_address: true,
            backlog: 128,
            max_clients: DEFAULT_MAX_CLIENTS,
            close_first: None,
            half_close: false,
            abort: false,
            no_read: false,
            unread_close: None,
            delay: None,
            rcvbuf: None,
            read_delay: None,
            idle_timeout: None,
            exit_after: None,
            quiet: false,
        }
    }
}

impl ServerOptions {
    /// --close-unread-after implies --no-read: the RST comes from the data we left unread.
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
    /// Connections the server closed first (--close-after).
    pub closed_first: u64,
    /// RSTs received from clients (ECONNRESET / EPIPE).
    pub resets_seen: u64,
    /// Connections closed with SO_LINGER 0 (--close abort).
    pub aborted: u64,
    /// Connections closed without reading (--close-unread-after).
    pub unread_closes: u64,
    /// Connections closed for want of data from the client (--idle-timeout).
    pub idle_closes: u64,
    /// Connections that ended on another error.
    pub errors: u64,
    /// Times accept() failed for lack of a resource (out of file descriptors…).
    pub accept_failures: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

impl fmt::Display for ServerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self;
        let (accepted, by_peer, first, resets, aborted) = (
            s.accepted,
            s.closed_by_peer,
            s.closed_first,
            s.resets_seen,
            s.aborted,
        );
        let (unread, idle, errors, bytes_in, bytes_out) = (
            s.unread_closes,
            s.idle_closes,
            s.errors,
            s.bytes_received,
            s.bytes_sent,
        );
        f.write_str(&tr!(
            "{accepted} connections: {by_peer} closed by peer, {first} closed first, {resets} resets seen, {aborted} aborted, \
             {unread} closed unread, {idle} idle timeouts, {errors} errors; {bytes_in} bytes in, {bytes_out} bytes out",
            "{accepted} 个连接：{by_peer} 个由对方关闭，{first} 个由本方先关闭，收到 {resets} 次复位，{aborted} 个异常终止，\
             {unread} 个未读就关闭，{idle} 个空闲超时，{errors} 个出错；收到 {bytes_in} 字节，发出 {bytes_out} 字节"
        ))?;
        if self.accept_failures > 0 {
            let n = self.accept_failures;
            f.write_str(&tr!(
                "; accept() failed {n} times for lack of a resource",
                "；accept() 因资源不足失败了 {n} 次"
            ))?;
        }
        Ok(())
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
        // The event loop never blocks in accept(); accepted sockets are made
        // non-blocking by accept4() itself.
        sock.set_nonblocking(true).map_err(option("O_NONBLOCK"))?;
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
    /// once every connection is closed.
    pub fn serve(self, stop: &AtomicBool) -> Result<ServerStats, EchoError> {
        let io = |context| move |source| EchoError::Io { context, source };
        let poll =
            Poll::new().map_err(io(pick("cannot create the event loop", "无法创建事件循环")))?;
        let mut listener = MioListener::from_std(self.listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(io(pick(
                "cannot watch the listening socket",
                "无法监视监听套接字",
            )))?;
        let mut ev = EventLoop {
            opts: self.opts,
            poll,
            listener: Some(listener),
            conns: Vec::new(),
            free: Vec::new(),
            active: 0,
            next_id: 0,
            timers: BinaryHeap::new(),
            again: Vec::new(),
            accept_ready: true,
            accept_paused_until: None,
            shortage_since: None,
            stats: ServerStats::default(),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
        };
        ev.stop_accepting_when_done();
        ev.run(stop)?;
        Ok(ev.stats)
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

/// The server's one thread: the poller, the clients and their timers.
struct EventLoop {
    opts: ServerOptions,
    poll: Poll,
    /// None once `exit_after` connections were accepted: late clients are refused
    /// instead of left queued.
    listener: Option<MioListener>,
    /// The clients, by slot; a free slot is reused for the next client.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    active: usize,
    /// Tells apart successive clients of one slot, so a stale timer finds nobody.
    next_id: u64,
    /// (deadline, slot, id): the earliest deadline of each client, lazily updated.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Clients that used up their turn with data still to echo: (slot, id).
    again: Vec<(usize, u64)>,
    /// The listening socket may have clients waiting (readiness is edge-triggered:
    /// this stays true until accept() says WouldBlock).
    accept_ready: bool,
    accept_paused_until: Option<Instant>,
    /// When accept() started failing for lack of a resource (None: it works).
    shortage_since: Option<Instant>,
    stats: ServerStats,
    /// Every read lands here; a connection holds its reply (and that allocation) only
    /// until it is written.
    scratch: Box<[u8]>,
}

/// What one turn of a connection came to.
enum Step {
    /// Nothing to do until the socket is ready or a deadline passes.
    Wait,
    /// Its turn is over but it has more to echo: serve it again after the others.
    Again,
    End(End),
}

impl EventLoop {
    fn run(&mut self, stop: &AtomicBool) -> Result<(), EchoError> {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            if stop.load(Ordering::Relaxed) {
                self.close_all();
                return Ok(());
            }
            if self.listener.is_none() && self.active == 0 {
                return Ok(());
            }
            let timeout = self.poll_timeout(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                self.close_all();
                return Err(EchoError::Io {
                    context: pick("the event loop failed", "事件循环出错"),
                    source: e,
                });
            }
            for event in &events {
                match event.token() {
                    LISTENER => self.accept_ready = true,
                    Token(t) => self.step(t - 1),
                }
            }
            self.fire_timers();
            for (slot, id) in std::mem::take(&mut self.again) {
                if self.conns[slot].as_ref().is_some_and(|c| c.id == id) {
                    self.step(slot);
                }
            }
            self.accept_some();
        }
    }

    /// Until the next deadline, but at most TICK; zero while work is waiting.
    fn poll_timeout(&self, now: Instant) -> Duration {
        if !self.again.is_empty() || self.may_accept(now) {
            return Duration::ZERO;
        }
        let mut wake = now + TICK;
        if let Some(Reverse((at, _, _))) = self.timers.peek() {
            wake = wake.min(*at);
        }
        if let Some(at) = self.accept_paused_until.filter(|&t| t > now) {
            wake = wake.min(at);
        }
        wake.saturating_duration_since(now)
    }

    fn may_accept(&self, now: Instant) -> bool {
        self.listener.is_some()
            && self.accept_ready
            && self.active < self.opts.max_clients
            && self.accept_paused_until.is_none_or(|t| t <= now)
    }

    /// Accepts the clients waiting in the backlog, a turn's worth at most.
    fn accept_some(&mut self) {
        for _ in 0..ACCEPTS_PER_TURN {
            let now = Instant::now();
            if !self.may_accept(now) {
                // At --max-clients further handshakes wait in the kernel's backlog;
                // accept_ready stays set, so a client leaving lets the next one in.
                return;
            }
            self.accept_paused_until = None;
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.shortage_over(now);
                    self.add(stream, peer, now);
                    self.stop_accepting_when_done();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_ready = false;
                    return;
                }
                // A client that gave up while queued, or a signal: nothing to report.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    self.shortage(&e, now);
                    return;
                }
            }
        }
    }

    /// accept() failed, most likely for lack of a resource (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM). The clients already connected keep being served; new ones wait in the
    /// backlog and accept() is tried again shortly. Said once per burst.
    fn shortage(&mut self, e: &io::Error, now: Instant) {
        self.stats.accept_failures += 1;
        self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
        if self.shortage_since.is_some() {
            return;
        }
        self.shortage_since = Some(now);
        let what = match e.raw_os_error() {
            Some(libc::EMFILE) => pick(
                "out of file descriptors (RLIMIT_NOFILE, `ulimit -n`)",
                "文件描述符用完了 (RLIMIT_NOFILE，`ulimit -n`)",
            ),
            Some(libc::ENFILE) => pick(
                "the system is out of file descriptors (fs.file-max)",
                "系统的文件描述符用完了 (fs.file-max)",
            ),
            Some(libc::ENOBUFS | libc::ENOMEM) => pick("out of kernel memory", "内核内存不足"),
            _ => pick("accept() is failing", "accept() 一直失败"),
        };
        let (e, active, every) = (
            crate::lang::io_reason(e),
            self.active,
            ACCEPT_BACKOFF.as_millis(),
        );
        note(format_args!(
            "{}",
            tr!(
                "echo server: accept failed: {e}: {what}; still serving the {active} clients \
                 connected, new ones wait in the backlog; trying again every {every} ms",
                "回显服务器：accept 失败：{e}：{what}；继续服务已连接的 {active} 个客户端，\
                 新的客户端在 backlog 中等待；每 {every} ms 重试一次"
            )
        ));
    }

    /// accept() works again after a shortage.
    fn shortage_over(&mut self, now: Instant) {
        if let Some(since) = self.shortage_since.take() {
            let ms = now.duration_since(since).as_millis();
            note(format_args!(
                "{}",
                tr!(
                    "echo server: accepting again after {ms} ms",
                    "回显服务器：{ms} ms 后重新开始 accept"
                )
            ));
        }
    }

    /// With `exit_after`, closes the listener once that many clients were accepted.
    fn stop_accepting_when_done(&mut self) {
        if self
            .opts
            .exit_after
            .is_some_and(|n| self.stats.accepted >= n)
        {
            if let Some(mut l) = self.listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
        }
    }

    fn add(&mut self, mut stream: TcpStream, peer: SocketAddr, now: Instant) {
        self.stats.accepted += 1;
        self.active += 1;
        let active = self.active;
        self.log(
            peer,
            format_args!(
                "{}",
                tr!(
                    "accepted ({active} active)",
                    "已接受 (当前 {active} 个连接)"
                )
            ),
        );
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        let interest = Interest::READABLE.add(Interest::WRITABLE);
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(slot + 1), interest)
        {
            // The stream is dropped: the client sees a plain close.
            self.active -= 1;
            self.free.push(slot);
            self.stats.errors += 1;
            self.log(
                peer,
                format_args!(
                    "{}",
                    tr!(
                        "cannot watch this connection ({e}); closed",
                        "无法监视这个连接 ({e})；已关闭"
                    )
                ),
            );
            return;
        }
        self.next_id += 1;
        self.conns[slot] = Some(Conn {
            stream,
            peer,
            id: self.next_id,
            received: 0,
            sent: 0,
            out: Vec::new(),
            written: 0,
            reply_at: None,
            read_at: None,
            close_at: None,
            unread_close_at: self.opts.unread_close.map(|d| now + d),
            last_data: now,
            unread_seen: 0,
            timer: None,
        });
        // Data may have arrived with the handshake: edge-triggered readiness would not
        // report it again.
        self.step(slot);
    }

    /// Gives a connection its turn: echo what can be echoed, check its deadlines.
    fn step(&mut self, slot: usize) {
        let now = Instant::now();
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let step = conn.advance(&self.opts, &mut self.scratch, now);
        let id = conn.id;
        match step {
            Step::Wait => self.schedule(slot, now),
            Step::Again => {
                self.again.push((slot, id));
                self.schedule(slot, now);
            }
            Step::End(end) => self.close(slot, end),
        }
    }

    /// Puts the connection's next deadline in the heap, unless one as early is there.
    fn schedule(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        if let Some(at) = conn.next_deadline(&self.opts, now) {
            if conn.timer.is_none_or(|t| at < t) {
                conn.timer = Some(at);
                self.timers.push(Reverse((at, slot, conn.id)));
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, slot, id))) = self.timers.peek() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(conn) = self.conns[slot].as_mut() else {
                continue;
            };
            // A later entry of a connection that has an earlier one, or of a client
            // long gone from this slot: stale.
            if conn.id != id || conn.timer != Some(at) {
                continue;
            }
            conn.timer = None;
            self.step(slot);
        }
    }

    fn close(&mut self, slot: usize, end: End) {
        let Some(mut conn) = self.conns[slot].take() else {
            return;
        };
        self.free.push(slot);
        self.active -= 1;
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.stats.bytes_received += conn.received;
        self.stats.bytes_sent += conn.sent;
        conn.finish(end, &self.opts, &mut self.stats);
    }

    fn close_all(&mut self) {
        for slot in 0..self.conns.len() {
            self.close(slot, End::Stopped);
        }
    }

    fn log(&self, peer: SocketAddr, what: fmt::Arguments<'_>) {
        if !self.opts.quiet {
            note(format_args!("{}{peer}{}{what}", who(), colon()));
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
    /// Our --close-after timer fired.
    CloseFirst,
    /// Our --close-unread-after timer fired.
    UnreadClose,
    /// No data from the client for --idle-timeout.
    IdleTimeout,
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

/// One client: its socket, where its conversation stands, and its deadlines.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    received: u64,
    sent: u64,
    /// The upper-cased reply, written up to `written`; empty (unallocated) between
    /// replies.
    out: Vec<u8>,
    written: usize,
    /// --reply-delay: the reply in `out` waits until then.
    reply_at: Option<Instant>,
    /// --read-pause: no read before then.
    read_at: Option<Instant>,
    /// --close-after: set once the first reply is written.
    close_at: Option<Instant>,
    unread_close_at: Option<Instant>,
    /// When data from the client was last seen (or the accept).
    last_data: Instant,
    /// --no-read: bytes waiting unread when last looked at; a change means new data.
    unread_seen: usize,
    /// The deadline this connection has in the timer heap, if any.
    timer: Option<Instant>,
}

impl Conn {
    /// Moves the conversation on as far as the socket and the deadlines allow.
    fn advance(&mut self, opts: &ServerOptions, buf: &mut [u8], now: Instant) -> Step {
        if !opts.reads() {
            return self.hold_unread(opts, now);
        }
        let mut chunks = 0;
        loop {
            if self.written < self.out.len() {
                if self.reply_at.is_some_and(|t| t > now) {
                    break;
                }
                match self.flush() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(end) => return Step::End(end),
                }
                // The reply is out: the same point where a blocking server would
                // start its --close-after timer and nap for --read-pause.
                self.out = Vec::new();
                self.written = 0;
                self.reply_at = None;
                if self.close_at.is_none() {
                    self.close_at = opts.close_first.map(|d| now + d);
                }
                self.read_at = opts.read_delay.map(|d| now + d);
            }
            if self.read_at.is_some_and(|t| t > now) {
                break;
            }
            if self.close_at.is_some_and(|t| t <= now) {
                return Step::End(End::CloseFirst);
            }
            if chunks == CHUNKS_PER_TURN {
                return Step::Again;
            }
            match (&self.stream).read(buf) {
                Ok(0) => return Step::End(End::PeerClosed),
                Ok(n) => {
                    chunks += 1;
                    self.received += n as u64;
                    self.last_data = now;
                    let data = &mut buf[..n];
                    data.make_ascii_uppercase();
                    self.out.extend_from_slice(data);
                    self.reply_at = opts.delay.map(|d| now + d);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Step::End(End::from_error(e)),
            }
        }
        if self.idle_timed_out(opts, now) {
            Step::End(End::IdleTimeout)
        } else {
            Step::Wait
        }
    }

    /// Writes what it can of the reply: Ok(true) once all of it is written, Ok(false)
    /// when the client's window (or our send buffer) is full.
    fn flush(&mut self) -> Result<bool, End> {
        while self.written < self.out.len() {
            match (&self.stream).write(&self.out[self.written..]) {
                Ok(0) => return Err(End::Failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.sent += n as u64;
                    self.written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(End::from_error(e)),
            }
        }
        Ok(true)
    }

    /// --no-read / --close-unread-after: hold the connection without ever reading.
    fn hold_unread(&mut self, opts: &ServerOptions, now: Instant) -> Step {
        // Without reading, a client's RST shows only as the socket's pending error.
        // (Its FIN cannot be seen: the connection then sits in CLOSE_WAIT until we
        // close, which is itself worth watching.)
        match self.stream.take_error() {
            Ok(None) => {}
            Ok(Some(e)) | Err(e) => return Step::End(End::from_error(e)),
        }
        if self.unread_close_at.is_some_and(|t| t <= now) {
            return Step::End(End::UnreadClose);
        }
        if let Ok(n) = sockopt::unread_bytes(&self.stream) {
            if n != self.unread_seen {
                self.unread_seen = n;
                self.last_data = now;
            }
        }
        if self.idle_timed_out(opts, now) {
            Step::End(End::IdleTimeout)
        } else {
            Step::Wait
        }
    }

    /// Whether --idle-timeout has passed without data from the client.
    fn idle_timed_out(&mut self, opts: &ServerOptions, now: Instant) -> bool {
        let Some(limit) = opts.idle_timeout else {
            return false;
        };
        if now.duration_since(self.last_data) < limit {
            return false;
        }
        // Data waiting in our receive buffer, or a reply not yet written: the client is
        // not idle, this server is behind (a slow reader, a full window).
        if opts.reads() {
            let unread = sockopt::unread_bytes(&self.stream).unwrap_or(0);
            if unread > 0 || self.written < self.out.len() {
                self.last_data = now;
                return false;
            }
        }
        true
    }

    /// The earliest deadline still ahead.
    fn next_deadline(&self, opts: &ServerOptions, now: Instant) -> Option<Instant> {
        let reply_at = self.reply_at.filter(|_| self.written < self.out.len());
        let idle_at = opts.idle_timeout.map(|d| self.last_data + d);
        [
            reply_at,
            self.read_at,
            self.close_at,
            self.unread_close_at,
            idle_at,
        ]
        .into_iter()
        .flatten()
        .filter(|&t| t > now)
        .min()
    }

    /// Logs how the conversation ended and closes the way the options ask.
    /// Dropping `self.stream` at the end is the close() itself.
    fn finish(self, end: End, opts: &ServerOptions, stats: &mut ServerStats) {
        let (received, sent) = (self.received, self.sent);
        let bytes = tr!(
            "{received} bytes in, {sent} out",
            "收到 {received} 字节，发出 {sent} 字节"
        );
        match end {
            End::PeerClosed => {
                stats.closed_by_peer += 1;
                if opts.abort {
                    self.log(
                        opts,
                        format_args!(
                            "{}",
                            tr!("closed by peer (FIN), {bytes}", "对方已关闭 (FIN)，{bytes}")
                        ),
                    );
                    self.abort(opts, stats);
                } else if opts.half_close {
                    // Every reply is written by now; SHUT_WR queues our FIN behind them.
                    let how = match self.stream.shutdown(Shutdown::Write) {
                        Ok(()) => pick(
                            "shutdown(SHUT_WR): our FIN follows the last reply",
                            "shutdown(SHUT_WR)：本方的 FIN 跟在最后一个回复之后",
                        )
                        .to_owned(),
                        Err(e) => tr!(
                            "shutdown(SHUT_WR) failed: {e}",
                            "shutdown(SHUT_WR) 失败：{e}"
                        ),
                    };
                    self.log(
                        opts,
                        format_args!(
                            "{}",
                            tr!(
                                "closed by peer (FIN), {bytes}; {how}",
                                "对方已关闭 (FIN)，{bytes}；{how}"
                            )
                        ),
                    );
                } else {
                    self.log(
                        opts,
                        format_args!(
                            "{}",
                            tr!(
                                "closed by peer (FIN), {bytes}; closing",
                                "对方已关闭 (FIN)，{bytes}；本方关闭"
                            )
                        ),
                    );
                }
            }
            End::PeerReset => {
                stats.resets_seen += 1;
                self.log(
                    opts,
                    format_args!(
                        "{}",
                        tr!(
                            "connection reset by peer (RST), {bytes}; still serving",
                            "连接被对方复位 (RST)，{bytes}；继续服务"
                        )
                    ),
                );
            }
            End::CloseFirst => {
                stats.closed_first += 1;
                if opts.abort {
                    self.abort(opts, stats);
                } else {
                    self.log(
                        opts,
                        format_args!(
                            "{}",
                            tr!(
                                "closing first (--close-after), {bytes}: this side will hold \
                                 TIME_WAIT",
                                "本方先关闭 (--close-after)，{bytes}：这一端将进入 TIME_WAIT"
                            )
                        ),
                    );
                }
            }
            End::UnreadClose => {
                stats.unread_closes += 1;
                self.log(
                    opts,
                    format_args!(
                        "{}",
                        pick(
                            "closing without reading (--close-unread-after): with data unread the \
                             kernel sends RST, not FIN",
                            "不读数据就关闭 (--close-unread-after)：有未读数据时，内核发出 RST 而不是 FIN"
                        )
                    ),
                );
            }
            End::IdleTimeout => {
                stats.idle_closes += 1;
                let limit = opts.idle_timeout.unwrap_or_default();
                let unread = if self.unread_seen > 0 {
                    pick(
                        " (with data unread, the kernel sends RST, not FIN)",
                        " (有未读数据，内核发出 RST 而不是 FIN)",
                    )
                } else {
                    ""
                };
                let limit = fmt_duration(limit);
                self.log(
                    opts,
                    format_args!(
                        "{}",
                        tr!(
                            "no data from the client for {limit} (--idle-timeout), {bytes}; \
                             closing{unread}",
                            "客户端 {limit} 没有发来数据 (--idle-timeout)，{bytes}；本方关闭{unread}"
                        )
                    ),
                );
                if opts.abort {
                    self.abort(opts, stats);
                }
            }
            End::Stopped => self.log(
                opts,
                format_args!(
                    "{}",
                    pick("closing: the server is stopping", "关闭：服务器正在停止")
                ),
            ),
            End::Failed(e) => {
                stats.errors += 1;
                let e = crate::lang::io_reason(&e);
                self.log(
                    opts,
                    format_args!("{}", tr!("error: {e}; closing", "出错：{e}；关闭")),
                );
            }
        }
    }

    fn abort(&self, opts: &ServerOptions, stats: &mut ServerStats) {
        match sockopt::set_abortive_close(&self.stream) {
            Ok(()) => {
                stats.aborted += 1;
                self.log(
                    opts,
                    format_args!(
                        "{}",
                        pick(
                            "aborting (SO_LINGER 0): the kernel sends RST instead of FIN",
                            "异常终止 (SO_LINGER 0)：内核发出 RST 而不是 FIN"
                        )
                    ),
                );
            }
            Err(e) => self.log(
                opts,
                format_args!(
                    "{}",
                    tr!(
                        "cannot set SO_LINGER 0 ({e}); closing with FIN",
                        "无法设置 SO_LINGER 0 ({e})；用 FIN 关闭"
                    )
                ),
            ),
        }
    }

    fn log(&self, opts: &ServerOptions, what: fmt::Arguments<'_>) {
        if !opts.quiet {
            note(format_args!("{}{}{}{what}", who(), self.peer, colon()));
        }
    }
}

/// How the server's lines start: `echo server`, or in Chinese.
fn who() -> &'static str {
    pick("echo server: ", "回显服务器：")
}

/// Between a peer's address and what happened to it.
fn colon() -> &'static str {
    pick(": ", "：")
}

pub(super) const AFTER_HELP: &str = "\
Scenarios (watch each with `sudo synack live 'tcp port 9999'` in another terminal):
  synack echo server                                   client closes first: client TIME_WAIT
  synack echo server --close-after 100ms               server closes first: server TIME_WAIT
  synack echo server --close-after 0 --close abort     RST instead of FIN, no TIME_WAIT
  synack echo server --close-unread-after 500ms        close with unread data: RST
  synack echo server --close half --reply-delay 200ms  replies flow after the client's FIN
  synack echo server --rcvbuf 4096 --read-pause 200ms  slow reader, small window: zero window
  synack echo server --no-reuseaddr                    restart after --close-after: address in use
  synack echo server --idle-timeout 30s                close clients silent for 30 s

Durations take a unit (250ms, 1.5s, 2m, 1h); a bare number is seconds.

One thread runs one event loop for every client: 10,000 at once take well under 256 MB.
The server raises its open-file limit (RLIMIT_NOFILE) to the hard limit; out of file
descriptors, it says so once, leaves new clients in the backlog and keeps serving.
One line per connection event on stderr (accepted, closed by peer, reset by peer…);
Ctrl-C stops and prints totals.";

/// Options that only make sense for a server that reads (not --no-read or
/// --close-unread-after); `--close half` is checked in `run_cli`, a value clap cannot
/// tell apart.
const NEEDS_READING: [&str; 7] = [
    "close_after",
    "close_first_ms",
    "half_close",
    "reply_delay",
    "delay_ms",
    "read_pause",
    "read_delay_ms",
];

/// How the server closes a connection (`--close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ServerClose {
    /// close(): the kernel sends FIN
    #[default]
    Fin,
    /// when the client half-closes (its FIN), send the remaining replies, then
    /// shutdown(SHUT_WR): our FIN follows the data
    Half,
    /// SO_LINGER 0: the kernel sends RST instead of FIN (and skips TIME_WAIT)
    Abort,
}

/// `synack echo server`. Each old spelling (`--close-first MS`, `--delay MS`…) is a
/// hidden argument of its own, so a bare number there keeps meaning milliseconds.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on, or HOST:PORT (localhost:9999); port 0 lets the kernel
    /// choose (the line "listening on" tells)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9999", value_parser = parse_socket_addr)]
    pub listen: SocketAddr,

    /// Leave SO_REUSEADDR off: a restart then fails with "address already in use" while
    /// a connection of the previous run is in TIME_WAIT (60 s on Linux)
    #[arg(long)]
    pub no_reuseaddr: bool,

    /// listen() backlog: handshakes the kernel completes and queues before accept()
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub backlog: u32,

    /// Serve at most N clients at once; further handshakes wait in the backlog
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CLIENTS, value_parser = parse_positive)]
    pub max_clients: usize,

    /// Close each connection this long after the first reply (e.g. 100ms; a bare number
    /// is seconds): the server sends the first FIN, so the server holds TIME_WAIT
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "close_first_ms")]
    pub close_after: Option<Duration>,

    /// Old spelling of --close-after, in milliseconds
    #[arg(long = "close-first", value_name = "MS", value_parser = parse_legacy_ms, hide = true)]
    pub close_first_ms: Option<Duration>,

    /// How the server closes a connection (default: fin)
    #[arg(long, value_name = "HOW", value_enum, conflicts_with_all = ["half_close", "abort"])]
    pub close: Option<ServerClose>,

    /// Old spelling of --close half
    #[arg(long, conflicts_with = "abort", hide = true)]
    pub half_close: bool,

    /// Old spelling of --close abort
    #[arg(long, hide = true)]
    pub abort: bool,

    /// Never read: the client's data piles up in our receive buffer until our window is
    /// zero; a client's FIN leaves us in CLOSE_WAIT (until Ctrl-C, --close-unread-after
    /// or --idle-timeout)
    #[arg(long, conflicts_with_all = NEEDS_READING)]
    pub no_read: bool,

    /// Never read, and close this long after accepting (e.g. 500ms; a bare number is
    /// seconds): closing with unread data makes the kernel send RST instead of FIN
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          conflicts_with_all = NEEDS_READING, conflicts_with = "unread_close_ms")]
    pub close_unread_after: Option<Duration>,

    /// Old spelling of --close-unread-after, in milliseconds
    #[arg(long = "unread-close", value_name = "MS", value_parser = parse_legacy_ms,
          conflicts_with_all = NEEDS_READING, hide = true)]
    pub unread_close_ms: Option<Duration>,

    /// Wait this long before each reply (e.g. 200ms; a bare number is seconds): the ACK
    /// of the request and the reply become separate segments
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "delay_ms")]
    pub reply_delay: Option<Duration>,

    /// Old spelling of --reply-delay, in milliseconds
    #[arg(long = "delay", value_name = "MS", value_parser = parse_legacy_ms, hide = true)]
    pub delay_ms: Option<Duration>,

    /// SO_RCVBUF in bytes, set before listen() so the handshake's window scale follows:
    /// a small receive window
    #[arg(long, value_name = "BYTES", value_parser = parse_positive)]
    pub rcvbuf: Option<usize>,

    /// Slow reader: pause this long before each read (e.g. 200ms; a bare number is
    /// seconds); with a small --rcvbuf the window drops to zero and the client sends
    /// zero-window probes
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "read_delay_ms")]
    pub read_pause: Option<Duration>,

    /// Old spelling of --read-pause, in milliseconds
    #[arg(long = "read-delay", value_name = "MS", value_parser = parse_legacy_ms, hide = true)]
    pub read_delay_ms: Option<Duration>,

    /// Close a connection after this long without data from the client (e.g. 30s or
    /// 500ms; a bare number is seconds; with --no-read, bytes arriving unread count as
    /// data). Default: none, an idle client is kept until it closes
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub idle_timeout: Option<Duration>,

    /// Exit after serving N connections, so scripted runs end by themselves
    #[arg(long, value_name = "N")]
    pub exit_after: Option<u64>,

    /// No per-connection lines on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

impl ServerArgs {
    /// `--close`, or what the old flags said.
    fn close_mode(&self) -> ServerClose {
        match self.close {
            Some(how) => how,
            None if self.abort => ServerClose::Abort,
            None if self.half_close => ServerClose::Half,
            None => ServerClose::Fin,
        }
    }

    pub fn options(&self) -> ServerOptions {
        let close = self.close_mode();
        ServerOptions {
            listen: self.listen,
            reuse_address: !self.no_reuseaddr,
            backlog: self.backlog,
            max_clients: self.max_clients,
            close_first: self.close_after.or(self.close_first_ms),
            half_close: close == ServerClose::Half,
            abort: close == ServerClose::Abort,
            no_read: self.no_read,
            unread_close: self.close_unread_after.or(self.unread_close_ms),
            delay: self.reply_delay.or(self.delay_ms),
            rcvbuf: self.rcvbuf,
            read_delay: self.read_pause.or(self.read_delay_ms),
            idle_timeout: self.idle_timeout,
            exit_after: self.exit_after,
            quiet: self.quiet,
        }
    }
}

/// `synack echo server`: serve until Ctrl-C (or --exit-after), then print totals.
pub(super) fn run_cli(args: &ServerArgs) -> Result<ExitCode, EchoError> {
    let opts = args.options();
    if opts.half_close && !opts.reads() {
        return Err(EchoError::InvalidOptions(
            pick(
                "--close half cannot go with --no-read or --close-unread-after: a server that \
                 never reads never sees the client's FIN",
                "--close half 不能与 --no-read 或 --close-unread-after 同时使用：从不读数据的服务器永远看不到客户端的 FIN",
            )
            .into(),
        ));
    }
    // Each client is a file descriptor, and the soft limit is often 1024.
    let fd_limit = sockopt::raise_fd_limit();
    let server = Server::bind(&opts)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|source| EchoError::Io {
            context: pick(
                "cannot install the Ctrl-C handler",
                "无法安装 Ctrl-C 处理函数",
            ),
            source,
        })?;
    }
    if !opts.quiet {
        let addr = server.local_addr();
        note(format_args!(
            "{}",
            tr!(
                "echo server: listening on {addr} (Ctrl-C stops)",
                "回显服务器：正在 {addr} 上监听 (Ctrl-C 停止)"
            )
        ));
        if let Ok(limit) = fd_limit {
            // A few descriptors go to stdio, the listener and the poller.
            let room = usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_sub(8);
            if room < opts.max_clients {
                note(format_args!(
                    "{}",
                    tr!(
                        "echo server: at most {limit} open files (RLIMIT_NOFILE): about {room} \
                         clients at once, the others wait in the backlog",
                        "回显服务器：最多打开 {limit} 个文件 (RLIMIT_NOFILE)：同时约服务 {room} 个客户端，其余的在 backlog 中等待"
                    )
                ));
            }
        }
    }
    let stats = server.serve(&stop)?;
    if !opts.quiet {
        note(format_args!("{}{stats}", who()));
    }
    Ok(ExitCode::SUCCESS)
}
