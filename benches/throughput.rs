//! Whole-command throughput benchmark for `synack`.
//!
//! Run with `cargo bench --bench throughput`. See `benches/README.md`.
//!
//! 1. Generates (or reuses) a deterministic, synthetic but realistic classic
//!    pcap under `target/bench-data/`: many interleaved TCP connections, each
//!    with a three-way handshake (MSS, SACK-permitted, timestamps and window
//!    scale options), request/response exchanges carrying TLS-looking
//!    application data, delayed pure ACKs, and a four-way FIN close.
//! 2. Times whole-command runs (best of N wall-clock, stdout to /dev/null) of
//!    `synack read` in its output modes against `tcpdump` and `tshark`, and
//!    records the peak RSS of each run via `/usr/bin/time -f %M`.
//!
//! Environment:
//! - `SYNACK_BENCH_PACKETS` (default 1_000_000; accepts `10m`, `200k`, `1_000_000`)
//! - `SYNACK_BENCH_CONNS` (default 20_000)
//! - `SYNACK_BENCH_SNAPLEN` (default 65535: whole frames are captured)
//! - `SYNACK_BENCH_RUNS` (default 3: best-of-N timing)
//! - `SYNACK_BENCH_GEN_ONLY` (set to generate the file and skip the timings)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::env;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use etherparse::{
    IpHeaders, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder, TcpOptionElement,
};

/// Bump whenever the generated traffic changes, so stale files are rebuilt.
const GENERATOR: &str = "synack-bench-gen/1";
const DEFAULT_PACKETS: u64 = 1_000_000;
const DEFAULT_CONNS: u64 = 20_000;
const DEFAULT_SNAPLEN: u32 = 65_535;
/// Connections open at the same time.
const CONCURRENCY: usize = 200;
/// Capture start: 2023-11-14T22:13:20Z.
const EPOCH_SECS: u64 = 1_700_000_000;
const CLIENT_HOSTS: u64 = 4096;
const SERVERS: u64 = 64;
/// Packets of a connection without data: 3 (handshake) + 4 (close).
const MIN_CONN_PACKETS: u64 = 7;
const LINKTYPE_ETHERNET: u32 = 1;
const ROUTER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

const SYN: u8 = 0x01;
const ACK: u8 = 0x02;
const PSH: u8 = 0x04;
const FIN: u8 = 0x08;

fn main() {
    let params = Params::from_env();
    let runs = env::var("SYNACK_BENCH_RUNS")
        .ok()
        .and_then(|v| parse_count(&v))
        .unwrap_or(3)
        .max(1);

    let data_dir = target_dir().join("bench-data");
    fs::create_dir_all(&data_dir).expect("create target/bench-data");
    let path = data_dir.join(params.file_name());
    let info = ensure_capture(&path, &params).expect("generate benchmark capture");

    println!();
    println!("capture      {}", path.display());
    println!(
        "size         {:.1} MiB ({} bytes)",
        info.bytes as f64 / (1024.0 * 1024.0),
        info.bytes
    );
    println!("packets      {}", info.packets);
    println!(
        "connections  {} (up to {} open at once)",
        info.conns, CONCURRENCY
    );
    if env::var_os("SYNACK_BENCH_GEN_ONLY").is_some() {
        return;
    }
    println!();
    run_benchmarks(&path, info.packets, runs);
}

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Params {
    packets: u64,
    conns: u64,
    snaplen: u32,
}

impl Params {
    fn from_env() -> Params {
        let packets = env_count("SYNACK_BENCH_PACKETS", DEFAULT_PACKETS);
        let conns = env_count("SYNACK_BENCH_CONNS", DEFAULT_CONNS);
        let snaplen = env_count("SYNACK_BENCH_SNAPLEN", u64::from(DEFAULT_SNAPLEN));
        assert!(packets > 0, "SYNACK_BENCH_PACKETS must be positive");
        assert!(conns > 0, "SYNACK_BENCH_CONNS must be positive");
        assert!(
            (64..=262_144).contains(&snaplen),
            "SYNACK_BENCH_SNAPLEN must be within 64..=262144"
        );
        Params {
            packets,
            conns,
            snaplen: snaplen as u32,
        }
    }

