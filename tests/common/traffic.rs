//! A generated capture for the tests that split work (`--threads`,
//! `--shard`): thousands of connections at once, built with
//! `synack_core::synth`, deterministic (a seeded generator), written as a
//! classic pcap of raw IPv4 frames. It holds what makes splitting hard:
//! TIME_WAITs that run out mid-capture (on either side), several timers
//! running out between the same two frames and at the same instant,
//! retirements of many connections at once, port reuse over TIME_WAIT,
//! refused and unanswered SYNs, resets, a lost final ACK and a lost ACK of
//! a SYN-ACK (corrections of what was assumed), keep-alive-like idle
//! stretches, UDP datagrams between the segments, and frames stamped a
//! little before the frame ahead of them.

use std::io::Write;
use std::net::SocketAddrV4;
use std::path::Path;

use synack_core::decode::tcp::flag::{ACK, FIN, PSH, RST, SYN};
use synack_core::synth::{addr, SegmentSpec};

/// Classic pcap, LINKTYPE_RAW: each frame is an IPv4 packet.
const LINKTYPE_RAW: u32 = 101;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A frame to write: when (µs from the start), bytes, length on the wire.
struct Out {
    us: u64,
    order: u64,
    bytes: Vec<u8>,
    wire: u32,
}

struct Conn<'a> {
    out: &'a mut Vec<Out>,
    client: SocketAddrV4,
    server: SocketAddrV4,
    c_seq: u32,
    s_seq: u32,
    t: u64,
}

impl Conn<'_> {
    fn seg(&mut self, from_client: bool, flags: u8, len: u16, gap_us: u64) {
        self.t += gap_us;
        let (src, dst, seq, ack) = if from_client {
            (self.client, self.server, self.c_seq, self.s_seq)
        } else {
            (self.server, self.client, self.s_seq, self.c_seq)
        };
        let mut s = SegmentSpec::new(src, dst);
        s.flags = flags;
        s.seq = seq;
        s.ack = if flags & ACK != 0 { ack } else { 0 };
        s.len = len;
        s.window = 502;
        let (bytes, wire) = s.bytes();
        let order = self.out.len() as u64;
        self.out.push(Out {
            us: self.t,
            order,
            bytes,
            wire,
        });
        let used = u32::from(len) + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.c_seq = self.c_seq.wrapping_add(used);
        } else {
            self.s_seq = self.s_seq.wrapping_add(used);
        }
    }

    /// Take back what the last segment of this side added to its sequence
    /// number (to send it again).
    fn resend(&mut self, from_client: bool, flags: u8, len: u16, gap_us: u64) {
        let used = u32::from(len) + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.c_seq = self.c_seq.wrapping_sub(used);
        } else {
            self.s_seq = self.s_seq.wrapping_sub(used);
        }
        self.seg(from_client, flags, len, gap_us);
    }

    fn handshake(&mut self, rtt: u64) {
        self.seg(true, SYN, 0, 0);
        self.seg(false, SYN | ACK, 0, rtt / 2);
        self.seg(true, ACK, 0, rtt / 2);
    }

    fn exchange(&mut self, rng: &mut Lcg, rtt: u64) {
        let req = 100 + rng.below(400) as u16;
        self.seg(true, PSH | ACK, req, 50);
        for _ in 0..1 + rng.below(3) {
            self.seg(false, ACK, 1200, rtt / 2);
        }
        self.seg(true, ACK, 0, rtt / 2);
    }

    fn close(&mut self, client_first: bool, rtt: u64) {
        self.seg(client_first, FIN | ACK, 0, 200);
        self.seg(!client_first, ACK, 0, rtt / 2);
        self.seg(!client_first, FIN | ACK, 0, 300);
        self.seg(client_first, ACK, 0, rtt / 2);
    }
}

