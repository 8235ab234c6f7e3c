//! The echo client: sends messages, reads their echo, and closes the way it is told.
//!
//! Every wait for the network is bounded by the connection's deadline
//! (`--give-up-after`); deliberate waits (--pause, --read-pause, --idle-for, and in
//! interactive mode the time a person takes to type) do not use it up.

use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use clap::{ArgGroup, Args};

use crate::lang::{pick, tr};

use super::{
    fmt_duration, note, parse_count, parse_duration, parse_legacy_ms, parse_positive,
    parse_positive_duration, parse_socket_addr, sockopt, ConnError, EchoError, Keepalive,
};

/// Most clients `--parallel` may start.
const MAX_PARALLEL: usize = 1024;
/// Messages up to this size are written before their echo is read. Larger ones are
/// written by a second thread while this one reads: written whole first, they would fill
/// the buffers both ways and both sides would wait for each other forever.
const INLINE_WRITE: usize = 4096;
/// Bytes per read: small, so that a slow reader (--read-pause) drains its buffer gradually.
const READ_CHUNK: usize = 4096;

/// Who closes, and how, once the messages are exchanged (`--close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CloseMode {
    /// close after the last reply: our FIN goes first, so this side holds TIME_WAIT
    #[default]
    #[value(name = "first")]
    ClientFirst,
    /// after the last reply, wait for the server's FIN, then close: the server holds
    /// TIME_WAIT (use with server --close-after)
    #[value(name = "wait")]
    WaitServerClose,
    /// shutdown(SHUT_WR) after sending everything, then read the replies until the
    /// server's FIN: a half-closed connection still carries data toward us
    #[value(name = "half")]
    HalfClose,
    /// SO_LINGER 0: the kernel sends RST instead of FIN (and skips TIME_WAIT)
    #[value(name = "abort")]
    Abort,
    /// close while the last echo sits unread in our receive buffer: the kernel sends
    /// RST, not FIN
    #[value(name = "unread")]
    UnreadClose,
}

/// What each connection sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// These messages in turn, each echo awaited before the next is sent.
    Messages(Vec<String>),
    /// One message of this many bytes of a repeating a–z pattern.
    Size(usize),
}

impl Payload {
    /// The bytes of every message a connection sends, `count` times over.
    fn messages(&self, count: u32) -> Vec<Vec<u8>> {
        let once: Vec<Vec<u8>> = match self {
            Payload::Messages(words) => words.iter().map(|w| w.as_bytes().to_vec()).collect(),
            Payload::Size(n) => vec![(b'a'..=b'z').cycle().take(*n).collect()],
        };
        (0..count).flat_map(|_| once.iter().cloned()).collect()
    }
}

/// What the client does; `Default` sends "hello" once to 127.0.0.1:9999 and closes first.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect: SocketAddr,
    pub payload: Payload,
    /// Send the payload this many times over each connection.
    pub count: u32,
    /// Pause between messages.
    pub interval: Option<Duration>,
    pub close: CloseMode,
    /// SO_KEEPALIVE with these timers.
    pub keepalive: Option<Keepalive>,
    /// Sit idle this long after the exchange, before closing (time for keepalive probes).
    pub idle: Option<Duration>,
    /// Connect from this local port, with SO_REUSEADDR.
    pub local_port: Option<u16>,
    /// Connect from this local address (any of the host's; 127.0.0.2 and so on on loopback).
    pub local_ip: Option<IpAddr>,
    /// SO_RCVBUF, set before connect().
    pub rcvbuf: Option<usize>,
    /// Pause before each read (a slow reader).
    pub read_delay: Option<Duration>,
    /// Clients running at once (1 to 1024).
    pub parallel: usize,
    /// Connections each client opens one after another.
    pub connections: u32,
    /// Bound on each connection's waits for the network.
    pub timeout: Duration,
    /// Print nothing (the CLI still prints errors and, in interactive mode, the replies).
    pub quiet: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect: SocketAddr::from((Ipv4Addr::LOCALHOST, 9999)),
            payload: Payload::Messages(vec!["hello".to_owned()]),
            count: 1,
            interval: None,
            close: CloseMode::ClientFirst,
            keepalive: None,
            idle: None,
            local_port: None,
            local_ip: None,
            rcvbuf: None,
            read_delay: None,
            parallel: 1,
            connections: 1,
            timeout: Duration::from_secs(10),
            quiet: false,
        }
    }
}

fn invalid(en: &'static str, zh: &'static str) -> Result<(), EchoError> {
    Err(EchoError::InvalidOptions(pick(en, zh).to_owned()))
}