    /// `tcp-1m.pcap` for the defaults, `tcp-10m.pcap` for 10 M packets over
    /// 200 k connections; the connection count and snaplen only appear in the
    /// name when they differ from the default 50 packets per connection and
    /// whole-frame capture.
    fn file_name(&self) -> String {
        let mut name = format!("tcp-{}", human(self.packets));
        if self.conns != self.packets / 50 {
            name.push_str(&format!("-{}c", human(self.conns)));
        }
        if self.snaplen != DEFAULT_SNAPLEN {
            name.push_str(&format!("-s{}", self.snaplen));
        }
        name.push_str(".pcap");
        name
    }

    /// Packet budget of connection `i`. Budgets vary per connection (from 9
    /// up to about twice the mean) but pairs of connections compensate each
    /// other, so the total is exactly `packets` whenever there are at least
    /// 7 packets per connection.
    fn conn_budget(&self, i: u64) -> u64 {
        let base = self.packets / self.conns;
        let mut budget = base + u64::from(i < self.packets % self.conns);
        let unpaired = self.conns % 2 == 1 && i == self.conns - 1;
        if base >= 9 && !unpaired {
            let d = Lcg::new(0x00B0_D6E7 ^ (i / 2)).below(base - 8);
            if i % 2 == 0 {
                budget += d;
            } else {
                budget -= d;
            }
        }
        budget.max(MIN_CONN_PACKETS)
    }
}

fn env_count(name: &str, default: u64) -> u64 {
    match env::var(name) {
        Ok(v) => parse_count(&v).unwrap_or_else(|| panic!("cannot parse {name}={v:?}")),
        Err(_) => default,
    }
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
}

// ---------------------------------------------------------------------------
// Connection scripts
// ---------------------------------------------------------------------------

/// One packet of a connection, decided when the connection opens.
#[derive(Clone, Copy)]
struct Step {
    from_client: bool,
    flags: u8,
    len: u16,
    /// Non-zero on the first segment of an application message: the whole
    /// message length, used to write a TLS application-data record header.
    msg_len: u32,
    /// Microseconds since the previous packet of this connection.
    gap: u32,
}

struct ScriptBuilder<'a> {
    steps: Vec<Step>,
    rng: &'a mut Lcg,
    rtt: u64,
}

