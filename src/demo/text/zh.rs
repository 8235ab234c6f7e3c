//! 中文: the demo's words of `text.rs` for `--lang zh`, function for function.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::secs;

// ── Shared ──────────────────────────────────────────────────────────────

pub(super) fn private_netns() -> &'static str {
    "这个场景运行在一个私有网络命名空间里，它有自己的环回接口 (结束时删除)：内核计数器从零开始，任何报文都出不了这台机器"
}

pub(super) fn netns_needs_root() -> &'static str {
    "这个场景运行在私有网络命名空间里，需要 root 权限"
}

pub(super) fn findings_header(scenario: &str) -> String {
    format!("\n演示 {scenario} 说明了什么：")
}

pub(super) fn check_grouped(side: &str, synack: &str, kernel: &str, n: usize) -> String {
    let side = super::side_word(side);
    format!(
        "{n} × {} synack {synack:<11}  内核 {kernel:<11}",
        crate::views::width::pad_right(side, 6)
    )
}

pub(super) fn not_compared_header(n: usize) -> String {
    format!("  未比较 ({n} 个)：")
}

pub(super) fn not_compared_unknown() -> &'static str {
    "synack 给出的是 UNKNOWN：捕获中看不到这一端的任何报文，所以它不做判断"
}

pub(super) fn not_compared_foreign() -> &'static str {
    "不是本机的地址 (由演示的原始套接字伪造)：没有哪个内核为它建了套接字"
}

pub(super) fn not_compared_stateless() -> &'static str {
    "服务器回了 SYN-ACK，但内核没有保留套接字：这是 SYN cookie (下面与内核的 SyncookiesSent 对账)"
}

pub(super) fn src_kernel_table() -> &'static str {
    "内核 (它的套接字表)"
}

pub(super) fn src_listen_overflows() -> &'static str {
    "内核 TcpExt ListenOverflows"
}

pub(super) fn src_listener_queue() -> &'static str {
    "内核 (/proc/net/tcp 中监听套接字的队列)"
}

pub(super) fn src_receive_queue() -> &'static str {
    "内核 (服务器套接字的接收队列)"
}

pub(super) fn src_syn_recv() -> &'static str {
    "内核中 SYN_RECV 状态的套接字"
}

pub(super) fn src_time_wait_now() -> &'static str {
    "内核 (此刻的 TIME_WAIT)"
}

pub(super) fn aggregate_line(what: &str, synack: u64, source: &str, other: u64) -> String {
    format!("{what}：synack {synack}，{source} {other}")
}

// ── address-in-use ──────────────────────────────────────────────────────

pub(super) fn aiu_first_server() -> &'static str {
    "一个服务器 (开着 SO_REUSEADDR，synack 的回显服务器就是这样设置的) 服务一个客户端后先关闭：服务器这一端进入 TIME_WAIT"
}

pub(super) fn aiu_server_stopped(tw: &[String]) -> String {
    if tw.is_empty() {
        "服务器进程退出；内核中这个端口上没有 TIME_WAIT 套接字".into()
    } else {
        format!(
            "服务器进程退出了，但它的连接仍以 TIME_WAIT 留在内核里：{}",
            tw.join("，")
        )
    }
}

pub(super) fn aiu_restart_plain() -> &'static str {
    "不设 SO_REUSEADDR 重启服务器 (socket、bind、listen：笔记里的第一个服务器)……"
}

pub(super) fn aiu_bind_failed(addr: SocketAddr, error: &str) -> String {
    format!("bind({addr}) 失败：\"Address already in use\" (EADDRINUSE，地址已被占用)。synack 的回显服务器的解释：{error}")
}

pub(super) fn aiu_bind_worked(addr: SocketAddr) -> String {
    format!("不设 SO_REUSEADDR 的 bind({addr}) 成功了：这次内核在这个端口上什么也没留着")
}

pub(super) fn aiu_restart_reuse() -> &'static str {
    "在 bind 之前调用 setsockopt(SO_REUSEADDR) 再重启 (笔记里的解决办法)：虽然旧连接还在 TIME_WAIT，bind 也能成功，新的客户端也得到了服务"
}

