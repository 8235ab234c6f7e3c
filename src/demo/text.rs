//! The demo's own words for the course notes' scenarios: what is said while a
//! scenario runs (on stderr) and what its report says at the end. Every
//! sentence is written once, here, so it can be translated in one place.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::views::words::duration;

mod zh;

/// What counts as an English sentence in Chinese output (shared with tests/zh.rs).
#[cfg(test)]
#[path = "../../tests/common/english.rs"]
mod english;

/// Client or server, in the run's language (the kernel check keeps them as
/// English words, which are also its JSON values).
pub(super) fn side_word(side: &str) -> &str {
    if !crate::lang::zh_prose() {
        return side;
    }
    match side {
        "client" => "客户端",
        "server" => "服务器",
        other => other,
    }
}

fn secs(d: Duration) -> String {
    duration(i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

// ── Shared ──────────────────────────────────────────────────────────────

pub(super) fn private_netns() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::private_netns();
    }
    "this scenario runs in a private network namespace with its own loopback (deleted at the end): its kernel counters start at zero and nothing can leave the machine"
}

pub(super) fn netns_needs_root() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::netns_needs_root();
    }
    "this scenario runs in a private network namespace, which needs root"
}

pub(super) fn findings_header(scenario: &str) -> String {
    if crate::lang::zh_prose() {
        return zh::findings_header(scenario);
    }
    format!("\nwhat demo {scenario} shows:")
}

pub(super) fn check_grouped(side: &str, synack: &str, kernel: &str, n: usize) -> String {
    if crate::lang::zh_prose() {
        return zh::check_grouped(side, synack, kernel, n);
    }
    format!("{n} × {side:<6} synack {synack:<11}  kernel {kernel:<11}")
}

pub(super) fn not_compared_header(n: usize) -> String {
    if crate::lang::zh_prose() {
        return zh::not_compared_header(n);
    }
    format!("  not compared ({n}):")
}

pub(super) fn not_compared_unknown() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::not_compared_unknown();
    }
    "synack says UNKNOWN: the capture shows nothing from this side, so it claims nothing"
}

pub(super) fn not_compared_foreign() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::not_compared_foreign();
    }
    "not an address of this host (forged by the demo's raw socket): no kernel has a socket for it"
}

pub(super) fn not_compared_stateless() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::not_compared_stateless();
    }
    "the server answered with a SYN-ACK but the kernel keeps no socket: a SYN cookie (counted against the kernel's SyncookiesSent below)"
}

pub(super) fn src_kernel_table() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::src_kernel_table();
    }
    "kernel (its socket table)"
}

pub(super) fn src_listen_overflows() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::src_listen_overflows();
    }
    "kernel TcpExt ListenOverflows"
}

pub(super) fn src_listener_queue() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::src_listener_queue();
    }
    "kernel (the listener's queue in /proc/net/tcp)"
}

pub(super) fn src_receive_queue() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::src_receive_queue();
    }
    "kernel (the server socket's receive queue)"
}

pub(super) fn src_syn_recv() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::src_syn_recv();
    }
    "kernel SYN_RECV sockets"
}

pub(super) fn src_time_wait_now() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::src_time_wait_now();
    }
    "kernel (TIME_WAIT now)"
}

pub(super) fn aggregate_line(what: &str, synack: u64, source: &str, other: u64) -> String {
    if crate::lang::zh_prose() {
        return zh::aggregate_line(what, synack, source, other);
    }
    format!("{what}: synack {synack}, {source} {other}")
}

// ── address-in-use ──────────────────────────────────────────────────────

pub(super) fn aiu_first_server() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::aiu_first_server();
    }
    "a server (SO_REUSEADDR on, as synack's echo server sets it) serves one client and closes first: the server's end holds TIME_WAIT"
}