impl ClientOptions {
    /// Checks everything but the payload (which interactive mode does not use).
    fn validate(&self) -> Result<(), EchoError> {
        if !(1..=MAX_PARALLEL).contains(&self.parallel) {
            return invalid(
                "--parallel must be 1 to 1024",
                "--parallel 必须在 1 到 1024 之间",
            );
        }
        if self.count == 0 || self.connections == 0 {
            return invalid(
                "--repeat and --connections must be at least 1",
                "--repeat 和 --connections 至少为 1",
            );
        }
        if self.local_port.is_some() && self.parallel > 1 {
            return invalid(
                "--local-port with --parallel: concurrent connections to one server cannot \
                 share a local port; use --connections for one after another",
                "--local-port 与 --parallel 一起用：到同一个服务器的并发连接不能共用一个本地端口；\
                 要一个接一个地连接，请用 --connections",
            );
        }
        if self.timeout.is_zero() {
            return invalid(
                "--give-up-after must be above zero",
                "--give-up-after 必须大于零",
            );
        }
        Ok(())
    }

    fn validate_payload(&self) -> Result<(), EchoError> {
        match &self.payload {
            Payload::Size(0) => invalid("--size must be at least 1 byte", "--size 至少为 1 字节"),
            Payload::Messages(words) if words.is_empty() => {
                invalid("--send needs a message", "--send 需要一条消息")
            }
            // Nothing would go on the wire, and we would wait forever for its echo.
            Payload::Messages(words) if words.iter().any(String::is_empty) => invalid(
                "--send: empty messages cannot be echoed (\"a,,b\" has one)",
                "--send：空消息无法回显 (\"a,,b\" 里就有一条)",
            ),
            _ => Ok(()),
        }
    }
}

/// What every connection of a run did, in order: client 0's connections first.
#[derive(Debug, Clone, Default)]
pub struct ClientReport {
    pub connections: Vec<ConnectionReport>,
}

impl ClientReport {
    /// True when no connection saw an error.
    pub fn all_ok(&self) -> bool {
        self.connections.iter().all(|c| c.error.is_none())
    }
}

/// One connection, as the application saw it.
#[derive(Debug, Clone, Default)]
pub struct ConnectionReport {
    /// Which of the `parallel` clients (from 0).
    pub client: usize,
    /// Which of that client's sequential `connections` (from 0).
    pub seq: u32,
    /// Our address once connected (None if the connection was not established).
    pub local_addr: Option<SocketAddr>,
    /// Each echo received, as text. `Payload::Size` echoes are checked byte by byte and
    /// counted in `bytes_received`, not kept here.
    pub replies: Vec<String>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The keepalive settings read back from the socket (getsockopt) after connect.
    pub keepalive: Option<Keepalive>,
    /// What went wrong, if anything. An RST we caused on purpose is not an error.
    pub error: Option<ConnError>,
}

/// Runs `parallel` clients at once, each opening `connections` connections in turn, and
/// reports every connection. Fails only on contradictory options or when no thread can
/// be started; a refused, reset or timed-out connection is in its report.
pub fn run_client(opts: &ClientOptions) -> Result<ClientReport, EchoError> {
    opts.validate()?;
    opts.validate_payload()?;
    let messages = opts.payload.messages(opts.count);
    let keep_text = matches!(opts.payload, Payload::Messages(_));
    let per_client = thread::scope(|s| {
        let mut handles = Vec::with_capacity(opts.parallel);
        for client in 0..opts.parallel {
            let messages = &messages;
            let handle = thread::Builder::new()
                .name(format!("echo client {client}"))
                .spawn_scoped(s, move || sequential(opts, client, messages, keep_text))
                .map_err(|source| EchoError::Io {
                    context: pick("cannot start a client thread", "无法启动客户端线程"),
                    source,
                })?;
            handles.push(handle);
        }
        let joined = handles
            .into_iter()
            .enumerate()
            .map(|(client, h)| h.join().unwrap_or_else(|_| vec![panicked(client)]));
        Ok::<_, EchoError>(joined.collect::<Vec<_>>())
    })?;
    Ok(ClientReport {
        connections: per_client.into_iter().flatten().collect(),
    })
}

/// Sends each non-empty line of `input` as a message over one connection, printing each
/// echo on stdout as it comes: `synack echo client` without --send or --size.
/// `payload`, `count`, `parallel` and `connections` do not apply.
pub fn run_lines(
    opts: &ClientOptions,
    input: impl BufRead + Send,
) -> Result<ConnectionReport, EchoError> {
    opts.validate()?;
    let mut lines = input
        .lines()
        // A read error on stdin ends the input, as end of file would.
        .map_while(Result::ok)
        .map(|line| line.trim_end_matches('\r').to_owned())
        // Skip empty lines: an empty message is zero bytes, so nothing would go on the
        // wire, the server would have nothing to echo, and both sides would wait forever.
        .filter(|line| !line.is_empty())
        .map(String::into_bytes);
    let talk = Talk {
        opts,
        clock: Deadline::new(opts.timeout),
        keep_text: true,
        per_message_deadline: true,
        print_replies: true,
        tag: String::new(),
    };
    Ok(talk.connection(0, 0, &mut lines))
}

