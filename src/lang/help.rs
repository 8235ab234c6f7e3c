//! Chinese `--help`: clap's command, built at run time, with every about
//! and help text replaced from the tables below (keyed by subcommand path
//! and argument id), and clap's own words (headings, `[default: …]`, the
//! help and version flags, the `help` subcommand, usage mistakes) in
//! Chinese. A test walks the whole command and fails on any visible text
//! left without a translation.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};

/// Subcommands: (path, about, after help). The path is the words after `synack`.
const COMMANDS: &[(&str, &str, Option<&str>)] = &[
    (
        "",
        "synack — 在真实的报文上，像教科书那样看 TCP。

读取捕获文件 (pcap、pcapng) 或实时网卡，像 tcpdump 那样显示每个报文，再说出教科书会怎么讲它：
三次握手、四次挥手、两端的状态 (SYN_SENT … TIME_WAIT)、保活、复位、重传、零窗口 —
以报文行、梯形图、汇总表或 JSON 的形式。从这里开始：synack demo --list",
        None,
    ),
    (
        "read",
        "读取捕获文件 (pcap、pcapng，'-' 表示标准输入)，显示每一帧",
        Some(
            "示例：
  synack read fixtures/ipv4-echo.pcap                 每帧一行
  synack read fixtures/ipv4-echo.pcap 'tcp port 9999' 文件之后跟 tcpdump (BPF) 过滤表达式
  synack read -e -S --number capture.pcapng           链路层头部、绝对序号、帧号
  synack read -v -X -tt capture.pcap                  tcpdump 的 -v (校验和已核对)、-X 和 -tt
  synack read --json capture.pcap | jq .              给脚本用的 JSON Lines
  tcpdump -i lo -w - | synack read -                  '-' 从标准输入读取捕获

文件按给出的顺序读取；帧号跨文件连续编号。
除非 --time 另有指定，时间戳是本地时间 (受 TZ 影响)。
序号按方向取相对值：0 是 SYN (即 ISN)，1 是第一个数据字节；
没看到 SYN 时，以第一个报文段的 seq − 1 为基准。
中文输出：--lang zh (或 LANG=zh_CN.UTF-8)；JSON 始终是英文。",
        ),
    ),
    (
        "live",
        "从网卡实时捕获 (默认 lo)，报文到达时即加注释",
        Some(
            "示例：
  sudo synack live 'tcp port 9999'                 环回接口，一个端口
  sudo synack live -i any -w trace.pcap tcp        所有网卡，保存下来以后再看
  sudo synack live --summary -c 1000               1000 帧之后输出一张表

默认网卡是 lo：synack 是为观察本机 TCP 而做的，比如自带的回显服务器。
Ctrl-C 干净地停止：-w 文件是完整的，连接和内核的收到/丢弃计数都会打印出来。

捕获需要 root，或给程序加上能力：
  sudo setcap cap_net_raw,cap_net_admin+eip $(command -v synack)
通过 sudo 启动时，捕获打开后 synack 会降回调用者的身份 (同 tcpdump -Z)。

状态只写报文能证明的：接收方的回复表明它收到了报文段，它的状态才改变。
实时捕获时，synack 为等这个回复最多把一行压后 0.4 s；更晚到来的证明写在回复那一行上，
而假定已收到、后来被重传推翻的 ACK 会在那里标为更正。",
        ),
    ),
    ("interfaces", "列出 synack 可以捕获的网卡，同 tcpdump -D", None),
    (
        "echo",
        "回显服务器和客户端：在环回接口上制造各种 TCP 场景，供观察",
        Some(
            "时长要带单位：250ms、1.5s、2m、1h；不带单位的数字是秒。
--listen 和 --connect 接受地址 (127.0.0.1:9999、[::1]:9999) 或带端口的主机名 (localhost:9999)。
错误是以 'synack:' 开头的一行。退出码：0 正常，1 有连接失败或服务器无法启动，2 用法错误。",
        ),
    ),
    (
        "echo server",
        "回显服务器：把收到的内容转成大写发回，一个事件循环服务所有客户端",
        Some(
            "场景 (在另一个终端里用 `sudo synack live 'tcp port 9999'` 观察)：
  synack echo server                                   客户端先关闭：客户端 TIME_WAIT
  synack echo server --close-after 100ms               服务器先关闭：服务器 TIME_WAIT
  synack echo server --close-after 0 --close abort     RST 代替 FIN，没有 TIME_WAIT
  synack echo server --close-unread-after 500ms        有未读数据时关闭：RST
  synack echo server --close half --reply-delay 200ms  客户端的 FIN 之后回复还在流动 (半关闭)
  synack echo server --rcvbuf 4096 --read-pause 200ms  读得慢、窗口小：零窗口
  synack echo server --no-reuseaddr                    --close-after 之后重启：地址已被占用
  synack echo server --idle-timeout 30s                关闭沉默了 30 s 的客户端

时长要带单位 (250ms、1.5s、2m、1h)；不带单位的数字是秒。

一个线程、一个事件循环服务所有客户端：同时 10,000 个也远用不了 256 MB。
服务器会把打开文件数上限 (RLIMIT_NOFILE) 提到硬上限；文件描述符用完时只说一次，
让新客户端在 backlog 中等待，继续服务。
每个连接事件在标准错误上打印一行 (已接受、对方关闭、对方复位…)；Ctrl-C 停止并打印总计。",
        ),
    ),
    (
        "echo client",
        "回显客户端：从标准输入读行，或用 --send / --size 按脚本发送",
        Some(
            "不带 --send 或 --size 时，输入的每一行都会发出并打印回显 (空行会跳过：
什么也发不出去，两边会永远等下去)。

场景 (在另一个终端里用 `sudo synack live 'tcp port 9999'` 观察)：
  synack echo client --send hello,world           客户端先关闭：客户端 TIME_WAIT
  synack echo client --send hi --close wait       配合 server --close-after 100ms
  synack echo client --send a,b,c --close half    本方 FIN 之后数据还在流动
  synack echo client --send hi --close abort      RST 代替 FIN
  synack echo client --send hi --close unread     回显未读就关闭：RST
  synack echo client --send hi --keepalive 2s,1s,3 --idle-for 5s   保活探测
  synack echo client --size 1000000 --rcvbuf 4096 --read-pause 20ms   对服务器的零窗口
  synack echo client --send hi --connections 2 --local-port 40000 --close wait
                                                  在处于 TIME_WAIT 的四元组上重连
  synack echo client --connect localhost:9 --send hi   连接被拒绝

时长要带单位 (250ms、1.5s、2m、1h)；不带单位的数字是秒。
退出码：每个连接都按要求完成时为 0，否则为 1。",
        ),
    ),
    (
        "demo",
        "一条命令运行一个场景 (环回接口上的回显服务器 + 客户端)，并带注释地观看",
        Some(
            "示例：
  sudo synack demo --list                 列出场景，以及每个场景要看什么
  sudo synack demo basic                  握手、回显、客户端关闭：客户端 TIME_WAIT
  sudo synack demo keepalive --summary    保活探测和它们的确认，以表格显示
  sudo synack demo all -w demo.pcap       所有场景，各自保存为 demo-名称.pcap
  sudo synack demo basic --lang zh        中文输出

演示在 lo 上捕获 (tcp 端口 --port)，运行自带的回显服务器和客户端，报文一到就打印，
最后把 synack 推断的每个套接字的状态与内核自己的 (/proc/net/tcp) 放在一起对照。
它需要捕获权限 (root 或 cap_net_raw,cap_net_admin)；没有权限时，可以改读自带的捕获文件：
  synack read fixtures/close-client-first.pcap",
        ),
    ),
    (
        "completions",
        "打印 shell 补全脚本：synack completions bash > ~/.local/share/bash-completion/completions/synack",
        None,
    ),
    (
        "man",
        "打印手册页 (roff)：synack man | man -l -，或用 --dir 输出全部手册页",
        None,
    ),
    (
        "report",
        "写出一个 HTML 文件：连接表、时间线、可逐包演示的梯形图和时间-序号图",
        Some(
            "示例：
  synack report fixtures/retransmission.pcap -o report.html
  synack report capture.pcapng 'tcp port 443' -o report.html --details 50

报告是一个 HTML 文件，在任何较新的浏览器里从磁盘直接打开，不从网上取任何东西。
每个连接都在表里 (可按列排序，按地址、关闭方式、TIME_WAIT 持有方、重传过滤) 和时间线上；
带详情的连接 (问题优先：复位、重传、零窗口、被拒绝；然后是最忙的) 有梯形图和时间-序号图，
用 下一步/上一步 (或方向键) 逐包演示。",
        ),
    ),
];