pub(super) fn aiu_tw_socket(
    local: SocketAddr,
    remote: SocketAddr,
    left: Option<Duration>,
) -> String {
    match left {
        Some(l) => format!("{local} ↔ {remote} TIME_WAIT (2MSL 还剩 {})", secs(l)),
        None => format!("{local} ↔ {remote} TIME_WAIT"),
    }
}

pub(super) fn aiu_finding_blocked(sockets: &[String], conn: Option<u64>, earlier: usize) -> String {
    let who = match conn {
        Some(c) => format!("：即捕获中连接 #{c} 的服务器端，它先关闭"),
        None => String::new(),
    };
    let before = if earlier > 0 {
        format!(" (另有 {earlier} 个 TIME_WAIT 是本次演示之前留在这个端口上的)")
    } else {
        String::new()
    };
    format!(
        "bind() 失败时占着端口的，来自内核的套接字表 (/proc/net/tcp)：{}{who}{before}",
        sockets.join("，")
    )
}

pub(super) fn aiu_finding_reuse(addr: SocketAddr, conn: Option<u64>) -> String {
    match conn {
        Some(c) => format!("设了 SO_REUSEADDR 后，bind({addr}) 立刻成功，连接 #{c} 在 TIME_WAIT 旁边得到了服务：SO_REUSEADDR 让监听套接字可以与非监听状态的连接共用端口"),
        None => format!("设了 SO_REUSEADDR 后，bind({addr}) 立刻成功"),
    }
}

pub(super) fn aiu_check() -> &'static str {
    "bind() 失败时端口上的 TIME_WAIT 套接字"
}

// ── backlog ─────────────────────────────────────────────────────────────

pub(super) fn backlog_start(backlog: i32, clients: usize) -> String {
    format!("服务器调用 listen({backlog})，但从不调用 accept()；{clients} 个客户端依次连接")
}

pub(super) fn backlog_wait(d: Duration) -> String {
    format!("等待 {}：SYN 被丢弃的客户端会重发 SYN", secs(d))
}

pub(super) fn backlog_queue(backlog: i32, waiting: u32) -> String {
    format!(
        "listen({backlog})：内核的全连接队列 (accept 队列) 存放已完成握手、等待 accept() 取走的连接，Linux 允许比 backlog 多一个；内核的表显示这个监听套接字有 {waiting} 个连接在等待"
    )
}

pub(super) fn backlog_synack(
    server: SocketAddr,
    attempts: u64,
    syns: u64,
    handshakes: u64,
) -> String {
    format!(
        "synack：发往 {server} 的 {attempts} 次连接尝试 ({syns} 个 SYN) 从未得到回应，而同一个服务器完成了 {handshakes} 次握手：它在监听，所以是它丢弃了这些 SYN：它的全连接队列满了"
    )
}

pub(super) fn backlog_counters(overflows: u64, drops: u64) -> String {
    format!("内核：TcpExt ListenOverflows {overflows}，ListenDrops {drops} (每丢弃一个 SYN 计一次)")
}

pub(super) fn backlog_gaps(client: SocketAddr, gaps: &[Duration]) -> String {
    let g: Vec<String> = gaps.iter().map(|d| secs(*d)).collect();
    format!(
        "客户端 {client} 发了 {} 次 SYN，间隔依次为 {}：每个没有回应的 SYN 都让等待时间翻倍 (指数退避)",
        gaps.len() + 1,
        g.join("、")
    )
}

pub(super) fn backlog_linear(host: Option<&str>) -> String {
    match host {
        Some(v) => format!("本机 tcp_syn_linear_timeouts = {v}：较新的 Linux 内核让前 {v} 次 SYN 重试间隔 1 s，之后才翻倍；演示的命名空间把它设为 0，以展示经典的退避"),
        None => "这个内核没有 tcp_syn_linear_timeouts：SYN 重试总是翻倍".into(),
    }
}

pub(super) fn backlog_check_syns() -> &'static str {
    "在满的全连接队列前被丢弃的 SYN"
}

pub(super) fn backlog_check_queue() -> &'static str {
    "全连接队列中的连接 (握手已完成，从未被 accept)"
}

