//! address-in-use: the server closes first, so its end of the connection
//! holds TIME_WAIT after the server process has gone; a new server without
//! SO_REUSEADDR cannot bind the port ("Address already in use"), and the
//! kernel's socket table shows the TIME_WAIT socket in the way; with
//! SO_REUSEADDR the restart works at once.

use std::net::SocketAddr;
use std::time::Duration;

use synack_core::track::TcpState;

use super::kernel_check::{Aggregate, CheckRules, Findings};
use super::{
    client_options, server_options, settle_and_snapshot, text, wait_until_quiet, Ctx, Custom,
    RunningServer, Seen, Traffic,
};
use crate::echo::{run_client, ClientOptions, CloseMode, Payload, Server, ServerOptions};
use crate::kernel::{self, KernelSocket};

pub(super) const SCENARIO: Custom = Custom {
    netns: None,
    snaplen: None,
    rules: CheckRules { syn_cookies: false },
    drive,
    explain,
};

/// What the restart ran into.
struct Data {
    /// The kernel's TIME_WAIT sockets on the port when bind() failed.
    blocking: Vec<KernelSocket>,
    /// bind() without SO_REUSEADDR: the echo server's explanation of its failure.
    plain_bind: Result<(), String>,
    /// The client served by the restarted server (its local address).
    second_client: Option<SocketAddr>,
}

fn time_wait_on(port: u16) -> Vec<KernelSocket> {
    kernel::sockets()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.local.port() == port && s.state == TcpState::TimeWait)
        .collect()
}

fn describe(s: &KernelSocket) -> String {
    text::aiu_tw_socket(s.local, s.remote, s.timer.map(|(_, left)| left))
}

fn drive(ctx: &Ctx<'_>) -> Result<Traffic, String> {
    let mut reports = Vec::new();
    ctx.say(text::aiu_first_server());
    let first = RunningServer::start(&ServerOptions {
        close_first: Some(Duration::from_millis(100)),
        ..server_options(ctx.server)
    })?;
    reports.push(
        run_client(&ClientOptions {
            payload: Payload::Messages(vec!["hello".into()]),
            close: CloseMode::WaitServerClose,
            ..client_options(ctx.server, &[])
        })
        .map_err(|e| e.to_string())?,
    );
    wait_until_quiet(ctx.port, Duration::from_secs(5));
    let server_stats = first.stop();
    let blocking = time_wait_on(ctx.port);
    let first_client = reports
        .first()
        .and_then(|r| r.connections.first())
        .and_then(|c| c.local_addr);
    ctx.say(text::aiu_server_stopped(
        &blocking
            .iter()
            .filter(|s| Some(s.remote) == first_client)
            .map(describe)
            .collect::<Vec<_>>(),
    ));
    ctx.say(text::aiu_restart_plain());
    let plain_bind = match Server::bind(&ServerOptions {
        reuse_address: false,
        ..server_options(ctx.server)
    }) {
        Ok(s) => {
            drop(s);
            ctx.say(text::aiu_bind_worked(ctx.server));
            Ok(())
        }
        Err(e) => {
            let e = e.to_string();
            ctx.say(text::aiu_bind_failed(ctx.server, &e));
            Err(e)
        }
    };
    ctx.say(text::aiu_restart_reuse());
    let second = RunningServer::start(&server_options(ctx.server))?;
    let again =
        run_client(&client_options(ctx.server, &["hello again"])).map_err(|e| e.to_string())?;
    let second_client = again.connections.first().and_then(|c| c.local_addr);
    reports.push(again);
    let kernel = settle_and_snapshot(ctx.port);
    second.stop();
    Ok(Traffic {
        reports,
        kernel,
        server_stats,
        data: Some(Box::new(Data {
            blocking,
            plain_bind,
            second_client,
        })),
        ..Traffic::default()
    })
}

fn explain(t: &Traffic, seen: &Seen<'_>) -> Findings {
    let mut f = Findings::default();
    let Some(d) = t.data.as_ref().and_then(|d| d.downcast_ref::<Data>()) else {
        return f;
    };
    // The TIME_WAIT sockets of this capture's connections (with `demo
    // all`, earlier scenarios on the same port may have left others).
    let (mine, earlier): (Vec<&KernelSocket>, Vec<&KernelSocket>) = d
        .blocking
        .iter()
        .partition(|s| seen.conn_between(s.remote, s.local).is_some());
    let blocking: Vec<String> = mine.iter().map(|s| describe(s)).collect();
    let conn = mine
        .first()
        .and_then(|s| seen.conn_between(s.remote, s.local));
    match &d.plain_bind {
        Err(e) => f.lines.push(text::aiu_bind_failed(seen.server, e)),
        Ok(()) => f.lines.push(text::aiu_bind_worked(seen.server)),
    }
    f.lines
        .push(text::aiu_finding_blocked(&blocking, conn, earlier.len()));
    let second = d
        .second_client
        .and_then(|c| seen.conn_between(c, seen.server));
    f.lines.push(text::aiu_finding_reuse(seen.server, second));
    // Connections of the capture whose server end was in TIME_WAIT when
    // bind() failed: they entered it and nothing ended it by then.
    let failed_at = seen
        .recorded
        .finals
        .iter()
        .find(|fin| Some(fin.conn) == second)
        .and_then(|fin| seen.recorded.segments.iter().find(|s| s.conn == fin.conn))
        .map(|s| s.ts);
    let synack_tw = seen
        .recorded
        .finals
        .iter()
        .filter(|fin| fin.server.port() == seen.server.port())
        .filter(|fin| match (fin.time_wait_entered[1], failed_at) {
            (Some(entered), Some(at)) => entered <= at && fin.states[1] == TcpState::TimeWait,
            _ => false,
        })
        .count();
    f.aggregates.push(Aggregate {
        what: text::aiu_check().into(),
        key: "time_wait_at_failed_bind",
        synack: synack_tw as u64,
        source: text::src_kernel_table().into(),
        other: mine.len() as u64,
    });
    f.json.insert(
        "bind_without_reuseaddr".into(),
        match &d.plain_bind {
            Err(e) => serde_json::json!({"ok": false, "error": e}),
            Ok(()) => serde_json::json!({"ok": true}),
        },
    );
    f.json.insert(
        "time_wait_sockets".into(),
        serde_json::Value::Array(
            d.blocking
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "local": s.local.to_string(),
                        "remote": s.remote.to_string(),
                        "left_ms": s.timer.map(|(_, l)| l.as_millis() as u64),
                        "conn": seen.conn_between(s.remote, s.local),
                    })
                })
                .collect(),
        ),
    );
    f.json.insert(
        "bind_with_reuseaddr".into(),
        serde_json::json!({"ok": second.is_some(), "conn": second}),
    );
    f
}