/// Arguments: (subcommand path, or `*` for the output options every capture
/// command shares; argument id; help).
const ARGS: &[(&str, &str, &str)] = &[
    (
        "",
        "lang",
        "给人看的文字用哪种语言：en 或 zh (中文)。默认依次看 SYNACK_LANG、LC_ALL / LC_MESSAGES / LANG (zh_* 为中文)。JSON 始终是英文",
    ),
    // read
    ("read", "files", "要读的捕获文件 (可重复)；用了 -r 时，所有位置参数都是过滤表达式"),
    ("read", "args", "捕获文件 ('-' 表示标准输入)，后面可以跟 tcpdump 那样的 BPF 过滤表达式"),
    (
        "read",
        "write",
        "同时把每一帧原样写入 FILE.pcapng，每个 TCP 报文的注释 (事件、两端状态) 作为它的分组注释：Wireshark 会显示并可按它过滤 (frame.comment contains \"TIME_WAIT\")",
    ),
    (
        "read",
        "threads",
        "用 N 个线程分析，每个线程跟踪按四元组哈希分给它的连接 [默认：本机的核数]。输出与单线程逐字节相同；只有所有线程合起来达到 --max-connections 时可能不同 (synack 会在标准错误上说明)",
    ),
    (
        "read",
        "shard",
        "只处理 N 个分片中的第 K 个 (K 从 0 到 N-1)：四元组哈希落在这里的连接；其他连接的帧照样读取但跳过 (它们的时间仍推动时钟)，不含 TCP 的帧属于分片 0。N 次运行 (每个分片一次) 合起来恰好写出一次运行的全部连接记录 (按 community_id 和 first_ts 连接)。汇总只计本分片的帧，并说明一共读了多少帧",
    ),
    // live
    ("live", "interface", "要捕获的网卡 ('any' 表示全部)"),
    (
        "live",
        "write",
        "同时把帧写入 FILE：经典 pcap；FILE 以 .pcapng 结尾时写 pcapng，每个 TCP 报文的注释作为它的分组注释 (Wireshark 中可显示、可过滤)",
    ),
    (
        "live",
        "file_size",
        "配合 -w：当前文件超过 MB 百万字节时开始新文件 (FILE、FILE1、FILE2…；配合 -W 为环形 FILE0…FILEn-1)，同 tcpdump -C",
    ),
    (
        "live",
        "file_count",
        "配合 -C：最多保留 N 个文件，覆盖最旧的 (环形)；只配合 -G 时：N 个文件后停止，同 tcpdump -W",
    ),
    (
        "live",
        "rotate_seconds",
        "配合 -w：每隔 SECONDS 秒开始新文件 (FILE 中可以有 %H%M%S 这样的 strftime 字段)，同 tcpdump -G",
    ),
    (
        "live",
        "buffer_kib",
        "内核捕获环形缓冲区的大小 (KiB)，同 tcpdump -B；这是 synack live 占用内存的大头。64 MiB 足以容纳许多客户端的突发流量",
    ),
    ("live", "filter", "tcpdump 那样的 BPF 过滤表达式"),
    // demo
    ("demo", "scenario", "场景名称 (见 --list)，或 'all'"),
    ("demo", "list", "列出场景，以及每个场景要看什么"),
    ("demo", "port", "回显服务器在 127.0.0.1 上的端口"),
    ("demo", "write", "同时保存捕获 (配合 'all'：每个场景一个 FILE-名称.pcap)"),
    // The output options of read, live and demo.
    ("*", "link_header", "打印链路层头部 (MAC 地址、VLAN 标签、cooked 捕获的方向)"),
    ("*", "absolute", "绝对序号和确认号 (默认：相对值)"),
    ("*", "count", "N 帧之后停止 (给了过滤表达式时，只数通过过滤的帧)"),
    ("*", "number", "每行以该帧在捕获中的帧号开头"),
    (
        "*",
        "time",
        "报文行的时间戳格式 [默认：local]：local 本地时间 (同 tcpdump) 12:00:01.000123；utc UTC 日期和时间；date 本地日期和时间 (同 -tttt)；epoch 自 1970 年起的秒数 (同 -tt)；relative 距第一帧的秒数；delta 距上一帧的秒数；none 不显示 (同 -t)",
    ),
    ("*", "nano", "时间戳显示到纳秒 (默认微秒，同 tcpdump)"),
    (
        "*",
        "json",
        "输出 JSON Lines 而不是文本：分组、事件和连接记录，最后是汇总。记录里总是带有 -e、-N、-S 和 --why 给报文行加的内容 (JSON 始终是英文)",
    ),
    (
        "*",
        "summary",
        "输出连接汇总表 (配合 --json 时输出连接记录)，而不是报文。表格行按 # 顺序 (连接最先出现的顺序)，不论有多少行：多出的行在磁盘上的临时文件里等候，而不是在内存里；输出到管道时是一张表，终端上每 1000 行一张表。JSON 记录在连接结束时 (TIME_WAIT 之后) 输出，仍然打开的连接最后输出",
    ),
    (
        "*",
        "zeek",
        "把连接写成 Zeek 的 conn.log (带 Zeek 头部的 TSV；配合 --json 时为 Zeek 的 JSON 形式)",
    ),
    (
        "*",
        "view",
        "报文的显示方式 [默认：lines]：lines 每帧一行 (tcpdump 风格，带注释)；ladder 每个连接画一张梯形图 (客户端在左，服务器在右)，下面附一句话的经过；mermaid 每个连接一张 Mermaid 时序图 (放在 Markdown 代码块里，用于文档)；svg 每个连接一张 SVG 梯形图，两端的状态画成色带；graph 每个方向一张时间-序号图 (同 tcptrace：数据、ACK 线、窗口线、SACK、重传)",
    ),
    (
        "*",
        "output",
        "输出写到 FILE 而不是标准输出 (配合 --view svg|graph 时是一个 SVG 文档)",
    ),
    ("report", "args", "捕获文件 ('-' 表示标准输入)，然后是可选的 BPF 过滤表达式，同 tcpdump"),
    ("report", "output", "要写出的 HTML 文件"),
    ("report", "details", "有多少个连接带梯形图、时间-序号图和逐包演示"),
    ("*", "conn", "只看连接 N (按首次出现的顺序编号，即输出中的 '#N')"),
    (
        "*",
        "only",
        "只看注释中含有这些名字之一的报文 (用于表格或图时：只看出现过它们的连接)，同 Wireshark 的 tcp.analysis 过滤：例如 'retransmission'、'zero_window,keep_alive'、'rst and not refused'。名字：JSON 中的事件类型，以及分组 rst、retransmission、time_wait、ecn、analysis",
    ),
    (
        "*",
        "ascii",
        "只输出纯 ASCII，和 locale 不是 UTF-8 (LC_ALL=C) 时一样；这时中文无法显示，输出为英文",
    ),
    (
        "*",
        "no_options",
        "报文行里不写 TCP 选项 (行更短；选项仍会解码，--json 里也有)",
    ),
    ("*", "why", "解释每条注释：触发的是哪条规则，比较了哪些数字"),
    (
        "*",
        "time_wait",
        "TIME_WAIT 持续多久 (2MSL)：一个时长，例如 60s、500ms 或 2m (不带单位的数字是秒)；Linux 用 60s",
    ),
    (
        "*",
        "idle_timeout",
        "连接这么久没有报文段后就忘掉它 (一个时长；不带单位的数字是秒)",
    ),
    (
        "*",
        "max_connections",
        "同时最多跟踪这么多连接 (包括 TIME_WAIT；每个约 2 KB)；超出时丢弃最久不活动的，并计数",
    ),
    (
        "*",
        "t",
        "tcpdump 的时间戳：-t 不显示，-tt 自 1970 年起的秒数，-ttt 距上一帧，-tttt 日期和时间，-ttttt 距第一帧 (hh:mm:ss.ffffff，同 tcpdump 的写法)；不能与 --time 同用",
    ),
    (
        "*",
        "verbose",
        "详细输出，同 tcpdump -v：括号中的 IP 头部 (TOS、TTL、id、分片偏移和标志、协议、长度、IP 选项；IPv6 的流类别、流标签、跳数限制、载荷长度)，并核对 IPv4 头部和 TCP 的校验和 ('correct'、'incorrect -> 0x…'，发送方交给校验和卸载或没有全部捕获时为未校验)。-vv 相同",
    ),
    (
        "*",
        "hex_ascii",
        "每行之后，以十六进制和 ASCII 显示从 IP 头部开始的帧，同 tcpdump -X (0x0000:  4500 0034 …  E..4)；-XX 从链路层头部开始。配合 --json：payload_hex (TCP 载荷)，-XX 时还有 frame_hex",
    ),
    ("*", "hex", "同 -X，但只有十六进制 (tcpdump -x；-xx 从链路层头部开始)"),
    (
        "*",
        "ascii_dump",
        "每行之后，以 ASCII 显示从 IP 头部开始的帧 (-AA 从链路层头部开始)，同 tcpdump -A：可打印 ASCII、空格、制表符和换行以外的字节显示为 '.'",
    ),
    // echo server
    (
        "echo server",
        "listen",
        "监听的地址，或 HOST:PORT (localhost:9999)；端口 0 让内核来选 (\"正在…上监听\" 那一行会告诉你)",
    ),
    (
        "echo server",
        "no_reuseaddr",
        "不开 SO_REUSEADDR：当上一次运行的连接还在 TIME_WAIT (Linux 上 60 s) 时，重启会以 \"地址已被占用\" 失败",
    ),
    ("echo server", "backlog", "listen() 的 backlog：内核完成握手后、accept() 之前排队的连接数"),
    ("echo server", "max_clients", "同时最多服务 N 个客户端；再来的握手在 backlog 中等待"),
    (
        "echo server",
        "close_after",
        "第一次回复之后过这么久就关闭连接 (例如 100ms；不带单位的数字是秒)：服务器发出第一个 FIN，所以服务器进入 TIME_WAIT",
    ),
    (
        "echo server",
        "close",
        "服务器如何关闭连接 [默认：fin]：fin 调用 close()，内核发出 FIN；half 客户端半关闭 (它的 FIN) 后，发完剩下的回复再 shutdown(SHUT_WR)：本方 FIN 跟在数据后面；abort SO_LINGER 0：内核发出 RST 而不是 FIN (并跳过 TIME_WAIT)",
    ),
    (
        "echo server",
        "no_read",
        "从不读：客户端的数据堆在本方接收缓冲区里，直到本方窗口为零；客户端的 FIN 让本方停在 CLOSE_WAIT (直到 Ctrl-C、--close-unread-after 或 --idle-timeout)",
    ),
    (
        "echo server",
        "close_unread_after",
        "从不读，并在接受连接后过这么久关闭 (例如 500ms；不带单位的数字是秒)：带着未读数据关闭，内核会发出 RST 而不是 FIN",
    ),
    (
        "echo server",
        "reply_delay",
        "每次回复前等这么久 (例如 200ms；不带单位的数字是秒)：请求的 ACK 和回复成为两个报文段",
    ),
    (
        "echo server",
        "rcvbuf",
        "SO_RCVBUF 字节数，在 listen() 之前设置，握手中的窗口扩大因子随之而定：一个小的接收窗口",
    ),
    (
        "echo server",
        "read_pause",
        "慢速读取：每次读之前暂停这么久 (例如 200ms；不带单位的数字是秒)；配合小的 --rcvbuf，窗口会降到零，客户端发出零窗口探测",
    ),
    (
        "echo server",
        "idle_timeout",
        "客户端这么久没有数据就关闭连接 (例如 30s 或 500ms；不带单位的数字是秒；配合 --no-read 时，到达的未读字节也算数据)。默认：不关闭，空闲的客户端一直保留到它关闭",
    ),
    ("echo server", "exit_after", "服务完 N 个连接后退出，让脚本运行能自己结束"),
    ("echo server", "quiet", "不在标准错误上打印每个连接的行"),
    // echo client
    ("echo client", "connect", "服务器地址，或 HOST:PORT (localhost:9999 即 127.0.0.1:9999)"),
    ("echo client", "send", "脚本模式：逐条发送这些消息 (逗号分隔)，每条都等回显"),
    ("echo client", "repeat", "把这些消息重复发送 N 遍"),
    ("echo client", "pause", "消息之间暂停这么久 (例如 500ms；不带单位的数字是秒)"),
    (
        "echo client",
        "close",
        "消息交换完后连接如何结束 [默认：first]：first 最后一次回复后关闭：本方 FIN 在先，所以本方进入 TIME_WAIT；wait 最后一次回复后等服务器的 FIN 再关闭：服务器进入 TIME_WAIT (配合 server --close-after)；half 全部发完后 shutdown(SHUT_WR)，再读回复直到服务器的 FIN：半关闭的连接仍向本方传数据；abort SO_LINGER 0：内核发出 RST 而不是 FIN (并跳过 TIME_WAIT)；unread 在最后一个回显还未读时关闭：内核发出 RST 而不是 FIN",
    ),
    (
        "echo client",
        "keepalive",
        "TCP 保活：SO_KEEPALIVE，无流量 IDLE 之后发第一个探测 (TCP_KEEPIDLE)，之后每隔 INTERVAL 一个 (TCP_KEEPINTVL)，COUNT 个无应答后发 RST (TCP_KEEPCNT)。IDLE 和 INTERVAL 是整秒数，可带可不带单位 (2s,1s,3 或 2,1,3)；配合 --idle-for 使用",
    ),
    (
        "echo client",
        "idle_for",
        "交换完后空闲这么久再关闭 (例如 5s；不带单位的数字是秒)：留出保活探测的时间",
    ),
    (
        "echo client",
        "local_port",
        "从这个本地端口连接 (带 SO_REUSEADDR)：配合 --connections，在服务器仍把四元组留在 TIME_WAIT 时用同一个四元组重连",
    ),
    (
        "echo client",
        "local_ip",
        "从这个本地地址连接 (例如 127.0.0.2：在环回接口上，每个 127.x.y.z 都是本机)，以区分几台 \"客户端主机\"",
    ),
    (
        "echo client",
        "rcvbuf",
        "SO_RCVBUF 字节数，在 connect() 之前设置，SYN 中的窗口扩大因子随之而定：对服务器的小窗口",
    ),
    (
        "echo client",
        "read_pause",
        "慢速读取：每次读之前暂停这么久 (例如 20ms；不带单位的数字是秒)；配合小的 --rcvbuf，本方窗口会降到零，服务器发出零窗口探测",
    ),
    ("echo client", "parallel", "同时运行 N 个客户端 (最多 1024)"),
    (
        "echo client",
        "size",
        "发送一个 BYTES 字节的载荷 (重复的 a-z) 代替 --send，并读回整个回显：许多报文段、窗口更新",
    ),
    (
        "echo client",
        "connections",
        "一个接一个地打开 N 个连接：许多短连接 (配合 --local-port 时都从同一个端口)",
    ),
    (
        "echo client",
        "give_up_after",
        "等网络等了这么久就放弃这个连接 (不带单位的数字是秒；--idle-for、--pause 和 --read-pause 这类有意的等待不算)",
    ),
    ("echo client", "quiet", "只打印错误 (交互模式下还有回复)"),
    // hidden subcommands (their pages and completions are made from this command too)
    ("completions", "shell", "shell 的名称"),
    (
        "man",
        "command",
        "这个子命令的手册页 (`synack man echo server`)；不给：synack(1)",
    ),
    (
        "man",
        "dir",
        "改为把所有手册页 (synack.1、synack-read.1、synack-echo-server.1…) 写入 DIR (不存在就创建)，例如 ~/.local/share/man/man1",
    ),
];

