//! backlog: a server that calls listen(1) and never accept(). The kernel
//! completes handshakes into the accept queue until it is full (Linux admits
//! backlog + 1), then drops further SYNs (TcpExt ListenOverflows and
//! ListenDrops); those clients send their SYN again, each time waiting
//! twice as long. In a private network namespace, so the counters count
//! this scenario only, with tcp_syn_linear_timeouts = 0 there so the
//! classic doubling shows within a few seconds.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use synack_core::decode::tcp::flag;
use synack_core::track::{Side, TcpState};

use super::kernel_check::{Aggregate, CheckRules, Findings};
use super::{text, Ctx, Custom, NetnsSpec, Seen, Traffic, SETTLE};
use crate::kernel::{self, KernelSocket};

pub(super) const SCENARIO: Custom = Custom {
    netns: Some(NetnsSpec {
        routes: &[],
        sysctls: &[("tcp_syn_linear_timeouts", "0")],
    }),
    snaplen: None,
    rules: CheckRules { syn_cookies: false },
    drive,
    explain,
};

/// listen()'s backlog: the accept queue holds one more than this.
const BACKLOG: i32 = 1;
/// Clients that connect, one every CLIENT_GAP.
const CLIENTS: usize = 5;
const CLIENT_GAP: Duration = Duration::from_millis(100);
/// How long the last client keeps trying: its SYN goes at 0, 1 and 3 s.
const WATCH: Duration = Duration::from_millis(3_600);

struct Data {
    listener: Option<KernelSocket>,
    overflows: u64,
    drops: u64,
    host_linear: Option<String>,
}

fn drive(ctx: &Ctx<'_>) -> Result<Traffic, String> {
    let before = kernel::counters();
    let io = |what: &'static str| {
        move |e: std::io::Error| format!("{what}: {}", crate::lang::io_reason(&e))
    };
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(io("socket"))?;
    listener
        .set_reuse_address(true)
        .map_err(io("SO_REUSEADDR"))?;
    listener
        .bind(&ctx.server.into())
        .map_err(io(crate::lang::pick(
            "bind the listening socket",
            "绑定监听套接字",
        )))?;
    listener.listen(BACKLOG).map_err(io("listen"))?;
    ctx.say(text::backlog_start(BACKLOG, CLIENTS));
    let mut clients = Vec::new();
    let mut last_start = Instant::now();
    for _ in 0..CLIENTS {
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(io("socket"))?;
        c.set_nonblocking(true).map_err(io("O_NONBLOCK"))?;
        last_start = Instant::now();
        match c.connect(&ctx.server.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(format!("connect: {}", crate::lang::io_reason(&e))),
        }
        clients.push(c);
        thread::sleep(CLIENT_GAP);
    }
    ctx.say(text::backlog_wait(WATCH));
    if let Some(rest) = (last_start + WATCH).checked_duration_since(Instant::now()) {
        thread::sleep(rest);
    }
    thread::sleep(SETTLE);
    let kernel = kernel::sockets().unwrap_or_default();
    let after = kernel::counters();
    let delta = |k: &str| {
        after
            .get(k)
            .copied()
            .unwrap_or(0)
            .saturating_sub(before.get(k).copied().unwrap_or(0))
    };
    let listen = kernel
        .iter()
        .find(|s| s.local == ctx.server && s.state == TcpState::Listen)
        .copied();
    let data = Data {
        listener: listen,
        overflows: delta("TcpExt.ListenOverflows"),
        drops: delta("TcpExt.ListenDrops"),
        host_linear: ctx.host_sysctl("tcp_syn_linear_timeouts"),
    };
    let mut leftovers: Vec<Box<dyn std::any::Any + Send>> = vec![Box::new(listener)];
    leftovers.extend(
        clients
            .into_iter()
            .map(|c| Box::new(c) as Box<dyn std::any::Any + Send>),
    );
    Ok(Traffic {
        kernel,
        data: Some(Box::new(data)),
        leftovers,
        ..Traffic::default()
    })
}

/// The gaps between the SYNs each unanswered client sent, by client address.
fn syn_gaps(seen: &Seen<'_>) -> Vec<(SocketAddr, Vec<Duration>)> {
    let mut out = Vec::new();
    for f in &seen.recorded.finals {
        if f.server != seen.server || f.states[1] != TcpState::Unknown {
            continue;
        }
        let times: Vec<_> = seen
            .recorded
            .segments
            .iter()
            .filter(|s| s.conn == f.conn && s.side == Side::Client && s.flags == flag::SYN)
            .map(|s| s.ts)
            .collect();
        let gaps = times
            .windows(2)
            .map(|w| {
                let ns = w[1].nanos_since(w[0]).max(0);
                // Rounded to 10 ms: the timer's own jitter is not the point.
                Duration::from_millis(((ns / 1_000_000 + 5) / 10 * 10) as u64)
            })
            .collect();
        out.push((f.client, gaps));
    }
    out
}

fn explain(t: &Traffic, seen: &Seen<'_>) -> Findings {
    let mut f = Findings::default();
    let Some(d) = t.data.as_ref().and_then(|d| d.downcast_ref::<Data>()) else {
        return f;
    };
    let waiting = d.listener.map_or(0, |l| l.rx_queue);
    f.lines.push(text::backlog_queue(BACKLOG, waiting));
    let load = seen.pressure.server(seen.server);
    let (attempts, syns, handshakes) = load.map_or((0, 0, 0), |s| {
        (s.syns_unanswered, s.syn_segments_unanswered, s.handshakes)
    });
    f.lines.push(text::backlog_synack(
        seen.server,
        attempts,
        syns,
        handshakes,
    ));
    f.lines.push(text::backlog_counters(d.overflows, d.drops));
    let gaps = syn_gaps(seen);
    for (client, g) in &gaps {
        f.lines.push(text::backlog_gaps(*client, g));
    }
    f.lines.push(text::backlog_linear(d.host_linear.as_deref()));
    f.aggregates.push(Aggregate {
        what: text::backlog_check_syns().into(),
        key: "syns_dropped",
        synack: syns,
        source: text::src_listen_overflows().into(),
        other: d.overflows,
    });
    // Handshakes completed and never accepted: both ends ESTABLISHED at the end.
    let queued = seen
        .recorded
        .finals
        .iter()
        .filter(|fin| fin.server == seen.server && fin.states == [TcpState::Established; 2])
        .count();
    f.aggregates.push(Aggregate {
        what: text::backlog_check_queue().into(),
        key: "accept_queue",
        synack: queued as u64,
        source: text::src_listener_queue().into(),
        other: u64::from(waiting),
    });
    f.json.insert(
        "backlog".into(),
        serde_json::json!({
            "listen_backlog": BACKLOG,
            "accept_queue_waiting": waiting,
            "listen_overflows": d.overflows,
            "listen_drops": d.drops,
            "syns_unanswered": syns,
            "attempts_unanswered": attempts,
            "handshakes": handshakes,
            "host_tcp_syn_linear_timeouts": d.host_linear,
            "syn_gaps_ms": gaps.iter().map(|(c, g)| serde_json::json!({
                "client": c.to_string(),
                "gaps_ms": g.iter().map(|d| d.as_millis() as u64).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    );
    f
}