// ── syn-flood ───────────────────────────────────────────────────────────

pub(super) fn flood_start(n: usize, server: SocketAddr, backlog: u32, span: Duration) -> String {
    format!(
        "在大约 {} 内，从 198.18.0.0/15 (RFC 2544 的测试地址段) 中伪造的地址，用原始套接字向 {server} (监听，backlog 为 {backlog}) 发出 {n} 个 SYN；命名空间把这个地址段路由到环回接口，SYN-ACK 在那里被捕获，不会再往外走",
        secs(span)
    )
}

pub(super) fn flood_client() -> &'static str {
    "洪水期间，一个真正的客户端连接并发送 'hello'"
}

pub(super) fn flood_wait(d: Duration) -> String {
    format!("等待 {}：服务器重发它保留了状态的那些 SYN-ACK", secs(d))
}

pub(super) fn flood_synack(unanswered: u64, resent: u64, stateless: u64) -> String {
    format!(
        "synack：{unanswered} 个 SYN-ACK 从未得到应答：{resent} 个被服务器重发 (它为每个都保留了一个处于 SYN_RCVD 的半连接)，{stateless} 个只发了一次就再也没有重发 (没有保留状态：SYN cookies)"
    )
}

pub(super) fn flood_kernel(
    requests: u64,
    sent: u64,
    recv: u64,
    failed: u64,
    syncookies: &str,
) -> String {
    format!(
        "内核：{requests} 个半连接请求 (/proc/net/tcp 中的 SYN_RECV)；TcpExt SyncookiesSent {sent}，SyncookiesRecv {recv}，SyncookiesFailed {failed}；tcp_syncookies = {syncookies} (1：当 SYN 队列 (半连接队列，长度同 backlog) 满了就用 cookies)"
    )
}

pub(super) fn flood_real_client(ok: bool, by_cookie: bool) -> &'static str {
    match (ok, by_cookie) {
        (true, true) => "真正的客户端的 SYN 也得到了一个 cookie；它的 ACK 把 cookie 带了回去，内核据此重建了连接 (SyncookiesRecv)，回显也成功了：cookies 让被洪水攻击的服务器仍然可以访问",
        (true, false) => "真正的客户端连上了，回显也成功了",
        (false, _) => "洪水期间真正的客户端没能连上",
    }
}

pub(super) fn flood_check_stateless() -> &'static str {
    "只发一次、从不重发的 SYN-ACK (无状态)"
}

pub(super) fn flood_check_nosocket() -> &'static str {
    "发了 SYN-ACK 却没有内核套接字的服务器端"
}

pub(super) fn flood_check_requests() -> &'static str {
    "SYN-ACK 被重发过的半连接"
}

pub(super) fn flood_cookies_source() -> &'static str {
    "内核 SyncookiesSent − SyncookiesRecv"
}

// ── time-wait-pressure ──────────────────────────────────────────────────