/// The Chinese about of the command at `path`, and its after help.
fn command_text(path: &str) -> Option<(&'static str, Option<&'static str>)> {
    COMMANDS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, about, after)| (*about, *after))
}

/// The Chinese help of argument `id` of the command at `path`.
fn arg_text(path: &str, id: &str) -> Option<&'static str> {
    let find = |p: &str| {
        ARGS.iter()
            .find(|(ap, aid, _)| *ap == p && *aid == id)
            .map(|(_, _, h)| *h)
    };
    find(path).or_else(|| find("*"))
}

/// One argument in Chinese: its help, its default shown as `[默认：…]`, its
/// possible values left to the help text (which names each), its heading.
fn localize_arg(path: &str, a: Arg) -> Arg {
    let id = a.get_id().as_str().to_string();
    let Some(help) = arg_text(path, &id) else {
        return a;
    };
    let mut help = help.to_string();
    let bool_flag = matches!(
        a.get_action(),
        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse | clap::ArgAction::Count
    );
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let mut a = a;
    if !defaults.is_empty() && !bool_flag && !a.is_hide_default_value_set() {
        if !help.contains("[默认") {
            help.push_str(&format!(" [默认：{}]", defaults.join(", ")));
        }
        a = a.hide_default_value(true);
    }
    let has_values = !bool_flag && !a.get_possible_values().is_empty();
    if has_values {
        a = a.hide_possible_values(true);
    }
    let heading = if a.is_positional() {
        "参数"
    } else {
        "选项"
    };
    a.help(help).help_heading(heading)
}