/// The capture as bytes: `conns` connections over about `secs` seconds.
pub fn generate(seed: u64, conns: u64, secs: u64) -> Vec<u8> {
    let mut rng = Lcg(seed);
    let mut out: Vec<Out> = Vec::new();
    let span_us = secs * 1_000_000;
    // Clients reuse their ports now and then, so some 4-tuples come back.
    let mut recent: Vec<(SocketAddrV4, SocketAddrV4, u64)> = Vec::new();
    for i in 0..conns {
        let server = addr(
            [10, 9, 0, 1 + rng.below(6) as u8],
            [80, 443, 8080][i as usize % 3],
        );
        let kind = rng.below(100);
        let mut start = rng.below(span_us);
        // A few connections start together, so their timers run out together.
        if i % 97 == 0 {
            start = (start / 5_000_000) * 5_000_000;
        }
        let (client, reuse) = if kind < 4 && !recent.is_empty() {
            // Port reuse: a new SYN on a 4-tuple closed a moment ago.
            let (c, s, end) = recent[rng.below(recent.len() as u64) as usize];
            let _ = s;
            start = end + 500_000 + rng.below(5_000_000);
            (c, Some(s))
        } else {
            let host = 1 + rng.below(200) as u8;
            (
                addr(
                    [10, 1, host, 1 + rng.below(3) as u8],
                    32_768 + rng.below(28_000) as u16,
                ),
                None,
            )
        };
        let server = reuse.unwrap_or(server);
        let rtt = 200 + rng.below(80_000);
        let mut c = Conn {
            out: &mut out,
            client,
            server,
            c_seq: rng.next() as u32,
            s_seq: rng.next() as u32,
            t: start,
        };
        match kind {
            // Refused: the SYN answered by RST,ACK.
            4..=6 => {
                c.seg(true, SYN, 0, 0);
                c.s_seq = 0;
                c.seg(false, RST | ACK, 0, rtt);
                continue;
            }
            // Unanswered: the SYN again at +1 s and +3 s, then nothing.
            7..=8 => {
                c.seg(true, SYN, 0, 0);
                c.resend(true, SYN, 0, 1_000_000);
                c.resend(true, SYN, 0, 2_000_000);
                continue;
            }
            _ => {}
        }
        c.handshake(rtt);
        if kind == 9 {
            // The ACK of the SYN-ACK was lost past the capture point: the
            // server resends its SYN-ACK and the client acknowledges again.
            c.resend(false, SYN | ACK, 0, 1_000_000);
            c.seg(true, ACK, 0, rtt / 2);
        }
        for _ in 0..rng.below(4) {
            c.exchange(&mut rng, rtt);
            if rng.below(10) == 0 {
                // A long quiet stretch (the clock runs on in the other connections).
                c.t += 5_000_000 + rng.below(20_000_000);
            }
        }
        match kind {
            10..=14 => {
                c.seg(rng.below(2) == 0, RST | ACK, 0, 1_000);
            }
            15..=17 => {
                // Lost final ACK: the server's FIN comes again and is acknowledged again.
                c.close(true, rtt);
                c.resend(false, FIN | ACK, 0, 200_000 + rtt);
                c.seg(true, ACK, 0, rtt / 2);
            }
            18..=19 => {
                // Left open at the end of the capture.
            }
            _ => {
                let client_first = kind % 3 != 0;
                c.close(client_first, rtt);
            }
        }
        let end = c.t;
        if client.port() % 5 == 0 && recent.len() < 64 {
            recent.push((client, server, end));
        }
    }
    // UDP between the segments (no TCP: shard 0's, thread 0's).
    for k in 0..conns / 20 {
        let us = rng.below(span_us);
        let mut b = vec![
            0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 2, 0, 1, 10, 2, 0, 2,
        ];
        b.extend_from_slice(&5353u16.to_be_bytes());
        b.extend_from_slice(&5353u16.to_be_bytes());
        b.extend_from_slice(&16u16.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, k as u8, 0]);
        let order = out.len() as u64;
        out.push(Out {
            us,
            order,
            wire: b.len() as u32,
            bytes: b,
        });
    }
    out.sort_by_key(|o| (o.us, o.order));
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    file.extend_from_slice(&0i32.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&65_535u32.to_le_bytes());
    file.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for (i, o) in out.iter().enumerate() {
        // Now and then a frame stamped a little before the one ahead of it.
        let us = if i % 1_000 == 999 {
            o.us.saturating_sub(3_000)
        } else {
            o.us
        };
        let ts_sec = 1_700_000_000 + us / 1_000_000;
        let ts_usec = us % 1_000_000;
        file.extend_from_slice(&(ts_sec as u32).to_le_bytes());
        file.extend_from_slice(&(ts_usec as u32).to_le_bytes());
        file.extend_from_slice(&(o.bytes.len() as u32).to_le_bytes());
        file.extend_from_slice(&o.wire.to_le_bytes());
        file.extend_from_slice(&o.bytes);
    }
    file
}

/// Write the generated capture to `path` (once per test binary and name).
pub fn write(path: &Path, seed: u64, conns: u64, secs: u64) {
    if path.exists() {
        return;
    }
    // Tests of one binary run on threads of one process: each writes its own.
    let tmp = path.with_extension(format!(
        "tmp{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut f = std::fs::File::create(&tmp).expect("create capture");
    f.write_all(&generate(seed, conns, secs))
        .expect("write capture");
    std::fs::rename(&tmp, path).expect("rename capture");
}