impl ScriptBuilder<'_> {
    /// `rtt`: add one round trip to the gap (the capture point sits next to
    /// the clients, so a server reply to a client packet arrives one RTT later).
    fn push(&mut self, from_client: bool, flags: u8, len: u64, msg_len: u64, gap: u64, rtt: bool) {
        let gap = gap + if rtt { self.rtt } else { 0 };
        self.steps.push(Step {
            from_client,
            flags,
            len: len as u16,
            msg_len: msg_len as u32,
            gap: gap.min(u64::from(u32::MAX)) as u32,
        });
    }

    fn r(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.range(lo, hi)
    }

    /// Client think time between exchanges on a kept-alive connection.
    fn think(&mut self) -> u64 {
        match self.rng.below(100) {
            0..=49 => self.r(40, 1_000),
            50..=84 => self.r(1_000, 20_000),
            _ => self.r(20_000, 300_000),
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
}

/// Builds a script of exactly `budget` packets (at least 7).
fn build_script(rng: &mut Lcg, budget: u64, rtt: u64, seg: u64) -> Vec<Step> {
    const C: bool = true;
    const S: bool = false;
    debug_assert!(budget >= MIN_CONN_PACKETS);
    let mut b = ScriptBuilder {
        steps: Vec::with_capacity(budget as usize),
        rng,
        rtt,
    };

    // Three-way handshake.
    b.push(C, SYN, 0, 0, 0, false);
    let t = b.r(10, 80);
    b.push(S, SYN | ACK, 0, 0, t, true);
    let t = b.r(15, 120);
    b.push(C, ACK, 0, 0, t, false);

    let mut left = budget - MIN_CONN_PACKETS;
    let mut first = true;
    while left > 0 {
        let think = if first { b.r(20, 400) } else { b.think() };
        first = false;
        if left == 1 {
            // An unsolicited server message (e.g. a push notification).
            let len = b.r(40, 600);
            b.push(S, PSH | ACK, len, len, think, false);
            left -= 1;
            continue;
        }

        // Client request.
        let req = b.r(60, 900);
        b.push(C, PSH | ACK, req, req, think, false);
        left -= 1;

        // Server response: `m` segments, `acks` delayed client ACKs, and
        // sometimes a pure ACK of the request before a slow response.
        let m = match b.rng.below(100) {
            0..=54 => 1,
            55..=79 => b.r(2, 3),
            80..=94 => b.r(4, 7),
            _ => b.r(8, 11),
        };
        let mut server_ack = b.rng.percent(10);
        let mut acks = m.div_ceil(2);
        if m + acks + u64::from(server_ack) > left {
            // Last exchange: fit it exactly into what is left.
            server_ack = false;
            acks = left / 3;
            let m = left - acks;
            respond(&mut b, m, acks, false, seg);
            left = 0;
        } else {
            left -= m + acks + u64::from(server_ack);
            respond(&mut b, m, acks, server_ack, seg);
        }
    }

    // Four-way close.
    if b.rng.percent(70) {
        let t = b.think();
        b.push(C, FIN | ACK, 0, 0, t, false);
        let t = b.r(5, 40);
        b.push(S, ACK, 0, 0, t, true);
        let t = b.r(20, 800);
        b.push(S, FIN | ACK, 0, 0, t, false);
        let t = b.r(15, 100);
        b.push(C, ACK, 0, 0, t, false);
    } else {
        let t = b.r(50, 2_000);
        b.push(S, FIN | ACK, 0, 0, t, false);
        let t = b.r(15, 100);
        b.push(C, ACK, 0, 0, t, false);
        let t = b.r(50, 500);
        b.push(C, FIN | ACK, 0, 0, t, false);
        let t = b.r(5, 40);
        b.push(S, ACK, 0, 0, t, true);
    }
    debug_assert_eq!(b.steps.len() as u64, budget);
    b.steps
}

/// Emits a server response of `m` segments (full-sized except the last, which
/// carries PSH) with `acks` (<= ceil(m/2)) client ACKs after every second
/// segment and after the last one.
fn respond(b: &mut ScriptBuilder<'_>, m: u64, mut acks: u64, server_ack: bool, seg: u64) {
    const C: bool = true;
    const S: bool = false;
    debug_assert!(m >= 1 && acks <= m.div_ceil(2));
    if server_ack {
        let t = b.r(5, 40);
        b.push(S, ACK, 0, 0, t, true);
    }
    let last = b.r(60, seg);
    let total = (m - 1) * seg + last;
    for i in 1..=m {
        let (len, flags) = if i == m {
            (last, PSH | ACK)
        } else {
            (seg, ACK)
        };
        let gap = if i == 1 {
            b.server_time()
        } else {
            // Back-to-back within the initial window of 10 segments; the
            // 11th has to wait for the first ACKs.
            b.r(12, 120) + if i == 11 { b.rtt } else { 0 }
        };
        let msg = if i == 1 { total } else { 0 };
        b.push(S, flags, len, msg, gap, i == 1 && !server_ack);
        if acks > 0 && (i % 2 == 0 || i == m) {
            let t = b.r(5, 60);
            b.push(C, ACK, 0, 0, t, false);
            acks -= 1;
        }
    }
    debug_assert_eq!(acks, 0);
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
}

struct Generator {
    params: Params,
    next_conn: u64,
    /// Next ephemeral port of each client host.
    host_ports: Vec<u16>,
    payload_pool: Vec<u8>,
    frame: Vec<u8>,
    scratch: Vec<u8>,
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

impl Generator {
    fn new(params: Params) -> Generator {
        let mut rng = Lcg::new(0x5EED);
        let host_ports = (0..CLIENT_HOSTS)
            .map(|_| rng.range(32_768, 60_999) as u16)
            .collect();
        let payload_pool = (0..70_000).map(|_| rng.next_u32() as u8).collect();
        Generator {
            params,
            next_conn: 0,
            host_ports,
            payload_pool,
            frame: Vec::with_capacity(2048),
            scratch: Vec::with_capacity(2048),
        }
    }

    fn open(&mut self, start: u64) -> Conn {
        let id = self.next_conn;
        self.next_conn += 1;
        let mut rng = Lcg::new(id.wrapping_mul(0x1000_0001) ^ 0xC0FFEE);

        let host = rng.below(CLIENT_HOSTS);
        // Skewed: low-numbered servers are more popular.
        let popular = rng.below(SERVERS) + 1;
        let srv = rng.below(popular);
        let v6 = rng.percent(12);
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
        let steps = build_script(&mut rng, self.params.conn_budget(id), rtt, seg);

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
        }
    }

    /// Builds the frame of the next step of `c` at time `now` into
    /// `self.frame`.
    fn build_frame(&mut self, c: &mut Conn, now: u64) {
        let step = c.steps[c.next];
        c.next += 1;
        let elapsed_ms = ((now - c.start) / 1_000) as u32;
        let (me, peer) = if step.from_client {
            (&mut c.client, &c.server)
        } else {
            (&mut c.server, &c.client)
        };

        let tsval = me.ts_base.wrapping_add(elapsed_ms);
        me.last_tsval = tsval;
        let tsecr = peer.last_tsval;
        let seq = me.nxt;
        let len = u32::from(step.len);
        me.nxt = seq
            .wrapping_add(len)
            .wrapping_add(u32::from(step.flags & (SYN | FIN) != 0));
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
        let window = if syn { me.syn_window } else { me.window };
        let mut tcp = PacketBuilder::ethernet2(me.mac, dst_mac)
            .ip(ip)
            .tcp(me.port, peer.port, seq, window);
        if syn {
            tcp = tcp.syn();
        }
        if step.flags & ACK != 0 {
            tcp = tcp.ack(peer.nxt);
        }
        if step.flags & PSH != 0 {
            tcp = tcp.psh();
        }
        if step.flags & FIN != 0 {
            tcp = tcp.fin();
        }
        let tcp = if syn {
            tcp.options(&[
                TcpOptionElement::MaximumSegmentSize(me.mss),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Timestamp(tsval, tsecr),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
        } else {
            tcp.options(&[
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::Timestamp(tsval, tsecr),
            ])
        }
        .expect("TCP options fit");

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
    }
}

// ---------------------------------------------------------------------------
// Capture file
// ---------------------------------------------------------------------------

struct CaptureInfo {
    packets: u64,
    conns: u64,
    bytes: u64,
}

fn meta_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".meta");
    PathBuf::from(p)
}

fn param_lines(params: &Params) -> String {
    format!(
        "generator={GENERATOR}\npackets={}\nconns={}\nsnaplen={}\nconcurrency={CONCURRENCY}\n",
        params.packets, params.conns, params.snaplen
    )
}

/// Reuses `path` if its sidecar `.meta` file records the same generator
/// version and parameters and the size still matches; otherwise regenerates.
fn ensure_capture(path: &Path, params: &Params) -> io::Result<CaptureInfo> {
    let key = param_lines(params);
    if let (Ok(meta), Ok(md)) = (fs::read_to_string(meta_path(path)), fs::metadata(path)) {
        if let Some(rest) = meta.strip_prefix(&key) {
            let field = |name: &str| -> Option<u64> {
                rest.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse().ok())
            };
            if let (Some(packets), Some(conns), Some(bytes)) = (
                field("written_packets"),
                field("written_conns"),
                field("bytes"),
            ) {
                if bytes == md.len() {
                    println!("reusing {} (delete it to regenerate)", path.display());
                    return Ok(CaptureInfo {
                        packets,
                        conns,
                        bytes,
                    });
                }
            }
        }
    }

    println!(
        "generating {} ({} packets, {} connections) ...",
        path.display(),
        params.packets,
        params.conns
    );
    let _ = fs::remove_file(meta_path(path));
    let started = Instant::now();
    let tmp = path.with_extension("pcap.tmp");
    let info = generate(&tmp, params)?;
    fs::rename(&tmp, path)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {} packets in {:.2} s ({:.1} MiB)",
        info.packets,
        secs,
        info.bytes as f64 / (1024.0 * 1024.0)
    );
    fs::write(
        meta_path(path),
        format!(
            "{key}written_packets={}\nwritten_conns={}\nbytes={}\ngenerate_seconds={secs:.2}\n",
            info.packets, info.conns, info.bytes
        ),
    )?;
    Ok(info)
}