fn localize_command(path: &str, mut cmd: Command) -> Command {
    if let Some((about, after)) = command_text(path) {
        cmd = cmd.about(about).long_about(None::<&str>);
        if let Some(after) = after {
            cmd = cmd.after_help(after);
        }
    }
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str().to_string())
        .collect();
    for id in ids {
        cmd = cmd.mut_arg(id, |a| localize_arg(path, a));
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(name, |s| localize_command(&sub_path, s));
    }
    cmd.help_template("{before-help}{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("命令")
        .subcommand_value_name("命令")
}

/// clap's own parts, added when the command is built: the help and version
/// flags, the `help` subcommand, and `[OPTIONS]` in the usage line.
fn localize_built(mut cmd: Command) -> Command {
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str().to_string())
        .collect();
    if ids.iter().any(|i| i == "help") {
        cmd = cmd.mut_arg("help", |a| a.help("打印帮助").help_heading("选项"));
    }
    if ids.iter().any(|i| i == "version") {
        cmd = cmd.mut_arg("version", |a| a.help("打印版本").help_heading("选项"));
    }
    let usage = cmd.render_usage().to_string();
    let usage = usage
        .strip_prefix("Usage: ")
        .unwrap_or(&usage)
        .replace("[OPTIONS]", "[选项]")
        .replace("<COMMAND>", "<命令>")
        .replace("[COMMAND]", "[命令]");
    cmd = cmd.override_usage(usage);
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        if name == "help" {
            cmd = cmd.mut_subcommand("help", |s| {
                s.about("打印此帮助，或给定子命令的帮助")
                    .help_template("{about-with-newline}\n用法：{usage}\n\n{all-args}")
                    .subcommand_help_heading("命令")
            });
        } else {
            cmd = cmd.mut_subcommand(name, localize_built);
        }
    }
    cmd
}