pub(super) fn aiu_server_stopped(tw: &[String]) -> String {
    if crate::lang::zh_prose() {
        return zh::aiu_server_stopped(tw);
    }
    if tw.is_empty() {
        "the server process stops; the kernel lists no TIME_WAIT socket on its port".into()
    } else {
        format!(
            "the server process stops, but its connection stays in the kernel in TIME_WAIT: {}",
            tw.join(", ")
        )
    }
}

pub(super) fn aiu_restart_plain() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::aiu_restart_plain();
    }
    "restarting the server without SO_REUSEADDR (socket, bind, listen: the notes' first server)…"
}

pub(super) fn aiu_bind_failed(addr: SocketAddr, error: &str) -> String {
    if crate::lang::zh_prose() {
        return zh::aiu_bind_failed(addr, error);
    }
    format!("bind({addr}) failed: Address already in use (EADDRINUSE). synack's echo server explains: {error}")
}

pub(super) fn aiu_bind_worked(addr: SocketAddr) -> String {
    if crate::lang::zh_prose() {
        return zh::aiu_bind_worked(addr);
    }
    format!(
        "bind({addr}) without SO_REUSEADDR worked: the kernel held nothing on the port this time"
    )
}

pub(super) fn aiu_restart_reuse() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::aiu_restart_reuse();
    }
    "restarting with setsockopt(SO_REUSEADDR) before bind (the notes' fix): bind works although the old connection is still in TIME_WAIT, and a new client is served"
}

pub(super) fn aiu_tw_socket(
    local: SocketAddr,
    remote: SocketAddr,
    left: Option<Duration>,
) -> String {
    if crate::lang::zh_prose() {
        return zh::aiu_tw_socket(local, remote, left);
    }
    match left {
        Some(l) => format!("{local} ↔ {remote} TIME_WAIT ({} of 2MSL left)", secs(l)),
        None => format!("{local} ↔ {remote} TIME_WAIT"),
    }
}

pub(super) fn aiu_finding_blocked(sockets: &[String], conn: Option<u64>, earlier: usize) -> String {
    if crate::lang::zh_prose() {
        return zh::aiu_finding_blocked(sockets, conn, earlier);
    }
    let who = match conn {
        Some(c) => {
            format!(": the server end of connection #{c} in the capture, which closed first")
        }
        None => String::new(),
    };
    let before = if earlier > 0 {
        format!(" (and {earlier} more TIME_WAIT on the port from before this demo)")
    } else {
        String::new()
    };
    format!(
        "what held the port when bind() failed, from the kernel's socket table (/proc/net/tcp): {}{who}{before}",
        sockets.join(", ")
    )
}

pub(super) fn aiu_finding_reuse(addr: SocketAddr, conn: Option<u64>) -> String {
    if crate::lang::zh_prose() {
        return zh::aiu_finding_reuse(addr, conn);
    }
    match conn {
        Some(c) => format!("with SO_REUSEADDR, bind({addr}) worked at once and connection #{c} was served beside the TIME_WAIT: SO_REUSEADDR lets a listening socket share its port with connections that are not listening"),
        None => format!("with SO_REUSEADDR, bind({addr}) worked at once"),
    }
}

pub(super) fn aiu_check() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::aiu_check();
    }
    "TIME_WAIT sockets on the port when bind() failed"
}

// ── backlog ─────────────────────────────────────────────────────────────

pub(super) fn backlog_start(backlog: i32, clients: usize) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_start(backlog, clients);
    }
    format!("a server calls listen({backlog}) and never accept(); {clients} clients connect one after another")
}

pub(super) fn backlog_wait(d: Duration) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_wait(d);
    }
    format!(
        "waiting {}: the clients whose SYNs are dropped send them again",
        secs(d)
    )
}

pub(super) fn backlog_queue(backlog: i32, waiting: u32) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_queue(backlog, waiting);
    }
    format!(
        "listen({backlog}): the kernel's accept queue holds connections whose handshake is complete until accept() takes them, and Linux admits one more than the backlog; the kernel's table shows the listener with {waiting} connections waiting"
    )
}