fn sequential(
    opts: &ClientOptions,
    client: usize,
    messages: &[Vec<u8>],
    keep_text: bool,
) -> Vec<ConnectionReport> {
    let tag = if opts.parallel > 1 {
        format!("[{client}] ")
    } else {
        String::new()
    };
    (0..opts.connections)
        .map(|seq| {
            let talk = Talk {
                opts,
                clock: Deadline::new(opts.timeout),
                keep_text,
                per_message_deadline: false,
                print_replies: !opts.quiet,
                tag: tag.clone(),
            };
            talk.connection(client, seq, &mut messages.iter().cloned())
        })
        .collect()
}

fn panicked(client: usize) -> ConnectionReport {
    ConnectionReport {
        client,
        error: Some(ConnError::Other(
            pick("the client thread panicked", "客户端线程崩溃了 (panic)").into(),
        )),
        ..ConnectionReport::default()
    }
}

/// The messages of one connection, produced as they are sent (stdin lines are read lazily).
type Messages<'m> = dyn Iterator<Item = Vec<u8>> + Send + 'm;

/// A connection's deadline: `budget` for waiting on the network, pushed back by every
/// deliberate pause. Shared by the reading and the writing thread, hence the Mutex.
struct Deadline {
    budget: Duration,
    end: Mutex<Instant>,
}

impl Deadline {
    fn new(budget: Duration) -> Self {
        Deadline {
            budget,
            end: Mutex::new(Instant::now() + budget),
        }
    }

    fn end(&self) -> std::sync::MutexGuard<'_, Instant> {
        // The guarded value is a plain Instant: a panic elsewhere cannot leave it broken.
        self.end.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time left, as a socket timeout (never zero, which would mean "no timeout").
    fn remaining(&self) -> Result<Duration, ConnError> {
        let left = self.end().saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(ConnError::TimedOut)
        } else {
            Ok(left)
        }
    }

    /// A deliberate wait, which does not count against the budget.
    fn pause(&self, d: Option<Duration>) {
        if let Some(d) = d {
            thread::sleep(d);
            *self.end() += d;
        }
    }

    fn restart(&self) {
        *self.end() = Instant::now() + self.budget;
    }
}

/// One connection's conversation.
struct Talk<'a> {
    opts: &'a ClientOptions,
    clock: Deadline,
    /// Keep each echo as text in the report (not for --size payloads).
    keep_text: bool,
    /// Interactive mode: the budget restarts at each line, typing time does not count.
    per_message_deadline: bool,
    print_replies: bool,
    /// "[3] " in front of printed lines when several clients run at once.
    tag: String,
}

