//! Whole-command throughput benchmark for `synack` (issue 10).
//!
//! Run with `cargo bench --bench throughput`. See `benches/README.md`.
//!
//! 1. Generates (or reuses) deterministic, synthetic but realistic classic
//!    pcaps under `target/bench-data/` in the two shapes of issue 10:
//!    `busy-1m` (1 M packets, ~60 k connections, ~5 k open at once) and
//!    `busy-10m` (10 M packets, ~525 k connections, ~21 k open at once).
//!    Both: ~334 bytes per record, 15 % IPv6, handshakes with options,
//!    TLS-looking request/response exchanges, long idle connections with
//!    keep-alive probes, resets by either side, refused and unanswered
//!    SYNs, closes by either side (four-way and three-packet), fast and
//!    RTO retransmissions with dup ACKs, rare zero windows, and connections
//!    still open when the capture ends.
//! 2. Times whole-command runs (best of N wall-clock, stdout to /dev/null,
//!    page cache warm) of `cat`, `synack read` in its output modes, `tcpdump`
//!    and `tshark`, with peak RSS via `/usr/bin/time -f %M`, and prints one
//!    table per shape, the issue's targets beside the measured ratios and,
//!    when both shapes ran, the 10M/1M time ratios.
//!
//! Environment:
//! - `SYNACK_BENCH_SHAPE`: `busy-1m`, `busy-10m` or `both` (default `both`)
//! - `SYNACK_BENCH_PACKETS`, `SYNACK_BENCH_CONNS`, `SYNACK_BENCH_OPEN`: a
//!   custom shape instead (accepts `10m`, `200k`, `1_000_000`)
//! - `SYNACK_BENCH_SNAPLEN` (default 65535: whole frames are captured)
//! - `SYNACK_BENCH_RUNS` (default 3: best-of-N timing)
//! - `SYNACK_BENCH_CMDS`: which rows to run (default all; see `Cmd::key`)
//! - `SYNACK_BENCH_CMDS_10M`: the same for the busy-10m shape only
//! - `SYNACK_BENCH_GEN_ONLY` (set to generate the files and skip the timings)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::env;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use etherparse::{
    IpHeaders, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder, TcpOptionElement,
};

/// Bump whenever the generated traffic changes, so stale files are rebuilt.
const GENERATOR: &str = "synack-bench-gen/2";
const DEFAULT_SNAPLEN: u32 = 65_535;
/// Share of connections over IPv6, in percent.
const V6_PERCENT: u64 = 15;
/// Target average size of a pcap record (16-byte record header + frame).
const AVG_RECORD: u64 = 334;
/// Capture start: 2023-11-14T22:13:20Z.
const EPOCH_SECS: u64 = 1_700_000_000;
const CLIENT_HOSTS: u64 = 4096;
const SERVERS: u64 = 64;
const LINKTYPE_ETHERNET: u32 = 1;
const ROUTER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
const SEC: u64 = 1_000_000;

// TCP flags, as in the header's flag byte.
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
/// Not a TCP flag: the segment carries sequence number 0 (the RST answering
/// a SYN on a closed port).
const SEQ0: u8 = 0x80;

fn main() {
    let shapes = shapes_from_env();
    let runs = env::var("SYNACK_BENCH_RUNS")
        .ok()
        .map(|v| parse_count(&v).unwrap_or_else(|| panic!("cannot parse SYNACK_BENCH_RUNS={v:?}")))
        .unwrap_or(3)
        .max(1);
    let gen_only = env::var_os("SYNACK_BENCH_GEN_ONLY").is_some();

    let data_dir = target_dir().join("bench-data");
    fs::create_dir_all(&data_dir).expect("create target/bench-data");
    let mut results = Vec::new();
    for shape in &shapes {
        let path = data_dir.join(shape.file_name());
        println!();
        println!("== {} ==", shape.name);
        let info = ensure_capture(&path, shape).expect("generate benchmark capture");
        println!("capture      {}", path.display());
        println!(
            "size         {:.1} MB ({} bytes, {:.1} bytes per record)",
            info.bytes as f64 / 1e6,
            info.bytes,
            (info.bytes - 24) as f64 / info.packets as f64
        );
        for line in &info.stats {
            println!("  {line}");
        }
        if gen_only {
            continue;
        }
        let cmds = cmds_for(&shape.name);
        results.push(run_shape(shape, &path, info.packets, runs, &cmds));
    }
    if !gen_only {
        print_ratios(&results);
    }
}

// ---------------------------------------------------------------------------
// Shapes and knobs
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct Shape {
    name: String,
    packets: u64,
    /// Connections in the file (approximately: the generator steers towards it).
    conns: u64,
    /// Connections open at the same time.
    open: u64,
    snaplen: u32,
}

impl Shape {
    fn busy_1m(snaplen: u32) -> Shape {
        Shape {
            name: "busy-1m".into(),
            packets: 1_000_000,
            conns: 60_000,
            open: 5_000,
            snaplen,
        }
    }

    fn busy_10m(snaplen: u32) -> Shape {
        Shape {
            name: "busy-10m".into(),
            packets: 10_000_000,
            conns: 525_000,
            open: 21_000,
            snaplen,
        }
    }

    fn file_name(&self) -> String {
        if self.snaplen == DEFAULT_SNAPLEN {
            format!("{}.pcap", self.name)
        } else {
            format!("{}-s{}.pcap", self.name, self.snaplen)
        }
    }
}

fn shapes_from_env() -> Vec<Shape> {
    let snaplen = env_count("SYNACK_BENCH_SNAPLEN").unwrap_or(u64::from(DEFAULT_SNAPLEN));
    assert!(
        (96..=262_144).contains(&snaplen),
        "SYNACK_BENCH_SNAPLEN must be within 96..=262144"
    );
    let snaplen = snaplen as u32;
    let custom = [
        "SYNACK_BENCH_PACKETS",
        "SYNACK_BENCH_CONNS",
        "SYNACK_BENCH_OPEN",
    ]
    .iter()
    .any(|v| env::var_os(v).is_some());
    if custom {
        let packets = env_count("SYNACK_BENCH_PACKETS").unwrap_or(1_000_000);
        let conns = env_count("SYNACK_BENCH_CONNS").unwrap_or((packets / 17).max(1));
        let open = env_count("SYNACK_BENCH_OPEN").unwrap_or((conns / 12).max(1));
        assert!(
            packets > 0 && conns > 0 && open > 0,
            "counts must be positive"
        );
        assert!(
            conns <= packets,
            "SYNACK_BENCH_CONNS must not exceed SYNACK_BENCH_PACKETS"
        );
        let shape = Shape {
            name: format!("tcp-{}-{}c-{}o", human(packets), human(conns), human(open)),
            packets,
            conns,
            open: open.min(conns),
            snaplen,
        };
        return vec![shape];
    }
    let which = env::var("SYNACK_BENCH_SHAPE").unwrap_or_else(|_| "both".into());
    match which.trim() {
        "busy-1m" | "1m" => vec![Shape::busy_1m(snaplen)],
        "busy-10m" | "10m" => vec![Shape::busy_10m(snaplen)],
        "both" | "" => vec![Shape::busy_1m(snaplen), Shape::busy_10m(snaplen)],
        other => panic!("SYNACK_BENCH_SHAPE={other:?}: use busy-1m, busy-10m or both"),
    }
}

fn env_count(name: &str) -> Option<u64> {
    let v = env::var(name).ok()?;
    Some(parse_count(&v).unwrap_or_else(|| panic!("cannot parse {name}={v:?}")))
}

/// Parses `1000000`, `1_000_000`, `1m`, `200k`.
fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "").to_ascii_lowercase();
    let (num, mul) = if let Some(n) = s.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = s.strip_suffix('k') {
        (n, 1_000)
    } else {
        (s.as_str(), 1)
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn human(n: u64) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}m", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// `1234567` → `1,234,567`.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

// ---------------------------------------------------------------------------
// Randomness: a 64-bit LCG (Knuth's MMIX constants), high bits as output.
// ---------------------------------------------------------------------------

struct Lcg(u64);