/// The command with Chinese texts.
pub(crate) fn localize(cmd: Command) -> Command {
    let mut cmd = localize_command("", cmd);
    cmd.build();
    localize_built(cmd)
}

fn context_str(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join("、")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => Some(
            v.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("、"),
        ),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A usage mistake clap found, said in Chinese.
pub(crate) fn error_text(e: &clap::Error) -> String {
    let arg = context_str(e, ContextKind::InvalidArg).unwrap_or_default();
    let value = context_str(e, ContextKind::InvalidValue).unwrap_or_default();
    let mut line = match e.kind() {
        ErrorKind::InvalidValue => {
            let mut s = if value.is_empty() {
                format!("'{arg}' 需要一个值，但没有给")
            } else {
                format!("'{value}' 不是 '{arg}' 的有效值")
            };
            if let Some(v) = context_str(e, ContextKind::ValidValue) {
                s.push_str(&format!("\n  可选值：{v}"));
            }
            s
        }
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            format!("'{value}' 不能用作 '{arg}'：{why}")
        }
        ErrorKind::UnknownArgument => format!("不认识的参数 '{arg}'"),
        ErrorKind::InvalidSubcommand => format!("不认识的子命令 '{arg}'"),
        ErrorKind::MissingRequiredArgument => format!("缺少必需的参数：{arg}"),
        ErrorKind::MissingSubcommand => "需要一个子命令".to_string(),
        ErrorKind::ArgumentConflict => {
            let other = context_str(e, ContextKind::PriorArg).unwrap_or_default();
            if other.is_empty() {
                format!("'{arg}' 不能与其他参数同时使用")
            } else {
                format!("'{arg}' 不能与 '{other}' 同时使用")
            }
        }
        ErrorKind::TooManyValues => format!("'{arg}' 的值太多了：'{value}'"),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("'{arg}' 的值个数不对")
        }
        ErrorKind::NoEquals => format!("'{arg}' 的值要用 '=' 连接"),
        ErrorKind::InvalidUtf8 => "参数不是有效的 UTF-8".to_string(),
        _ => format!("命令行有误 ({})", e.kind()),
    };
    if let Some(s) = context_str(e, ContextKind::SuggestedArg)
        .or_else(|| context_str(e, ContextKind::SuggestedSubcommand))
    {
        line.push_str(&format!("\n  提示：你是不是想用 '{s}'？"));
    }
    let mut out = format!("错误：{line}\n");
    if let Some(u) = context_str(e, ContextKind::Usage) {
        let u = u.trim();
        let u = u.strip_prefix("Usage: ").unwrap_or(u);
        out.push_str(&format!("\n用法：{u}\n"));
    }
    out.push_str("\n更多信息请用 '--help'。\n");
    out
}