impl Talk<'_> {
    fn connection(&self, client: usize, seq: u32, messages: &mut Messages<'_>) -> ConnectionReport {
        let mut report = ConnectionReport {
            client,
            seq,
            ..ConnectionReport::default()
        };
        let result = self.connect().and_then(|stream| {
            report.local_addr = stream.local_addr().ok();
            report.keepalive = sockopt::keepalive_of(&stream).ok().flatten();
            self.connected(&report);
            self.converse(&stream, messages, &mut report)
            // Dropping the stream here is the close(): FIN, or RST as set up.
        });
        // Not printed here: the report carries it, and the CLI prints it.
        report.error = result.err();
        report
    }

    fn connected(&self, report: &ConnectionReport) {
        let local = report
            .local_addr
            .map_or_else(|| "?".to_owned(), |a| a.to_string());
        let keepalive = report
            .keepalive
            .map_or_else(String::new, |k| tr!(", keepalive {k}", "，保活 {k}"));
        let server = self.opts.connect;
        self.note(tr!(
            "connected {local} → {server}{keepalive}",
            "已连接 {local} → {server}{keepalive}"
        ));
    }

    fn connect(&self) -> Result<TcpStream, ConnError> {
        let opts = self.opts;
        let setup = |what: &'static str| {
            move |e: io::Error| {
                let e = crate::lang::io_reason(&e);
                ConnError::Other(tr!("cannot set {what}: {e}", "无法设置 {what}：{e}"))
            }
        };
        let sock =
            sockopt::tcp_socket(&opts.connect).map_err(setup(pick("up a socket", "套接字")))?;
        if let Some(bytes) = opts.rcvbuf {
            // Before connect(): the window scale we offer in the SYN follows the buffer.
            sock.set_recv_buffer_size(bytes)
                .map_err(setup("SO_RCVBUF"))?;
        }
        if let Some(ka) = &opts.keepalive {
            sockopt::set_keepalive(&sock, ka).map_err(setup("keepalive"))?;
        }
        match (opts.local_port, opts.local_ip) {
            (Some(port), ip) => bind_local_port(&sock, opts.connect, ip, port)?,
            (None, Some(ip)) => sock.bind(&SocketAddr::new(ip, 0).into()).map_err(|e| {
                let e = crate::lang::io_reason(&e);
                ConnError::Other(tr!(
                    "cannot bind local address {ip}: {e}",
                    "无法绑定本地地址 {ip}：{e}"
                ))
            })?,
            (None, None) => {}
        }
        sock.connect_timeout(&opts.connect.into(), self.clock.remaining()?)
            .map_err(|e| connect_error(&e, opts.local_port))?;
        Ok(sock.into())
    }

    fn converse(
        &self,
        stream: &TcpStream,
        messages: &mut Messages<'_>,
        report: &mut ConnectionReport,
    ) -> Result<(), ConnError> {
        if self.opts.close == CloseMode::HalfClose {
            self.half_close(stream, messages, report)?;
        } else {
            self.lockstep(stream, messages, report)?;
        }
        if let Some(idle) = self.opts.idle {
            let idle_for = fmt_duration(idle);
            self.note(tr!("idle for {idle_for}", "空闲 {idle_for}"));
            self.clock.pause(Some(idle));
        }
        self.close(stream)
    }

    /// Each message is sent and its echo read before the next one goes.
    fn lockstep(
        &self,
        stream: &TcpStream,
        messages: &mut Messages<'_>,
        report: &mut ConnectionReport,
    ) -> Result<(), ConnError> {
        let leave_last_unread = self.opts.close == CloseMode::UnreadClose;
        let mut messages = messages.peekable();
        let mut first = true;
        while let Some(msg) = messages.next() {
            if !first {
                self.clock.pause(self.opts.interval);
            }
            first = false;
            if self.per_message_deadline {
                self.clock.restart();
            }
            // Only this mode looks ahead: interactively, peeking waits for the next line.
            if leave_last_unread && messages.peek().is_none() {
                return self.send_and_leave_unread(stream, &msg, report);
            }
            let reply = self.exchange(stream, &msg)?;
            report.bytes_sent += msg.len() as u64;
            self.record(&msg, &reply, report)?;
        }
        Ok(())
    }

    /// Sends one message and reads its whole echo.
    fn exchange(&self, stream: &TcpStream, msg: &[u8]) -> Result<Vec<u8>, ConnError> {
        if msg.len() <= INLINE_WRITE {
            self.write_all(stream, msg)?;
            return self.read_exact(stream, msg.len());
        }
        thread::scope(|s| {
            let writer = thread::Builder::new()
                .spawn_scoped(s, || self.write_all(stream, msg))
                .map_err(|e| ConnError::Other(writer_thread(&e)))?;
            let reply = self.read_exact(stream, msg.len());
            let wrote = writer.join().unwrap_or_else(|_| {
                Err(ConnError::Other(
                    pick("the writer thread panicked", "写线程崩溃了 (panic)").into(),
                ))
            });
            // The reader's error is the one the application saw first.
            let reply = reply?;
            wrote?;
            Ok(reply)
        })
    }

    /// --unread-close: send, wait until the echo is in our receive buffer, read nothing.
    fn send_and_leave_unread(
        &self,
        stream: &TcpStream,
        msg: &[u8],
        report: &mut ConnectionReport,
    ) -> Result<(), ConnError> {
        self.write_all(stream, msg)?;
        report.bytes_sent += msg.len() as u64;
        // peek() returns once data is there, without taking it from the buffer.
        loop {
            stream
                .set_read_timeout(Some(self.clock.remaining()?))
                .map_err(|e| ConnError::from_io(&e))?;
            match stream.peek(&mut [0u8; 1]) {
                Ok(0) => return Err(ConnError::PeerClosed),
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::from_io(&e)),
            }
        }
    }

    /// --half-close: one thread sends everything then shuts down writing, this one reads
    /// until the server's FIN; then the echo is matched against what was sent.
    fn half_close(
        &self,
        stream: &TcpStream,
        messages: &mut Messages<'_>,
        report: &mut ConnectionReport,
    ) -> Result<(), ConnError> {
        let (sent, received) = thread::scope(|s| {
            let writer = thread::Builder::new()
                .spawn_scoped(s, move || self.send_all_then_fin(stream, messages))
                .map_err(|e| ConnError::Other(writer_thread(&e)))?;
            let received = self.read_to_eof(stream);
            let sent = writer.join().unwrap_or_else(|_| {
                Err(ConnError::Other(
                    pick("the writer thread panicked", "写线程崩溃了 (panic)").into(),
                ))
            });
            Ok::<_, ConnError>((sent, received))
        })?;
        // A failed send is the cause; the reader only stopped because of it.
        let sent = sent?;
        report.bytes_sent += sent.iter().map(|m| m.len() as u64).sum::<u64>();
        let received = received?;
        self.match_replies(&sent, &received, report)
    }

    fn send_all_then_fin(
        &self,
        stream: &TcpStream,
        messages: &mut Messages<'_>,
    ) -> Result<Vec<Vec<u8>>, ConnError> {
        let mut sent = Vec::new();
        for msg in messages {
            if !sent.is_empty() {
                self.clock.pause(self.opts.interval);
            }
            if self.per_message_deadline {
                self.clock.restart();
            }
            if let Err(e) = self.write_all(stream, &msg) {
                // Wake the reader (its read returns 0) instead of letting it time out.
                let _ = stream.shutdown(Shutdown::Read);
                return Err(e);
            }
            sent.push(msg);
        }
        // Our FIN says "no more data"; the socket still receives the replies.
        stream
            .shutdown(Shutdown::Write)
            .map_err(|e| ConnError::from_io(&e))?;
        self.note(pick(
            "sent everything; shutdown(SHUT_WR) sent our FIN, reading replies until the \
             server's FIN",
            "全部发完；shutdown(SHUT_WR) 发出了本方的 FIN，继续读回复直到服务器的 FIN",
        ));
        Ok(sent)
    }

    /// Splits the echo of a half-closed exchange back into one reply per message.
    fn match_replies(
        &self,
        sent: &[Vec<u8>],
        received: &[u8],
        report: &mut ConnectionReport,
    ) -> Result<(), ConnError> {
        let mut rest = received;
        for msg in sent {
            if rest.len() < msg.len() {
                report.bytes_received += rest.len() as u64;
                return Err(ConnError::PeerClosed);
            }
            let (reply, tail) = rest.split_at(msg.len());
            self.record(msg, reply, report)?;
            rest = tail;
        }
        if rest.is_empty() {
            Ok(())
        } else {
            let n = rest.len();
            Err(ConnError::Other(tr!(
                "the server sent {n} bytes more than it was sent: is it a synack echo server?",
                "服务器发回的比收到的多了 {n} 字节：它是 synack 回显服务器吗？"
            )))
        }
    }

    /// Checks an echo against its message and adds it to the report.
    fn record(
        &self,
        msg: &[u8],
        reply: &[u8],
        report: &mut ConnectionReport,
    ) -> Result<(), ConnError> {
        report.bytes_received += reply.len() as u64;
        if let Some(at) = msg
            .iter()
            .zip(reply)
            .position(|(m, r)| m.to_ascii_uppercase() != *r)
        {
            return Err(ConnError::Other(tr!(
                "the echo differs from the message at byte {at}: is the server a synack echo \
                 server?",
                "回显与消息在第 {at} 字节处不同：服务器是 synack 回显服务器吗？"
            )));
        }
        if self.keep_text {
            let text = String::from_utf8_lossy(reply).into_owned();
            if self.print_replies {
                print_line(format_args!("{}{text}", self.tag));
            }
            report.replies.push(text);
        } else {
            let n = reply.len();
            self.note(tr!(
                "received the whole echo: {n} bytes, checked",
                "收到了完整的回显：{n} 字节，已核对"
            ));
        }
        Ok(())
    }

    /// Closes the way the options say. The caller's drop of the stream is the close().
    fn close(&self, stream: &TcpStream) -> Result<(), ConnError> {
        match self.opts.close {
            CloseMode::ClientFirst => {
                self.note(pick(
                    "closing first (FIN): this side will hold TIME_WAIT",
                    "本方先关闭 (FIN)：这一端将进入 TIME_WAIT",
                ));
            }
            CloseMode::WaitServerClose => {
                self.note(pick(
                    "waiting for the server to close first",
                    "等服务器先关闭",
                ));
                let extra = self.read_to_eof(stream)?;
                let more = if extra.is_empty() {
                    String::new()
                } else {
                    let n = extra.len();
                    tr!(", after {n} more bytes", "，之前又收到 {n} 字节")
                };
                self.note(tr!(
                    "server closed first (FIN{more}); closing: the server holds TIME_WAIT",
                    "服务器先关闭了 (FIN{more})；本方关闭：服务器进入 TIME_WAIT"
                ));
            }
            CloseMode::HalfClose => self.note(pick(
                "got the server's FIN; closing",
                "收到服务器的 FIN；本方关闭",
            )),
            CloseMode::Abort => {
                sockopt::set_abortive_close(stream).map_err(|e| {
                    let e = crate::lang::io_reason(&e);
                    ConnError::Other(tr!(
                        "cannot set SO_LINGER 0: {e}",
                        "无法设置 SO_LINGER 0：{e}"
                    ))
                })?;
                self.note(pick(
                    "aborting (SO_LINGER 0): the kernel sends RST instead of FIN",
                    "异常终止 (SO_LINGER 0)：内核发出 RST 而不是 FIN",
                ));
            }
            CloseMode::UnreadClose => self.note(pick(
                "closing with the echo unread: the kernel sends RST instead of FIN",
                "回显还没读就关闭：内核发出 RST 而不是 FIN",
            )),
        }
        Ok(())
    }

    fn write_all(&self, stream: &TcpStream, mut data: &[u8]) -> Result<(), ConnError> {
        while !data.is_empty() {
            stream
                .set_write_timeout(Some(self.clock.remaining()?))
                .map_err(|e| ConnError::from_io(&e))?;
            match (&*stream).write(data) {
                Ok(0) => {
                    return Err(ConnError::Other(
                        pick("the socket accepted no data", "套接字一个字节也没收下").into(),
                    ))
                }
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::from_io(&e)),
            }
        }
        Ok(())
    }

    /// Reads exactly `len` bytes; the server's FIN before that is `PeerClosed`.
    fn read_exact(&self, stream: &TcpStream, len: usize) -> Result<Vec<u8>, ConnError> {
        let mut reply = Vec::with_capacity(len);
        let mut buf = [0u8; READ_CHUNK];
        while reply.len() < len {
            let want = (len - reply.len()).min(buf.len());
            match self.read_some(stream, &mut buf[..want])? {
                0 => return Err(ConnError::PeerClosed),
                n => reply.extend_from_slice(&buf[..n]),
            }
        }
        Ok(reply)
    }

    /// Reads until the server's FIN.
    fn read_to_eof(&self, stream: &TcpStream) -> Result<Vec<u8>, ConnError> {
        let mut all = Vec::new();
        let mut buf = [0u8; READ_CHUNK];
        loop {
            match self.read_some(stream, &mut buf)? {
                0 => return Ok(all),
                n => all.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// One read(), after the --read-pause pause, bounded by the deadline.
    fn read_some(&self, stream: &TcpStream, buf: &mut [u8]) -> Result<usize, ConnError> {
        self.clock.pause(self.opts.read_delay);
        loop {
            stream
                .set_read_timeout(Some(self.clock.remaining()?))
                .map_err(|e| ConnError::from_io(&e))?;
            match (&*stream).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::from_io(&e)),
            }
        }
    }

    fn note(&self, what: impl std::fmt::Display) {
        if !self.opts.quiet {
            note(format_args!("{}{}{what}", who(), self.tag));
        }
    }
}