impl Lcg {
    /// Seeds are scrambled (splitmix64 finaliser) so that consecutive seeds
    /// give unrelated streams.
    fn new(seed: u64) -> Lcg {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Lcg(z ^ (z >> 31))
    }

    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// Uniform in `0..n` (`n` must be in `1..=2^32`).
    fn below(&mut self, n: u64) -> u64 {
        (u64::from(self.next_u32()) * n) >> 32
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn permille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
}

// ---------------------------------------------------------------------------
// Connection scripts
// ---------------------------------------------------------------------------

/// What a step is, for the generator's own counts (not written anywhere).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Tag {
    #[default]
    Plain,
    SynRetrans,
    Refused,
    KeepAlive,
    KeepAliveAck,
    Retrans,
    DupAck,
    ZeroWindow,
    ZeroWindowProbe,
    WindowUpdate,
    AbortClient,
    AbortServer,
    RstReply,
    CloseClient4,
    CloseServer4,
    CloseClient3,
    CloseServer3,
}
const TAGS: usize = 17;

/// One packet of a connection, decided when the connection opens.
#[derive(Clone, Copy, Default)]
struct Step {
    /// Microseconds since the previous step of this connection.
    gap: u32,
    /// Non-zero on the first segment of an application message: the whole
    /// message length, used to write a TLS application-data record header.
    msg_len: u32,
    /// Non-zero: a segment that starts `back` bytes before the sender's
    /// SND.NXT and does not advance it (retransmission, keep-alive probe,
    /// zero-window probe, retransmitted SYN).
    back: u32,
    /// The ACK field is the peer's SND.NXT minus this (dup ACKs below a hole,
    /// a RST that crossed a request).
    ack_back: u32,
    len: u16,
    /// Non-zero on a dup ACK: one SACK block from `ack + sack` to the peer's
    /// SND.NXT (the segments that arrived after the hole).
    sack: u16,
    flags: u8,
    from_client: bool,
    zero_win: bool,
    /// Sent but lost before the capture point: advances the sender's state
    /// but is not written.
    hidden: bool,
    tag: Tag,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    ClientFirst,
    ServerFirst,
    ThreeClient,
    ThreeServer,
    AbortClient,
    AbortServer,
}

#[derive(Clone, Copy)]
struct KeepAlive {
    by_client: bool,
    /// Idle time before a probe (TCP_KEEPIDLE), µs.
    idle: u64,
    /// Windows-style probe carrying one garbage byte.
    one_byte: bool,
}

struct ScriptBuilder<'a> {
    steps: Vec<Step>,
    rng: &'a mut Lcg,
    rtt: u64,
    /// Payload of a full-sized segment.
    seg: u64,
    /// Message size scale, per mille (steers the average record size).
    scale: u64,
    keepalive: Option<KeepAlive>,
}

const C: bool = true;
const S: bool = false;

impl ScriptBuilder<'_> {
    fn push(&mut self, from_client: bool, flags: u8, len: u64, gap: u64) -> &mut Step {
        self.steps.push(Step {
            from_client,
            flags,
            len: len as u16,
            gap: gap.min(u64::from(u32::MAX)) as u32,
            ..Step::default()
        });
        self.steps.last_mut().expect("just pushed")
    }

    fn r(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.range(lo, hi)
    }

    fn scaled(&self, n: u64) -> u64 {
        (n * self.scale / 1000).max(20)
    }

    /// A message that fits in one segment.
    fn one_segment(&self, n: u64) -> u64 {
        self.scaled(n).min(self.seg)
    }

    /// Client think time between exchanges on a busy connection.
    fn think(&mut self) -> u64 {
        match self.rng.below(100) {
            0..=49 => self.r(40, 1_000),
            50..=84 => self.r(1_000, 20_000),
            _ => self.r(20_000, 300_000),
        }
    }

    /// Silence between exchanges on a long-lived, mostly idle connection.
    fn long_gap(&mut self) -> u64 {
        match self.rng.below(100) {
            0..=24 => self.r(SEC, 10 * SEC),
            25..=64 => self.r(10 * SEC, 45 * SEC),
            _ => self.r(45 * SEC, 180 * SEC),
        }
    }

    /// Server processing time before a response.
    fn server_time(&mut self) -> u64 {
        match self.rng.below(100) {
            0..=69 => self.r(30, 800),
            70..=94 => self.r(800, 10_000),
            _ => self.r(10_000, 120_000),
        }
    }

    fn request_size(&mut self) -> u64 {
        let n = match self.rng.below(100) {
            0..=79 => self.r(60, 700),
            _ => self.r(700, 3_000),
        };
        self.one_segment(n)
    }

    fn response_size(&mut self) -> u64 {
        let n = match self.rng.below(100) {
            0..=54 => self.r(80, 800),
            55..=84 => self.r(800, 3_000),
            85..=96 => self.r(3_000, 12_000),
            _ => self.r(12_000, 40_000),
        };
        self.scaled(n)
    }

    /// `gap` µs of silence before the next step; with keep-alive on, a probe
    /// and its answer after each `idle` of silence. Returns what is left of
    /// the gap (the next step's own gap).
    fn idle(&mut self, gap: u64) -> u64 {
        let Some(ka) = self.keepalive else {
            return gap;
        };
        let mut left = gap;
        // Keep a little margin so a probe never sits right on top of the
        // next real segment.
        loop {
            // The capture point is next to the client: a server answer comes
            // one RTT after the client's probe, a client answer at once.
            let answer = if ka.by_client {
                self.rtt + self.r(5, 40)
            } else {
                self.r(15, 120)
            };
            if left <= ka.idle + answer + 200_000 {
                break;
            }
            let len = u64::from(ka.one_byte);
            let probe = self.push(ka.by_client, ACK, len, ka.idle);
            probe.back = 1;
            probe.tag = Tag::KeepAlive;
            self.push(!ka.by_client, ACK, 0, answer).tag = Tag::KeepAliveAck;
            left -= ka.idle + answer;
        }
        left
    }
}

