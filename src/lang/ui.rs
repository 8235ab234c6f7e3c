//! The words of the pictures (`--view svg`, `--view graph`) and of the
//! HTML report's page, in English and in Chinese: one table, as the
//! glossary is one table. The report's script gets the whole table in the
//! run's language (its `ui` object, keyed by the lower-cased names below),
//! so it has no English of its own. docs/ui.zh.md is this table written
//! out for reviewers (a test checks that the two agree;
//! `SYNACK_BLESS=1 cargo test --lib ui_file` rewrites it), and the tests
//! that look for English left in Chinese pictures and pages read it.
//!
//! `{name}` in a text is filled in by [`Text::fill`] (or by the page's
//! script); the rest is said as it stands. Chinese terms are the
//! glossary's: 客户端, 服务器, 重传, 零窗口…; flag names (SYN, ACK, FIN,
//! RST), RFC state names and units (µs, ms, s, bit/s) stay as they are.

use std::fmt::Display;

/// One text, in both languages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Text {
    /// Its name for the page's script (`ui.timeline`).
    pub(crate) key: &'static str,
    pub(crate) en: &'static str,
    pub(crate) zh: &'static str,
}

impl Text {
    /// The text in the run's language.
    pub(crate) fn get(self) -> &'static str {
        super::pick(self.en, self.zh)
    }

    /// The text in the run's language with its `{name}`s filled in.
    pub(crate) fn fill(self, args: &[(&str, &dyn Display)]) -> String {
        fill(self.get(), args)
    }
}