pub(super) fn backlog_synack(
    server: SocketAddr,
    attempts: u64,
    syns: u64,
    handshakes: u64,
) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_synack(server, attempts, syns, handshakes);
    }
    format!(
        "synack: {attempts} connection attempts ({syns} SYNs) to {server} never got an answer, while the same server completed {handshakes} handshakes: it was listening, so it dropped them: its accept queue was full"
    )
}

pub(super) fn backlog_counters(overflows: u64, drops: u64) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_counters(overflows, drops);
    }
    format!("kernel: TcpExt ListenOverflows {overflows}, ListenDrops {drops} (each dropped SYN counts once)")
}

pub(super) fn backlog_gaps(client: SocketAddr, gaps: &[Duration]) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_gaps(client, gaps);
    }
    let g: Vec<String> = gaps.iter().map(|d| secs(*d)).collect();
    format!(
        "client {client} sent its SYN {} times, {} apart: each unanswered SYN doubles the wait (exponential backoff)",
        gaps.len() + 1,
        g.join(", then ")
    )
}

pub(super) fn backlog_linear(host: Option<&str>) -> String {
    if crate::lang::zh_prose() {
        return zh::backlog_linear(host);
    }
    match host {
        Some(v) => format!("on this host tcp_syn_linear_timeouts = {v}: recent Linux kernels make the first {v} SYN retries 1 s apart before the wait doubles; the demo's namespace sets it to 0 to show the classic backoff"),
        None => "this kernel has no tcp_syn_linear_timeouts: SYN retries always double".into(),
    }
}

pub(super) fn backlog_check_syns() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::backlog_check_syns();
    }
    "SYNs dropped at the full accept queue"
}

pub(super) fn backlog_check_queue() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::backlog_check_queue();
    }
    "connections in the accept queue (handshake complete, never accepted)"
}

// ── syn-flood ───────────────────────────────────────────────────────────

pub(super) fn flood_start(n: usize, server: SocketAddr, backlog: u32, span: Duration) -> String {
    if crate::lang::zh_prose() {
        return zh::flood_start(n, server, backlog, span);
    }
    format!(
        "{n} SYNs in about {} to {server} (listening with backlog {backlog}) from forged addresses in 198.18.0.0/15 (RFC 2544's benchmarking range), sent from a raw socket; the namespace routes that range to loopback, where the SYN-ACKs are captured and go no further",
        secs(span)
    )
}

pub(super) fn flood_client() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::flood_client();
    }
    "during the flood a real client connects and sends 'hello'"
}

pub(super) fn flood_wait(d: Duration) -> String {
    if crate::lang::zh_prose() {
        return zh::flood_wait(d);
    }
    format!(
        "waiting {}: the server resends the SYN-ACKs it keeps state for",
        secs(d)
    )
}

pub(super) fn flood_synack(unanswered: u64, resent: u64, stateless: u64) -> String {
    if crate::lang::zh_prose() {
        return zh::flood_synack(unanswered, resent, stateless);
    }
    format!(
        "synack: {unanswered} SYN-ACKs never answered: {resent} resent by the server (it kept a half-open connection for each, in SYN_RCVD) and {stateless} sent once and never again (no state kept: SYN cookies)"
    )
}

pub(super) fn flood_kernel(
    requests: u64,
    sent: u64,
    recv: u64,
    failed: u64,
    syncookies: &str,
) -> String {
    if crate::lang::zh_prose() {
        return zh::flood_kernel(requests, sent, recv, failed, syncookies);
    }
    format!(
        "kernel: {requests} half-open requests (SYN_RECV in /proc/net/tcp); TcpExt SyncookiesSent {sent}, SyncookiesRecv {recv}, SyncookiesFailed {failed}; tcp_syncookies = {syncookies} (1: cookies once the SYN queue, as long as the backlog, is full)"
    )
}