/// Builds the packets of one connection, aiming at `budget` written packets
/// (established connections only; the total may overshoot slightly).
fn build_script(rng: &mut Lcg, budget: u64, rtt: u64, seg: u64, scale: u64) -> Vec<Step> {
    let mut b = ScriptBuilder {
        steps: Vec::with_capacity(budget as usize + 8),
        rng,
        rtt,
        seg,
        scale,
        keepalive: None,
    };
    let roll = b.rng.below(1000);
    if roll < 15 {
        // Refused: SYN answered by RST,ACK (seq 0, no options, window 0).
        b.push(C, SYN, 0, 0);
        let t = rtt + b.r(10, 60);
        b.push(S, RST | ACK | SEQ0, 0, t).tag = Tag::Refused;
        return b.steps;
    }
    if roll < 25 {
        // Unanswered: SYN, retransmitted at +1 s and +3 s, then nothing.
        b.push(C, SYN, 0, 0);
        for gap in [SEC, 2 * SEC] {
            let t = gap + b.r(0, 3_000);
            let s = b.push(C, SYN, 0, t);
            s.back = 1;
            s.tag = Tag::SynRetrans;
        }
        return b.steps;
    }

    let long = b.rng.percent(16);
    if long && b.rng.percent(60) {
        let by_client = b.rng.percent(70);
        let idle = [15, 20, 30, 45][b.rng.below(4) as usize] * SEC;
        let one_byte = b.rng.percent(10);
        b.keepalive = Some(KeepAlive {
            by_client,
            idle,
            one_byte,
        });
    }
    let slow_reader = b.rng.permille(5);
    let close = match b.rng.below(100) {
        0..=2 => Close::AbortClient,
        3..=4 => Close::AbortServer,
        5..=11 => Close::ThreeClient,
        12..=14 => Close::ThreeServer,
        15..=39 => Close::ServerFirst,
        _ => Close::ClientFirst,
    };
    let close_cost = match close {
        Close::ClientFirst | Close::ServerFirst => 4,
        Close::ThreeClient | Close::ThreeServer => 3,
        Close::AbortClient | Close::AbortServer => 1,
    };

    // Three-way handshake.
    b.push(C, SYN, 0, 0);
    let t = rtt + b.r(10, 80);
    b.push(S, SYN | ACK, 0, t);
    let t = b.r(15, 120);
    b.push(C, ACK, 0, t);

    let mut left = budget.saturating_sub(3 + close_cost);
    let mut first = true;
    let mut zero_pending = slow_reader;
    while left >= 3 {
        let gap = if first {
            b.r(20, 400)
        } else if long {
            b.long_gap()
        } else {
            b.think()
        };
        first = false;
        let gap = b.idle(gap);

        // Client request, sometimes retransmitted after an RTO (lost after
        // the capture point).
        let req = b.request_size();
        b.push(C, PSH | ACK, req, gap).msg_len = req as u32;
        left -= 1;
        let mut resent = false;
        if left > 3 && b.rng.permille(12) {
            let t = 200_000 + rtt + b.r(0, rtt / 2 + 1_000);
            let s = b.push(C, PSH | ACK, req, t);
            s.msg_len = req as u32;
            s.back = req as u32;
            s.tag = Tag::Retrans;
            left -= 1;
            resent = true;
        }

        // Server response: as many segments as fit in what is left, with
        // about one client ACK per two segments.
        let server_ack = !resent && b.rng.percent(10) && left > 3;
        if server_ack {
            left -= 1;
        }
        let mut total = b.response_size();
        let max_m = (2 * left / 3).max(1);
        if total.div_ceil(seg) > max_m {
            total = max_m * seg - b.r(0, seg / 2);
        }
        let m = total.div_ceil(seg);
        let hole = m >= 4 && b.rng.percent(10);
        let zero = zero_pending && m >= 3 && !hole;
        zero_pending &= !zero;
        let used = respond(&mut b, total, server_ack, hole, zero);
        left = left.saturating_sub(used);
    }
    if left > 0 {
        // An unsolicited server message (a push notification), and its ACK.
        let gap = if long { b.long_gap() } else { b.think() };
        let gap = b.idle(gap);
        let len = b.r(40, 600);
        let len = b.one_segment(len);
        b.push(S, PSH | ACK, len, gap).msg_len = len as u32;
        if left > 1 {
            let t = b.r(20, 200);
            b.push(C, ACK, 0, t);
        }
    }

    // The close, after some silence.
    let before = match close {
        Close::ServerFirst | Close::ThreeServer if long || b.rng.percent(50) => {
            // The server's keep-alive timeout (Apache 5 s, nginx 75 s …).
            [5, 10, 15, 30, 60, 75][b.rng.below(6) as usize] * SEC + b.r(0, 5_000)
        }
        Close::ServerFirst | Close::ThreeServer => b.r(50, 2_000),
        _ if long => b.long_gap(),
        _ => b.think(),
    };
    let before = b.idle(before);
    match close {
        Close::ClientFirst => {
            b.push(C, FIN | ACK, 0, before).tag = Tag::CloseClient4;
            let t = rtt + b.r(5, 40);
            b.push(S, ACK, 0, t);
            let t = b.r(20, 800);
            b.push(S, FIN | ACK, 0, t);
            let t = b.r(15, 100);
            b.push(C, ACK, 0, t);
        }
        Close::ServerFirst => {
            b.push(S, FIN | ACK, 0, before).tag = Tag::CloseServer4;
            let t = b.r(15, 100);
            b.push(C, ACK, 0, t);
            let t = b.r(50, 20_000);
            b.push(C, FIN | ACK, 0, t);
            let t = rtt + b.r(5, 40);
            b.push(S, ACK, 0, t);
        }
        Close::ThreeClient => {
            b.push(C, FIN | ACK, 0, before).tag = Tag::CloseClient3;
            let t = rtt + b.r(5, 40);
            b.push(S, FIN | ACK, 0, t);
            let t = b.r(15, 100);
            b.push(C, ACK, 0, t);
        }
        Close::ThreeServer => {
            b.push(S, FIN | ACK, 0, before).tag = Tag::CloseServer3;
            let t = b.r(20, 300);
            b.push(C, FIN | ACK, 0, t);
            let t = rtt + b.r(5, 40);
            b.push(S, ACK, 0, t);
        }
        Close::AbortClient => {
            // SO_LINGER 0: RST,ACK (with timestamps); sometimes a server
            // segment was already in flight and gets a bare RST back.
            b.push(C, RST | ACK, 0, before).tag = Tag::AbortClient;
            if b.rng.percent(30) {
                let t = b.r(10, rtt.max(11));
                let len = b.r(40, 600);
                let len = b.one_segment(len);
                b.push(S, PSH | ACK, len, t).msg_len = len as u32;
                let t = b.r(10, 60);
                b.push(C, RST, 0, t).tag = Tag::RstReply;
            }
        }
        Close::AbortServer => {
            // The server gives up on the connection; sometimes a client
            // request crossed the RST on the way.
            let mut t = before;
            let mut crossed = 0;
            if b.rng.percent(30) {
                let req = b.request_size();
                b.push(C, PSH | ACK, req, before).msg_len = req as u32;
                crossed = req as u32;
                t = b.r(10, rtt.max(11));
            }
            let s = b.push(S, RST | ACK, 0, t);
            s.tag = Tag::AbortServer;
            s.ack_back = crossed;
        }
    }
    b.steps
}

/// Emits a server response of `total` bytes (full-sized segments, the last
/// one with PSH) with the client's delayed ACKs; `hole`: one segment is lost
/// before the capture point, the client dup-ACKs (with SACK) each later
/// segment and the server fast-retransmits it; `zero`: the client's buffer
/// fills up mid-response (zero window, probes if it lasts, window update).
/// Returns the number of written packets.
fn respond(b: &mut ScriptBuilder<'_>, total: u64, server_ack: bool, hole: bool, zero: bool) -> u64 {
    let seg = b.seg;
    let rtt = b.rtt;
    let start = b.steps.len();
    if server_ack {
        let t = rtt + b.r(5, 40);
        b.push(S, ACK, 0, t);
    }
    let m = total.div_ceil(seg).max(1);
    let last = total - (m - 1) * seg;
    let hole_at = if hole && m >= 4 {
        Some(b.r(1, m - 3))
    } else {
        None
    };
    let zero_at = if zero && m >= 3 {
        Some(b.r(1, m - 2))
    } else {
        None
    };
    // (length of the lost segment, bytes sent from its start on)
    let mut lost: Option<(u64, u64)> = None;
    let mut unacked = 0;
    let mut resume = None;
    for i in 1..=m {
        let (len, flags) = if i == m {
            (last, PSH | ACK)
        } else {
            (seg, ACK)
        };
        let gap = if let Some(g) = resume.take() {
            g
        } else if i == 1 {
            b.server_time() + if server_ack { 0 } else { rtt }
        } else {
            // Back-to-back within the initial window of 10 segments; the
            // 11th has to wait for the first ACKs.
            b.r(12, 120) + if i == 11 { rtt } else { 0 }
        };
        let s = b.push(S, flags, len, gap);
        if i == 1 {
            s.msg_len = total as u32;
        }
        if hole_at == Some(i) {
            s.hidden = true;
            lost = Some((len, len));
            continue;
        }
        if let Some((hl, after)) = lost.as_mut() {
            // Out of order at the receiver: an immediate (dup) ACK each time.
            *after += len;
            let (hl, after) = (*hl, *after);
            let t = b.r(10, 60);
            let a = b.push(C, ACK, 0, t);
            a.ack_back = after as u32;
            a.sack = hl as u16;
            a.tag = Tag::DupAck;
            continue;
        }
        unacked += 1;
        if zero_at == Some(i) {
            let t = b.r(5, 60);
            let a = b.push(C, ACK, 0, t);
            a.zero_win = true;
            a.tag = Tag::ZeroWindow;
            unacked = 0;
            let stall = b.r(50_000, 3 * SEC);
            let mut spent = 0;
            if stall > rtt + 260_000 {
                // The server's persist timer: a zero-window probe at
                // SND.UNA-1, answered with the same zero window.
                let t = rtt + 200_000 + b.r(0, 50_000);
                let p = b.push(S, ACK, 0, t);
                p.back = 1;
                p.tag = Tag::ZeroWindowProbe;
                let t2 = b.r(15, 100);
                b.push(C, ACK, 0, t2).zero_win = true;
                spent = t + t2;
            }
            b.push(C, ACK, 0, stall - spent).tag = Tag::WindowUpdate;
            resume = Some(rtt + b.r(12, 120));
        } else if unacked == 2 || i == m {
            let t = b.r(5, 60);
            b.push(C, ACK, 0, t);
            unacked = 0;
        }
    }
    if let Some((hl, after)) = lost {
        // The third dup ACK reached the server: fast retransmission, then
        // one cumulative ACK for everything.
        let t = rtt + b.r(10, 60);
        let s = b.push(S, ACK, hl, t);
        s.back = after as u32;
        s.tag = Tag::Retrans;
        if after == total {
            s.msg_len = total as u32;
        }
        let t = b.r(10, 60);
        b.push(C, ACK, 0, t);
    }
    b.steps[start..].iter().filter(|s| !s.hidden).count() as u64
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

enum Addrs {
    V4 { client: [u8; 4], server: [u8; 4] },
    V6 { client: [u8; 16], server: [u8; 16] },
}

/// Per-direction TCP/IP state.
struct Side {
    mac: [u8; 6],
    port: u16,
    ttl: u8,
    nxt: u32,
    ip_id: u16,
    flow: u32,
    ts_base: u32,
    last_tsval: u32,
    mss: u16,
    syn_window: u16,
    window: u16,
}

struct Conn {
    addrs: Addrs,
    client: Side,
    server: Side,
    start: u64,
    steps: Vec<Step>,
    next: usize,
    /// Its first packet has been written.
    seen: bool,
    /// Bit `tag` set once a step with that tag has been written.
    tags_seen: u32,
}

impl Conn {
    fn v6(&self) -> bool {
        matches!(self.addrs, Addrs::V6 { .. })
    }
}

fn client_v4(h: u64) -> [u8; 4] {
    [10, 16 + (h >> 8) as u8, h as u8, 20 + (h % 200) as u8]
}

fn client_v6(h: u64) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00, 0x10]);
    a[6] = (h >> 8) as u8;
    a[7] = h as u8;
    a[8..].copy_from_slice(&Lcg::new(h).0.to_be_bytes());
    a
}