/// --local-port: bind before connect. SO_REUSEADDR lets bind() take a port that an
/// earlier connection still holds (e.g. in TIME_WAIT); whether connect() may reuse the
/// whole 4-tuple is then the kernel's call.
fn bind_local_port(
    sock: &socket2::Socket,
    server: SocketAddr,
    ip: Option<IpAddr>,
    port: u16,
) -> Result<(), ConnError> {
    sock.set_reuse_address(true).map_err(|e| {
        let e = crate::lang::io_reason(&e);
        ConnError::Other(tr!(
            "cannot set SO_REUSEADDR: {e}",
            "无法设置 SO_REUSEADDR：{e}"
        ))
    })?;
    let any: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    sock.bind(&SocketAddr::new(ip.unwrap_or(any), port).into())
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AddrInUse {
                ConnError::Other(tr!(
                    "local port {port} is taken by another socket (a listener, or a live \
                 connection): choose another --local-port",
                    "本地端口 {port} 被另一个套接字占着 (一个监听套接字，或一个活着的连接)：请换一个 --local-port"
                ))
            } else {
                let e = crate::lang::io_reason(&e);
                ConnError::Other(tr!(
                    "cannot bind local port {port}: {e}",
                    "无法绑定本地端口 {port}：{e}"
                ))
            }
        })
}

