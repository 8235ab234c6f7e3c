//! empty-send: the notes' echo client with an empty input line. send(b'')
//! returns 0 and puts nothing on the wire, so the server's recv() has
//! nothing to return and keeps waiting, while the client waits in recv()
//! for an echo that cannot come: both hang. Here the client gives up after
//! a bounded wait, and the capture shows the silence.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use synack_core::decode::Timestamp;

use super::kernel_check::{Aggregate, CheckRules, Findings};
use super::{
    clock, server_options, settle_and_snapshot, text, Ctx, Custom, RunningServer, Seen, Traffic,
};
use crate::app::wall_clock;
use crate::kernel::{self, KernelSocket};

pub(super) const SCENARIO: Custom = Custom {
    netns: None,
    snaplen: None,
    rules: CheckRules { syn_cookies: false },
    drive,
    explain,
};

/// How long the client waits for an echo of nothing (the notes' waits forever).
const HANG: Duration = Duration::from_millis(1_500);

struct Data {
    client: SocketAddr,
    /// What send(b"") returned.
    sent: usize,
    /// When the empty send happened and when the client gave up.
    sent_at: Timestamp,
    gave_up_at: Timestamp,
    /// The server's end of the connection, in the middle of the hang.
    server_end: Option<KernelSocket>,
}

fn drive(ctx: &Ctx<'_>) -> Result<Traffic, String> {
    let server = RunningServer::start(&server_options(ctx.server))?;
    let io = |what: &'static str| {
        move |e: std::io::Error| format!("{what}: {}", crate::lang::io_reason(&e))
    };
    ctx.say(text::es_hello());
    let mut s =
        TcpStream::connect_timeout(&ctx.server, Duration::from_secs(5)).map_err(io("connect"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(io("SO_RCVTIMEO"))?;
    let client = s.local_addr().map_err(io("getsockname"))?;
    s.write_all(b"hello").map_err(io("send"))?;
    let mut echo = [0u8; 5];
    s.read_exact(&mut echo).map_err(io("recv"))?;
    ctx.say(text::es_empty(HANG));
    let sent = s.write(b"").map_err(io("send(b'')"))?;
    let sent_at = wall_clock();
    s.set_read_timeout(Some(HANG)).map_err(io("SO_RCVTIMEO"))?;
    // Halfway through the wait, the kernel's view of the server's end.
    let look = thread::spawn(move || {
        thread::sleep(HANG / 2);
        kernel::sockets()
            .unwrap_or_default()
            .into_iter()
            .find(|k| k.remote == client)
    });
    let mut buf = [0u8; 64];
    let answer = s.read(&mut buf);
    let gave_up_at = wall_clock();
    let server_end = look.join().ok().flatten();
    match answer {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        Ok(n) => return Err(text::err_echo_of_nothing(n)),
        Err(e) => return Err(format!("recv: {}", crate::lang::io_reason(&e))),
    }
    ctx.say(text::es_gave_up());
    drop(s);
    let kernel = settle_and_snapshot(ctx.port);
    let server_stats = server.stop();
    Ok(Traffic {
        kernel,
        server_stats,
        data: Some(Box::new(Data {
            client,
            sent,
            sent_at,
            gave_up_at,
            server_end,
        })),
        ..Traffic::default()
    })
}

fn explain(t: &Traffic, seen: &Seen<'_>) -> Findings {
    let mut f = Findings::default();
    let Some(d) = t.data.as_ref().and_then(|d| d.downcast_ref::<Data>()) else {
        return f;
    };
    let conn = seen.conn_between(d.client, seen.server);
    let segs: Vec<_> = seen
        .recorded
        .segments
        .iter()
        .filter(|s| Some(s.conn) == conn)
        .collect();
    let during: Vec<_> = segs
        .iter()
        .filter(|s| s.ts > d.sent_at && s.ts < d.gave_up_at)
        .collect();
    let before = segs.iter().rev().find(|s| s.ts <= d.sent_at).map(|s| s.ts);
    let after = segs.iter().find(|s| s.ts >= d.gave_up_at).map(|s| s.ts);
    let bytes_during: u64 = during.iter().map(|s| u64::from(s.len)).sum();
    f.lines.push(text::es_send_returned(d.sent));
    if let (Some(a), Some(b)) = (before, after) {
        let gap = Duration::from_nanos(u64::try_from(b.nanos_since(a).max(0)).unwrap_or(0));
        f.lines
            .push(text::es_silence(gap, &clock(a), &clock(b), during.len()));
    }
    let unread = d.server_end.map_or(0, |k| k.rx_queue);
    if let Some(k) = d.server_end {
        f.lines
            .push(text::es_server_waiting(k.local, k.state.name(), k.rx_queue));
    }
    f.aggregates.push(Aggregate {
        what: text::es_check().into(),
        key: "bytes_during_hang",
        synack: bytes_during,
        source: text::src_receive_queue().into(),
        other: u64::from(unread),
    });
    f.json.insert(
        "empty_send".into(),
        serde_json::json!({
            "conn": conn,
            "send_returned": d.sent,
            "sent_at": clock(d.sent_at),
            "gave_up_at": clock(d.gave_up_at),
            "segments_during_hang": during.len(),
            "bytes_during_hang": bytes_during,
            "silence_ms": before.zip(after).map(|(a, b)| (b.nanos_since(a) / 1_000_000) as i64),
            "server_end": d.server_end.map(|k| serde_json::json!({
                "addr": k.local.to_string(),
                "state": k.state.name(),
                "unread": k.rx_queue,
            })),
        }),
    );
    f
}