fn server_v4(s: u64) -> [u8; 4] {
    let x = 10 + (s / 3) as u8;
    match s % 3 {
        0 => [192, 0, 2, x],
        1 => [198, 51, 100, x],
        _ => [203, 0, 113, x],
    }
}

fn server_v6(s: u64) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0xff, 0x00]);
    a[14] = (s >> 8) as u8;
    a[15] = s as u8 + 1;
    a
}

fn server_port(s: u64) -> u16 {
    [443, 443, 443, 443, 443, 8443, 993, 443][(s % 8) as usize]
}

/// Length of the frame a step becomes (must match `build_frame`).
fn frame_len(step: &Step, v6: bool) -> u64 {
    let ip = if v6 { 40 } else { 20 };
    14 + ip + 20 + tcp_options_len(step) + u64::from(step.len)
}

fn tcp_options_len(step: &Step) -> u64 {
    if step.flags & SYN != 0 {
        20
    } else if step.flags & SEQ0 != 0 || step.flags & (RST | ACK) == RST {
        0
    } else if step.sack != 0 {
        24
    } else {
        12
    }
}

struct Generator {
    shape: Shape,
    next_conn: u64,
    written: u64,
    /// Next ephemeral port of each client host.
    host_ports: Vec<u16>,
    payload_pool: Vec<u8>,
    frame: Vec<u8>,
    scratch: Vec<u8>,
    /// Packets per connection asked for, and packets scripted, both summed
    /// (in thousandths), to learn how far scripts miss their budget.
    asked_milli: u128,
    scripted_milli: u128,
    /// Scripted record bytes and packets, to steer the average record size.
    scripted_bytes: u64,
    scripted_packets: u64,
    /// Record bytes written so far (whole frames).
    written_bytes: u64,
    scale: u64,
}

impl Generator {
    fn new(shape: Shape) -> Generator {
        let mut rng = Lcg::new(0x5EED);
        let host_ports = (0..CLIENT_HOSTS)
            .map(|_| rng.range(32_768, 60_999) as u16)
            .collect();
        let payload_pool = (0..70_000).map(|_| rng.next_u32() as u8).collect();
        Generator {
            shape,
            next_conn: 0,
            written: 0,
            host_ports,
            payload_pool,
            frame: Vec::with_capacity(2048),
            scratch: Vec::with_capacity(2048),
            asked_milli: 0,
            scripted_milli: 0,
            scripted_bytes: 0,
            scripted_packets: 0,
            written_bytes: 0,
            scale: 1000,
        }
    }

    /// Mean packets per connection (thousandths) for the next connection:
    /// what is left to write over the connections left to open, corrected
    /// by how scripts have overshot their budgets so far, and kept within
    /// half to twice the shape's plain average.
    fn mean_budget_milli(&self) -> u64 {
        let plain = self.shape.packets * 1000 / self.shape.conns;
        let left_conns = self.shape.conns.saturating_sub(self.next_conn).max(1);
        let needed = self.shape.packets.saturating_sub(self.written) * 1000 / left_conns;
        let corrected = (u128::from(needed) * self.asked_milli)
            .checked_div(self.scripted_milli)
            .map_or(needed, |c| c as u64);
        corrected.clamp(plain / 2, plain * 2)
    }

    fn open(&mut self, start: u64) -> Conn {
        let id = self.next_conn;
        self.next_conn += 1;
        let mut rng = Lcg::new(id.wrapping_mul(0x1000_0001) ^ 0xC0FFEE);

        let host = rng.below(CLIENT_HOSTS);
        // Skewed: low-numbered servers are more popular.
        let popular = rng.below(SERVERS) + 1;
        let srv = rng.below(popular);
        let v6 = rng.percent(V6_PERCENT);
        let addrs = if v6 {
            Addrs::V6 {
                client: client_v6(host),
                server: server_v6(srv),
            }
        } else {
            Addrs::V4 {
                client: client_v4(host),
                server: server_v4(srv),
            }
        };
        let port = &mut self.host_ports[host as usize];
        let cport = *port;
        *port = if *port >= 60_999 { 32_768 } else { *port + 1 };

        let rtt = match rng.below(100) {
            0..=29 => rng.range(150, 1_500),
            30..=79 => rng.range(5_000, 40_000),
            _ => rng.range(60_000, 220_000),
        };
        let base_mss: u16 = if v6 { 1440 } else { 1460 };
        let server_mss = if rng.percent(20) {
            base_mss - 80
        } else {
            base_mss
        };
        // Payload per full segment: the smaller MSS minus the 12 bytes of
        // NOP,NOP,timestamps carried by every segment.
        let seg = u64::from(server_mss.min(base_mss)) - 12;

        // Packet budget: at least 7 (handshake and close), skewed upwards
        // (64 % small, 30 % medium, 5 % large, 1 % bulk).
        let mean = self.mean_budget_milli();
        let extra = mean.saturating_sub(7_000).max(500);
        let extra = match rng.below(100) {
            0..=63 => rng.below(extra + 1),
            64..=93 => rng.below(extra * 5 / 2 + 1),
            94..=98 => rng.below(extra * 8 + 1),
            _ => rng.below(extra * 24 + 1),
        };
        let budget_milli = 7_000 + extra;
        let steps = build_script(&mut rng, budget_milli / 1000, rtt, seg, self.scale);

        let visible = steps.iter().filter(|s| !s.hidden);
        let (mut n, mut bytes) = (0u64, 0u64);
        for s in visible {
            n += 1;
            bytes += 16 + frame_len(s, v6);
        }
        self.asked_milli += u128::from(mean);
        self.scripted_milli += u128::from(n) * 1000;
        self.scripted_packets += n;
        self.scripted_bytes += bytes;
        // Steer the scripted average so that the written one (which lags:
        // the tails of open connections are not written yet) hits the target.
        let scripted_avg = self.scripted_bytes * 1000 / self.scripted_packets.max(1);
        let written_avg = (self.written_bytes * 1000)
            .checked_div(self.written)
            .unwrap_or(scripted_avg);
        let target = (AVG_RECORD * 1000 + scripted_avg).saturating_sub(written_avg);
        self.scale = if scripted_avg > target {
            self.scale * 99 / 100
        } else {
            self.scale * 101 / 100
        }
        .clamp(150, 8_000);

        let client = Side {
            mac: [0x02, 0x42, 0x0a, 0x10, (host >> 8) as u8, host as u8],
            port: cport,
            ttl: 64,
            nxt: rng.next_u32(),
            ip_id: rng.next_u32() as u16,
            flow: rng.next_u32() & 0xF_FFFF,
            ts_base: rng.next_u32(),
            last_tsval: 0,
            mss: base_mss,
            syn_window: if v6 { 64_800 } else { 64_240 },
            window: rng.range(490, 512) as u16,
        };
        let hops = (srv % 11) as u8 + 3;
        let server = Side {
            mac: ROUTER_MAC,
            port: server_port(srv),
            ttl: if srv % 5 == 4 { 128 - hops } else { 64 - hops },
            nxt: rng.next_u32(),
            ip_id: 0,
            flow: rng.next_u32() & 0xF_FFFF,
            ts_base: rng.next_u32(),
            last_tsval: 0,
            mss: server_mss,
            syn_window: 65_160,
            window: rng.range(230, 509) as u16,
        };
        Conn {
            addrs,
            client,
            server,
            start,
            steps,
            next: 0,
            seen: false,
            tags_seen: 0,
        }
    }

