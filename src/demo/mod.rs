//! The one-command demo: capture loopback on the demo port, drive the
//! bundled echo server and client through a scenario, annotate every packet
//! as it arrives, then put synack's inferred final states beside the
//! kernel's own (/proc/net/tcp).
//!
//! The first twelve scenarios are plans for the echo server and client.
//! The course notes' scenarios (address-in-use, backlog, syn-flood,
//! time-wait-pressure, empty-send, client-crash) drive their own traffic,
//! one module each, and add what they showed to the report; their words
//! are in `text`.

use std::any::Any;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

mod address_in_use;
mod backlog;
mod client_crash;
mod empty_send;
mod expect;
mod flood;
mod kernel_check;
mod netns;
mod syn_flood;
mod text;
mod time_wait;

use synack_core::analyzer::Lookahead;
use synack_core::decode::Timestamp;
use synack_core::pressure::PressureFacts;

use crate::app::{analyzer_config, capture_until, output_look, views_for, Outcome, Pipeline};
use crate::capture::live::LiveSource;
use crate::cli::DemoArgs;
use crate::echo::{
    run_client, ClientOptions, ClientReport, CloseMode, Keepalive, Payload, Server, ServerOptions,
    ServerStats,
};
use crate::error::{Error, Result};
use crate::kernel::{self, KernelSocket};
use crate::lang::tr;
use kernel_check::{CheckRules, DemoReport, Findings, Recorded, Recorder, Step};
use synack_core::track::TcpState;

/// Every scenario, with the sentence `--list` prints: what to look for.
pub(crate) const SCENARIOS: [(&str, &str); 18] = [
    ("basic", "handshake, two echoes, the client closes first: the client holds TIME_WAIT for 60 s"),
    ("server-close", "the server closes first: now the server holds TIME_WAIT"),
    ("half-close", "the client shuts down its sending side (SHUT_WR) and still reads the replies: data flows after its FIN"),
    ("abort", "the client closes with SO_LINGER 0: a RST instead of a FIN, and no TIME_WAIT at all"),
    ("unread-close", "the server closes with the client's data still unread: its kernel sends RST, the client gets 'connection reset by peer'"),
    ("refused", "nothing listens on the port: the SYN is answered by RST (connection refused)"),
    ("keepalive", "keep-alive with 1 s timers on an idle connection: probes at SND.UNA−1 and their ACKs, about a second apart"),
    ("zero-window", "a slow reader with a small receive buffer: the window drops to 0, Linux sends zero-window probes, then a window update"),
    ("simultaneous-close", "both ends close at once: if the FINs cross, both go CLOSING and both hold TIME_WAIT (a race: it may be missed)"),
    ("many-clients", "twenty clients at once: twenty handshakes and closes interleaved, each client in TIME_WAIT"),
    ("port-reuse", "the client reconnects from the same local port while its old connection is in TIME_WAIT: port reuse"),
    ("short-vs-long", "five short connections (one echo each) against one long connection (five echoes): count the handshakes"),
    ("address-in-use", "the server closes first and holds TIME_WAIT; restarted without SO_REUSEADDR, its bind() fails with 'Address already in use' (the kernel's table shows the TIME_WAIT socket in the way); with SO_REUSEADDR it works"),
    ("backlog", "listen(1) and no accept(): the accept queue fills, the kernel drops further SYNs (ListenOverflows) and the clients send them again, waiting twice as long each time"),
    ("syn-flood", "1000 SYNs from forged addresses in a second (in a private namespace, on loopback): half-open connections pile up, SYN-ACKs are resent, then the kernel answers with SYN cookies; synack flags the flood"),
    ("time-wait-pressure", "3000 short connections, closed first by the server, then by the client: the most in TIME_WAIT at once per host beside the kernel's count, and what that means for ephemeral ports and tcp_tw_reuse"),
    ("empty-send", "the client sends an empty message: nothing goes on the wire, so the server's recv() waits and both sides hang (the notes' bug)"),
    ("client-crash", "the client process is killed mid-conversation: its kernel still closes the connection (FIN, or RST with unread data) and the server's recv() returns empty"),
];