fn connect_error(e: &io::Error, local_port: Option<u16>) -> ConnError {
    match (e.kind(), local_port) {
        (io::ErrorKind::AddrNotAvailable | io::ErrorKind::AddrInUse, Some(port)) => {
            ConnError::Other(tr!(
                "cannot connect from local port {port}: that 4-tuple is still in use on this \
                 host, probably in TIME_WAIT because this client closed first; wait (60 s on \
                 Linux), or let the server close first (server --close-after 0.1, \
                 client --close wait)",
                "无法从本地端口 {port} 连接：这个四元组在本机上仍被占用，很可能因为本客户端先关闭而处于 TIME_WAIT；\
                 请等待 (Linux 上 60 s)，或让服务器先关闭 (server --close-after 0.1，client --close wait)"
            ))
        }
        _ => ConnError::from_io(e),
    }
}

/// A writer thread could not start.
fn writer_thread(e: &io::Error) -> String {
    let e = crate::lang::io_reason(e);
    tr!("cannot start a writer thread: {e}", "无法启动写线程：{e}")
}

/// How the client's lines start: `echo client`, or in Chinese.
fn who() -> &'static str {
    pick("echo client: ", "回显客户端：")
}

/// One line on stdout; a closed stdout (`| head`) is not worth a panic.
fn print_line(line: std::fmt::Arguments<'_>) {
    let line = crate::views::charset::text(line.to_string());
    let _ = writeln!(io::stdout().lock(), "{line}");
}

