//! client-crash: the client process is killed (SIGKILL) in the middle of a
//! conversation. Its kernel still closes the connection: with FIN when
//! nothing was left unread, with RST when data sat unread in its receive
//! buffer. The server's recv() then returns 0 bytes (FIN) or fails with
//! ECONNRESET (RST): why the notes' server loop needs `if not data: break`.
//! The clients are synack's own `echo client`, run as child processes.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use synack_core::track::{Side, TcpState};

use super::kernel_check::{Aggregate, CheckRules, Findings};
use super::{
    server_options, settle_and_snapshot, text, wait_until_quiet, Ctx, Custom, RunningServer, Seen,
    Traffic,
};
use crate::kernel::{self, KernelSocket};

pub(super) const SCENARIO: Custom = Custom {
    netns: None,
    snaplen: None,
    rules: CheckRules { syn_cookies: false },
    drive,
    explain,
};

/// How long a child may take to start and connect.
const START: Duration = Duration::from_secs(10);

struct Data {
    fin_client: Option<SocketAddr>,
    rst_client: Option<SocketAddr>,
    pids: [u32; 2],
}

/// The child's connection to `server`, once `ready` says it has got far enough.
fn wait_for(
    server: SocketAddr,
    known: &[SocketAddr],
    ready: impl Fn(&KernelSocket) -> bool,
) -> Option<KernelSocket> {
    let deadline = Instant::now() + START;
    while Instant::now() < deadline {
        let found = kernel::sockets().unwrap_or_default().into_iter().find(|s| {
            s.remote == server
                && s.state == TcpState::Established
                && !known.contains(&s.local)
                && ready(s)
        });
        if found.is_some() {
            return found;
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

fn spawn(server: SocketAddr, args: &[&str]) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| text::err_own_binary(&e))?;
    Command::new(exe)
        .args([
            "echo",
            "client",
            "--quiet",
            "--timeout",
            "30000",
            "--connect",
        ])
        .arg(server.to_string())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| text::err_child(&e))
}

fn kill(mut child: Child) {
    // SIGKILL: no handler runs, the process just ends; its kernel closes its sockets.
    let _ = child.kill();
    let _ = child.wait();
}

fn drive(ctx: &Ctx<'_>) -> Result<Traffic, String> {
    let server = RunningServer::start(&server_options(ctx.server))?;
    // A: between two messages, nothing unread.
    let a = spawn(
        ctx.server,
        &["--send", "hello,world", "--interval", "10000"],
    )?;
    let pid_a = a.id();
    ctx.say(text::cc_start_fin(pid_a));
    let fin_client = wait_for(ctx.server, &[], |_| true).map(|s| s.local);
    // Time for 'hello' to go and 'HELLO' to come back and be read.
    thread::sleep(Duration::from_millis(300));
    kill(a);
    ctx.say(text::cc_killed('A', pid_a));
    wait_until_quiet(ctx.port, Duration::from_secs(5));
    // B: the echo arrives and waits unread (a 10 s pause before reading).
    let b = spawn(ctx.server, &["--send", "hello", "--read-delay", "10000"])?;
    let pid_b = b.id();
    ctx.say(text::cc_start_rst(pid_b));
    let known: Vec<SocketAddr> = fin_client.into_iter().collect();
    let rst_client = wait_for(ctx.server, &known, |s| s.rx_queue >= 5).map(|s| s.local);
    kill(b);
    ctx.say(text::cc_killed('B', pid_b));
    let kernel = settle_and_snapshot(ctx.port);
    let server_stats = server.stop();
    Ok(Traffic {
        kernel,
        server_stats,
        data: Some(Box::new(Data {
            fin_client,
            rst_client,
            pids: [pid_a, pid_b],
        })),
        ..Traffic::default()
    })
}

fn explain(t: &Traffic, seen: &Seen<'_>) -> Findings {
    let mut f = Findings::default();
    let Some(d) = t.data.as_ref().and_then(|d| d.downcast_ref::<Data>()) else {
        return f;
    };
    let conn_a = d.fin_client.and_then(|c| seen.conn_between(c, seen.server));
    let conn_b = d.rst_client.and_then(|c| seen.conn_between(c, seen.server));
    let fin_of = |conn: Option<u64>| {
        seen.recorded
            .finals
            .iter()
            .find(|fin| Some(fin.conn) == conn)
    };
    let a = fin_of(conn_a);
    let b = fin_of(conn_b);
    for (which, conn, fin) in [('A', conn_a, a), ('B', conn_b, b)] {
        f.lines.push(match fin {
            Some(x) if x.reset_by == Some(Side::Client) => text::cc_rst(which, conn),
            Some(x) if x.first_fin == Some(Side::Client) => text::cc_fin(which, conn),
            _ => text::cc_neither(which, conn),
        });
    }
    let (eof, resets) = t
        .server_stats
        .map_or((0, 0), |s| (s.closed_by_peer, s.resets_seen));
    f.lines.push(text::cc_server_saw(eof, resets));
    f.lines.push(text::cc_windows().into());
    // What the dead clients' kernels sent, as synack saw it.
    let by_fin = [a, b]
        .iter()
        .flatten()
        .filter(|fin| fin.first_fin == Some(Side::Client) && fin.reset_by.is_none())
        .count() as u64;
    let by_rst = [a, b]
        .iter()
        .flatten()
        .filter(|fin| fin.reset_by == Some(Side::Client))
        .count() as u64;
    f.aggregates.push(Aggregate {
        what: text::cc_check_fin().into(),
        key: "closed_by_fin",
        synack: by_fin,
        source: text::cc_source_eof().into(),
        other: eof,
    });
    f.aggregates.push(Aggregate {
        what: text::cc_check_rst().into(),
        key: "closed_by_rst",
        synack: by_rst,
        source: text::cc_source_reset().into(),
        other: resets,
    });
    f.json.insert(
        "client_crash".into(),
        serde_json::json!({
            "fin": {"pid": d.pids[0], "client": d.fin_client.map(|c| c.to_string()), "conn": conn_a},
            "rst": {"pid": d.pids[1], "client": d.rst_client.map(|c| c.to_string()), "conn": conn_b},
            "server_empty_reads": eof,
            "server_resets": resets,
        }),
    );
    f
}