pub(super) fn flood_real_client(ok: bool, by_cookie: bool) -> &'static str {
    if crate::lang::zh_prose() {
        return zh::flood_real_client(ok, by_cookie);
    }
    match (ok, by_cookie) {
        (true, true) => "the real client's SYN got a cookie too; its ACK carried the cookie back, the kernel rebuilt the connection from it (SyncookiesRecv) and the echo worked: cookies keep a flooded server reachable",
        (true, false) => "the real client got through and its echo worked",
        (false, _) => "the real client did not get through during the flood",
    }
}

pub(super) fn flood_check_stateless() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::flood_check_stateless();
    }
    "SYN-ACKs sent once and never resent (stateless)"
}

pub(super) fn flood_check_nosocket() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::flood_check_nosocket();
    }
    "server ends that sent a SYN-ACK but have no kernel socket"
}

pub(super) fn flood_check_requests() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::flood_check_requests();
    }
    "half-open connections whose SYN-ACK was resent"
}

pub(super) fn flood_cookies_source() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::flood_cookies_source();
    }
    "kernel SyncookiesSent − SyncookiesRecv"
}

// ── time-wait-pressure ──────────────────────────────────────────────────

pub(super) fn twp_phase(n: usize, from: IpAddr, server_first: bool) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_phase(n, from, server_first);
    }
    if server_first {
        format!("{n} short connections from {from}, each closed by the server first: TIME_WAIT piles up on the server")
    } else {
        format!("{n} short connections from {from}, each closed by the client first: TIME_WAIT piles up on the client")
    }
}

pub(super) fn twp_host(
    host: IpAddr,
    peak: u32,
    at: &str,
    as_server: u32,
    as_client: u32,
    kernel: usize,
) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_host(host, peak, at, as_server, as_client, kernel);
    }
    format!(
        "TIME_WAIT at once on {host}: synack's peak {peak} at {at} ({as_server} as server, {as_client} as client); the kernel's table now holds {kernel} of this run's connections in TIME_WAIT there"
    )
}

pub(super) fn twp_reused(n: u64) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_reused(n);
    }
    format!(
        "{n} new connections came from a local port whose earlier connection the server still held in TIME_WAIT (the client's kernel had forgotten it): Linux lets a new SYN take over such a TIME_WAIT when its sequence number or timestamp is newer, so those TIME_WAITs ended early"
    )
}

pub(super) fn twp_no_expiry(took: Duration) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_no_expiry(took);
    }
    format!("the run took {}, less than 2MSL (60 s): no TIME_WAIT has expired yet, so the peak is what the kernel holds now", secs(took))
}

pub(super) fn twp_ports(
    host: IpAddr,
    ports: u32,
    pct: f64,
    range: (u32, u32),
    rate: f64,
) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_ports(host, ports, pct, range, rate);
    }
    let size = range.1.saturating_sub(range.0) + 1;
    let mut s = format!(
        "{host} used {ports} distinct local ports within one 60 s span ({pct:.1}% of Linux's default ephemeral range 32768–60999); this host's ip_local_port_range is {}–{} ({size} ports)",
        range.0, range.1
    );
    if rate > 0.0 {
        let runs_out = f64::from(size) / rate;
        if runs_out < 60.0 {
            s.push_str(&format!(
                ". At this run's {rate:.0} new connections per second to one server, the range would run out after {runs_out:.0} s, before TIME_WAIT frees a port (60 s): connect() would fail with EADDRNOTAVAIL (\"Cannot assign requested address\")"
            ));
        } else {
            s.push_str(&format!(
                ". At this run's {rate:.0} new connections per second to one server, the range lasts {runs_out:.0} s, longer than TIME_WAIT (60 s)"
            ));
        }
    }
    s
}

pub(super) fn twp_tw_reuse(value: &str) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_tw_reuse(value);
    }
    let meaning = match value {
        "0" => "connect() never takes over a port whose connection is in TIME_WAIT",
        "1" => "connect() may take over a TIME_WAIT port once that connection's last timestamp is over a second old (both ends need TCP timestamps)",
        "2" => "as 1, but for loopback traffic only (Linux's default): toward other hosts, TIME_WAIT ports stay taken for 60 s",
        _ => "an unknown setting",
    };
    format!("tcp_tw_reuse = {value}: {meaning}. It helps only the client side: a server's TIME_WAIT ties up no ephemeral port, only memory (tcp_max_tw_buckets caps how many)")
}

