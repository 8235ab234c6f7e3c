//! 中文: the words of `words.rs` for `--lang zh`, function for function.
//! Terms come from `lang::glossary`; a state is its RFC name with the
//! textbook's beside it, `SYN_SENT(同步已发送)`; the steps are counted as the
//! textbook counts them (第1次握手, 第2次挥手). Flag names, seq/ack/len/win,
//! option names and numbers stay as the packets write them.

use std::fmt::Write as _;

use synack_core::counts::CaptureStats;
use synack_core::decode::{SeqNum, Timestamp};
use synack_core::pressure::{
    linux_ephemeral_port_count, ClientPorts, HostTimeWait, PressureFacts, ServerLoad,
    LINUX_EPHEMERAL_PORTS,
};
use synack_core::track::{
    Analysis, CloseVariant, Connection, EcnMode, Ending, Event, EventKind, Evidence, Facts,
    ResetCause, Retired, Side, StatePath, TcpState, TimeWaitEnd,
};
use synack_core::Counts;

use super::{duration, opt, HALF_OPEN_WORTH_NAMING, PORTS_WORTH_NAMING, PRESSURE_NAMED};
use crate::lang::glossary as g;

fn us(us: u64) -> String {
    duration(i128::from(us) * 1000)
}

fn analysis_label(a: Analysis, ev: &Evidence) -> String {
    match a {
        Analysis::DuplicateAck => format!("{} #{}", g::DUPLICATE_ACK.zh, ev.dup_acks),
        Analysis::Dsack => match ev.other_frame {
            Some(f) => format!(
                "D-SACK：{} 字节收到了两次 (第 {f} 帧的重传是多余的)",
                ev.len
            ),
            None => format!("D-SACK：{} 字节收到了两次", ev.len),
        },
        a => g::analysis(a).into(),
    }
}

/// `--why` of an analysis finding; `ev` is already relative (see `words::analysis_why`),
/// `dsack` the D-SACK block in the peer's numbers.
pub(super) fn analysis_why(
    a: Analysis,
    ev: &Evidence,
    dsack: (SeqNum, u32, Option<SeqNum>),
) -> String {
    let next = opt(ev.next_seq);
    match a {
        Analysis::KeepAlive => format!(
            "seq {} = 期望的下一个序号 {next} − 1，len {}，没有 SYN/FIN/RST",
            ev.seq, ev.len
        ),
        Analysis::KeepAliveAck => "纯 ACK，重复上一个 ack 和窗口，回应保活探测".into(),
        Analysis::ZeroWindowProbe => format!(
            "对方窗口为 0，seq {} = 期望的下一个序号 {next}{}，len {}",
            ev.seq,
            if ev.len == 0 { " − 1 (Linux 用 0 字节探测)" } else { "" },
            ev.len
        ),
        Analysis::ZeroWindowProbeAck => "窗口为 0 的纯 ACK，回应零窗口探测".into(),
        Analysis::ZeroWindow => "窗口字段为 0，没有 SYN/FIN/RST".into(),
        Analysis::LostSegment => format!("seq {} > 期望的下一个序号 {next}", ev.seq),
        Analysis::AckLostSegment => {
            format!("ack {} 超出了捕获中对方发送过的全部数据", opt(ev.ack))
        }
        Analysis::WindowUpdate => format!(
            "纯 ACK，seq 与 ack 不变，窗口 {} → {}",
            opt(ev.last_window),
            ev.window
        ),
        Analysis::WindowFull => format!(
            "seq {} + len {} = 对方 ack {} + 对方窗口 {}",
            ev.seq,
            ev.len,
            opt(ev.peer_ack),
            opt(ev.peer_window)
        ),
        Analysis::DuplicateAck => format!(
            "纯 ACK，ack {} 与窗口 {} 不变，seq {} = 期望的下一个序号",
            opt(ev.ack),
            ev.window,
            ev.seq
        ),
        Analysis::FastRetransmission => format!(
            "seq {} = {} 个重复确认所重复的那个 ack，距最后一个重复确认 {}",
            ev.seq,
            ev.dup_acks,
            ev.since_us.map_or("?".into(), us)
        ),
        Analysis::OutOfOrder => format!(
            "seq {} < 期望的下一个序号 {next}，补上了捕获中跳过的空缺，距序号最高的报文段 {} (< 3 ms){}",
            ev.seq,
            ev.since_us.map_or("?".into(), us),
            match (ev.reported_us, ev.rtt_us) {
                (Some(rep), Some(rtt)) => format!(
                    "，距接收方报告该空缺 {} (< RTT {} 的一半)：乱序到达",
                    us(rep),
                    us(rtt)
                ),
                _ => String::new(),
            }
        ),
        Analysis::SpuriousRetransmission => format!(
            "seq {}+{} 已被对方确认 (ack {})",
            ev.seq,
            ev.len,
            opt(ev.peer_ack)
        ),
        Analysis::Retransmission => match (ev.original_seen, ev.reported_us) {
            (false, Some(rep)) => format!(
                "seq {} < 期望的下一个序号 {next}，补上了接收方 {} 前报告的空缺{}：这是发送方对该报告的回应，所以原报文段在捕获点之前就丢了",
                ev.seq,
                us(rep),
                ev.rtt_us
                    .map_or(String::new(), |r| format!(" (≥ RTT {} 的一半)", us(r)))
            ),
            (seen, _) => format!(
                "seq {} < 期望的下一个序号 {next}{}",
                ev.seq,
                if seen {
                    "，原报文段在捕获中"
                } else {
                    "，原报文段未被捕获"
                }
            ),
        },
        Analysis::ReusedPorts => "已见过的四元组上出现了带新 ISN 的 SYN".into(),
        Analysis::Dsack => format!(
            "第一个 SACK 块 {}–{} 低于累计确认 ack {} (RFC 2883)",
            dsack.0,
            dsack.0.plus(dsack.1),
            opt(dsack.2)
        ),
        a => g::analysis(a).into(),
    }
}