/// A usage mistake clap found (or the help or version asked for), said in
/// Chinese; ends the process as clap would.
pub(crate) fn exit_with(e: clap::Error) -> ! {
    use std::io::Write;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let _ = std::io::stderr()
                .lock()
                .write_all(error_text(&e).as_bytes());
            std::process::exit(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible command and argument has Chinese text, and no entry of
    /// the tables names something the command does not have.
    #[test]
    fn every_visible_text_has_a_translation() {
        let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        let mut missing = Vec::new();
        let mut used_args = std::collections::HashSet::new();
        fn walk(
            c: &Command,
            path: &str,
            missing: &mut Vec<String>,
            used: &mut std::collections::HashSet<(String, String)>,
        ) {
            if command_text(path).is_none() {
                missing.push(format!("command '{path}'"));
            }
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if a.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if arg_text(path, id).is_none() {
                    missing.push(format!("argument {id} of '{path}'"));
                }
                let key = if ARGS.iter().any(|(p, i, _)| *p == path && *i == id) {
                    path.to_string()
                } else {
                    "*".to_string()
                };
                used.insert((key, id.to_string()));
            }
            for s in c.get_subcommands() {
                let p = if path.is_empty() {
                    s.get_name().to_string()
                } else {
                    format!("{path} {}", s.get_name())
                };
                walk(s, &p, missing, used);
            }
        }
        walk(&cmd, "", &mut missing, &mut used_args);
        assert!(missing.is_empty(), "no Chinese help for: {missing:?}");
        for (p, id, _) in ARGS {
            assert!(
                used_args.contains(&(p.to_string(), id.to_string())),
                "help.rs has text for {id} of '{p}', which the command does not have"
            );
        }
    }

    /// The localized command is still a valid clap command, and its help
    /// says nothing in English but names (options, values, examples).
    #[test]
    fn the_chinese_command_renders_its_help() {
        let mut cmd = localize(<crate::cli::Cli as clap::CommandFactory>::command());
        cmd.clone().debug_assert();
        let help = cmd.render_help().to_string();
        assert!(help.contains("用法：synack [选项] <命令>"), "{help}");
        assert!(help.contains("命令:") && help.contains("选项:"), "{help}");
        assert!(
            !help.contains("Usage:") && !help.contains("Options:"),
            "{help}"
        );
        let read = cmd.find_subcommand_mut("read").unwrap();
        let help = read.render_help().to_string();
        assert!(help.contains("[默认：60s]"), "{help}");
        assert!(help.contains("打印帮助"), "{help}");
        assert!(
            !help.contains("[default:") && !help.contains("[possible values"),
            "{help}"
        );
    }

    #[test]
    fn usage_mistakes_are_said_in_chinese() {
        let cmd = localize(<crate::cli::Cli as clap::CommandFactory>::command());
        let e = cmd
            .clone()
            .try_get_matches_from(["synack", "read", "--vew", "ladder", "x.pcap"])
            .unwrap_err();
        let t = error_text(&e);
        assert!(t.starts_with("错误：不认识的参数 '--vew'"), "{t}");
        assert!(t.contains("提示：你是不是想用 '--view'？"), "{t}");
        assert!(t.contains("用法：synack read [选项]"), "{t}");
        let e = cmd
            .try_get_matches_from(["synack", "read", "--view", "tree", "x.pcap"])
            .unwrap_err();
        let t = error_text(&e);
        assert!(t.contains("'tree' 不是 '--view <VIEW>' 的有效值"), "{t}");
        assert!(t.contains("可选值：lines、ladder、mermaid"), "{t}");
    }
}
