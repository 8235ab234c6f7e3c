//! The Chinese terms synack uses, one table: the source of truth for
//! `--lang zh`. docs/glossary.zh.md is this table written out for reviewers
//! (a test checks that the two agree; `SYNACK_BLESS=1 cargo test glossary`
//! rewrites the file). The terms are those of the standard Chinese textbook,
//! 谢希仁《计算机网络》, as the course notes synack's readers learn from use
//! them; a state keeps its RFC 9293 name beside the Chinese one:
//! `SYN_SENT(同步已发送)`.

use synack_core::track::{Analysis, CloseVariant, ResetCause, Side, TcpState};

/// One term: the English synack prints, the Chinese it prints under
/// `--lang zh`, and a note for the reviewer (where the term comes from,
/// how it is used).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Term {
    pub(crate) en: &'static str,
    pub(crate) zh: &'static str,
    pub(crate) note: &'static str,
}

macro_rules! terms {
    ($( $id:ident: $en:literal => $zh:literal, $note:literal; )*) => {
        // Some terms are in the table for the reader only (the sentences use the words).
        $( #[allow(dead_code)] pub(crate) const $id: Term = Term { en: $en, zh: $zh, note: $note }; )*
        /// Every term, in the order of the table.
        pub(crate) const ALL: &[Term] = &[$($id),*];
    };
}

terms! {
    // States (RFC 9293), shown as `NAME(中文)`.
    CLOSED: "CLOSED" => "关闭", "state: no connection";
    LISTEN: "LISTEN" => "监听", "state; the notes also say 收听";
    SYN_SENT: "SYN_SENT" => "同步已发送", "state: sent a SYN";
    SYN_RCVD: "SYN_RCVD" => "同步收到", "state: got a SYN, answered SYN+ACK (RFC: SYN-RECEIVED)";
    ESTABLISHED: "ESTABLISHED" => "已建立", "state; 连接已建立 in sentences";
    FIN_WAIT_1: "FIN_WAIT_1" => "终止等待1", "state: sent its FIN";
    FIN_WAIT_2: "FIN_WAIT_2" => "终止等待2", "state: its FIN was acknowledged";
    CLOSE_WAIT: "CLOSE_WAIT" => "关闭等待", "state: got the peer's FIN";
    CLOSING: "CLOSING" => "同时关闭", "state: FINs crossed (the notes: 闭合中)";
    LAST_ACK: "LAST_ACK" => "最后确认", "state: sent its FIN after the peer's";
    TIME_WAIT: "TIME_WAIT" => "时间等待", "state: waits 2MSL";
    UNKNOWN: "UNKNOWN" => "未知", "synack's own: nothing in the capture shows the state";
    // Who.
    CLIENT: "client" => "客户端", "the side that sent the first SYN";
    SERVER: "server" => "服务器", "the notes also say 服务端";
    // The lifecycle.
    HANDSHAKE: "three-way handshake" => "三次握手", "第1次握手 … 第3次握手 for its steps";
    CLOSE: "four-way close" => "四次挥手", "第1次挥手 … 第4次挥手 for its steps (挥手, a wave)";
    THREE_WAY_CLOSE: "three-packet close" => "三报文挥手", "the second and third steps merged: FIN+ACK";
    SIMULTANEOUS_OPEN: "simultaneous open" => "同时打开", "SYNs crossed";
    SIMULTANEOUS_CLOSE: "simultaneous close" => "同时关闭", "FINs crossed";
    HALF_CLOSE: "half-close" => "半关闭", "one side closed, the other still sends";
    REFUSED: "connection refused" => "连接被拒绝", "a SYN answered by RST";
    RESET: "reset (RST)" => "复位", "the notes also say 重置";
    MSL: "2MSL" => "2MSL", "最长报文段寿命 (MSL) ×2: how long TIME_WAIT lasts";
    MIDSTREAM: "joined mid-stream" => "中途加入", "no handshake in the capture";
    PORT_REUSE: "port reuse" => "端口重用", "a new connection on a 4-tuple seen before";
    // Reset causes.
    RESET_ABORT: "abort" => "异常终止", "RST from an open endpoint (SO_LINGER 0, unread data, crash)";
    RESET_AFTER_CLOSE: "after close" => "关闭后收到数据", "RST from an endpoint that had sent its FIN";
    RESET_KEEPALIVE_TIMEOUT: "keep-alive timeout" => "保活超时", "RST after unanswered probes";
    RESET_KEEPALIVE_ANSWER: "answering a keep-alive" => "回应保活探测", "the peer forgot the connection";
    RESET_UNKNOWN: "cause unknown" => "原因不明", "no rule matched";
    // Sequence analysis (Wireshark's tcp.analysis names in the JSON).
    KEEP_ALIVE: "keep-alive probe" => "保活探测", "保活计时器 (keep-alive timer) sends 探测报文段";
    KEEP_ALIVE_ACK: "keep-alive ACK" => "保活确认", "the answer to a probe";
    RETRANSMISSION: "retransmission" => "重传", "超时重传 when the timer ran out";
    FAST_RETRANSMISSION: "fast retransmission" => "快速重传", "after three duplicate ACKs";
    SPURIOUS_RETRANSMISSION: "spurious retransmission" => "虚假重传", "resent data the peer already had";
    OUT_OF_ORDER: "out-of-order" => "乱序", "a segment that arrived late";
    DUPLICATE_ACK: "duplicate ACK" => "重复确认", "the same ack again";
    LOST_SEGMENT: "previous segment not captured" => "前一报文段未捕获", "a gap in the sequence numbers";
    ACK_LOST_SEGMENT: "ACKs a segment not captured" => "确认了未捕获的报文段", "the capture missed it";
    ZERO_WINDOW: "zero window" => "零窗口", "the receiver's buffer is full";
    ZERO_WINDOW_PROBE: "zero-window probe" => "零窗口探测", "the persist timer's probe";
    ZERO_WINDOW_PROBE_ACK: "zero-window probe ACK" => "零窗口探测确认", "the answer to a probe";
    WINDOW_UPDATE: "window update" => "窗口更新", "the window opens again";
    WINDOW_FULL: "window full" => "窗口已满", "the sender filled the peer's window";
    REUSED_PORTS: "reused ports" => "端口重用", "Wireshark's name for a new SYN on an old 4-tuple";
    DSACK: "D-SACK" => "D-SACK", "duplicate SACK (RFC 2883): kept as is";
    // Words of the packet lines, ladders and tables.
    SEQ: "sequence number" => "序号", "seq";
    ACK: "acknowledgment number" => "确认号", "ack";
    WINDOW: "window" => "窗口", "win";
    SEGMENT: "segment" => "报文段", "a TCP packet";
    FLAGS: "flags SYN ACK PSH FIN RST URG" => "标志位 同步 确认 推送 终止 复位 紧急", "flags stay as SYN, ACK, … on lines and ladders";
    RTT: "RTT" => "往返时间", "RTT kept as is on lines";
    IDLE: "idle" => "空闲", "a gap folded on a ladder";
    BACKLOG: "listen backlog" => "半连接/全连接队列 (backlog)", "listen(backlog)";
    SYN_FLOOD: "SYN flood" => "SYN 洪水攻击", "the warning's words";
    SYN_COOKIES: "SYN cookies" => "SYN cookies", "kept as is";
    HALF_OPEN: "half-open" => "半连接", "SYN received, handshake not complete";
    ADDR_IN_USE: "Address already in use" => "地址已被占用", "EADDRINUSE";
    REUSEADDR: "SO_REUSEADDR" => "地址重用 (SO_REUSEADDR)", "the socket option keeps its name";
    EPHEMERAL_PORTS: "ephemeral ports" => "临时端口", "ip_local_port_range";
    FULL_DUPLEX: "full duplex" => "全双工", "data flows both ways at once";
    // The pictures and the report (their other words: src/lang/ui.rs, docs/ui.zh.md).
    LADDER: "ladder" => "梯形图", "the two lanes with arrows between (--view ladder, svg)";
    TIME_SEQUENCE_GRAPH: "time-sequence graph" => "时间-序号图", "Stevens' and tcptrace's graph (--view graph)";
    CAPTURE_POINT: "capture point" => "捕获点", "where the capture saw the packets, between the hosts";
    RECEIVE_WINDOW: "receive window" => "接收窗口", "ACK + window: how far the sender may send";
    THROUGHPUT: "throughput" => "吞吐量", "bytes per second, shown as bit/s";
}

/// A state's Chinese name.
pub(crate) fn state(s: TcpState) -> &'static str {
    match s {
        TcpState::Closed => CLOSED.zh,
        TcpState::Listen => LISTEN.zh,
        TcpState::SynSent => SYN_SENT.zh,
        TcpState::SynRcvd => SYN_RCVD.zh,
        TcpState::Established => ESTABLISHED.zh,
        TcpState::FinWait1 => FIN_WAIT_1.zh,
        TcpState::FinWait2 => FIN_WAIT_2.zh,
        TcpState::CloseWait => CLOSE_WAIT.zh,
        TcpState::Closing => CLOSING.zh,
        TcpState::LastAck => LAST_ACK.zh,
        TcpState::TimeWait => TIME_WAIT.zh,
        _ => UNKNOWN.zh,
    }
}