fn reset_why(c: ResetCause) -> &'static str {
    match c {
        ResetCause::Refused => "回应 SYN：该端口上没有进程在监听",
        ResetCause::Abort => "由仍打开着的一端发出 (SO_LINGER 0、关闭时还有未读数据，或进程崩溃)",
        ResetCause::AfterClose => "由已发送过 FIN 的一端发出：数据到达了已关闭的套接字",
        ResetCause::KeepaliveTimeout => "保活探测无人应答之后发出",
        ResetCause::KeepaliveAnswer => "回应保活探测：对方已不认识这个连接",
        _ => "没有规则匹配 (状态未知)",
    }
}

/// The short label of an event (see `words::label`).
pub(super) fn label(e: &Event, clock: &impl Fn(Timestamp) -> String) -> String {
    let who = g::side(e.side);
    match e.kind {
        EventKind::Handshake { step: 3, rtt_ns } => match rtt_ns {
            Some(rtt) => format!("第3次握手，RTT {}", duration(i128::from(rtt))),
            None => "第3次握手".into(),
        },
        EventKind::Handshake { step, .. } => format!("第{step}次握手"),
        EventKind::SimultaneousOpen => "同时打开 (双方的 SYN 交叉)".into(),
        EventKind::Refused => g::REFUSED.zh.into(),
        EventKind::Close { step, of, variant } => {
            let mut s = match of {
                Some(3) => format!("第{step}次挥手 (共3次)"),
                Some(_) => format!("第{step}次挥手"),
                None => format!("第{step}次挥手：{who}发送 FIN"),
            };
            match variant {
                CloseVariant::ThreeWay if step == 2 => {
                    s.push_str("，FIN+ACK：三报文挥手 (第2、3次合并)")
                }
                CloseVariant::Simultaneous if step == 2 => {
                    s.push_str("，同时关闭：双方的 FIN 交叉")
                }
                _ => {}
            }
            s
        }
        EventKind::HalfClose { .. } => format!("半关闭：{who}在收到对方的 FIN 后仍在发送"),
        EventKind::TimeWait { until } => format!(
            "{who}进入 TIME_WAIT(时间等待)，直到 {} (2MSL = {})",
            clock(until),
            duration(until.nanos_since(e.ts))
        ),
        EventKind::TimeWaitExpired => {
            format!("{who}的 TIME_WAIT 到期 → CLOSED({})", g::CLOSED.zh)
        }
        EventKind::TimeWaitContinues { until } => {
            format!("捕获结束时{who}仍在 TIME_WAIT (直到 {})", clock(until))
        }
        EventKind::Reset { cause } => match cause {
            ResetCause::Unknown => "复位 RST".into(),
            c => format!("复位 RST：{}", g::reset_cause(c)),
        },
        EventKind::Midstream => "中途加入：状态是推测的".into(),
        EventKind::PortReuse {
            previous,
            previous_in_time_wait,
        } => format!(
            "端口重用：与 #{previous} 的四元组相同{}",
            if previous_in_time_wait {
                " (它还在 TIME_WAIT)"
            } else {
                ""
            }
        ),
        EventKind::LastAckLost => "又一个 FIN：最后的 ACK 丢失了".into(),
        EventKind::EcnSetup { mode } => match mode {
            EcnMode::Classic => "协商启用 ECN (经典 ECN，RFC 3168)".into(),
            EcnMode::Accurate => "协商启用精确 ECN (AccECN，RFC 9768)".into(),
            _ => "请求 ECN，被拒绝".into(),
        },
        EventKind::CongestionExperienced => "CE：路由器标记了拥塞".into(),
        EventKind::EcnEcho => "ECE：回显拥塞标记".into(),
        EventKind::WindowReduced => "CWR：发送方已降低速率".into(),
        EventKind::TimeWentBack { ns } => format!("时间倒退 {}", duration(i128::from(ns))),
        EventKind::WindowScaleClamped { shift } => {
            format!("窗口扩大因子 {shift} 超过 14：按 14 处理 (RFC 7323)")
        }
        EventKind::Analysis { what, evidence } => analysis_label(what, &evidence),
        _ => e.kind.name().into(),
    }
}