fn generate(path: &Path, params: &Params) -> io::Result<CaptureInfo> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    // Classic pcap global header, little-endian, microsecond timestamps.
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?; // thiszone
    out.write_all(&0u32.to_le_bytes())?; // sigfigs
    out.write_all(&params.snaplen.to_le_bytes())?;
    out.write_all(&LINKTYPE_ETHERNET.to_le_bytes())?;
    let mut bytes = 24u64;
    let mut packets = 0u64;

    let mut gen = Generator::new(*params);
    let mut sched = Lcg::new(0x5C4ED);
    let mut slots: Vec<Option<Conn>> = Vec::with_capacity(CONCURRENCY);
    // Min-heap of (time of the slot's next packet in µs, slot).
    let mut heap = BinaryHeap::with_capacity(CONCURRENCY);
    let initial = (CONCURRENCY as u64).min(params.conns) as usize;
    for slot in 0..initial {
        // Stagger the first wave so connections are not in lock-step.
        let start = sched.below(300_000);
        slots.push(Some(gen.open(start)));
        heap.push(Reverse((start, slot)));
    }

    let mut last = 0u64;
    while let Some(Reverse((now, slot))) = heap.pop() {
        debug_assert!(now >= last, "timestamps must not go backwards");
        last = now;
        let conn = slots[slot].as_mut().expect("scheduled slot is open");
        gen.build_frame(conn, now);

        let frame = &gen.frame;
        let caplen = frame.len().min(params.snaplen as usize);
        let secs = EPOCH_SECS + now / 1_000_000;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((now % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        out.write_all(&rec)?;
        out.write_all(&frame[..caplen])?;
        bytes += 16 + caplen as u64;
        packets += 1;

        if let Some(step) = conn.steps.get(conn.next) {
            heap.push(Reverse((now + u64::from(step.gap), slot)));
        } else if gen.next_conn < params.conns {
            let start = now + sched.range(1, 3_000);
            slots[slot] = Some(gen.open(start));
            heap.push(Reverse((start, slot)));
        } else {
            slots[slot] = None;
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(CaptureInfo {
        packets,
        conns: gen.next_conn,
        bytes,
    })
}

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

enum Outcome {
    Skipped(String),
    Failed(String),
    Measured { secs: f64, rss_kb: Option<u64> },
}

struct Row {
    label: String,
    outcome: Outcome,
}

fn which(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// Best-of-`runs` wall-clock time of `program args`, with stdout going to
/// /dev/null; peak RSS (max over runs) via `/usr/bin/time -f %M` if present.
fn measure(program: &Path, args: &[OsString], runs: u64, time_bin: Option<&Path>) -> Outcome {
    let mut best = f64::INFINITY;
    let mut peak: Option<u64> = None;
    for _ in 0..runs {
        let devnull = match File::options().write(true).open("/dev/null") {
            Ok(f) => f,
            Err(e) => return Outcome::Failed(format!("cannot open /dev/null: {e}")),
        };
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
        let output = match cmd.output() {
            Ok(o) => o,
            Err(e) => return Outcome::Failed(format!("cannot run: {e}")),
        };
        let secs = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            let first = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("Command exited with"))
                .unwrap_or("");
            let mut why = describe(output.status);
            if !first.is_empty() {
                why.push_str(&format!("; stderr: {}", truncate(first, 100)));
            }
            return Outcome::Failed(why);
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
    Outcome::Measured {
        secs: best,
        rss_kb: peak,
    }
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

fn run_benchmarks(path: &Path, packets: u64, runs: u64) {
    let synack = PathBuf::from(env!("CARGO_BIN_EXE_synack"));
    let time_bin = Some(Path::new("/usr/bin/time")).filter(|p| p.is_file());
    let file = path.as_os_str().to_owned();
    let shown = path.file_name().map_or_else(
        || file.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let os = |args: &[&str]| -> Vec<OsString> {
        let mut v: Vec<OsString> = args.iter().map(OsString::from).collect();
        v.push(file.clone());
        v
    };

    if let Err(e) = warm_cache(path) {
        eprintln!("warning: could not pre-read {}: {e}", path.display());
    }
    if time_bin.is_none() {
        println!("/usr/bin/time not found (apt package `time`): peak RSS shown as n/a");
    }
    println!("timing: best of {runs} wall-clock runs, stdout to /dev/null");

    struct Spec {
        label: String,
        program: Option<PathBuf>,
        args: Vec<OsString>,
        missing: &'static str,
    }
    let specs = vec![
        Spec {
            label: format!("synack read {shown}"),
            program: Some(synack.clone()),
            args: os(&["read"]),
            missing: "",
        },
        Spec {
            label: format!("synack read --json {shown}"),
            program: Some(synack.clone()),
            args: os(&["read", "--json"]),
            missing: "",
        },
        Spec {
            label: format!("synack read --summary {shown}"),
            program: Some(synack),
            args: os(&["read", "--summary"]),
            missing: "",
        },
        Spec {
            label: format!("tcpdump -nn -r {shown}"),
            program: which("tcpdump"),
            args: os(&["-nn", "-r"]),
            missing: "skipped: tcpdump not found",
        },
        Spec {
            label: format!("tshark -q -z conv,tcp -r {shown}"),
            program: which("tshark"),
            args: os(&["-q", "-z", "conv,tcp", "-r"]),
            missing: "skipped: tshark not found (apt package `tshark`)",
        },
    ];

    let mut rows = Vec::new();
    for spec in specs {
        let outcome = match &spec.program {
            Some(program) => {
                print!("  running {} ... ", spec.label);
                let _ = io::stdout().flush();
                let o = measure(program, &spec.args, runs, time_bin);
                match &o {
                    Outcome::Measured { secs, .. } => println!("{secs:.3} s"),
                    Outcome::Failed(why) => println!("failed ({why})"),
                    Outcome::Skipped(_) => println!(),
                }
                o
            }
            None => Outcome::Skipped(spec.missing.to_string()),
        };
        rows.push(Row {
            label: spec.label,
            outcome,
        });
    }
    print_table(&rows, packets);
}

fn print_table(rows: &[Row], packets: u64) {
    let secs_of = |prefix: &str| {
        rows.iter().find_map(|r| match r.outcome {
            Outcome::Measured { secs, .. } if r.label.starts_with(prefix) => Some(secs),
            _ => None,
        })
    };
    let tcpdump = secs_of("tcpdump");
    let tshark = secs_of("tshark");
    let ratio = |secs: f64, base: Option<f64>| match base {
        Some(b) if b > 0.0 && secs > 0.0 => format!("{:.1}x", b / secs),
        _ => "-".to_string(),
    };

    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(7).max(7);
    println!();
    println!(
        "{:<width$}  {:>9}  {:>11}  {:>10}  {:>10}  {:>10}",
        "command", "seconds", "packets/s", "× tcpdump", "× tshark", "peak RSS"
    );
    println!(
        "{}",
        "-".repeat(width + 2 + 9 + 2 + 11 + 2 + 10 + 2 + 10 + 2 + 10)
    );
    let mut notes = Vec::new();
    for row in rows {
        match &row.outcome {
            Outcome::Measured { secs, rss_kb } => {
                let vs_tshark = if row.label.contains("--summary") {
                    ratio(*secs, tshark)
                } else {
                    "-".to_string()
                };
                let rss = rss_kb.map_or_else(
                    || "n/a".to_string(),
                    |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
                );
                println!(
                    "{:<width$}  {:>9.3}  {:>11}  {:>10}  {:>10}  {:>10}",
                    row.label,
                    secs,
                    format!("{:.2} M", packets as f64 / secs / 1e6),
                    ratio(*secs, tcpdump),
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
    println!(
        "speed-ups are baseline time / this command's time (above 1.0x = faster than the baseline)"
    );
    for note in notes {
        println!("note: {note}");
    }
}