pub(super) const AFTER_HELP: &str = "\
Without --send or --size, each line typed is sent and its echo printed (empty lines
are skipped: nothing would be sent, and both sides would wait forever).

Scenarios (watch each with `sudo synack live 'tcp port 9999'` in another terminal):
  synack echo client --send hello,world           client closes first: client TIME_WAIT
  synack echo client --send hi --close wait       with server --close-after 100ms
  synack echo client --send a,b,c --close half    data flows after our FIN
  synack echo client --send hi --close abort      RST instead of FIN
  synack echo client --send hi --close unread     close with the echo unread: RST
  synack echo client --send hi --keepalive 2s,1s,3 --idle-for 5s   keepalive probes
  synack echo client --size 1000000 --rcvbuf 4096 --read-pause 20ms   zero window toward the server
  synack echo client --send hi --connections 2 --local-port 40000 --close wait
                                                  reconnect on a 4-tuple in TIME_WAIT
  synack echo client --connect localhost:9 --send hi   connection refused

Durations take a unit (250ms, 1.5s, 2m, 1h); a bare number is seconds.
Exit status: 0 when every connection went as asked, 1 otherwise.";

/// `synack echo client`. Each old spelling (`--interval MS`, `--timeout MS`, the close
/// flags…) is a hidden argument of its own, so a bare number there keeps meaning
/// milliseconds.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("close_mode").multiple(false)))]
pub struct ClientArgs {
    /// Server address, or HOST:PORT (localhost:9999 is 127.0.0.1:9999)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9999", value_parser = parse_socket_addr)]
    pub connect: SocketAddr,

    /// Scripted: send these messages (comma-separated) one by one, each echo awaited
    #[arg(
        long,
        value_name = "A,B,C",
        value_delimiter = ',',
        conflicts_with = "size"
    )]
    pub send: Vec<String>,

    /// Send the messages N times over
    #[arg(long, value_name = "N", default_value_t = 1, alias = "count",
          value_parser = parse_count)]
    pub repeat: u32,

    /// Pause this long between messages (e.g. 500ms; a bare number is seconds)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "interval_ms")]
    pub pause: Option<Duration>,

    /// Old spelling of --pause, in milliseconds
    #[arg(long = "interval", value_name = "MS", value_parser = parse_legacy_ms, hide = true)]
    pub interval_ms: Option<Duration>,

    /// How the connection ends once the messages are exchanged (default: first)
    #[arg(long, value_name = "HOW", value_enum, group = "close_mode")]
    pub close: Option<CloseMode>,

    /// Old spelling of --close first
    #[arg(long, group = "close_mode", hide = true)]
    pub close_first: bool,

    /// Old spelling of --close wait
    #[arg(long, group = "close_mode", hide = true)]
    pub wait_server_close: bool,

    /// Old spelling of --close half
    #[arg(long, group = "close_mode", hide = true)]
    pub half_close: bool,

    /// Old spelling of --close abort
    #[arg(long, group = "close_mode", hide = true)]
    pub abort: bool,

    /// Old spelling of --close unread
    #[arg(long, group = "close_mode", hide = true)]
    pub unread_close: bool,

    /// TCP keepalive: SO_KEEPALIVE, first probe after IDLE without traffic
    /// (TCP_KEEPIDLE), then every INTERVAL (TCP_KEEPINTVL), RST after COUNT unanswered
    /// (TCP_KEEPCNT). IDLE and INTERVAL are whole seconds, with or without a unit
    /// (2s,1s,3 or 2,1,3; a bare number is seconds); use with --idle-for
    #[arg(long, value_name = "IDLE,INTERVAL,COUNT")]
    pub keepalive: Option<Keepalive>,

    /// Sit idle this long after the exchange before closing (e.g. 5s; a bare number is
    /// seconds): time for keepalive probes
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "idle_ms")]
    pub idle_for: Option<Duration>,

    /// Old spelling of --idle-for, in milliseconds
    #[arg(long = "idle", value_name = "MS", value_parser = parse_legacy_ms, hide = true)]
    pub idle_ms: Option<Duration>,

    /// Connect from this local port (with SO_REUSEADDR): with --connections, reconnect on
    /// the same 4-tuple while the server holds it in TIME_WAIT
    #[arg(long, value_name = "PORT")]
    pub local_port: Option<u16>,

    /// Connect from this local address (e.g. 127.0.0.2: on loopback every 127.x.y.z is
    /// this host's), so several "client hosts" can be told apart
    #[arg(long, value_name = "IP")]
    pub local_ip: Option<IpAddr>,

    /// SO_RCVBUF in bytes, set before connect() so the SYN's window scale follows: a small
    /// window toward the server
    #[arg(long, value_name = "BYTES", value_parser = parse_positive)]
    pub rcvbuf: Option<usize>,

    /// Slow reader: pause this long before each read (e.g. 20ms; a bare number is
    /// seconds); with a small --rcvbuf our window drops to zero and the server sends
    /// zero-window probes
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "read_delay_ms")]
    pub read_pause: Option<Duration>,

    /// Old spelling of --read-pause, in milliseconds
    #[arg(long = "read-delay", value_name = "MS", value_parser = parse_legacy_ms, hide = true)]
    pub read_delay_ms: Option<Duration>,

    /// Run N clients at once (at most 1024)
    #[arg(long, value_name = "N", default_value = "1", value_parser = parse_positive)]
    pub parallel: usize,

    /// Send one payload of BYTES bytes (a repeating a-z pattern) instead of --send, and
    /// read the whole echo: many segments, window updates
    #[arg(long, value_name = "BYTES", value_parser = parse_positive)]
    pub size: Option<usize>,

    /// Open N connections one after another: many short connections (with --local-port,
    /// all from the same port)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_count)]
    pub connections: u32,

    /// Give up on a connection after this long waiting for the network (a bare number
    /// is seconds; deliberate waits such as --idle-for, --pause and --read-pause do not
    /// count)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_positive_duration)]
    pub give_up_after: Duration,

    /// Old spelling of --give-up-after, in milliseconds
    #[arg(long = "timeout", value_name = "MS", value_parser = parse_legacy_ms,
          conflicts_with = "give_up_after", hide = true)]
    pub timeout_ms: Option<Duration>,

    /// Print only errors (and, in interactive mode, the replies)
    #[arg(long, short)]
    pub quiet: bool,
}

