//! time-wait-pressure: a few thousand short connections, first from
//! 127.0.0.2, each closed by the server first (TIME_WAIT piles up on the
//! server, 127.0.0.1), then from 127.0.0.3, each closed by the client first
//! (TIME_WAIT piles up on that client). synack's peak per host beside the
//! kernel's own count, and what it means for the client's ephemeral ports
//! (ip_local_port_range) and tcp_tw_reuse, read from this host's /proc/sys.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use synack_core::track::TcpState;

use super::kernel_check::{Aggregate, CheckRules, Findings};
use super::{
    client_options, clock, server_options, settle_and_snapshot, text, wait_until_quiet, Ctx,
    Custom, RunningServer, Seen, Traffic,
};
use crate::echo::{run_client, ClientOptions, CloseMode, ServerOptions};
use crate::kernel;

pub(super) const SCENARIO: Custom = Custom {
    netns: None,
    // Headers and a 2-byte message fit in 128 bytes; the ring then holds
    // the whole burst (about ten frames per connection).
    snaplen: Some(128),
    rules: CheckRules { syn_cookies: false },
    drive,
    explain,
};

/// Clients at once and connections each, per phase.
const PARALLEL: usize = 20;
const EACH: u32 = 75;
const SERVER_CLOSES_FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const CLIENT_CLOSES_FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

struct Data {
    took: Duration,
    /// Phase 2's connections per second (the client host that holds TIME_WAIT).
    rate: f64,
    port_range: Option<(u32, u32)>,
    tw_reuse: Option<String>,
    max_tw_buckets: Option<String>,
}

fn phase(
    ctx: &Ctx<'_>,
    from: Ipv4Addr,
    server_first: bool,
) -> Result<(crate::echo::ClientReport, Duration), String> {
    ctx.say(text::twp_phase(
        PARALLEL * EACH as usize,
        IpAddr::V4(from),
        server_first,
    ));
    let server = RunningServer::start(&ServerOptions {
        close_first: server_first.then_some(Duration::ZERO),
        ..server_options(ctx.server)
    })?;
    let started = Instant::now();
    let report = run_client(&ClientOptions {
        local_ip: Some(IpAddr::V4(from)),
        parallel: PARALLEL,
        connections: EACH,
        close: if server_first {
            CloseMode::WaitServerClose
        } else {
            CloseMode::ClientFirst
        },
        ..client_options(ctx.server, &["hi"])
    })
    .map_err(|e| e.to_string())?;
    let took = started.elapsed();
    wait_until_quiet(ctx.port, Duration::from_secs(20));
    server.stop();
    Ok((report, took))
}

fn drive(ctx: &Ctx<'_>) -> Result<Traffic, String> {
    let started = Instant::now();
    let (first, _) = phase(ctx, SERVER_CLOSES_FROM, true)?;
    let (second, took2) = phase(ctx, CLIENT_CLOSES_FROM, false)?;
    let kernel = settle_and_snapshot(ctx.port);
    let port_range = kernel::ipv4_sysctl("ip_local_port_range").and_then(|r| {
        let mut it = r.split_whitespace().map(|v| v.parse::<u32>().ok());
        Some((it.next()??, it.next()??))
    });
    let n = second.connections.len() as f64;
    let data = Data {
        took: started.elapsed(),
        rate: n / took2.as_secs_f64().max(1e-3),
        port_range,
        tw_reuse: kernel::ipv4_sysctl("tcp_tw_reuse"),
        max_tw_buckets: kernel::ipv4_sysctl("tcp_max_tw_buckets"),
    };
    Ok(Traffic {
        reports: vec![first, second],
        kernel,
        data: Some(Box::new(data)),
        ..Traffic::default()
    })
}

fn explain(t: &Traffic, seen: &Seen<'_>) -> Findings {
    let mut f = Findings::default();
    let Some(d) = t.data.as_ref().and_then(|d| d.downcast_ref::<Data>()) else {
        return f;
    };
    // This run's connections, as (local, remote) from either end: the
    // kernel's table may hold TIME_WAITs of earlier runs on the same port.
    let mine: HashSet<(SocketAddr, SocketAddr)> = seen
        .recorded
        .finals
        .iter()
        .flat_map(|fin| [(fin.client, fin.server), (fin.server, fin.client)])
        .collect();
    let mut hosts = Vec::new();
    for h in &seen.pressure.time_wait {
        let kernel_tw = t
            .kernel
            .iter()
            .filter(|s| {
                s.state == TcpState::TimeWait
                    && s.local.ip() == h.host
                    && mine.contains(&(s.local, s.remote))
            })
            .count();
        f.lines.push(text::twp_host(
            h.host,
            h.peak,
            &clock(h.at),
            h.peak_as_server,
            h.peak_as_client,
            kernel_tw,
        ));
        f.aggregates.push(Aggregate {
            what: text::twp_check(h.host),
            key: "time_wait_per_host",
            synack: u64::from(h.peak),
            source: text::src_time_wait_now().into(),
            other: kernel_tw as u64,
        });
        hosts.push(serde_json::json!({
            "host": h.host.to_string(),
            "peak": h.peak,
            "at": clock(h.at),
            "peak_as_server": h.peak_as_server,
            "peak_as_client": h.peak_as_client,
            "kernel_time_wait_now": kernel_tw,
        }));
    }
    if seen.pressure.port_reuse_in_time_wait > 0 {
        f.lines
            .push(text::twp_reused(seen.pressure.port_reuse_in_time_wait));
    }
    f.lines.push(text::twp_no_expiry(d.took));
    let range = d.port_range.unwrap_or((32_768, 60_999));
    let client = seen.pressure.client(IpAddr::V4(CLIENT_CLOSES_FROM));
    if let Some(c) = client {
        f.lines.push(text::twp_ports(
            c.host,
            c.peak_ports,
            c.share_of_default_range(),
            range,
            d.rate,
        ));
    }
    if let Some(v) = &d.tw_reuse {
        f.lines.push(text::twp_tw_reuse(v));
    }
    if let Some(v) = &d.max_tw_buckets {
        f.lines.push(text::twp_max_buckets(v));
    }
    f.json.insert(
        "time_wait_pressure".into(),
        serde_json::json!({
            "hosts": hosts,
            "took_ms": d.took.as_millis() as u64,
            "port_reuse_in_time_wait": seen.pressure.port_reuse_in_time_wait,
            "client_ports": client.map(|c| serde_json::json!({
                "host": c.host.to_string(),
                "peak_ports": c.peak_ports,
                "connections": c.connections,
                "share_of_default_range_pct": (c.share_of_default_range() * 100.0).round() / 100.0,
            })),
            "connections_per_s": (d.rate * 10.0).round() / 10.0,
            "ip_local_port_range": d.port_range.map(|(a, b)| [a, b]),
            "tcp_tw_reuse": d.tw_reuse,
            "tcp_max_tw_buckets": d.max_tw_buckets,
        }),
    );
    f
}
