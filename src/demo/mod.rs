//! The one-command demo: capture loopback on the demo port, drive the
//! bundled echo server and client through a scenario, annotate every packet
//! as it arrives, then put synack's inferred final states beside the
//! kernel's own (/proc/net/tcp).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod kernel_check;

use synack_core::analyzer::Lookahead;

use crate::app::{analyzer_config, capture_until, stdout_look, views_for, Outcome, Pipeline};
use crate::capture::live::LiveSource;
use crate::cli::{DemoArgs, View as ViewKind};
use crate::echo::{
    run_client, ClientOptions, ClientReport, CloseMode, Keepalive, Payload, Server, ServerOptions,
};
use crate::error::{Error, Result};
use crate::kernel::{self, KernelSocket};
use kernel_check::{DemoReport, FinalStates};
use synack_core::track::TcpState;

/// Every scenario, with the sentence `--list` prints: what to look for.
pub(crate) const SCENARIOS: [(&str, &str); 12] = [
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
];

/// Wait this long after the traffic so the last ACKs are captured.
const SETTLE: Duration = Duration::from_millis(200);

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
struct Traffic {
    reports: Vec<ClientReport>,
    kernel: Vec<KernelSocket>,
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

fn drive(plan: Plan, port: u16, done: &AtomicBool) -> std::result::Result<Traffic, String> {
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
    wait_until_quiet(port, Duration::from_secs(20));
    thread::sleep(SETTLE);
    // The kernel's view at the end of the traffic, before anything else moves.
    let kernel = kernel::sockets().unwrap_or_default();
    server_stop.store(true, Ordering::Relaxed);
    if let Some(t) = server_thread {
        let _ = t.join();
    }
    thread::sleep(Duration::from_millis(50));
    Ok(Traffic { reports, kernel })
}

/// `synack demo`.
pub(crate) fn run(args: &DemoArgs, mut out: impl Write, err: &mut impl Write) -> Result<Outcome> {
    if args.list || args.scenario.is_none() {
        writeln!(out, "Scenarios (synack demo NAME, or synack demo all):")?;
        for (name, what) in SCENARIOS {
            writeln!(out, "  {name:<19} {what}")?;
        }
        return Ok(Outcome::Clean);
    }
    let wanted = args.scenario.as_deref().unwrap_or_default();
    let names: Vec<&str> = if wanted == "all" {
        SCENARIOS.iter().map(|(n, _)| *n).collect()
    } else if SCENARIOS.iter().any(|(n, _)| *n == wanted) {
        vec![wanted]
    } else {
        return Err(Error::Usage(format!(
            "no scenario '{wanted}': try 'synack demo --list'"
        )));
    };
    if names.len() > 1 && matches!(args.output.view, ViewKind::Svg | ViewKind::Graph) {
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
    let Some(plan) = plan(name, port) else {
        return Err(Error::Usage(format!("no scenario '{name}'")));
    };
    let what = SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, w)| *w);
    let mut src = LiveSource::open("lo", Some(&format!("tcp port {port}")))?;
    if let Some(w) = &args.write {
        let path = if args.scenario.as_deref() == Some("all") {
            format!("{}-{name}.pcap", w.trim_end_matches(".pcap"))
        } else {
            w.clone()
        };
        src.save_to(&path)?;
    }
    if !args.output.json {
        writeln!(err, "demo {name}: {what}")?;
        writeln!(err, "capturing on lo, tcp port {port}")?;
    }
    let done = Arc::new(AtomicBool::new(false));
    let traffic = {
        let done = Arc::clone(&done);
        thread::spawn(move || drive(plan, port, &done))
    };
    let opts = &args.output;
    let look = stdout_look();
    let mut pipe = Pipeline::new(
        &mut *out,
        views_for(opts, look),
        analyzer_config(opts, Lookahead::LIVE),
        opts.count,
    );
    pipe.flush_each = look.terminal;
    let finals = FinalStates::default();
    pipe.add_view(Box::new(finals.clone()));
    let link = src.link();
    capture_until(&mut src, &mut pipe, &done, link)?;
    src.flush()?;
    pipe.kernel = Some(src.stats());
    let traffic = traffic
        .join()
        .map_err(|_| Error::Traffic("the traffic thread panicked".into()))?
        .map_err(|e| Error::Traffic(format!("demo {name}: {e}")))?;
    pipe.end_input()?;
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let errors: Vec<String> = traffic
        .reports
        .iter()
        .flat_map(|r| r.connections.iter())
        .filter_map(|c| c.error.as_ref())
        .map(|e| e.explain(server, Duration::from_secs(10)))
        .collect();
    let report = DemoReport::new(name, &finals, &traffic.kernel, errors);
    pipe.finish(&[&report])?;
    Ok(Outcome::Clean)
}