    /// Advances `c` by one step at time `now`; builds its frame into
    /// `self.frame` unless the step is lost before the capture point.
    /// Returns the step.
    fn step(&mut self, c: &mut Conn, now: u64) -> Step {
        let step = c.steps[c.next];
        c.next += 1;
        let elapsed_ms = ((now - c.start) / 1_000) as u32;
        let (me, peer) = if step.from_client {
            (&mut c.client, &c.server)
        } else {
            (&mut c.server, &c.client)
        };

        let tsval = me.ts_base.wrapping_add(elapsed_ms);
        let tsecr = peer.last_tsval;
        let peer_nxt = peer.nxt;
        let seq = if step.flags & SEQ0 != 0 {
            0
        } else {
            me.nxt.wrapping_sub(step.back)
        };
        let len = u32::from(step.len);
        if step.back == 0 && step.flags & SEQ0 == 0 {
            me.nxt = seq
                .wrapping_add(len)
                .wrapping_add(u32::from(step.flags & (SYN | FIN) != 0));
        }
        if step.hidden {
            // Lost before the capture point: the sender's state moved on,
            // the receiver saw nothing.
            return step;
        }
        me.last_tsval = tsval;
        let ip_id = me.ip_id;
        me.ip_id = me.ip_id.wrapping_add(1);

        let ip = match &c.addrs {
            Addrs::V4 { client, server } => {
                let (source, destination) = if step.from_client {
                    (*client, *server)
                } else {
                    (*server, *client)
                };
                IpHeaders::Ipv4(
                    Ipv4Header {
                        source,
                        destination,
                        time_to_live: me.ttl,
                        identification: ip_id,
                        dont_fragment: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
            }
            Addrs::V6 { client, server } => {
                let (source, destination) = if step.from_client {
                    (*client, *server)
                } else {
                    (*server, *client)
                };
                IpHeaders::Ipv6(
                    Ipv6Header {
                        source,
                        destination,
                        hop_limit: me.ttl,
                        flow_label: Ipv6FlowLabel::try_new(me.flow).expect("20-bit flow label"),
                        ..Default::default()
                    },
                    Default::default(),
                )
            }
        };
        let dst_mac = if step.from_client {
            ROUTER_MAC
        } else {
            c.client.mac
        };
        let (me, peer) = if step.from_client {
            (&c.client, &c.server)
        } else {
            (&c.server, &c.client)
        };

        let syn = step.flags & SYN != 0;
        let rst = step.flags & RST != 0;
        let window = if syn {
            me.syn_window
        } else if step.zero_win || (rst && tcp_options_len(&step) == 0) {
            0
        } else {
            me.window
        };
        let mut tcp = PacketBuilder::ethernet2(me.mac, dst_mac)
            .ip(ip)
            .tcp(me.port, peer.port, seq, window);
        if syn {
            tcp = tcp.syn();
        }
        if rst {
            tcp = tcp.rst();
        }
        let ack = peer_nxt.wrapping_sub(step.ack_back);
        if step.flags & ACK != 0 {
            tcp = tcp.ack(ack);
        }
        if step.flags & PSH != 0 {
            tcp = tcp.psh();
        }
        if step.flags & FIN != 0 {
            tcp = tcp.fin();
        }
        let tcp = match tcp_options_len(&step) {
            0 => tcp,
            20 => tcp
                .options(&[
                    TcpOptionElement::MaximumSegmentSize(me.mss),
                    TcpOptionElement::SelectiveAcknowledgementPermitted,
                    TcpOptionElement::Timestamp(tsval, tsecr),
                    TcpOptionElement::Noop,
                    TcpOptionElement::WindowScale(7),
                ])
                .expect("TCP options fit"),
            24 => {
                let left = ack.wrapping_add(u32::from(step.sack));
                tcp.options(&[
                    TcpOptionElement::Noop,
                    TcpOptionElement::Noop,
                    TcpOptionElement::Timestamp(tsval, tsecr),
                    TcpOptionElement::Noop,
                    TcpOptionElement::Noop,
                    TcpOptionElement::SelectiveAcknowledgement((left, peer_nxt), [None; 3]),
                ])
                .expect("TCP options fit")
            }
            _ => tcp
                .options(&[
                    TcpOptionElement::Noop,
                    TcpOptionElement::Noop,
                    TcpOptionElement::Timestamp(tsval, tsecr),
                ])
                .expect("TCP options fit"),
        };

        // Payload: random bytes (like encrypted traffic); the first segment
        // of each message starts with a TLS application-data record header.
        let len = len as usize;
        let off = (seq as usize ^ (usize::from(me.port) << 4)) % 65_536;
        self.scratch.clear();
        if step.msg_len >= 5 && len >= 5 {
            let rec = (step.msg_len - 5).min(u32::from(u16::MAX)) as u16;
            self.scratch.extend_from_slice(&[0x17, 0x03, 0x03]);
            self.scratch.extend_from_slice(&rec.to_be_bytes());
            self.scratch
                .extend_from_slice(&self.payload_pool[off..off + len - 5]);
        } else {
            self.scratch
                .extend_from_slice(&self.payload_pool[off..off + len]);
        }
        self.frame.clear();
        tcp.write_to_vec(&mut self.frame, &self.scratch)
            .expect("build frame");
        debug_assert_eq!(self.frame.len() as u64, frame_len(&step, c.v6()));
        step
    }
}

// ---------------------------------------------------------------------------
// Capture file
// ---------------------------------------------------------------------------

struct CaptureInfo {
    packets: u64,
    bytes: u64,
    /// Human-readable facts about the traffic, as printed when generating.
    stats: Vec<String>,
}

fn meta_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".meta");
    PathBuf::from(p)
}

fn param_lines(shape: &Shape) -> String {
    format!(
        "generator={GENERATOR}\nshape={}\npackets={}\nconns={}\nopen={}\nsnaplen={}\nv6_percent={V6_PERCENT}\navg_record={AVG_RECORD}\n",
        shape.name, shape.packets, shape.conns, shape.open, shape.snaplen
    )
}

/// Reuses `path` if its sidecar `.meta` file records the same generator
/// version and parameters and the size still matches; otherwise regenerates.
fn ensure_capture(path: &Path, shape: &Shape) -> io::Result<CaptureInfo> {
    let key = param_lines(shape);
    if let (Ok(meta), Ok(md)) = (fs::read_to_string(meta_path(path)), fs::metadata(path)) {
        if let Some(rest) = meta.strip_prefix(&key) {
            let field = |name: &str| -> Option<u64> {
                rest.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse().ok())
            };
            if let (Some(packets), Some(bytes)) = (field("written_packets"), field("bytes")) {
                if bytes == md.len() {
                    println!("reusing {} (delete it to regenerate)", path.display());
                    let stats = rest
                        .lines()
                        .filter_map(|l| l.strip_prefix("stat="))
                        .map(str::to_string)
                        .collect();
                    return Ok(CaptureInfo {
                        packets,
                        bytes,
                        stats,
                    });
                }
            }
        }
    }

    println!(
        "generating {} ({} packets, ~{} connections, ~{} open at once) ...",
        path.display(),
        grouped(shape.packets),
        grouped(shape.conns),
        grouped(shape.open)
    );
    let _ = fs::remove_file(meta_path(path));
    let started = Instant::now();
    let tmp = path.with_extension("pcap.tmp");
    let info = generate(&tmp, shape)?;
    fs::rename(&tmp, path)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {} packets in {:.1} s ({:.1} MB)",
        grouped(info.packets),
        secs,
        info.bytes as f64 / 1e6
    );
    let mut meta = format!(
        "{key}written_packets={}\nbytes={}\ngenerate_seconds={secs:.1}\n",
        info.packets, info.bytes
    );
    for line in &info.stats {
        meta.push_str(&format!("stat={line}\n"));
    }
    fs::write(meta_path(path), meta)?;
    Ok(info)
}