pub(super) fn twp_max_buckets(v: &str) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_max_buckets(v);
    }
    format!(
        "tcp_max_tw_buckets = {v}: beyond that many, Linux closes connections without TIME_WAIT"
    )
}

pub(super) fn twp_check(host: IpAddr) -> String {
    if crate::lang::zh_prose() {
        return zh::twp_check(host);
    }
    format!("TIME_WAIT on {host}, peak vs. now")
}

// ── empty-send ──────────────────────────────────────────────────────────

pub(super) fn es_hello() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::es_hello();
    }
    "the client sends 'hello' and reads 'HELLO', as the notes' echo client does"
}

pub(super) fn es_empty(wait: Duration) -> String {
    if crate::lang::zh_prose() {
        return zh::es_empty(wait);
    }
    format!(
        "the user enters an empty line: the client calls send(b'') and then recv(), which waits (for {} here; the notes' client waits forever)",
        secs(wait)
    )
}

pub(super) fn es_gave_up() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::es_gave_up();
    }
    "the client gives up and closes"
}

pub(super) fn es_send_returned(n: usize) -> String {
    if crate::lang::zh_prose() {
        return zh::es_send_returned(n);
    }
    format!("send(b'') returned {n}: an empty message is zero bytes, and TCP has nothing to put in a segment")
}

pub(super) fn es_silence(gap: Duration, from: &str, to: &str, segments: usize) -> String {
    if crate::lang::zh_prose() {
        return zh::es_silence(gap, from, to, segments);
    }
    format!(
        "the capture: {segments} segments between the empty send and the close; nothing on the wire for {} (from {from} to {to})",
        secs(gap)
    )
}

pub(super) fn es_server_waiting(addr: SocketAddr, state: &str, unread: u32) -> String {
    if crate::lang::zh_prose() {
        return zh::es_server_waiting(addr, state, unread);
    }
    format!(
        "meanwhile the kernel's table showed the server's socket {addr} {state} with {unread} bytes to read: its recv() was waiting for data that never came, while the client's recv() waited for an echo: both hang. The notes' fix: skip empty input (if not msg: continue)"
    )
}

pub(super) fn es_check() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::es_check();
    }
    "bytes waiting for the server's recv() during the hang"
}

// ── client-crash ────────────────────────────────────────────────────────

pub(super) fn cc_start_fin(pid: u32) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_start_fin(pid);
    }
    format!("client A (pid {pid}, synack echo client) sends 'hello', reads 'HELLO' and pauses before its next message…")
}

pub(super) fn cc_start_rst(pid: u32) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_start_rst(pid);
    }
    format!("client B (pid {pid}) sends 'hello' and pauses before reading the echo…")
}

pub(super) fn cc_killed(which: char, pid: u32) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_killed(which, pid);
    }
    format!("client {which} (pid {pid}) killed with SIGKILL: the process is gone, its kernel closes its socket")
}

fn conn_tag(conn: Option<u64>) -> String {
    conn.map_or(String::new(), |c| format!(" (connection #{c})"))
}

pub(super) fn cc_fin(which: char, conn: Option<u64>) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_fin(which, conn);
    }
    format!(
        "client {which}{} had nothing unread: its kernel sent FIN, as close() would. The server's recv() returned 0 bytes (b'' in Python): a peer that has gone away looks like an empty read, which is why the notes' server loop needs `if not data: break`",
        conn_tag(conn)
    )
}

pub(super) fn cc_rst(which: char, conn: Option<u64>) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_rst(which, conn);
    }
    format!(
        "client {which}{} died with the echo unread in its receive buffer: its kernel sent RST instead, and the server's recv() failed with ECONNRESET (in Python: ConnectionResetError, errno 104, Connection reset by peer)",
        conn_tag(conn)
    )
}