/// The sentences of `SCENARIOS` in Chinese, in the same order (a test checks the names).
pub(crate) const SCENARIOS_ZH: [(&str, &str); 18] = [
    ("basic", "握手，两次回显，客户端先关闭：客户端进入 TIME_WAIT，持续 60 s"),
    ("server-close", "服务器先关闭：这次由服务器进入 TIME_WAIT"),
    ("half-close", "客户端关闭自己的发送方向 (SHUT_WR)，仍然读取回复：它的 FIN 之后还有数据流过来 (半关闭)"),
    ("abort", "客户端以 SO_LINGER 0 关闭：发出 RST 而不是 FIN，完全没有 TIME_WAIT"),
    ("unread-close", "服务器关闭时客户端的数据还没读：它的内核发出 RST，客户端收到 'connection reset by peer' (连接被对方复位)"),
    ("refused", "端口上没有进程监听：SYN 被 RST 回应 (连接被拒绝)"),
    ("keepalive", "空闲连接上的保活 (计时器设为 1 s)：在 SND.UNA−1 处的保活探测和它们的确认，间隔约一秒"),
    ("zero-window", "接收缓冲区很小的慢速读取者：窗口降到 0，Linux 发出零窗口探测，然后是窗口更新"),
    ("simultaneous-close", "两端同时关闭：如果 FIN 交叉，双方都进入 CLOSING，都进入 TIME_WAIT (这是竞争，可能错过)"),
    ("many-clients", "同时二十个客户端：二十次握手和关闭交织在一起，每个客户端都进入 TIME_WAIT"),
    ("port-reuse", "客户端在旧连接还处于 TIME_WAIT 时从同一个本地端口重新连接：端口重用"),
    ("short-vs-long", "五个短连接 (每个一次回显) 对比一个长连接 (五次回显)：数一数握手的次数"),
    ("address-in-use", "服务器先关闭并进入 TIME_WAIT；不设 SO_REUSEADDR 重启时 bind() 以 'Address already in use' (地址已被占用) 失败 (内核的表显示挡路的 TIME_WAIT 套接字)；设了 SO_REUSEADDR 就能成功"),
    ("backlog", "listen(1) 且不调用 accept()：全连接队列满了，内核丢弃后来的 SYN (ListenOverflows)，客户端重发 SYN，每次等待加倍"),
    ("syn-flood", "一秒内来自伪造地址的 1000 个 SYN (在私有命名空间的环回接口上)：半连接堆积，SYN-ACK 被重发，然后内核用 SYN cookies 回应；synack 标出 SYN 洪水攻击"),
    ("time-wait-pressure", "3000 个短连接，先由服务器关闭，再由客户端关闭：每台主机同一时刻最多的 TIME_WAIT 与内核的计数对比，以及这对临时端口和 tcp_tw_reuse 意味着什么"),
    ("empty-send", "客户端发送空消息：线路上什么也没有，于是服务器的 recv() 一直等，双方都卡住 (笔记里的 bug)"),
    ("client-crash", "客户端进程在对话中途被杀死：它的内核仍会关闭连接 (FIN，或有未读数据时 RST)，服务器的 recv() 返回空"),
];

/// A scenario's sentence for `--list` and its title, in the run's language.
fn scenario_what(name: &str) -> &'static str {
    let list = if crate::lang::zh() {
        &SCENARIOS_ZH
    } else {
        &SCENARIOS
    };
    list.iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, w)| *w)
}

/// Wait this long after the traffic so the last ACKs are captured.
const SETTLE: Duration = Duration::from_millis(200);

/// How a scenario makes its traffic.
enum Kind {
    /// The echo server and clients, as planned.
    Plan(Plan),
    /// Its own driver (the course notes' scenarios).
    Custom(&'static Custom),
}

/// A private network namespace for a scenario: routes to loopback and sysctls.
struct NetnsSpec {
    routes: &'static [(Ipv4Addr, u8)],
    sysctls: &'static [(&'static str, &'static str)],
}

/// A scenario that drives its own traffic and says what it showed.
struct Custom {
    netns: Option<NetnsSpec>,
    /// Capture this much of each frame: enough for the headers of the small
    /// segments of bulk scenarios, and the capture ring holds more frames.
    snaplen: Option<i32>,
    rules: CheckRules,
    drive: fn(&Ctx<'_>) -> std::result::Result<Traffic, String>,
    explain: fn(&Traffic, &Seen<'_>) -> Findings,
}

/// What a custom scenario's driver gets.
struct Ctx<'a> {
    port: u16,
    /// The echo server's address: 127.0.0.1 and the demo port.
    server: SocketAddr,
    narrator: &'a Narrator,
    /// The host's values of the sysctls a private namespace changed.
    host_sysctls: &'a [(String, Option<String>)],
}

impl Ctx<'_> {
    /// The host's own value of a `net.ipv4` sysctl the scenario's private
    /// namespace set differently (None: the host has no such sysctl).
    fn host_sysctl(&self, name: &str) -> Option<String> {
        self.host_sysctls
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    }