/// Why the event fired (see `words::why`).
pub(super) fn why(e: &Event, time_wait_ns: i128, bases: super::Bases) -> String {
    match e.kind {
        EventKind::Handshake { step: 1, .. } => "不带 ACK 的 SYN：发送方发起连接".into(),
        EventKind::Handshake { step: 2, .. } => "SYN+ACK：接受对方的 SYN".into(),
        EventKind::Handshake { .. } => "ACK = 服务器的 ISN + 1：确认了 SYN+ACK".into(),
        EventKind::SimultaneousOpen => "自己发过 SYN 的一方又收到了对方的 SYN".into(),
        EventKind::Refused => "用 RST 回应 SYN".into(),
        EventKind::Close {
            variant: CloseVariant::Simultaneous,
            step: 2,
            ..
        } => "这个 FIN 没有确认对方的 FIN (ack < 对方 FIN 的 seq + 1)".into(),
        EventKind::Close {
            variant: CloseVariant::ThreeWay,
            step: 2,
            ..
        } => "第二个 FIN 带着 ack ≥ 第一个 FIN 的 seq + 1".into(),
        EventKind::Close { of: None, .. } => "这个连接的第一个 FIN".into(),
        EventKind::Close { .. } => "一个 FIN，或 ack ≥ FIN 的 seq + 1 的 ACK".into(),
        EventKind::HalfClose { .. } => {
            "这一方的 ACK 表明它已收到对方的 FIN，而它还在发送数据".into()
        }
        EventKind::TimeWait { .. } => format!(
            "自己的 FIN 被确认之后，又收到了对方的 FIN (它对那个 FIN 的 ACK 表明了这一点)；2MSL = {}",
            duration(time_wait_ns)
        ),
        EventKind::TimeWaitExpired => "捕获的时间已超过进入 TIME_WAIT 的时刻 + 2MSL".into(),
        EventKind::TimeWaitContinues { .. } => "捕获先结束了".into(),
        EventKind::Reset { cause } => reset_why(cause).into(),
        EventKind::Midstream => "这个四元组的第一个报文段没有 SYN".into(),
        EventKind::PortReuse { .. } => "已知的四元组上出现了带新 ISN 的纯 SYN".into(),
        EventKind::LastAckLost => "发送方处于 LAST_ACK 时，又发出了 seq 相同的 FIN".into(),
        EventKind::EcnSetup { .. } => {
            "SYN 置了 ECE+CWR (经典 ECN) 或 AE+CWR+ECE (精确 ECN)；这个 SYN+ACK 以 ECE (经典)、AccECN 码点或什么都不置来回应".into()
        }
        EventKind::CongestionExperienced => "IP 头的 ECN 字段为 11 (CE)".into(),
        EventKind::EcnEcho => "握手之后，在经典 ECN 连接上置了 ECE".into(),
        EventKind::WindowReduced => "握手之后置了 CWR".into(),
        EventKind::TimeWentBack { .. } => {
            "时间戳早于该连接的上一个报文段；时长与 RTT 跳过这一段".into()
        }
        EventKind::WindowScaleClamped { .. } => "RFC 7323 §2.3：超过 14 的移位按 14 使用".into(),
        EventKind::Analysis { what, evidence } => super::analysis_why(what, &evidence, bases),
        _ => String::new(),
    }
}