/// `{name}` replaced by its value; a name without a value stays as written.
pub(crate) fn fill(text: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, v))
        }) {
            Some((close, v)) => {
                out.push_str(&v.to_string());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

macro_rules! texts {
    ($( $id:ident: $en:literal => $zh:literal; )*) => {
        $( pub(crate) const $id: Text = Text { key: stringify!($id), en: $en, zh: $zh }; )*
        /// Every text, in the order of the table.
        pub(crate) const ALL: &[Text] = &[$($id),*];
    };
}

texts! {
    // Who, and words several places use.
    CLIENT: "client" => "客户端";
    SERVER: "server" => "服务器";
    CLIENT_SIDE: "client side" => "客户端一侧";
    SERVER_SIDE: "server side" => "服务器一侧";
    DATA: "data" => "数据";
    RTT: "RTT" => "往返时间";
    WHY: "why: " => "依据：";
    // The ladder picture (--view svg).
    LADDER_TITLE: "#{id} client {client} ⇄ server {server}" => "#{id} 客户端 {client} ⇄ 服务器 {server}";
    LADDER_HEAD: "#{id}  client {client}  ⇄  server {server}" => "#{id}  客户端 {client}  ⇄  服务器 {server}";
    CAPTION_TIME: "Time runs down, linear between rows; rows are at least 24 px apart, a longer gap is shortened (its length written) and one of 1 s or more folded."
        => "时间向下推移，两行之间按时间成比例；相邻两行至少相隔 24 像素，更长的间隔被缩短 (旁边写出其长度)，1 秒及以上的间隔被折叠。";
    CAPTION_BOTH: "The capture point (dashed) sits between the lanes in proportion to the shortest round trips it saw: client side {client} (a server segment to the client's first ACK of it), server side {server} (a client segment to the server's)."
        => "捕获点 (虚线) 按它看到的最短往返时间的比例画在两条时间线之间：客户端一侧 {client} (服务器的报文段到客户端第一次确认它)，服务器一侧 {server} (客户端的报文段到服务器确认它)。";
    CAPTION_ONE: "Only the {side} round trip was seen ({rtt}): the capture point (dashed) is drawn midway and both sides' transit taken as half of it."
        => "只看到了{side}的往返时间 ({rtt})：捕获点 (虚线) 画在正中，两侧的传输时间各取它的一半。";
    CAPTION_NONE: "No segment was seen acknowledged: transit unknown, arrows drawn level at their capture time; the capture point (dashed) is drawn midway."
        => "没有看到任何报文段被确认：传输时间未知，箭头按捕获时刻水平画出；捕获点 (虚线) 画在正中。";
    CAPTION_ARROWS: "Each arrow leaves its sender half that side's round trip before its capture time and arrives half the other side's after; host delays count as transit."
        => "每个箭头在捕获时刻之前半个本侧往返时间离开发送方，在捕获时刻之后半个对侧往返时间到达接收方；主机的处理延迟也算作传输时间。";
    TIME_S: "time (s)" => "时间 (秒)";
    FOLDED_ROWS: "⋮ {n} segments folded, {gap} ⋮" => "⋮ 折叠了 {n} 个报文段，{gap} ⋮";
    FOLDED_IDLE: "⋮ {gap} idle ⋮" => "⋮ 空闲 {gap} ⋮";
    CAPTURE_POINT: "capture point" => "捕获点";
    ARROW_ACK_ONLY: "ACK only" => "仅 ACK";
    ARROW_FIN: "FIN (hollow head)" => "FIN (空心箭头)";
    ARROW_FLAGGED: "flagged by analysis" => "分析标出的报文段";
    ARROW_PROBE: "probe" => "探测";
    NOT_DRAWN_MANY: "{n} more connections not drawn (at most {max} pictures a document): pick one with --conn N"
        => "另有 {n} 个连接没有画出 (一个文档最多 {max} 幅图)：用 --conn N 选出一个";
    NOTHING_TO_DRAW: "no TCP connection to draw" => "没有可画的 TCP 连接";
    // The time-sequence graph (--view graph).
    GRAPH_TITLE: "#{id} {who} {from} → {peer} {to}: time-sequence graph" => "#{id} {who} {from} → {peer} {to}：时间-序号图";
    GRAPH_HEAD: "#{id}  {who} {from} → {peer} {to}: time-sequence graph" => "#{id}  {who} {from} → {peer} {to}：时间-序号图";
    GRAPH_CAPTION: "Bytes the {who} sent (relative sequence numbers, up) over time (across); the {peer}'s ACKs, receive window and SACK blocks. Marks on one pixel column are merged."
        => "{who}发送的字节 (相对序号，纵轴) 随时间 (横轴) 的变化；{peer}的确认、接收窗口和 SACK 块。落在同一像素列上的标记合并画出。";
    SEQ_AXIS: "relative sequence number" => "相对序号";
    WINDOW_ABOVE: "receive window above this scale: drawn on the top edge" => "接收窗口超出此刻度：画在上边缘";
    ONLY_FIRST: "only the first {max} segments are drawn ({n} more)" => "只画出了前 {max} 个报文段 (另有 {n} 个)";
    RECEIVE_WINDOW: "receive window (ACK + window)" => "接收窗口 (ACK + 窗口)";
    SACK_BLOCK: "SACK block" => "SACK 块";
    TIME_AXIS: "time (s) since the connection's first segment" => "时间 (秒)，从连接的第一个报文段算起";
    THROUGHPUT: "throughput" => "吞吐量";
    THROUGHPUT_CAPTION: "bytes sent per 1/{bins} of the time (solid, resends included) and bytes newly acknowledged (dashed), as a rate"
        => "每 1/{bins} 时长内发送的字节 (实线，含重传) 和新确认的字节 (虚线)，折算为速率";
    RTT_TIMESTAMPS: "from TCP timestamps (the ACK's TSecr names the segment)" => "取自 TCP 时间戳 (ACK 的 TSecr 指明它回应的报文段)";
    RTT_PAIRS: "from segment–ACK pairs (Karn's rule: resent segments are not timed)" => "取自报文段–确认配对 (Karn 算法：重传的报文段不计时)";
    RTT_CAPTION: "from the capture point to the {peer} and back, {method}; {n} samples" => "从捕获点到{peer}再返回，{method}；{n} 个样本";
    // The report's page (synack report).
    PAGE_TITLE: "synack report: {files}" => "synack 报告：{files}";
    TIMELINE: "Timeline" => "时间线";
    TIMELINE_HINT: "One bar per connection, from its first segment to its last, coloured by how it ended. Click a bar to open the connection."
        => "每个连接一条横条，从它的第一个报文段画到最后一个，颜色表示它如何结束。点击横条打开这个连接。";
    CONNECTIONS: "Connections" => "连接";
    F_ADDRESS: "address" => "地址";
    F_ADDRESS_EXAMPLE: "10.0.0.1 or :443" => "10.0.0.1 或 :443";
    CLOSE: "close" => "关闭";
    F_ANY: "any" => "全部";
    TIME_WAIT: "TIME_WAIT" => "TIME_WAIT(时间等待)";
    F_CLIENT_HOLDS: "client holds it" => "客户端处于时间等待";
    F_SERVER_HOLDS: "server holds it" => "服务器处于时间等待";
    F_NOBODY: "nobody" => "双方都没有";
    F_RETRANS: "with retransmissions" => "有重传";
    TABLE_HINT: "Click a row to open its connection. A grey number: no ladder or graph for it in this report (see the line at the top)."
        => "点击一行打开这个连接。编号为灰色：本报告没有它的梯形图和时间-序号图 (见顶部的说明)。";
    EARLIER_ROWS: "◀ earlier rows" => "◀ 前面的行";
    LATER_ROWS: "later rows ▶" => "后面的行 ▶";
    PREVIOUS: "◀ Previous" => "◀ 上一步";
    NEXT: "Next ▶" => "下一步 ▶";
    KEYS_HINT: "(or the ← → arrow keys)" => "(或按 ← → 方向键)";
    COL_START: "start (s)" => "开始 (秒)";
    COL_DURATION: "duration" => "时长";
    COL_PACKETS: "pkts c→s/s→c" => "报文 c→s/s→c";
    COL_BYTES: "bytes c→s/s→c" => "字节 c→s/s→c";
    COL_RETRANS: "retrans" => "重传";
    COL_ZERO_WINDOW: "zero window" => "零窗口";
    COL_KEEPALIVE: "keep-alive" => "保活";
    COL_ZEEK: "zeek" => "Zeek";
    END_CLOSED: "closed (both FINs)" => "已关闭 (双方都发了 FIN)";
    END_RESET: "reset" => "复位";
    END_REFUSED: "refused" => "连接被拒绝";
    END_ONE_FIN: "one side sent FIN" => "只有一方发了 FIN";
    END_UNANSWERED: "SYN unanswered" => "SYN 无应答";
    END_OPEN: "still open / forgotten" => "仍未关闭 / 已不再跟踪";
    SUMMARY: "{n} connections in {files}" => "{files} 中有 {n} 个连接";
    SUMMARY_FROM: ", from {start}" => "，始于 {start}";
    SUMMARY_DETAILS: ". Details (ladder, graphs, step-through) for {details} of them: problems first (resets, retransmissions, zero windows, refused: {problems} in all), then the busiest."
        => "。其中 {details} 个有详情 (梯形图、时间-序号图、逐包查看)：先是有问题的 (复位、重传、零窗口、连接被拒绝：共 {problems} 个)，再是报文最多的。";
    INPUT_ERRORS: " — input errors: {errors}" => " — 输入错误：{errors}";
    COUNT: "{shown} of {total} connections" => "显示 {shown} 个，共 {total} 个连接";
    ROWS: "rows {from}–{to} of {n}" => "第 {from}–{to} 行，共 {n} 行";
    TIMELINE_SPAN: "— 0 to {end} s" => "— 0 至 {end} 秒";
    NO_DETAILS: "This report has details for {details} of {n} connections, and not this one. Draw it with: {command}"
        => "本报告只有 {n} 个连接中 {details} 个的详情，没有这一个。这样画出它：{command}";
    STEP: "step {k} of {n}" => "第 {k} 步，共 {n} 步";
    STEP_MORE: " ({more} more rows not drawn)" => " (另有 {more} 行没有画出)";
    CLIENT_TO_SERVER: "client → server" => "客户端 → 服务器";
    SERVER_TO_CLIENT: "server → client" => "服务器 → 客户端";
    AT_SECONDS: "{t} s" => "{t} 秒";
    FRAME: "  frame {f}  {arrow}  {label}" => "  第 {f} 帧  {arrow}  {label}";
}

/// The table as docs/ui.zh.md holds it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn markdown() -> String {
    let mut s = String::from(
        "# synack 图片与报告页面的文字 (words of the pictures and the report page)\n\n\
         Written out from `src/lang/ui.rs`, the one source of truth (a test checks that\n\
         this file agrees with it; `SYNACK_BLESS=1 cargo test --lib ui_file` rewrites it).\n\
         The terms are the glossary's (docs/glossary.zh.md). `{name}` is filled in with a\n\
         number, an address, a duration or another text of this table. Flag names, RFC\n\
         state names and units stay in English in the Chinese pictures and page.\n\n\
         | key | English | 中文 |\n|---|---|---|\n",
    );
    for t in ALL {
        s.push_str(&format!("| {} | {} | {} |\n", t.key, t.en, t.zh));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_file_agrees_with_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ui.zh.md");
        let want = markdown();
        if std::env::var_os("SYNACK_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} differs from src/lang/ui.rs: run SYNACK_BLESS=1 cargo test --lib ui_file",
            path.display()
        );
    }

    /// Each text has its Chinese, with the same `{name}`s, and nothing in
    /// it that breaks the markdown table or the page's JSON.
    #[test]
    fn every_text_is_translated_with_the_same_names() {
        let names = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                .collect();
            v.sort();
            v
        };
        let mut keys = std::collections::HashSet::new();
        for t in ALL {
            assert!(keys.insert(t.key), "{} twice", t.key);
            assert_eq!(names(t.en), names(t.zh), "{}", t.key);
            assert!(!t.en.contains('|') && !t.zh.contains('|'), "{}", t.key);
            let chinese = t.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            // Only a program's name needs no Chinese.
            assert!(chinese || t.key == "COL_ZEEK", "{}: {}", t.key, t.zh);
        }
    }

    #[test]
    fn fill_puts_values_where_names_are() {
        assert_eq!(
            fill("{a} of {b} {c}", &[("a", &1), ("b", &"x")]),
            "1 of x {c}"
        );
        assert_eq!(fill("{ {a}}", &[("a", &2)]), "{ 2}");
        assert_eq!(fill("no names", &[]), "no names");
    }
}