#[derive(Default)]
struct Counts {
    conns: u64,
    v6_conns: u64,
    v6_packets: u64,
    tags: [u64; TAGS],
    /// Connections with at least one step of each tag.
    tag_conns: [u64; TAGS],
    /// ∫ open connections dt (connection·µs), and the maximum.
    open_area: u128,
    open_max: u64,
}

fn generate(path: &Path, shape: &Shape) -> io::Result<CaptureInfo> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    // Classic pcap global header, little-endian, microsecond timestamps.
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?; // thiszone
    out.write_all(&0u32.to_le_bytes())?; // sigfigs
    out.write_all(&shape.snaplen.to_le_bytes())?;
    out.write_all(&LINKTYPE_ETHERNET.to_le_bytes())?;
    let mut bytes = 24u64;
    let mut full_bytes = 24u64;

    // `open` slots, each running one connection after another: a
    // connection's successor opens a few milliseconds after its last packet.
    let open = shape.open as usize;
    let mut gen = Generator::new(shape.clone());
    let mut sched = Lcg::new(0x5C4ED);
    let mut slots: Vec<Conn> = Vec::with_capacity(open);
    // Min-heap of (time of the slot's next packet in µs, slot).
    let mut heap = BinaryHeap::with_capacity(open);
    for slot in 0..open {
        // The first wave arrives over the first two seconds.
        let start = sched.below(2 * SEC);
        slots.push(gen.open(start));
        heap.push(Reverse((start, slot)));
    }

    let mut n = Counts::default();
    let mut open_now = 0u64;
    let mut first_ts = None;
    let mut last = 0u64;
    while gen.written < shape.packets {
        let Some(Reverse((now, slot))) = heap.pop() else {
            break;
        };
        debug_assert!(now >= last, "timestamps must not go backwards");
        let conn = &mut slots[slot];
        let step = gen.step(conn, now);
        if !step.hidden {
            n.open_area += u128::from(open_now) * u128::from(now - last);
            last = now;
            first_ts.get_or_insert(now);
            if !conn.seen {
                conn.seen = true;
                open_now += 1;
                n.open_max = n.open_max.max(open_now);
                n.conns += 1;
                n.v6_conns += u64::from(conn.v6());
            }
            let bit = 1u32 << step.tag as u32;
            if conn.tags_seen & bit == 0 {
                conn.tags_seen |= bit;
                n.tag_conns[step.tag as usize] += 1;
            }
            n.tags[step.tag as usize] += 1;
            n.v6_packets += u64::from(conn.v6());

            let frame = &gen.frame;
            let caplen = frame.len().min(shape.snaplen as usize);
            let secs = EPOCH_SECS + now / SEC;
            let mut rec = [0u8; 16];
            rec[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
            rec[4..8].copy_from_slice(&((now % SEC) as u32).to_le_bytes());
            rec[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
            rec[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
            out.write_all(&rec)?;
            out.write_all(&frame[..caplen])?;
            bytes += 16 + caplen as u64;
            full_bytes += 16 + frame.len() as u64;
            gen.written += 1;
            gen.written_bytes += 16 + frame.len() as u64;
        }

        if let Some(next) = conn.steps.get(conn.next) {
            heap.push(Reverse((now + u64::from(next.gap), slot)));
        } else {
            if conn.seen {
                open_now -= 1;
            }
            let start = now + sched.range(1_000, 5_000);
            slots[slot] = gen.open(start);
            heap.push(Reverse((start, slot)));
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    let packets = gen.written;
    let first = first_ts.unwrap_or(0);
    let duration = last - first;
    let open_avg = if duration > 0 {
        (n.open_area / u128::from(duration)) as u64
    } else {
        open_now
    };
    let t = |tag: Tag| n.tags[tag as usize];
    let tc = |tag: Tag| n.tag_conns[tag as usize];
    let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    let stats = vec![
        format!(
            "connections {} over {:.0} s ({:.1} min); open at once: {} on average, {} at most, {} still open at the end",
            grouped(n.conns),
            duration as f64 / 1e6,
            duration as f64 / 60e6,
            grouped(open_avg),
            grouped(n.open_max),
            grouped(open_now)
        ),
        format!(
            "average record {:.1} bytes (whole frames); IPv6 {:.1} % of packets, {:.1} % of connections",
            (full_bytes - 24) as f64 / packets.max(1) as f64,
            pct(n.v6_packets, packets),
            pct(n.v6_conns, n.conns)
        ),
        format!(
            "refused {} (SYN → RST,ACK); unanswered SYNs {} connections ({} retransmitted SYNs at +1 s, +3 s)",
            grouped(t(Tag::Refused)),
            grouped(tc(Tag::SynRetrans)),
            grouped(t(Tag::SynRetrans))
        ),
        format!(
            "closes started: four-way client first {}, four-way server first {}, three-packet client first {}, three-packet server first {}",
            grouped(t(Tag::CloseClient4)),
            grouped(t(Tag::CloseServer4)),
            grouped(t(Tag::CloseClient3)),
            grouped(t(Tag::CloseServer3))
        ),
        format!(
            "aborts: RST,ACK by client {}, by server {}, bare RSTs answering a segment after an abort {}",
            grouped(t(Tag::AbortClient)),
            grouped(t(Tag::AbortServer)),
            grouped(t(Tag::RstReply))
        ),
        format!(
            "keep-alive: {} probes and {} ACKs on {} connections",
            grouped(t(Tag::KeepAlive)),
            grouped(t(Tag::KeepAliveAck)),
            grouped(tc(Tag::KeepAlive))
        ),
        format!(
            "retransmissions {} on {} connections, dup ACKs {}, zero windows on {} connections: zero-window ACKs {}, zero-window probes {}, window updates {}",
            grouped(t(Tag::Retrans)),
            grouped(tc(Tag::Retrans)),
            grouped(t(Tag::DupAck)),
            grouped(tc(Tag::ZeroWindow)),
            grouped(t(Tag::ZeroWindow)),
            grouped(t(Tag::ZeroWindowProbe)),
            grouped(t(Tag::WindowUpdate))
        ),
    ];
    Ok(CaptureInfo {
        packets,
        bytes,
        stats,
    })
}

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cmd {
    Cat,
    Summary,
    SummaryT2,
    Lines,
    Json,
    JsonT2,
    /// The same modes run by an older build (`SYNACK_BENCH_BASELINE`), so a
    /// change is measured against what came before in one run.
    BeforeSummary,
    BeforeLines,
    BeforeJson,
    Tcpdump,
    Tshark,
}

impl Cmd {
    const ALL: [Cmd; 11] = [
        Cmd::Cat,
        Cmd::Summary,
        Cmd::SummaryT2,
        Cmd::Lines,
        Cmd::Json,
        Cmd::JsonT2,
        Cmd::BeforeSummary,
        Cmd::BeforeLines,
        Cmd::BeforeJson,
        Cmd::Tcpdump,
        Cmd::Tshark,
    ];

    /// The name used in `SYNACK_BENCH_CMDS`.
    fn key(self) -> &'static str {
        match self {
            Cmd::Cat => "cat",
            Cmd::Summary => "summary",
            Cmd::SummaryT2 => "summary-t2",
            Cmd::Lines => "lines",
            Cmd::Json => "json",
            Cmd::JsonT2 => "json-t2",
            Cmd::BeforeSummary => "before-summary",
            Cmd::BeforeLines => "before-lines",
            Cmd::BeforeJson => "before-json",
            Cmd::Tcpdump => "tcpdump",
            Cmd::Tshark => "tshark",
        }
    }

    /// This build of synack (the rows the targets are about).
    fn is_synack(self) -> bool {
        !matches!(
            self,
            Cmd::Cat
                | Cmd::Tcpdump
                | Cmd::Tshark
                | Cmd::BeforeSummary
                | Cmd::BeforeLines
                | Cmd::BeforeJson
        )
    }

    /// The older build's row for this mode, and back.
    fn before(self) -> Option<Cmd> {
        match self {
            Cmd::Summary => Some(Cmd::BeforeSummary),
            Cmd::Lines => Some(Cmd::BeforeLines),
            Cmd::Json => Some(Cmd::BeforeJson),
            _ => None,
        }
    }

    /// Program name (for synack: none, the bench's own build is used) and
    /// arguments before the file.
    fn argv(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Cmd::Cat => ("cat", &[]),
            Cmd::Summary => ("synack", &["read", "--summary"]),
            Cmd::SummaryT2 => ("synack", &["read", "--summary", "--threads", "2"]),
            Cmd::Lines => ("synack", &["read"]),
            Cmd::Json => ("synack", &["read", "--json"]),
            Cmd::JsonT2 => ("synack", &["read", "--json", "--threads", "2"]),
            Cmd::BeforeSummary => ("synack-before", &["read", "--summary"]),
            Cmd::BeforeLines => ("synack-before", &["read"]),
            Cmd::BeforeJson => ("synack-before", &["read", "--json"]),
            Cmd::Tcpdump => ("tcpdump", &["-nn", "-r"]),
            Cmd::Tshark => ("tshark", &["-q", "-z", "conv,tcp", "-r"]),
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Cmd::Tcpdump => "skipped: tcpdump not found (apt package `tcpdump`)",
            Cmd::Tshark => "skipped: tshark not found (apt package `tshark`)",
            Cmd::BeforeSummary | Cmd::BeforeLines | Cmd::BeforeJson => {
                "skipped: set SYNACK_BENCH_BASELINE to an older synack binary"
            }
            _ => "skipped: not found",
        }
    }
}

/// `SYNACK_BENCH_CMDS` (or `SYNACK_BENCH_CMDS_10M` for busy-10m): a comma
/// list of `Cmd::key` names; default all.
fn cmds_for(shape: &str) -> Vec<Cmd> {
    let var = if shape.starts_with("busy-10m") {
        env::var("SYNACK_BENCH_CMDS_10M").or_else(|_| env::var("SYNACK_BENCH_CMDS"))
    } else {
        env::var("SYNACK_BENCH_CMDS")
    };
    let Ok(list) = var else {
        return Cmd::ALL.to_vec();
    };
    let mut cmds = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let cmd = Cmd::ALL
            .into_iter()
            .find(|c| c.key() == name)
            .unwrap_or_else(|| {
                let all: Vec<_> = Cmd::ALL.iter().map(|c| c.key()).collect();
                panic!("SYNACK_BENCH_CMDS: unknown {name:?}; use {}", all.join(","))
            });
        if !cmds.contains(&cmd) {
            cmds.push(cmd);
        }
    }
    // Keep the table's order whatever the list's order.
    Cmd::ALL.into_iter().filter(|c| cmds.contains(c)).collect()
}

enum Outcome {
    Skipped(String),
    Failed(String),
    Measured { secs: f64, rss_kb: Option<u64> },
}

struct Row {
    cmd: Cmd,
    label: String,
    outcome: Outcome,
}

struct ShapeRun {
    name: String,
    packets: u64,
    rows: Vec<Row>,
}

impl ShapeRun {
    fn secs(&self, cmd: Cmd) -> Option<f64> {
        self.rows.iter().find_map(|r| match r.outcome {
            Outcome::Measured { secs, .. } if r.cmd == cmd => Some(secs),
            _ => None,
        })
    }

    fn outcome(&self, cmd: Cmd) -> Option<&Outcome> {
        self.rows.iter().find(|r| r.cmd == cmd).map(|r| &r.outcome)
    }
}

fn which(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

struct Failure {
    code: Option<i32>,
    why: String,
    stderr: String,
}

/// Best-of-`runs` wall-clock time of `program args`, with stdout going to
/// /dev/null; peak RSS (max over runs) via `/usr/bin/time -f %M` if present.
fn measure(
    program: &Path,
    args: &[OsString],
    runs: u64,
    time_bin: Option<&Path>,
) -> Result<(f64, Option<u64>), Failure> {
    let mut best = f64::INFINITY;
    let mut peak: Option<u64> = None;
    for _ in 0..runs {
        let devnull = File::options()
            .write(true)
            .open("/dev/null")
            .map_err(|e| Failure {
                code: None,
                why: format!("cannot open /dev/null: {e}"),
                stderr: String::new(),
            })?;
        let mut cmd = match time_bin {
            Some(time) => {
                let mut c = Command::new(time);
                c.arg("-f").arg("%M").arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(devnull)
            .stderr(Stdio::piped());
        let started = Instant::now();
        let output = cmd.output().map_err(|e| Failure {
            code: None,
            why: format!("cannot run: {e}"),
            stderr: String::new(),
        })?;
        let secs = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            let first = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("Command exited with"))
                .unwrap_or("");
            let mut why = match output.status.code() {
                Some(code) => format!("exit status {code}"),
                None => output.status.to_string(),
            };
            if !first.is_empty() {
                why.push_str(&format!("; stderr: {}", truncate(first, 100)));
            }
            return Err(Failure {
                code: output.status.code(),
                why,
                stderr,
            });
        }
        best = best.min(secs);
        if time_bin.is_some() {
            let kb = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .and_then(|l| l.trim().parse::<u64>().ok());
            if let Some(kb) = kb {
                peak = Some(peak.map_or(kb, |p| p.max(kb)));
            }
        }
    }
    Ok((best, peak))
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Reads the capture once so every command starts with a warm page cache.
fn warm_cache(path: &Path) -> io::Result<()> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}

fn run_shape(shape: &Shape, path: &Path, packets: u64, runs: u64, cmds: &[Cmd]) -> ShapeRun {
    let synack = PathBuf::from(env!("CARGO_BIN_EXE_synack"));
    let time_bin = Some(Path::new("/usr/bin/time")).filter(|p| p.is_file());
    let shown = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );

    if let Err(e) = warm_cache(path) {
        eprintln!("warning: could not pre-read {}: {e}", path.display());
    }
    println!();
    if time_bin.is_none() {
        println!("/usr/bin/time not found (apt package `time`): peak RSS shown as n/a");
    }
    println!(
        "timing {}: best of {runs} wall-clock runs, stdout to /dev/null",
        shape.name
    );

    let mut rows = Vec::new();
    for &cmd in cmds {
        let (name, pre) = cmd.argv();
        let program = if cmd.is_synack() {
            Some(synack.clone())
        } else if name == "synack-before" {
            env::var_os("SYNACK_BENCH_BASELINE")
                .map(PathBuf::from)
                .filter(|p| p.is_file())
        } else {
            which(name)
        };
        let label = format!("{name} {} {shown}", pre.join(" ")).replace("  ", " ");
        let outcome = match program {
            None => Outcome::Skipped(cmd.missing().to_string()),
            Some(program) => {
                let mut args: Vec<OsString> = pre.iter().map(OsString::from).collect();
                args.push(path.as_os_str().to_owned());
                print!("  running {label} ... ");
                let _ = io::stdout().flush();
                match measure(&program, &args, runs, time_bin) {
                    Ok((secs, rss_kb)) => {
                        println!("{secs:.3} s");
                        Outcome::Measured { secs, rss_kb }
                    }
                    Err(f)
                        if f.code == Some(2)
                            && pre.contains(&"--threads")
                            && f.stderr.contains("threads") =>
                    {
                        println!("synack has no --threads yet");
                        Outcome::Skipped("n/a (no --threads yet)".into())
                    }
                    Err(f) => {
                        println!("failed ({})", f.why);
                        Outcome::Failed(f.why)
                    }
                }
            }
        };
        rows.push(Row {
            cmd,
            label,
            outcome,
        });
    }
    let run = ShapeRun {
        name: shape.name.clone(),
        packets,
        rows,
    };
    print_table(&run);
    print_targets(&run);
    print_before(&run);
    run
}

/// This build against the older one (`SYNACK_BENCH_BASELINE`), mode by mode:
/// a change must not make synack slower.
fn print_before(run: &ShapeRun) {
    let pairs: Vec<(Cmd, Cmd)> = Cmd::ALL
        .into_iter()
        .filter_map(|c| c.before().map(|b| (c, b)))
        .collect();
    if pairs.iter().all(|&(_, b)| run.secs(b).is_none()) {
        return;
    }
    println!();
    println!("this build against SYNACK_BENCH_BASELINE ({}):", run.name);
    for (now, before) in pairs {
        let (_, pre) = now.argv();
        let label = format!("synack {}", pre.join(" "));
        match (run.secs(before), run.secs(now)) {
            (Some(b), Some(n)) if n > 0.0 => println!(
                "  {label:<22} before {b:.3} s, now {n:.3} s: {:.2}× {}",
                b / n,
                if n <= b { "faster" } else { "SLOWER" }
            ),
            _ => println!("  {label:<22} n/a"),
        }
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

fn print_table(run: &ShapeRun) {
    let cat = run.secs(Cmd::Cat);
    let tcpdump = run.secs(Cmd::Tcpdump);
    let tshark = run.secs(Cmd::Tshark);
    let speedup = |secs: f64, base: Option<f64>| match base {
        Some(b) if b > 0.0 && secs > 0.0 => format!("{:.1}×", b / secs),
        _ => "-".to_string(),
    };

    let width = run
        .rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    println!();
    println!("{}: {} packets", run.name, grouped(run.packets));
    println!(
        "{:<width$}  {:>8}  {:>9}  {:>7}  {:>10}  {:>9}  {:>9}",
        "command", "seconds", "packets/s", "× cat", "vs tcpdump", "vs tshark", "peak RSS"
    );
    println!(
        "{}",
        "-".repeat(width + 2 + 8 + 2 + 9 + 2 + 7 + 2 + 10 + 2 + 9 + 2 + 9)
    );
    let mut notes = Vec::new();
    for row in &run.rows {
        match &row.outcome {
            Outcome::Measured { secs, rss_kb } => {
                let x_cat = match cat {
                    Some(c) if c > 0.0 => format!("{:.1}×", secs / c),
                    _ => "-".to_string(),
                };
                let (vs_tcpdump, vs_tshark) = match row.cmd {
                    Cmd::Summary | Cmd::SummaryT2 => {
                        (speedup(*secs, tcpdump), speedup(*secs, tshark))
                    }
                    Cmd::BeforeSummary => (speedup(*secs, tcpdump), speedup(*secs, tshark)),
                    Cmd::Lines | Cmd::Json | Cmd::JsonT2 | Cmd::BeforeLines | Cmd::BeforeJson => {
                        (speedup(*secs, tcpdump), "-".into())
                    }
                    _ => ("-".into(), "-".into()),
                };
                let rss =
                    rss_kb.map_or_else(|| "n/a".to_string(), |kb| format!("{:.1} MB", mb(kb)));
                println!(
                    "{:<width$}  {:>8.3}  {:>9}  {:>7}  {:>10}  {:>9}  {:>9}",
                    row.label,
                    secs,
                    format!("{:.2} M", run.packets as f64 / secs / 1e6),
                    x_cat,
                    vs_tcpdump,
                    vs_tshark,
                    rss
                );
            }
            Outcome::Failed(why) => {
                let status = why.split(';').next().unwrap_or(why);
                println!("{:<width$}  n/a ({status})", row.label);
                if why.len() > status.len() {
                    notes.push(format!("{}: {}", row.label, why));
                }
            }
            Outcome::Skipped(why) => println!("{:<width$}  {why}", row.label),
        }
    }
    println!();
    println!("× cat: this command's time ÷ `cat FILE > /dev/null` (lower is better);");
    println!("vs tcpdump/tshark: their time ÷ this command's time (higher is better); RSS in MB (10^6 bytes)");
    for note in notes {
        println!("note: {note}");
    }
}

/// Prints the issue's targets beside the measured ratios.
fn print_targets(run: &ShapeRun) {
    let is_10m = run.name.starts_with("busy-10m");
    let s = |c| run.secs(c);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let not_run = |c: Cmd| -> String {
        match run.outcome(c) {
            Some(Outcome::Skipped(why)) if why.starts_with("n/a") => why.clone(),
            Some(Outcome::Skipped(_)) => "n/a (skipped)".into(),
            Some(Outcome::Failed(_)) => "n/a (failed)".into(),
            Some(Outcome::Measured { .. }) => "n/a".into(),
            None => format!("n/a (not run: {})", c.key()),
        }
    };
    // (target, measured text, met?, applies to this shape)
    let mut lines: Vec<(String, String, Option<bool>, bool)> = Vec::new();
    let mut check = |target: &str,
                     value: Option<f64>,
                     unit: &str,
                     ok: &dyn Fn(f64) -> bool,
                     missing: String,
                     applies: bool| {
        let (text, met) = match value {
            Some(v) => (format!("{v:.1}{unit}"), Some(ok(v))),
            None => (missing, None),
        };
        lines.push((target.to_string(), text, met, applies));
    };
    let missing2 = |a: Cmd, b: Cmd| {
        if s(a).is_none() {
            not_run(a)
        } else {
            not_run(b)
        }
    };
    check(
        "--summary ≤ 8× cat",
        ratio(s(Cmd::Summary), s(Cmd::Cat)),
        "× cat",
        &|v| v <= 8.0,
        missing2(Cmd::Summary, Cmd::Cat),
        true,
    );
    check(
        "--summary ≥ 60× faster than tshark",
        ratio(s(Cmd::Tshark), s(Cmd::Summary)),
        "× faster",
        &|v| v >= 60.0,
        missing2(Cmd::Summary, Cmd::Tshark),
        true,
    );
    check(
        "lines ≥ 10× faster than tcpdump",
        ratio(s(Cmd::Tcpdump), s(Cmd::Lines)),
        "× faster",
        &|v| v >= 10.0,
        missing2(Cmd::Lines, Cmd::Tcpdump),
        true,
    );
    check(
        "--json ≥ 5× faster than tcpdump",
        ratio(s(Cmd::Tcpdump), s(Cmd::Json)),
        "× faster",
        &|v| v >= 5.0,
        missing2(Cmd::Json, Cmd::Tcpdump),
        true,
    );
    let peak = run
        .rows
        .iter()
        .filter(|r| r.cmd.is_synack())
        .filter_map(|r| match r.outcome {
            Outcome::Measured { rss_kb, .. } => rss_kb,
            _ => None,
        })
        .max();
    check(
        "synack peak RSS ≤ 64 MB (busy-10m)",
        peak.map(mb),
        " MB",
        &|v| v <= 64.0,
        "n/a".into(),
        is_10m,
    );
    check(
        "--summary --threads 2 ≥ 1.7× --threads 1 (busy-10m)",
        ratio(s(Cmd::Summary), s(Cmd::SummaryT2)),
        "×",
        &|v| v >= 1.7,
        missing2(Cmd::SummaryT2, Cmd::Summary),
        is_10m,
    );
    check(
        "--json --threads 2 ≥ 1.7× --threads 1 (busy-10m)",
        ratio(s(Cmd::Json), s(Cmd::JsonT2)),
        "×",
        &|v| v >= 1.7,
        missing2(Cmd::JsonT2, Cmd::Json),
        is_10m,
    );
    let width = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
    println!();
    println!("targets ({}):", run.name);
    for (target, text, met, applies) in lines {
        let verdict = match (met, applies) {
            (_, false) => "(target is for busy-10m)",
            (Some(true), true) => "met",
            (Some(false), true) => "MISSED",
            (None, true) => "",
        };
        let pad = width - target.chars().count();
        let line = format!("  {target}{}  {text:<28} {verdict}", " ".repeat(pad));
        println!("{}", line.trim_end());
    }
}

/// The 10M/1M time ratio of each synack mode (issue 10: ≤ 11×), when both
/// shapes ran.
fn print_ratios(runs: &[ShapeRun]) {
    let (Some(small), Some(big)) = (
        runs.iter().find(|r| r.name == "busy-1m"),
        runs.iter().find(|r| r.name == "busy-10m"),
    ) else {
        return;
    };
    println!();
    println!("10M/1M time (target ≤ 11×):");
    for cmd in Cmd::ALL.into_iter().filter(|c| c.is_synack()) {
        let (_, pre) = cmd.argv();
        let label = format!("synack {}", pre.join(" "));
        let text = match (small.secs(cmd), big.secs(cmd)) {
            (Some(a), Some(b)) if a > 0.0 => {
                let r = b / a;
                format!("{r:.1}×  {}", if r <= 11.0 { "met" } else { "MISSED" })
            }
            _ => {
                let why = [big.outcome(cmd), small.outcome(cmd)]
                    .into_iter()
                    .flatten()
                    .find_map(|o| match o {
                        Outcome::Skipped(w) if w.starts_with("n/a") => Some(w.clone()),
                        Outcome::Measured { .. } => None,
                        _ => Some("n/a".into()),
                    });
                why.unwrap_or_else(|| "n/a (not run on both shapes)".into())
            }
        };
        println!("  {label:<36} {text}");
    }
}