fn write_state(out: &mut Vec<u8>, s: TcpState) {
    out.extend_from_slice(g::state_both(s).as_bytes());
}

fn write_path(out: &mut Vec<u8>, p: &StatePath) {
    for (i, s) in p.states().iter().enumerate() {
        if i > 0 {
            out.extend_from_slice("→".as_bytes());
        }
        write_state(out, *s);
    }
}

/// `客户端 SYN_SENT(同步已发送)→ESTABLISHED(已建立) · 服务器 SYN_RCVD(同步收到)`
pub(super) fn write_states(
    out: &mut Vec<u8>,
    paths: &[StatePath; 2],
    corrected: [bool; 2],
    assumed: bool,
) {
    for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(" · ".as_bytes());
        }
        out.extend_from_slice(g::side(side).as_bytes());
        out.push(b' ');
        if corrected[i] {
            write_state(out, paths[i].after());
            out.extend_from_slice(" (更正：之前显示的那个 ACK 它并没有收到)".as_bytes());
        } else {
            write_path(out, &paths[i]);
        }
    }
    if assumed {
        out.extend_from_slice(" (推测)".as_bytes());
    }
}

/// The close column of the summary table.
pub(super) fn ending_short(f: &Facts, c: &Connection) -> String {
    let half = if c.close().half_close() {
        "，半关闭"
    } else {
        ""
    };
    match f.ending {
        Ending::Refused => g::REFUSED.zh.into(),
        Ending::Reset { by, cause } => {
            format!("{}复位：{}", g::side(by), g::reset_cause(cause))
        }
        Ending::Closed {
            variant: Some(v),
            first,
        } => match v {
            CloseVariant::Simultaneous => format!("{}{half}", g::SIMULTANEOUS_CLOSE.zh),
            v => format!("{}，{}先关闭{half}", g::close_variant(v), g::side(first)),
        },
        Ending::Closed {
            variant: None,
            first,
        } => format!("双方都发了 FIN，{}在先{half}", g::side(first)),
        Ending::FinOneWay { by } => format!("{}发了 FIN{half}", g::side(by)),
        Ending::Unanswered => "无应答".into(),
        _ => match f.retired {
            Retired::Idle => "空闲 (已清除)".into(),
            Retired::Evicted => "已清除 (连接数上限)".into(),
            _ => "仍打开".into(),
        },
    }
}