pub(super) fn cc_neither(which: char, conn: Option<u64>) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_neither(which, conn);
    }
    format!(
        "client {which}{}: the capture shows neither a FIN nor a RST from it",
        conn_tag(conn)
    )
}

pub(super) fn cc_server_saw(eof: u64, resets: u64) -> String {
    if crate::lang::zh_prose() {
        return zh::cc_server_saw(eof, resets);
    }
    format!("the echo server's own count: connections ended by an empty read {eof}, by ECONNRESET {resets}")
}

pub(super) fn cc_windows() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::cc_windows();
    }
    "on Windows, a client process that ends without closing its socket usually leaves the server a RST, so recv() raises ConnectionResetError: [WinError 10054] An existing connection was forcibly closed by the remote host; the notes catch it with try/except and break. A server loop needs both: break on b'' and on ConnectionResetError"
}

pub(super) fn cc_check_fin() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::cc_check_fin();
    }
    "connections the dead client's kernel closed with FIN"
}

pub(super) fn cc_check_rst() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::cc_check_rst();
    }
    "connections the dead client's kernel reset"
}

pub(super) fn cc_source_eof() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::cc_source_eof();
    }
    "the echo server's empty reads"
}

pub(super) fn cc_source_reset() -> &'static str {
    if crate::lang::zh_prose() {
        return zh::cc_source_reset();
    }
    "the echo server's ECONNRESET"
}

// ── Errors ──────────────────────────────────────────────────────────────

pub(super) fn err_unshare() -> &'static str {
    if crate::lang::zh() {
        return zh::err_unshare();
    }
    "unshare(CLONE_NEWNET) for a private network namespace"
}

pub(super) fn err_netns_not_private(ifs: &[String]) -> String {
    if crate::lang::zh() {
        return zh::err_netns_not_private(ifs);
    }
    format!("the new network namespace holds {ifs:?}, not just lo")
}

pub(super) fn err_route(net: std::net::Ipv4Addr, len: u8) -> String {
    if crate::lang::zh() {
        return zh::err_route(net, len);
    }
    format!("a route to {net}/{len} via lo")
}

pub(super) fn err_flood_loopback_only() -> &'static str {
    if crate::lang::zh() {
        return zh::err_flood_loopback_only();
    }
    "the flood goes to 127.0.0.1 only"
}

pub(super) fn err_flood_not_private(ifs: &[String]) -> String {
    if crate::lang::zh() {
        return zh::err_flood_not_private(ifs);
    }
    format!(
        "the flood runs only in a private network namespace with nothing but lo (here: {ifs:?})"
    )
}

pub(super) fn err_raw_socket(e: &std::io::Error) -> String {
    if crate::lang::zh() {
        return zh::err_raw_socket(e);
    }
    format!("cannot open a raw socket (needs root): {e}")
}

pub(super) fn err_send_syn(e: &std::io::Error) -> String {
    if crate::lang::zh() {
        return zh::err_send_syn(e);
    }
    format!("cannot send a SYN: {e}")
}

pub(super) fn err_flood_thread() -> &'static str {
    if crate::lang::zh() {
        return zh::err_flood_thread();
    }
    "the flood's thread panicked"
}

pub(super) fn err_own_binary(e: &std::io::Error) -> String {
    if crate::lang::zh() {
        return zh::err_own_binary(e);
    }
    format!("cannot find synack itself: {e}")
}

pub(super) fn err_child(e: &std::io::Error) -> String {
    if crate::lang::zh() {
        return zh::err_child(e);
    }
    format!("cannot start a client process: {e}")
}

pub(super) fn err_echo_of_nothing(n: usize) -> String {
    if crate::lang::zh() {
        return zh::err_echo_of_nothing(n);
    }
    format!("recv() returned {n} bytes after an empty send")
}