pub(super) fn twp_phase(n: usize, from: IpAddr, server_first: bool) -> String {
    if server_first {
        format!("来自 {from} 的 {n} 个短连接，每个都由服务器先关闭：TIME_WAIT 堆积在服务器上")
    } else {
        format!("来自 {from} 的 {n} 个短连接，每个都由客户端先关闭：TIME_WAIT 堆积在客户端上")
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
    format!(
        "{host} 上同一时刻的 TIME_WAIT：synack 看到的峰值是 {peak} 个，于 {at} (作为服务器 {as_server} 个，作为客户端 {as_client} 个)；内核的表此刻在那里有本次运行的 {kernel} 个连接处于 TIME_WAIT"
    )
}

pub(super) fn twp_reused(n: u64) -> String {
    format!(
        "有 {n} 个新连接来自这样的本地端口：服务器仍把该端口上的旧连接留在 TIME_WAIT (客户端的内核已经忘了它)：当新 SYN 的序号或时间戳更新时，Linux 允许它接管这样的 TIME_WAIT，所以那些 TIME_WAIT 提前结束了"
    )
}

pub(super) fn twp_no_expiry(took: Duration) -> String {
    format!(
        "这次运行用了 {}，短于 2MSL (60 s)：还没有 TIME_WAIT 到期，所以峰值就是内核此刻持有的数量",
        secs(took)
    )
}

pub(super) fn twp_ports(
    host: IpAddr,
    ports: u32,
    pct: f64,
    range: (u32, u32),
    rate: f64,
) -> String {
    let size = range.1.saturating_sub(range.0) + 1;
    let mut s = format!(
        "{host} 在一个 60 s 的时间段内用了 {ports} 个不同的本地端口 (占 Linux 默认临时端口范围 32768–60999 的 {pct:.1}%)；本机的 ip_local_port_range 是 {}–{} ({size} 个端口)",
        range.0, range.1
    );
    if rate > 0.0 {
        let runs_out = f64::from(size) / rate;
        if runs_out < 60.0 {
            s.push_str(&format!(
                "。按本次运行每秒 {rate:.0} 个新连接 (到同一个服务器) 的速度，端口范围在 {runs_out:.0} s 后就会用完，早于 TIME_WAIT 释放端口 (60 s)：connect() 会以 EADDRNOTAVAIL (\"Cannot assign requested address\"，无法分配请求的地址) 失败"
            ));
        } else {
            s.push_str(&format!(
                "。按本次运行每秒 {rate:.0} 个新连接 (到同一个服务器) 的速度，端口范围能用 {runs_out:.0} s，长于 TIME_WAIT (60 s)"
            ));
        }
    }
    s
}

pub(super) fn twp_tw_reuse(value: &str) -> String {
    let meaning = match value {
        "0" => "connect() 从不接管处于 TIME_WAIT 的连接所占的端口",
        "1" => "当 TIME_WAIT 连接的最后一个时间戳已超过一秒时，connect() 可以接管它的端口 (两端都要开启 TCP 时间戳)",
        "2" => "同 1，但只用于环回流量 (Linux 的默认值)：到其他主机时，TIME_WAIT 的端口要被占用 60 s",
        _ => "未知的设置",
    };
    format!("tcp_tw_reuse = {value}：{meaning}。它只帮得了客户端：服务器的 TIME_WAIT 不占用临时端口，只占内存 (tcp_max_tw_buckets 限制其数量)")
}

pub(super) fn twp_max_buckets(v: &str) -> String {
    format!("tcp_max_tw_buckets = {v}：超过这个数，Linux 关闭连接时就不再进入 TIME_WAIT")
}

pub(super) fn twp_check(host: IpAddr) -> String {
    format!("{host} 上的 TIME_WAIT，峰值与此刻对比")
}

// ── empty-send ──────────────────────────────────────────────────────────

pub(super) fn es_hello() -> &'static str {
    "客户端发送 'hello' 并读到 'HELLO'，和笔记里的回显客户端一样"
}

pub(super) fn es_empty(wait: Duration) -> String {
    format!(
        "用户输入了一个空行：客户端调用 send(b'')，然后调用 recv() 等待 (这里等 {}；笔记里的客户端会一直等下去)",
        secs(wait)
    )
}

pub(super) fn es_gave_up() -> &'static str {
    "客户端放弃并关闭"
}

pub(super) fn es_send_returned(n: usize) -> String {
    format!("send(b'') 返回 {n}：空消息就是零个字节，TCP 没有东西可以放进报文段")
}

pub(super) fn es_silence(gap: Duration, from: &str, to: &str, segments: usize) -> String {
    format!(
        "捕获：空的 send 与关闭之间有 {segments} 个报文段；线路上 {} 没有任何报文 (从 {from} 到 {to})",
        secs(gap)
    )
}

pub(super) fn es_server_waiting(addr: SocketAddr, state: &str, unread: u32) -> String {
    format!(
        "与此同时，内核的表显示服务器的套接字 {addr} 处于 {state}，有 {unread} 字节可读：它的 recv() 在等待永远不会来的数据，而客户端的 recv() 在等回显：双方都卡住了。笔记里的解决办法：跳过空输入 (`if not msg: continue`)"
    )
}

pub(super) fn es_check() -> &'static str {
    "卡住期间等着服务器 recv() 读取的字节"
}