/// The connection in one sentence, under its ladder.
pub(super) fn story(c: &Connection, f: &Facts, clock: &impl Fn(Timestamp) -> String) -> String {
    let mut parts: Vec<String> = Vec::new();
    let h = c.handshake();
    if f.ending == Ending::Refused {
        parts.push("连接被拒绝：SYN 被 RST 回应".into());
    } else if let Some(rtt) = h.rtt_ns() {
        parts.push(format!("三次握手用时 {}", duration(i128::from(rtt))));
    } else if h.simultaneous() {
        parts.push("以同时打开建立连接".into());
    } else if c.midstream() {
        parts.push("中途加入 (没有看到握手)".into());
    } else if f.ending == Ending::Unanswered {
        parts.push("SYN 没有得到回应".into());
    } else if h.rtt_ambiguous() {
        parts.push("连接已建立 (RTT 未知：SYN 重发过，看不出回应的是哪一份)".into());
    }
    if h.syn_count() > 1 {
        parts.push(format!("共发了 {} 个 SYN", h.syn_count()));
    }
    let (cb, sb) = (c.client().bytes(), c.server().bytes());
    if cb + sb > 0 {
        parts.push(if cb == sb {
            format!("双向各传 {cb} 字节")
        } else {
            format!("客户端发了 {cb} 字节，服务器发了 {sb} 字节")
        });
    }
    if c.close().half_close() {
        parts.push(format!(
            "半关闭 (第一个 FIN 之后又传了 {} 字节)",
            c.close().half_close_bytes()
        ));
    }
    let close = match f.ending {
        Ending::Refused => None,
        Ending::Reset { by, cause } => {
            Some(format!("被{}复位 ({})", g::side(by), g::reset_cause(cause)))
        }
        Ending::Closed {
            variant: Some(CloseVariant::Simultaneous),
            ..
        } => Some("双方同时关闭".into()),
        Ending::Closed {
            variant: Some(v),
            first,
        } => Some(format!(
            "{}先关闭 ({})",
            g::side(first),
            g::close_variant(v)
        )),
        Ending::Closed {
            variant: None,
            first,
        } => Some(format!("双方都发了 FIN，{}在先", g::side(first))),
        Ending::FinOneWay { by } => Some(format!("{}发了一个 FIN", g::side(by))),
        Ending::Unanswered => None,
        _ => Some(match f.retired {
            Retired::Idle => "空闲超时后被遗忘".into(),
            Retired::Evicted => "因 --max-connections 被丢弃".into(),
            _ => "捕获结束时仍是打开的".into(),
        }),
    };
    let tw: Vec<String> = [Side::Client, Side::Server]
        .into_iter()
        .zip(f.time_wait)
        .filter_map(|(s, tw)| {
            let tw = tw?;
            let s = g::side(s);
            Some(match tw.end {
                None => format!("{s}处于 TIME_WAIT，直到 {}", clock(tw.until)),
                Some(TimeWaitEnd::Expired) => format!(
                    "{s}在 TIME_WAIT 停留了 2MSL ({})",
                    duration(tw.until.nanos_since(tw.entered))
                ),
                Some(TimeWaitEnd::Reused) => {
                    format!("{s}一直处于 TIME_WAIT，直到新的 SYN 重用了这个端口")
                }
                Some(_) => format!("{s}处于 TIME_WAIT，直到被 RST 提前结束"),
            })
        })
        .collect();
    match (close, tw.is_empty()) {
        (Some(cl), false) => parts.push(format!("{cl}，{}", tw.join("，"))),
        (Some(cl), true) => parts.push(cl),
        (None, false) => parts.push(tw.join("，")),
        (None, true) => {}
    }
    if let Some(k) = f.keepalive {
        parts.push(format!("{}发了 {} 个保活探测", g::side(k.by), k.probes));
    }
    if f.zero_window_ads > 0 {
        parts.push(format!("{} 次零窗口通告", f.zero_window_ads));
    }
    for (side, state) in [Side::Client, Side::Server].into_iter().zip(f.states) {
        if state == TcpState::Unknown && !c.midstream() {
            parts.push(format!(
                "捕获中看不出{}后来怎样了 (它从未回应)",
                g::side(side)
            ));
        }
    }
    if f.ending != Ending::Refused {
        parts.push(match f.retransmissions {
            0 => "没有重传".into(),
            n => format!("{n} 次重传"),
        });
    }
    let mut s = parts.join("；");
    s.push('。');
    s
}

/// The row standing for the segments between a long ladder's first and last.
pub(super) fn folded(n: usize, kept: usize) -> String {
    format!("… 另有 {n} 个报文段没有画出 (只画出最前和最后各 {kept} 个)")
}

/// Ladders left out to keep memory bounded.
pub(super) fn not_drawn(n: u64) -> String {
    format!("{n} 个连接没有画出：同时打开的连接超过 5,000 个 (用 --conn N 单独画一个)")
}

/// The closing summary line of a text view.
pub(super) fn summary_line(
    c: &Counts,
    kernel: Option<CaptureStats>,
    shard: Option<&crate::views::ShardRun>,
) -> String {
    let mut line = format!(
        "汇总：{} 帧 ({} TCP，{} UDP，{} ICMP，{} ARP，{} IP 分片，{} 其他，{} 无法解码)，{} 个 TCP 连接，{} 帧被 snaplen 截断",
        c.frames,
        c.tcp,
        c.udp,
        c.icmp,
        c.arp,
        c.fragments,
        c.other,
        c.undecodable,
        c.connections,
        c.cut_by_snaplen
    );
    if c.protected > 0 {
        let _ = write!(
            line,
            "；其中 {} 个无法解码的帧是受保护 (加密) 的 802.11 帧",
            c.protected
        );
    }
    if let Some(k) = kernel {
        let _ = write!(
            line,
            "；内核：收到 {}，丢弃 {}，网卡丢弃 {}",
            k.received, k.dropped, k.if_dropped
        );
    }
    if c.evicted_idle + c.evicted_cap > 0 {
        let _ = write!(
            line,
            "，{} 个因空闲被清除，{} 个因 --max-connections 被清除",
            c.evicted_idle, c.evicted_cap
        );
    }
    if c.time_went_back > 0 {
        let _ = write!(
            line,
            "，{} 个报文段的时间戳早于之前的报文段",
            c.time_went_back
        );
    }
    if let Some(s) = shard {
        let _ = write!(
            line,
            "；分片 {}/{}：读取 {} 帧，其中 {} 帧属于其他分片 (已跳过)",
            s.shard.index, s.shard.count, s.frames_read, s.skipped
        );
    }
    line
}