impl ClientArgs {
    /// True without --send and --size: lines come from stdin.
    pub fn interactive(&self) -> bool {
        self.send.is_empty() && self.size.is_none()
    }

    /// `--close`, or what the old flags said.
    fn close_mode(&self) -> CloseMode {
        let old = [
            (self.close_first, CloseMode::ClientFirst),
            (self.wait_server_close, CloseMode::WaitServerClose),
            (self.half_close, CloseMode::HalfClose),
            (self.abort, CloseMode::Abort),
            (self.unread_close, CloseMode::UnreadClose),
        ];
        self.close
            .or_else(|| old.iter().find(|(set, _)| *set).map(|&(_, mode)| mode))
            .unwrap_or_default()
    }

    pub fn options(&self) -> ClientOptions {
        let payload = match self.size {
            Some(n) => Payload::Size(n),
            None => Payload::Messages(self.send.clone()),
        };
        ClientOptions {
            connect: self.connect,
            payload,
            count: self.repeat,
            interval: self.pause.or(self.interval_ms),
            close: self.close_mode(),
            keepalive: self.keepalive,
            idle: self.idle_for.or(self.idle_ms),
            local_port: self.local_port,
            local_ip: self.local_ip,
            rcvbuf: self.rcvbuf,
            read_delay: self.read_pause.or(self.read_delay_ms),
            parallel: self.parallel,
            connections: self.connections,
            timeout: self.timeout_ms.unwrap_or(self.give_up_after),
            quiet: self.quiet,
        }
    }
}

/// `synack echo client`: interactive or scripted; exit 1 if any connection failed.
pub(super) fn run_cli(args: &ClientArgs) -> Result<ExitCode, EchoError> {
    let opts = args.options();
    let connections = if args.interactive() {
        if args.parallel > 1 || args.connections > 1 || args.repeat > 1 {
            return Err(EchoError::InvalidOptions(
                pick(
                    "--parallel, --connections and --repeat need --send or --size (interactive \
                     mode is one connection)",
                    "--parallel、--connections 和 --repeat 需要配合 --send 或 --size (交互模式只有一个连接)",
                )
                .into(),
            ));
        }
        let stdin = io::stdin();
        if stdin.is_terminal() && !opts.quiet {
            note(format_args!(
                "{}",
                pick(
                    "echo client: type a line and press Enter to send it; Ctrl-D closes",
                    "回显客户端：输入一行，按回车发送；Ctrl-D 关闭"
                )
            ));
        }
        vec![run_lines(&opts, BufReader::new(stdin))?]
    } else {
        run_client(&opts)?.connections
    };
    let mut failed = 0;
    for (conn, error) in connections
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| (c, e)))
    {
        failed += 1;
        let tag = if opts.parallel > 1 {
            format!("[{}] ", conn.client)
        } else {
            String::new()
        };
        note(format_args!(
            "synack: {tag}{}",
            error.explain(opts.connect, opts.timeout)
        ));
    }
    if connections.len() > 1 && !opts.quiet {
        let (n, ok) = (connections.len(), connections.len() - failed);
        note(format_args!(
            "{}",
            tr!(
                "echo client: {n} connections, {ok} ok, {failed} failed",
                "回显客户端：{n} 个连接，{ok} 个成功，{failed} 个失败"
            )
        ));
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