/// A state as shown under `--lang zh`: the RFC name, then the textbook's.
pub(crate) fn state_both(s: TcpState) -> String {
    format!("{}({})", s.name(), state(s))
}

/// A state as the run's language shows it: `SYN_SENT`, or
/// `SYN_SENT(同步已发送)` under `--lang zh`.
pub(crate) fn state_shown(s: TcpState) -> String {
    if super::zh() {
        state_both(s)
    } else {
        s.name().to_string()
    }
}

/// Client or server, in Chinese.
pub(crate) fn side(s: Side) -> &'static str {
    match s {
        Side::Client => CLIENT.zh,
        Side::Server => SERVER.zh,
    }
}

/// Why a reset happened, in a word or two.
pub(crate) fn reset_cause(c: ResetCause) -> &'static str {
    match c {
        ResetCause::Refused => REFUSED.zh,
        ResetCause::Abort => RESET_ABORT.zh,
        ResetCause::AfterClose => RESET_AFTER_CLOSE.zh,
        ResetCause::KeepaliveTimeout => RESET_KEEPALIVE_TIMEOUT.zh,
        ResetCause::KeepaliveAnswer => RESET_KEEPALIVE_ANSWER.zh,
        _ => RESET_UNKNOWN.zh,
    }
}

/// How a close went.
pub(crate) fn close_variant(v: CloseVariant) -> &'static str {
    match v {
        CloseVariant::FourWay => CLOSE.zh,
        CloseVariant::ThreeWay => THREE_WAY_CLOSE.zh,
        CloseVariant::Simultaneous => SIMULTANEOUS_CLOSE.zh,
        _ => "不寻常的关闭",
    }
}