// ── client-crash ────────────────────────────────────────────────────────

pub(super) fn cc_start_fin(pid: u32) -> String {
    format!("客户端 A (pid {pid}，synack 回显客户端) 发送 'hello'，读到 'HELLO'，然后在发下一条消息前暂停……")
}

pub(super) fn cc_start_rst(pid: u32) -> String {
    format!("客户端 B (pid {pid}) 发送 'hello'，然后在读回显之前暂停……")
}

pub(super) fn cc_killed(which: char, pid: u32) -> String {
    format!("客户端 {which} (pid {pid}) 被 SIGKILL 杀死：进程没了，它的内核关闭了它的套接字")
}

fn conn_tag(conn: Option<u64>) -> String {
    conn.map_or(String::new(), |c| format!(" (连接 #{c})"))
}

pub(super) fn cc_fin(which: char, conn: Option<u64>) -> String {
    format!(
        "客户端 {which}{} 没有未读的数据：它的内核发出 FIN，就像调用了 close()。服务器的 recv() 返回 0 字节 (Python 中是 b'')：对方走了，看起来就是一次空读，所以笔记里的服务器循环需要 `if not data: break`",
        conn_tag(conn)
    )
}

pub(super) fn cc_rst(which: char, conn: Option<u64>) -> String {
    format!(
        "客户端 {which}{} 死的时候接收缓冲区里还有没读的回显：它的内核改发 RST，服务器的 recv() 以 ECONNRESET 失败 (Python 中是 ConnectionResetError，errno 104，\"Connection reset by peer\"，连接被对方复位)",
        conn_tag(conn)
    )
}

pub(super) fn cc_neither(which: char, conn: Option<u64>) -> String {
    format!(
        "客户端 {which}{}：捕获中既没有它的 FIN 也没有它的 RST",
        conn_tag(conn)
    )
}

pub(super) fn cc_server_saw(eof: u64, resets: u64) -> String {
    format!("回显服务器自己的计数：以空读结束的连接 {eof} 个，以 ECONNRESET 结束的 {resets} 个")
}

pub(super) fn cc_windows() -> &'static str {
    "在 Windows 上，没有关闭套接字就结束的客户端进程通常会给服务器留下一个 RST，于是 recv() 抛出 ConnectionResetError: [WinError 10054] 远程主机强迫关闭了一个现有的连接；笔记用 try/except 捕获它并 break。服务器循环两者都需要：遇到 b'' 要 break，遇到 ConnectionResetError 也要 break"
}

pub(super) fn cc_check_fin() -> &'static str {
    "死掉的客户端的内核用 FIN 关闭的连接"
}

pub(super) fn cc_check_rst() -> &'static str {
    "死掉的客户端的内核复位的连接"
}

pub(super) fn cc_source_eof() -> &'static str {
    "回显服务器的空读"
}

pub(super) fn cc_source_reset() -> &'static str {
    "回显服务器的 ECONNRESET"
}

// ── Errors ──────────────────────────────────────────────────────────────

pub(super) fn err_unshare() -> &'static str {
    "为私有网络命名空间调用 unshare(CLONE_NEWNET)"
}

pub(super) fn err_netns_not_private(ifs: &[String]) -> String {
    format!("新的网络命名空间里有 {ifs:?}，而不只是 lo")
}

pub(super) fn err_route(net: std::net::Ipv4Addr, len: u8) -> String {
    format!("经 lo 到 {net}/{len} 的路由")
}

pub(super) fn err_flood_loopback_only() -> &'static str {
    "洪水只发往 127.0.0.1"
}

pub(super) fn err_flood_not_private(ifs: &[String]) -> String {
    format!("洪水只在只有 lo 的私有网络命名空间里运行 (这里有：{ifs:?})")
}

pub(super) fn err_raw_socket(e: &std::io::Error) -> String {
    format!(
        "无法打开原始套接字 (需要 root)：{}",
        crate::lang::io_reason(e)
    )
}

pub(super) fn err_send_syn(e: &std::io::Error) -> String {
    format!("无法发送 SYN：{}", crate::lang::io_reason(e))
}