    /// Say what the scenario does now (on stderr as it happens, unless the
    /// output is JSON; always in the JSON summary's `steps`).
    fn say(&self, text: impl Into<String>) {
        self.narrator.say(text.into());
    }
}

/// The scenario's steps, told as they happen.
struct Narrator {
    live: bool,
    steps: Mutex<Vec<Step>>,
}

impl Narrator {
    fn say(&self, text: String) {
        if self.live {
            let demo = crate::lang::pick("demo: ", "演示：");
            let _ = writeln!(std::io::stderr().lock(), "{demo}{text}");
        }
        if let Ok(mut s) = self.steps.lock() {
            s.push(Step {
                at: crate::app::wall_clock(),
                text,
            });
        }
    }
}

/// What a custom scenario's findings are worked out from.
struct Seen<'a> {
    recorded: &'a Recorded,
    pressure: &'a PressureFacts,
    server: SocketAddr,
}

impl Seen<'_> {
    /// The connection (its `#N`) between these two endpoints, if captured.
    fn conn_between(&self, client: SocketAddr, server: SocketAddr) -> Option<u64> {
        self.recorded
            .finals
            .iter()
            .rev()
            .find(|f| f.client == client && f.server == server)
            .map(|f| f.conn)
    }
}

/// A capture timestamp as people read it in the packet lines.
fn clock(ts: Timestamp) -> String {
    crate::views::time::time_of_day_ms(ts)
}

struct Plan {
    server: Option<ServerOptions>,
    /// Client runs one after another, each after its pause.
    clients: Vec<(Duration, ClientOptions)>,
}