/// Why a checksum was not judged (`-v`).
pub(super) fn checksum_unverified(v: synack_core::decode::checksum::Verdict) -> &'static str {
    use synack_core::decode::checksum::Verdict;
    match v {
        Verdict::Offload => "未校验：校验和卸载给了网卡",
        Verdict::Incomplete => "未校验：没有全部捕获",
        Verdict::Correct | Verdict::Incorrect { .. } => "",
    }
}

fn more(n: usize) -> String {
    if n > PRESSURE_NAMED {
        format!(" (另有 {} 个)", n - PRESSURE_NAMED)
    } else {
        String::new()
    }
}

/// The pressure footer (see `words::pressure_line`).
pub(super) fn pressure_line(
    p: &PressureFacts,
    clock: &impl Fn(Timestamp) -> String,
) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let tw: Vec<&HostTimeWait> = p.time_wait.iter().filter(|h| h.peak >= 2).collect();
    if !tw.is_empty() {
        let named: Vec<String> = tw
            .iter()
            .take(PRESSURE_NAMED)
            .map(|h| {
                format!(
                    "{} 上 {} 个，于 {} (作为服务器 {} 个，作为客户端 {} 个)",
                    h.host,
                    h.peak,
                    clock(h.at),
                    h.peak_as_server,
                    h.peak_as_client
                )
            })
            .collect();
        parts.push(format!(
            "同一时刻处于 TIME_WAIT 的连接最多：{}{}",
            named.join("，"),
            more(tw.len())
        ));
    }
    let half: Vec<&ServerLoad> = p
        .servers
        .iter()
        .filter(|s| s.half_open_peak >= HALF_OPEN_WORTH_NAMING)
        .collect();
    if !half.is_empty() {
        let mut by_peak = half.clone();
        by_peak.sort_by_key(|s| std::cmp::Reverse(s.half_open_peak));
        let named: Vec<String> = by_peak
            .iter()
            .take(PRESSURE_NAMED)
            .map(|s| {
                let at = s
                    .half_open_at
                    .map_or(String::new(), |t| format!("，于 {}", clock(t)));
                format!("{} 上 {} 个{at}", s.server, s.half_open_peak)
            })
            .collect();
        parts.push(format!(
            "同一时刻的半连接最多：{}{}",
            named.join("，"),
            more(half.len())
        ));
    }
    let unanswered: Vec<&ServerLoad> = p
        .servers
        .iter()
        .filter(|s| s.synacks_unanswered > 0)
        .collect();
    if !unanswered.is_empty() {
        let named: Vec<String> = unanswered
            .iter()
            .take(PRESSURE_NAMED)
            .map(|s| {
                format!(
                    "{} 发出 {} 个 (重发过的 {} 个：保留了状态；只发一次的 {} 个：没有保留状态，如同 SYN cookies)",
                    s.server, s.synacks_unanswered, s.synacks_resent, s.synacks_stateless
                )
            })
            .collect();
        parts.push(format!(
            "从未得到应答的 SYN-ACK：{}{}",
            named.join("，"),
            more(unanswered.len())
        ));
    }
    let dropped: Vec<&ServerLoad> = p
        .servers
        .iter()
        .filter(|s| s.dropped_syns_while_listening())
        .collect();
    if !dropped.is_empty() {
        let named: Vec<String> = dropped
            .iter()
            .take(PRESSURE_NAMED)
            .map(|s| {
                format!(
                    "发往 {} 的 {} 次连接尝试 ({} 个 SYN)，而它同时完成了 {} 次握手：是它丢弃了这些 SYN，它的监听队列满了",
                    s.server, s.syns_unanswered, s.syn_segments_unanswered, s.handshakes
                )
            })
            .collect();
        parts.push(format!(
            "从未得到应答的 SYN：{}{}",
            named.join("，"),
            more(dropped.len())
        ));
    }
    let ports: Vec<&ClientPorts> = p
        .clients
        .iter()
        .filter(|c| c.peak_ports >= PORTS_WORTH_NAMING)
        .collect();
    if !ports.is_empty() {
        let named: Vec<String> = ports
            .iter()
            .take(PRESSURE_NAMED)
            .map(|c| {
                format!(
                    "{} 用了 {} 个，于 {} ({:.1}%)",
                    c.host,
                    c.peak_ports,
                    clock(c.at),
                    c.share_of_default_range(),
                )
            })
            .collect();
        parts.push(format!(
            "一个 TIME_WAIT 时长 ({}) 内用过的本地端口，对照 Linux 默认临时端口范围 {}–{} 的 {} 个：{}{}",
            duration(p.span_ns),
            LINUX_EPHEMERAL_PORTS.0,
            LINUX_EPHEMERAL_PORTS.1,
            linux_ephemeral_port_count(),
            named.join("，"),
            more(ports.len())
        ));
    }
    let again: Vec<&ClientPorts> = p
        .clients
        .iter()
        .filter(|c| c.reused_within_span > 0)
        .collect();
    if !again.is_empty() {
        let named: Vec<String> = again
            .iter()
            .take(PRESSURE_NAMED)
            .map(|c| format!("{} 重用 {} 个", c.host, c.reused_within_span))
            .collect();
        parts.push(format!(
            "{} 内再次使用的本地端口：{}{}",
            duration(p.span_ns),
            named.join("，"),
            more(again.len())
        ));
    }
    if p.port_reuse > 0 {
        parts.push(format!(
            "{} 个四元组被重用 (其中 {} 个跨过了 TIME_WAIT)",
            p.port_reuse, p.port_reuse_in_time_wait
        ));
    }
    let c = p.capped;
    if c.hosts + c.servers + c.client_ports > 0 {
        parts.push(format!(
            "未计入 (达到上限，以上数字是下限)：{} 条 TIME_WAIT 记录，{} 次连接尝试，{} 个客户端端口",
            c.hosts, c.servers, c.client_ports
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("压力：{}", parts.join("；")))
}

/// The SYN-flood warning for one server, with its evidence.
pub(super) fn syn_flood_warning(s: &ServerLoad) -> String {
    format!(
        "警告：{} 遭到 SYN 洪水攻击：{} 次连接尝试中有 {} 次没有完成 ({} 个 SYN-ACK 未被应答，{} 个 SYN 未被应答)，一秒内最多 {} 个 SYN，来自{} {} 个源地址，同一时刻最多 {} 个半连接",
        s.server,
        s.attempts,
        s.incomplete(),
        s.synacks_unanswered,
        s.syns_unanswered,
        s.peak_syn_rate,
        if s.sources_capped { "至少" } else { "" },
        s.sources,
        s.half_open_peak
    )
}

/// Why a frame could not be decoded.
pub(super) fn decode_error(e: &synack_core::decode::DecodeError) -> String {
    use synack_core::decode::net::NetError;
    use synack_core::decode::DecodeError as D;
    match e {
        D::Link(l) => format!(
            "{} 头部被截断：需要 {} 字节，捕获了 {} 字节",
            l.kind.name(),
            l.needed,
            l.got
        ),
        D::Net(NetError::Truncated { version, got }) => {
            format!("IPv{version} 头部被截断：捕获了 {got} 字节")
        }
        D::Net(NetError::Invalid { version, reason }) => {
            let why = match *reason {
                "version field is not 4" => "版本字段不是 4",
                "version field is not 6" => "版本字段不是 6",
                "header length field below 5 words" => "首部长度字段小于 5 个字 (32 位)",
                other => other,
            };
            format!("IPv{version} 头部无效：{why}")
        }
        D::Net(NetError::BadExtension) => "IPv6 扩展头部无效".into(),
        D::Net(NetError::ArpTruncated { got }) => format!("ARP 报文被截断：捕获了 {got} 字节"),
        D::TcpTruncated { got } => format!("TCP 头部被截断：捕获了 {got} 字节"),
        D::TcpBadHeaderLen { words } => {
            format!("TCP 头部无效：数据偏移 {words} 个字 (最少 5 个)")
        }
        D::UdpTruncated { got } => format!("UDP 头部被截断：8 字节中捕获了 {got} 字节"),
        D::IcmpTruncated { got } => format!("ICMP 头部被截断：捕获了 {got} 字节"),
        D::UnsupportedLink { dlt } => format!("不支持链路类型 {dlt}"),
        other => other.to_string(),
    }
}