pub(super) fn err_flood_thread() -> &'static str {
    "洪水线程崩溃了 (panic)"
}

pub(super) fn err_own_binary(e: &std::io::Error) -> String {
    format!("找不到 synack 自己：{}", crate::lang::io_reason(e))
}

pub(super) fn err_child(e: &std::io::Error) -> String {
    format!("无法启动客户端进程：{}", crate::lang::io_reason(e))
}

pub(super) fn err_echo_of_nothing(n: usize) -> String {
    format!("空的 send 之后 recv() 返回了 {n} 字节")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::english;

    /// Every sentence of this file, with sample values: (function, text).
    fn every_text() -> Vec<(&'static str, String)> {
        let a = SocketAddr::from(([127, 0, 0, 1], 9999));
        let b = SocketAddr::from(([127, 0, 0, 1], 40000));
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let d = Duration::from_millis(1500);
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let tw = vec!["127.0.0.1:9999 ↔ 127.0.0.1:40000 TIME_WAIT".to_string()];
        let ifs = vec!["lo".to_string(), "eth0".to_string()];
        use super::*;
        vec![
            ("private_netns", private_netns().into()),
            ("netns_needs_root", netns_needs_root().into()),
            ("findings_header", findings_header("backlog")),
            (
                "check_grouped",
                check_grouped("client", "TIME_WAIT", "TIME_WAIT", 3),
            ),
            ("not_compared_header", not_compared_header(2)),
            ("not_compared_unknown", not_compared_unknown().into()),
            ("not_compared_foreign", not_compared_foreign().into()),
            ("not_compared_stateless", not_compared_stateless().into()),
            ("src_kernel_table", src_kernel_table().into()),
            ("src_listen_overflows", src_listen_overflows().into()),
            ("src_listener_queue", src_listener_queue().into()),
            ("src_receive_queue", src_receive_queue().into()),
            ("src_syn_recv", src_syn_recv().into()),
            ("src_time_wait_now", src_time_wait_now().into()),
            (
                "aggregate_line",
                aggregate_line(aiu_check(), 1, src_kernel_table(), 1),
            ),
            ("aiu_first_server", aiu_first_server().into()),
            (
                "aiu_server_stopped",
                aiu_server_stopped(&tw) + &aiu_server_stopped(&[]),
            ),
            ("aiu_restart_plain", aiu_restart_plain().into()),
            (
                "aiu_bind_failed",
                aiu_bind_failed(a, "无法在 127.0.0.1:9999 上监听：地址已被占用"),
            ),
            ("aiu_bind_worked", aiu_bind_worked(a)),
            ("aiu_restart_reuse", aiu_restart_reuse().into()),
            (
                "aiu_tw_socket",
                aiu_tw_socket(a, b, Some(d)) + &aiu_tw_socket(a, b, None),
            ),
            (
                "aiu_finding_blocked",
                aiu_finding_blocked(&tw, Some(1), 2) + &aiu_finding_blocked(&tw, None, 0),
            ),
            (
                "aiu_finding_reuse",
                aiu_finding_reuse(a, Some(2)) + &aiu_finding_reuse(a, None),
            ),
            ("aiu_check", aiu_check().into()),
            ("backlog_start", backlog_start(1, 6)),
            ("backlog_wait", backlog_wait(d)),
            ("backlog_queue", backlog_queue(1, 2)),
            ("backlog_synack", backlog_synack(a, 4, 12, 2)),
            ("backlog_counters", backlog_counters(12, 12)),
            ("backlog_gaps", backlog_gaps(b, &[d, d * 2])),
            (
                "backlog_linear",
                backlog_linear(Some("4")) + &backlog_linear(None),
            ),
            ("backlog_check_syns", backlog_check_syns().into()),
            ("backlog_check_queue", backlog_check_queue().into()),
            ("flood_start", flood_start(1000, a, 16, d)),
            ("flood_client", flood_client().into()),
            ("flood_wait", flood_wait(d)),
            ("flood_synack", flood_synack(1000, 16, 984)),
            ("flood_kernel", flood_kernel(16, 984, 1, 0, "1")),
            (
                "flood_real_client",
                [(true, true), (true, false), (false, false)]
                    .iter()
                    .map(|&(o, c)| flood_real_client(o, c))
                    .collect(),
            ),
            ("flood_check_stateless", flood_check_stateless().into()),
            ("flood_check_nosocket", flood_check_nosocket().into()),
            ("flood_check_requests", flood_check_requests().into()),
            ("flood_cookies_source", flood_cookies_source().into()),
            (
                "twp_phase",
                twp_phase(1500, ip, true) + &twp_phase(1500, ip, false),
            ),
            (
                "twp_host",
                twp_host(ip, 1500, "12:00:01.000", 1500, 0, 1498),
            ),
            ("twp_reused", twp_reused(3)),
            ("twp_no_expiry", twp_no_expiry(d)),
            (
                "twp_ports",
                twp_ports(ip, 1500, 5.3, (32768, 60999), 600.0)
                    + &twp_ports(ip, 1500, 5.3, (32768, 60999), 60.0),
            ),
            (
                "twp_tw_reuse",
                ["0", "1", "2", "7"]
                    .iter()
                    .map(|v| twp_tw_reuse(v))
                    .collect(),
            ),
            ("twp_max_buckets", twp_max_buckets("262144")),
            ("twp_check", twp_check(ip)),
            ("es_hello", es_hello().into()),
            ("es_empty", es_empty(d)),
            ("es_gave_up", es_gave_up().into()),
            ("es_send_returned", es_send_returned(0)),
            (
                "es_silence",
                es_silence(d, "12:00:01.000", "12:00:04.000", 0),
            ),
            ("es_server_waiting", es_server_waiting(a, "ESTABLISHED", 0)),
            ("es_check", es_check().into()),
            ("cc_start_fin", cc_start_fin(4242)),
            ("cc_start_rst", cc_start_rst(4243)),
            ("cc_killed", cc_killed('A', 4242)),
            ("cc_fin", cc_fin('A', Some(1)) + &cc_fin('A', None)),
            ("cc_rst", cc_rst('B', Some(2))),
            ("cc_neither", cc_neither('B', None)),
            ("cc_server_saw", cc_server_saw(1, 1)),
            ("cc_windows", cc_windows().into()),
            ("cc_check_fin", cc_check_fin().into()),
            ("cc_check_rst", cc_check_rst().into()),
            ("cc_source_eof", cc_source_eof().into()),
            ("cc_source_reset", cc_source_reset().into()),
            ("err_unshare", err_unshare().into()),
            ("err_netns_not_private", err_netns_not_private(&ifs)),
            ("err_route", err_route(Ipv4Addr::new(198, 18, 0, 0), 15)),
            ("err_flood_loopback_only", err_flood_loopback_only().into()),
            ("err_flood_not_private", err_flood_not_private(&ifs)),
            ("err_raw_socket", err_raw_socket(&e)),
            ("err_send_syn", err_send_syn(&e)),
            ("err_flood_thread", err_flood_thread().into()),
            ("err_own_binary", err_own_binary(&e)),
            ("err_child", err_child(&e)),
            ("err_echo_of_nothing", err_echo_of_nothing(3)),
        ]
    }

    #[test]
    fn every_demo_sentence_is_chinese() {
        let texts = every_text();
        // Every function of this file is called above, once.
        let defined = include_str!("zh.rs")
            .lines()
            .filter(|l| l.starts_with("pub(super) fn "))
            .count();
        assert_eq!(
            texts.len(),
            defined,
            "a function of text/zh.rs is not tested"
        );
        let mut found = Vec::new();
        for (name, text) in &texts {
            assert!(!text.is_empty(), "{name}");
            // The I/O error's reason comes from the system: io_reason words the
            // common ones only when the run is Chinese, and tests run in English.
            let text = text.replace("permission denied", "");
            for s in english::english_sentences(&text) {
                found.push(format!("{name}: {s}"));
            }
        }
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn the_english_sentences_are_found_in_the_english_text() {
        // The same check on text.rs's English finds its sentences: it is not blind.
        let en = super::super::aiu_first_server();
        assert!(!english::english_sentences(en).is_empty());
    }
}