fn client(server: SocketAddr, words: &[&str]) -> ClientOptions {
    ClientOptions {
        connect: server,
        payload: Payload::Messages(words.iter().map(|w| w.to_string()).collect()),
        quiet: true,
        timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

fn kind(name: &str, port: u16) -> Option<Kind> {
    let custom: &'static Custom = match name {
        "address-in-use" => &address_in_use::SCENARIO,
        "backlog" => &backlog::SCENARIO,
        "syn-flood" => &syn_flood::SCENARIO,
        "time-wait-pressure" => &time_wait::SCENARIO,
        "empty-send" => &empty_send::SCENARIO,
        "client-crash" => &client_crash::SCENARIO,
        _ => return plan(name, port).map(Kind::Plan),
    };
    Some(Kind::Custom(custom))
}

fn plan(name: &str, port: u16) -> Option<Plan> {
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let server = ServerOptions {
        listen: addr,
        quiet: true,
        ..Default::default()
    };
    let basic = client(addr, &["hello", "world"]);
    let (server, clients) = match name {
        "basic" => (Some(server), vec![basic]),
        "server-close" => (
            Some(ServerOptions {
                close_first: Some(Duration::from_millis(100)),
                ..server
            }),
            vec![ClientOptions {
                payload: Payload::Messages(vec!["hello".into()]),
                close: CloseMode::WaitServerClose,
                ..basic
            }],
        ),
        "half-close" => (
            // The replies wait a little, so they surely come after the
            // client's FIN: data flowing to a side that has closed.
            Some(ServerOptions {
                delay: Some(Duration::from_millis(50)),
                ..server
            }),
            vec![ClientOptions {
                payload: Payload::Messages(vec!["one".into(), "two".into(), "three".into()]),
                close: CloseMode::HalfClose,
                ..basic
            }],
        ),
        "abort" => (
            Some(server),
            vec![ClientOptions {
                close: CloseMode::Abort,
                ..basic
            }],
        ),
        "unread-close" => (
            Some(ServerOptions {
                no_read: true,
                unread_close: Some(Duration::from_millis(200)),
                ..server
            }),
            vec![ClientOptions {
                payload: Payload::Messages(vec!["are you reading?".into()]),
                timeout: Duration::from_secs(3),
                ..basic
            }],
        ),
        "refused" => (None, vec![basic]),
        "keepalive" => (
            Some(server),
            vec![ClientOptions {
                payload: Payload::Messages(vec!["hello".into()]),
                keepalive: Some(Keepalive {
                    idle: Duration::from_secs(1),
                    interval: Duration::from_secs(1),
                    count: 3,
                }),
                idle: Some(Duration::from_millis(3500)),
                ..basic
            }],
        ),
        "zero-window" => (
            // The persist timer fires about 200 ms after the window closes
            // and every segment from the reader restarts it: the reader must
            // stall longer than that (each stall is about 2 × the read
            // delay) while the writer still has data, for Linux to probe.
            Some(ServerOptions {
                rcvbuf: Some(4096),
                read_delay: Some(Duration::from_millis(500)),
                ..server
            }),
            vec![ClientOptions {
                payload: Payload::Size(48 * 1024),
                ..basic
            }],
        ),
        "simultaneous-close" => (
            Some(ServerOptions {
                close_first: Some(Duration::ZERO),
                ..server
            }),
            vec![ClientOptions {
                payload: Payload::Messages(vec!["bye".into()]),
                connections: 5,
                ..basic
            }],
        ),
        "many-clients" => (
            Some(server),
            vec![ClientOptions {
                payload: Payload::Messages(vec!["hi".into()]),
                parallel: 20,
                ..basic
            }],
        ),
        "port-reuse" => {
            let again = ClientOptions {
                payload: Payload::Messages(vec!["again".into()]),
                local_port: Some(reuse_port(port)),
                ..basic
            };
            // Linux lets a connect() take over a TIME_WAIT 4-tuple only once
            // the old connection's last timestamp is from an earlier second
            // (tcp_twsk_unique): wait a little over a second.
            return Some(Plan {
                server: Some(server),
                clients: vec![
                    (Duration::ZERO, again.clone()),
                    (Duration::from_millis(1300), again),
                ],
            });
        }
        "short-vs-long" => (
            Some(server),
            vec![
                ClientOptions {
                    payload: Payload::Messages(vec!["short".into()]),
                    connections: 5,
                    ..basic.clone()
                },
                ClientOptions {
                    payload: Payload::Messages(vec!["long".into()]),
                    count: 5,
                    ..basic
                },
            ],
        ),
        _ => return None,
    };
    Some(Plan {
        server,
        clients: clients.into_iter().map(|c| (Duration::ZERO, c)).collect(),
    })
}

/// A fixed client port for port-reuse, derived from the demo port so two
/// demos on different ports do not collide.
fn reuse_port(port: u16) -> u16 {
    40_000 + port % 20_000
}

/// What the traffic thread brings back.
#[derive(Default)]
struct Traffic {
    reports: Vec<ClientReport>,
    /// The kernel's socket table at the end of the traffic.
    kernel: Vec<KernelSocket>,
    /// What the echo server counted, when it ran to its end.
    server_stats: Option<ServerStats>,
    /// The scenario's own findings from the traffic, for its `explain`.
    data: Option<Box<dyn Any + Send>>,
    /// Sockets and servers to close only once the capture has stopped:
    /// closing them sends packets that are not part of the scenario.
    leftovers: Vec<Box<dyn Any + Send>>,
}

/// An echo server running in its own thread, stopped and joined when dropped.
struct RunningServer {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<std::result::Result<ServerStats, crate::echo::EchoError>>>,
}

impl RunningServer {
    /// Bind (the demo's knob for the port is --port) and serve in a thread.
    fn start(opts: &ServerOptions) -> std::result::Result<RunningServer, String> {
        let server = Server::bind(opts).map_err(|e| e.to_string().replace("--listen", "--port"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || server.serve(&flag));
        Ok(RunningServer {
            stop,
            thread: Some(thread),
        })
    }

    /// Stop serving (closing what is left) and say what it counted.
    fn stop(mut self) -> Option<ServerStats> {
        self.finish()
    }

    fn finish(&mut self) -> Option<ServerStats> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take()?.join().ok()?.ok()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The demo's echo server options: quiet, on the demo's address.
fn server_options(server: SocketAddr) -> ServerOptions {
    ServerOptions {
        listen: server,
        quiet: true,
        ..Default::default()
    }
}

/// The demo's echo client options: quiet, scripted, 10 s at most.
fn client_options(server: SocketAddr, words: &[&str]) -> ClientOptions {
    client(server, words)
}

/// Sets the flag when dropped: the capture stops however the traffic ends
/// (a port already taken must not leave the capture waiting forever).
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Wait (at most `limit`) until no socket on `port` is mid-connection: the
/// exchange is over (a slow reader may still be draining after the client
/// has sent everything), so the kernel's states are final ones.
fn wait_until_quiet(port: u16, limit: Duration) {
    let busy = |s: &KernelSocket| {
        (s.local.port() == port || s.remote.port() == port)
            && !matches!(
                s.state,
                TcpState::Listen | TcpState::TimeWait | TcpState::Closed
            )
    };
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        match kernel::sockets() {
            Ok(all) if all.iter().any(busy) => thread::sleep(Duration::from_millis(50)),
            _ => return,
        }
    }
}

fn drive_plan(plan: Plan, port: u16, done: &AtomicBool) -> std::result::Result<Traffic, String> {
    let _stop_capture = SetOnDrop(done);
    let server_stop = Arc::new(AtomicBool::new(false));
    let _stop_server = SetOnDrop(&server_stop);
    let mut server_thread = None;
    if let Some(opts) = &plan.server {
        // The demo's knob for the port is --port, not the echo server's --listen.
        let server = Server::bind(opts).map_err(|e| e.to_string().replace("--listen", "--port"))?;
        let stop = Arc::clone(&server_stop);
        server_thread = Some(thread::spawn(move || server.serve(&stop)));
    }
    let mut reports = Vec::new();
    for (pause, c) in &plan.clients {
        thread::sleep(*pause);
        reports.push(run_client(c).map_err(|e| e.to_string())?);
    }
    let kernel = settle_and_snapshot(port);
    server_stop.store(true, Ordering::Relaxed);
    let mut server_stats = None;
    if let Some(t) = server_thread {
        server_stats = t.join().ok().and_then(|r| r.ok());
    }
    thread::sleep(Duration::from_millis(50));
    Ok(Traffic {
        reports,
        kernel,
        server_stats,
        ..Traffic::default()
    })
}

/// Wait until the exchange is over and its last ACKs are captured, then
/// take the kernel's view, before anything else moves.
fn settle_and_snapshot(port: u16) -> Vec<KernelSocket> {
    wait_until_quiet(port, Duration::from_secs(20));
    thread::sleep(SETTLE);
    kernel::sockets().unwrap_or_default()
}

/// `synack demo`.
pub(crate) fn run(args: &DemoArgs, mut out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    if args.output.json {
        // The narration and the totals' words go into the JSON summary: English.
        crate::lang::records_in_english();
    }
    if args.list || args.scenario.is_none() {
        let head = crate::lang::pick(
            "Scenarios (synack demo NAME, or synack demo all):",
            "场景 (synack demo 名称，或 synack demo all)：",
        );
        writeln!(out, "{head}")?;
        for (name, _) in SCENARIOS {
            writeln!(out, "  {name:<19} {}", scenario_what(name))?;
        }
        return Ok(Outcome::Clean);
    }
    if args.output.count.is_some() {
        return Err(Error::Usage(
            crate::lang::pick(
                "-c does not apply to a demo: it runs whole scenarios (save one with -w, then 'synack read -c N FILE')",
                "-c 不适用于演示：演示总是运行完整的场景 (可以用 -w 保存，再用 'synack read -c N FILE')",
            )
            .into(),
        ));
    }
    let wanted = args.scenario.as_deref().unwrap_or_default();
    let names: Vec<&str> = if wanted == "all" {
        SCENARIOS.iter().map(|(n, _)| *n).collect()
    } else if SCENARIOS.iter().any(|(n, _)| *n == wanted) {
        vec![wanted]
    } else {
        return Err(Error::Usage(tr!(
            "no scenario '{wanted}': try 'synack demo --list'",
            "没有 '{wanted}' 这个场景：试试 'synack demo --list'"
        )));
    };
    if names.len() > 1 && args.output.is_picture() {
        return Err(Error::Usage(
            "one SVG document per run: pick one scenario for --view svg|graph".into(),
        ));
    }
    let mut outcome = Outcome::Clean;
    for name in names {
        if run_one(name, args, &mut out, err)? != Outcome::Clean {
            outcome = Outcome::InputErrors;
        }
    }
    Ok(outcome)
}

fn run_one(
    name: &str,
    args: &DemoArgs,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Outcome> {
    let port = args.port;
    let Some(kind) = kind(name, port) else {
        return Err(Error::Usage(tr!(
            "no scenario '{name}'",
            "没有 '{name}' 这个场景"
        )));
    };
    let what = scenario_what(name);
    let custom = match &kind {
        Kind::Custom(c) => Some(*c),
        Kind::Plan(_) => None,
    };
    let live_text = !args.output.json;
    // The host's values of what the namespace will change, read while still outside it.
    let host_sysctls: Vec<(String, Option<String>)> = custom
        .and_then(|c| c.netns.as_ref())
        .map(|spec| {
            spec.sysctls
                .iter()
                .map(|(n, _)| (n.to_string(), kernel::ipv4_sysctl(n)))
                .collect()
        })
        .unwrap_or_default();
    // Declared first, so it is dropped last: after the capture and every socket.
    let netns_guard = match custom.and_then(|c| c.netns.as_ref()) {
        Some(spec) => {
            let ns = netns::PrivateNetns::enter(spec.routes, spec.sysctls).map_err(|e| {
                let denied = e.kind() == std::io::ErrorKind::PermissionDenied;
                let e = crate::lang::io_reason(&e);
                let why = if denied {
                    format!("{}; {e}", text::netns_needs_root())
                } else {
                    e
                };
                Error::Traffic(tr!("demo {name}: {why}", "演示 {name}：{why}"))
            })?;
            Some(ns)
        }
        None => None,
    };
    let snaplen = custom.and_then(|c| c.snaplen);
    let mut src = LiveSource::open_with(
        "lo",
        Some(&format!("tcp port {port}")),
        crate::capture::live::BUFFER_KIB,
        snaplen,
    )?;
    // The demo stops the capture once the traffic is over: what is already
    // in the capture ring is still shown.
    src.drain_on_stop = true;
    if let Some(w) = &args.write {
        let path = if args.scenario.as_deref() == Some("all") {
            format!("{}-{name}.pcap", w.trim_end_matches(".pcap"))
        } else {
            w.clone()
        };
        src.save_to(&path, Default::default())?;
    }
    if name == "refused" {
        refuse_if_listened(port)?;
    }
    if name == "address-in-use" {
        refuse_if_time_wait(port)?;
    }
    // Said once the capture is open: without privileges, the one line is the error.
    if live_text {
        // The title goes with the output (`demo all > file` keeps them apart);
        // where the capture runs is for the person at the terminal. A
        // picture is one SVG document: its title goes with the messages.
        let title = tr!("demo {name}: {what}", "演示 {name}：{what}");
        if args.output.is_picture() {
            writeln!(err, "{title}")?;
        } else {
            writeln!(out, "{title}")?;
        }
        if netns_guard.is_some() {
            writeln!(err, "{}", text::private_netns())?;
        }
        writeln!(
            err,
            "{}",
            tr!(
                "capturing on lo, tcp port {port}",
                "正在 lo 上捕获，tcp 端口 {port}"
            )
        )?;
    }
    let done = Arc::new(AtomicBool::new(false));
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let narrator = Arc::new(Narrator {
        live: live_text,
        steps: Mutex::new(Vec::new()),
    });
    let traffic = {
        let done = Arc::clone(&done);
        let narrator = Arc::clone(&narrator);
        let host_sysctls = host_sysctls.clone();
        thread::spawn(move || match kind {
            Kind::Plan(plan) => drive_plan(plan, port, &done),
            Kind::Custom(c) => {
                let _stop_capture = SetOnDrop(&done);
                let ctx = Ctx {
                    port,
                    server,
                    narrator: &narrator,
                    host_sysctls: &host_sysctls,
                };
                (c.drive)(&ctx)
            }
        })
    };
    let opts = &args.output;
    let look = output_look(opts);
    let mut pipe = Pipeline::new(
        &mut *out,
        views_for(opts, look),
        analyzer_config(opts, Lookahead::LIVE),
        opts.count,
    );
    pipe.flush_each = look.terminal;
    let recorder = Recorder::default();
    pipe.add_view(Box::new(recorder.clone()));
    let link = src.link();
    capture_until(&mut src, &mut pipe, &done, link)?;
    src.flush()?;
    pipe.kernel = Some(src.stats());
    let mut traffic = traffic
        .join()
        .map_err(|_| {
            Error::Traffic(
                crate::lang::pick("the traffic thread panicked", "流量线程崩溃了 (panic)").into(),
            )
        })?
        .map_err(|e| Error::Traffic(tr!("demo {name}: {e}", "演示 {name}：{e}")))?;
    // The capture has stopped: what these send now is not part of the scenario.
    traffic.leftovers.clear();
    pipe.end_input()?;
    let errors: Vec<String> = traffic
        .reports
        .iter()
        .flat_map(|r| r.connections.iter())
        .filter_map(|c| c.error.as_ref())
        .map(|e| e.explain(server, Duration::from_secs(10)))
        .collect();
    let pressure = pipe.pressure();
    let findings = match custom {
        Some(c) => {
            let rec = recorder.0.borrow();
            let seen = Seen {
                recorded: &rec,
                pressure: &pressure,
                server,
            };
            (c.explain)(&traffic, &seen)
        }
        None => Findings::default(),
    };
    let steps = narrator.steps.lock().map(|s| s.clone()).unwrap_or_default();
    let report = DemoReport::new(
        name,
        &recorder,
        &traffic.kernel,
        custom.map(|c| c.rules).unwrap_or_default(),
        errors,
        findings,
        steps,
    );
    pipe.finish(&[&report])?;
    drop(pipe);
    out.flush()?;
    let mut outcome = Outcome::Clean;
    if let Some(what) = expect::missing(name, &recorder.facts()) {
        let line = tr!(
            "demo {name} did not show its scenario: {what}",
            "演示 {name} 没有展示出它的场景：{what}"
        );
        writeln!(err, "synack: {line}")?;
        outcome = Outcome::InputErrors;
    }
    let (differ, compared) = report.disagreements();
    if differ > 0 {
        let line = tr!(
            "demo {name}: {differ} of {compared} inferred states differ from the kernel's (see the kernel check)",
            "演示 {name}：推断出的 {compared} 个状态中有 {differ} 个与内核的不一致 (见内核核对)"
        );
        writeln!(err, "synack: {line}")?;
        outcome = Outcome::InputErrors;
    }
    Ok(outcome)
}

/// address-in-use counts the TIME_WAIT sockets in the way: one left on the
/// port by an earlier run (within 2MSL) would be counted too.
fn refuse_if_time_wait(port: u16) -> Result<()> {
    let waiting = kernel::sockets()
        .unwrap_or_default()
        .iter()
        .filter(|s| s.state == TcpState::TimeWait && s.local.port() == port)
        .count();
    if waiting > 0 {
        let s = if waiting == 1 { "" } else { "s" };
        return Err(Error::Traffic(tr!(
            "demo address-in-use: port {port} still has {waiting} TIME_WAIT socket{s} from an earlier run (they last 60 s); wait, or pick another port with --port",
            "演示 address-in-use：端口 {port} 上还有 {waiting} 个之前运行留下的 TIME_WAIT 套接字 (要持续 60 s)；请等待，或用 --port 换一个端口"
        )));
    }
    Ok(())
}

/// The refused scenario needs a port nobody listens on.
fn refuse_if_listened(port: u16) -> Result<()> {
    let listening = kernel::sockets()
        .unwrap_or_default()
        .iter()
        .any(|s| s.state == TcpState::Listen && s.local.port() == port);
    if listening {
        return Err(Error::Traffic(tr!(
            "demo refused: something already listens on port {port}, so the SYN would be accepted; pick a free port with --port",
            "演示 refused：端口 {port} 上已经有进程在监听，SYN 会被接受；请用 --port 换一个空闲端口"
        )));
    }
    Ok(())
}