/// An analysis finding's name (the label without its numbers).
pub(crate) fn analysis(a: Analysis) -> &'static str {
    match a {
        Analysis::KeepAlive => KEEP_ALIVE.zh,
        Analysis::KeepAliveAck => KEEP_ALIVE_ACK.zh,
        Analysis::Retransmission => RETRANSMISSION.zh,
        Analysis::FastRetransmission => FAST_RETRANSMISSION.zh,
        Analysis::SpuriousRetransmission => SPURIOUS_RETRANSMISSION.zh,
        Analysis::OutOfOrder => OUT_OF_ORDER.zh,
        Analysis::DuplicateAck => DUPLICATE_ACK.zh,
        Analysis::LostSegment => LOST_SEGMENT.zh,
        Analysis::AckLostSegment => ACK_LOST_SEGMENT.zh,
        Analysis::ZeroWindow => ZERO_WINDOW.zh,
        Analysis::ZeroWindowProbe => ZERO_WINDOW_PROBE.zh,
        Analysis::ZeroWindowProbeAck => ZERO_WINDOW_PROBE_ACK.zh,
        Analysis::WindowUpdate => WINDOW_UPDATE.zh,
        Analysis::WindowFull => WINDOW_FULL.zh,
        Analysis::ReusedPorts => REUSED_PORTS.zh,
        Analysis::Dsack => DSACK.zh,
        _ => "分析",
    }
}

/// The glossary as docs/glossary.zh.md holds it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn markdown() -> String {
    let mut s = String::from(
        "# synack 中文术语表 (glossary for `--lang zh`)\n\n\
         Written out from `src/lang/glossary.rs`, the one source of truth (a test checks\n\
         that this file agrees with it; `SYNACK_BLESS=1 cargo test --lib glossary` rewrites\n\
         it). Terms follow 谢希仁《计算机网络》. A state is shown with its RFC 9293 name\n\
         first, then the Chinese: `SYN_SENT(同步已发送)`. Steps are counted as the textbook\n\
         counts them: 第1次握手 … 第3次握手, 第1次挥手 … 第4次挥手. Flag names (SYN, ACK,\n\
         FIN, RST, PSH, URG), seq/ack/win/len, option names and RFC state names stay in\n\
         English on every line: they are what the packets and the RFCs say. JSON stays\n\
         English: it is a contract with scripts.\n\n\
         | English | 中文 | note |\n|---|---|---|\n",
    );
    for t in ALL {
        s.push_str(&format!("| {} | {} | {} |\n", t.en, t.zh, t.note));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glossary_file_agrees_with_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/glossary.zh.md");
        let want = markdown();
        if std::env::var_os("SYNACK_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} differs from src/lang/glossary.rs: run SYNACK_BLESS=1 cargo test --lib glossary",
            path.display()
        );
    }

    #[test]
    fn every_state_has_its_textbook_name() {
        for s in synack_core::track::state::ALL_STATES {
            assert!(!state(s).is_empty() && state(s).chars().all(|c| !c.is_ascii_lowercase()));
        }
        assert_eq!(state_both(TcpState::SynSent), "SYN_SENT(同步已发送)");
        assert_eq!(state_both(TcpState::TimeWait), "TIME_WAIT(时间等待)");
    }
}
