//! syn-flood: a bounded SYN flood (1000 SYNs in about a second, from forged
//! addresses, through a raw socket) against the echo server, in a private
//! network namespace whose only interface is loopback. The forged sources
//! (198.18.0.0/15) are routed to loopback there: the SYN-ACKs are captured
//! and go no further, so nobody answers them. The server keeps a half-open
//! request for the first SYNs (as many as its backlog) and resends their
//! SYN-ACKs; once that queue is full the kernel answers with SYN cookies and
//! keeps nothing. A real client connects during the flood and gets through.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use synack_core::track::TcpState;

use super::flood::{self, FORGED_NET};
use super::kernel_check::{Aggregate, CheckRules, Findings};
use super::{
    client_options, server_options, text, Ctx, Custom, NetnsSpec, RunningServer, Seen, Traffic,
    SETTLE,
};
use crate::echo::{run_client, ServerOptions};
use crate::kernel;

pub(super) const SCENARIO: Custom = Custom {
    netns: Some(NetnsSpec {
        routes: &[FORGED_NET],
        sysctls: &[],
    }),
    // A SYN or SYN-ACK with options is under 80 bytes: 128 keeps every
    // header and lets the capture ring hold the whole flood.
    snaplen: Some(128),
    rules: CheckRules { syn_cookies: true },
    drive,
    explain,
};

const SYNS: u32 = 1_000;
const BATCHES: u32 = 10;
const SPAN: Duration = Duration::from_millis(900);
/// The server's listen() backlog: also the length of its SYN queue.
const BACKLOG: u32 = 64;
/// When the real client connects, after the flood began.
const CLIENT_AFTER: Duration = Duration::from_millis(500);
/// How long after the flood began the capture goes on: SYN-ACKs are resent
/// 1 s and 3 s after the first.
const WATCH: Duration = Duration::from_millis(3_500);

struct Data {
    syns: usize,
    took: Duration,
    requests: u64,
    sent: u64,
    recv: u64,
    failed: u64,
    syncookies: Option<String>,
    client_ok: bool,
}

fn drive(ctx: &Ctx<'_>) -> Result<Traffic, String> {
    let before = kernel::counters();
    let server = RunningServer::start(&ServerOptions {
        backlog: BACKLOG,
        ..server_options(ctx.server)
    })?;
    ctx.say(text::flood_start(SYNS as usize, ctx.server, BACKLOG, SPAN));
    let started = Instant::now();
    let to = ctx.server;
    let sender = thread::spawn(move || flood::send(to, SYNS, BATCHES, SPAN));
    thread::sleep(CLIENT_AFTER);
    ctx.say(text::flood_client());
    let report = run_client(&client_options(ctx.server, &["hello"])).map_err(|e| e.to_string())?;
    let client_ok = report.all_ok();
    let sent = sender
        .join()
        .map_err(|_| text::err_flood_thread().to_string())??;
    ctx.say(text::flood_wait(WATCH.saturating_sub(started.elapsed())));
    if let Some(rest) = WATCH.checked_sub(started.elapsed()) {
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
    let requests = kernel
        .iter()
        .filter(|s| s.local == ctx.server && s.state == TcpState::SynRcvd)
        .count() as u64;
    let data = Data {
        syns: sent.syns,
        took: sent.took,
        requests,
        sent: delta("TcpExt.SyncookiesSent"),
        recv: delta("TcpExt.SyncookiesRecv"),
        failed: delta("TcpExt.SyncookiesFailed"),
        syncookies: kernel::ipv4_sysctl("tcp_syncookies"),
        client_ok,
    };
    Ok(Traffic {
        reports: vec![report],
        kernel,
        data: Some(Box::new(data)),
        // Stopping the server drops its half-open requests: after the capture.
        leftovers: vec![Box::new(server)],
        ..Traffic::default()
    })
}

fn explain(t: &Traffic, seen: &Seen<'_>) -> Findings {
    let mut f = Findings::default();
    let Some(d) = t.data.as_ref().and_then(|d| d.downcast_ref::<Data>()) else {
        return f;
    };
    let load = seen.pressure.server(seen.server);
    let (unanswered, resent, stateless) = load.map_or((0, 0, 0), |s| {
        (s.synacks_unanswered, s.synacks_resent, s.synacks_stateless)
    });
    f.lines
        .push(text::flood_synack(unanswered, resent, stateless));
    f.lines.push(text::flood_kernel(
        d.requests,
        d.sent,
        d.recv,
        d.failed,
        d.syncookies.as_deref().unwrap_or("?"),
    ));
    f.lines
        .push(text::flood_real_client(d.client_ok, d.recv > 0).into());
    let cookies = d.sent.saturating_sub(d.recv);
    f.aggregates.push(Aggregate {
        what: text::flood_check_stateless().into(),
        key: "stateless_synacks",
        synack: stateless,
        source: text::flood_cookies_source().into(),
        other: cookies,
    });
    f.aggregates.push(Aggregate {
        what: text::flood_check_nosocket().into(),
        key: "server_ends_without_socket",
        // Counted by the kernel check from the rows it leaves out as cookies.
        synack: 0,
        source: text::flood_cookies_source().into(),
        other: cookies,
    });
    f.aggregates.push(Aggregate {
        what: text::flood_check_requests().into(),
        key: "half_open_requests",
        synack: resent,
        source: text::src_syn_recv().into(),
        other: d.requests,
    });
    let to: SocketAddr = seen.server;
    f.json.insert(
        "syn_flood".into(),
        serde_json::json!({
            "syns_sent": d.syns,
            "took_ms": d.took.as_millis() as u64,
            "server": to.to_string(),
            "listen_backlog": BACKLOG,
            "forged_sources": format!("{}/{}", FORGED_NET.0, FORGED_NET.1),
            "synack": {
                "unanswered": unanswered,
                "resent": resent,
                "stateless": stateless,
                "half_open_peak": load.map_or(0, |s| s.half_open_peak),
                "flagged": load.is_some_and(|s| s.flood()),
            },
            "kernel": {
                "syn_recv_requests": d.requests,
                "syncookies_sent": d.sent,
                "syncookies_recv": d.recv,
                "syncookies_failed": d.failed,
                "tcp_syncookies": d.syncookies,
            },
            "real_client_ok": d.client_ok,
        }),
    );
    f
}
