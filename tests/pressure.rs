//! Pressure analysis on a generated capture with a known schedule, so every
//! figure has one right value worked out by hand below. The frames are built
//! with synack-core's `synth::SegmentSpec` and written into a classic pcap
//! (link type RAW), then read by the synack binary like any capture.
//!
//! The schedule (seconds from the start; each connection's segments are 1 ms apart):
//! - A, 0–122.6: 300 connections from 10.0.0.2:40000+k to 10.0.0.1:80, one
//!   every 0.41 s, each closed by the server first: the server enters
//!   TIME_WAIT at start + 5 ms (the client's FIN) for 60 s. At once:
//!   connections whose entry lies less than 60 s back, k−146..k, so at most
//!   147, first when connection 146 enters, at 146 × 0.41 + 0.005 = 59.865 s.
//! - B, from 200: the same from 10.0.0.3, closed by the client first: the
//!   client host holds 147 at once, first at 259.865 s. Its local ports: 147
//!   distinct within 60 s, first at 200 + 146 × 0.41 = 259.86 s. Then
//!   connection 300, at 323 s, from port 40299 again (connection 299's,
//!   0.41 s earlier, still in TIME_WAIT): a 4-tuple reused over TIME_WAIT and
//!   a port used again within the span.
//! - C, at 400: a SYN flood: 200 SYNs to 10.0.0.1:80 from 200 addresses in
//!   0.5 s (one per 2.5 ms), each answered by a SYN-ACK 0.1 ms later and never
//!   by the client. The first 20 SYN-ACKs are resent 1 s and 3 s later (state
//!   kept), the other 180 never (stateless).
//! - D, at 410: 10.0.0.1:81 completes 2 handshakes with 10.0.0.4, then 3
//!   clients' SYNs (sent at 0, 1 and 3 s) get no answer at all.
//! - The capture ends at 420 s.

mod common;

use std::io::Write;
use std::net::SocketAddrV4;

use common::*;
use serde_json::Value;
use synack_core::decode::tcp::flag::{ACK, FIN, SYN};
use synack_core::synth::{addr, SegmentSpec};

const BASE_S: u64 = 1_700_000_000; // 2023-11-14T22:13:20Z
const MS: u64 = 1_000_000;

struct Pcap {
    bytes: Vec<u8>,
}

impl Pcap {
    fn new() -> Pcap {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond pcap
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&65_535u32.to_le_bytes());
        bytes.extend_from_slice(&101u32.to_le_bytes()); // LINKTYPE_RAW
        Pcap { bytes }
    }

    fn seg(
        &mut self,
        at_ns: u64,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        flags: u8,
        seq: u32,
        ack: u32,
    ) {
        let mut s = SegmentSpec::new(src, dst);
        s.flags = flags;
        s.seq = seq;
        s.ack = ack;
        let (frame, wire) = s.bytes();
        let secs = BASE_S + at_ns / 1_000_000_000;
        let nanos = at_ns % 1_000_000_000;
        self.bytes.extend_from_slice(&(secs as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(nanos as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&wire.to_le_bytes());
        self.bytes.extend_from_slice(&frame);
    }

    /// Handshake, then a close by `server_first` or the client: 7 segments, 1 ms apart.
    fn connection(
        &mut self,
        start: u64,
        c: SocketAddrV4,
        s: SocketAddrV4,
        server_first: bool,
        isn: u32,
    ) {
        let (ci, si) = (isn, isn.wrapping_add(7_777));
        self.seg(start, c, s, SYN, ci, 0);
        self.seg(start + MS, s, c, SYN | ACK, si, ci + 1);
        self.seg(start + 2 * MS, c, s, ACK, ci + 1, si + 1);
        // The closer, its FIN, the other's ACK and FIN, the closer's last ACK.
        let ((a, an), (b, bn)) = if server_first {
            ((s, si + 1), (c, ci + 1))
        } else {
            ((c, ci + 1), (s, si + 1))
        };
        self.seg(start + 3 * MS, a, b, FIN | ACK, an, bn);
        self.seg(start + 4 * MS, b, a, ACK, bn, an + 1);
        self.seg(start + 5 * MS, b, a, FIN | ACK, bn, an + 1);
        self.seg(start + 6 * MS, a, b, ACK, an + 1, bn + 1);
    }
}

fn schedule() -> Vec<u8> {
    let mut p = Pcap::new();
    let web = addr([10, 0, 0, 1], 80);
    let step = 410 * MS;
    for k in 0..300u64 {
        let c = addr([10, 0, 0, 2], 40_000 + k as u16);
        p.connection(k * step, c, web, true, 1_000 + k as u32 * 100_000);
    }
    let b = 200_000 * MS;
    for k in 0..300u64 {
        let c = addr([10, 0, 0, 3], 40_000 + k as u16);
        p.connection(b + k * step, c, web, false, 2_000 + k as u32 * 100_000);
    }
    // Connection 300: port 40299 again, with an ISN far from the old one's.
    p.connection(
        b + 300 * step,
        addr([10, 0, 0, 3], 40_299),
        web,
        false,
        3_000_000_000,
    );
    // C: the flood, with the resent SYN-ACKs of the first 20 in time order.
    let c0 = 400_000 * MS;
    let mut flood: Vec<(u64, SocketAddrV4, SocketAddrV4, u8, u32, u32)> = Vec::new();
    for k in 0..200u64 {
        let src = addr(
            [10, 1, (k / 250) as u8, (k % 250 + 1) as u8],
            1_024 + k as u16,
        );
        let t = c0 + k * 2_500_000;
        let (ci, si) = (k as u32 * 1_000, 500_000 + k as u32 * 1_000);
        flood.push((t, src, web, SYN, ci, 0));
        flood.push((t + 100_000, web, src, SYN | ACK, si, ci + 1));
        if k < 20 {
            for again in [1_000 * MS, 3_000 * MS] {
                flood.push((t + 100_000 + again, web, src, SYN | ACK, si, ci + 1));
            }
        }
    }
    flood.sort_by_key(|f| f.0);
    for (t, s, d, f, seq, ack) in flood {
        p.seg(t, s, d, f, seq, ack);
    }
    // D: two handshakes completed, then three SYNs never answered, each sent three times.
    let d0 = 410_000 * MS;
    let small = addr([10, 0, 0, 1], 81);
    for k in 0..2u64 {
        p.connection(
            d0 + k * 10 * MS,
            addr([10, 0, 0, 4], 50_000 + k as u16),
            small,
            false,
            9_000,
        );
    }
    let d1 = d0 + 100 * MS;
    for at in [0, 1_000 * MS, 3_000 * MS] {
        for k in 0..3u64 {
            let c = addr([10, 0, 0, 5], 50_000 + k as u16);
            p.seg(d1 + at + k * MS, c, small, SYN, 70_000 + k as u32, 0);
        }
    }
    // The capture's last frame, long after: every timer before it has run.
    p.seg(
        420_000 * MS,
        addr([10, 0, 0, 9], 1),
        addr([10, 0, 0, 8], 2),
        ACK,
        1,
        1,
    );
    p.bytes
}

fn capture() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-pressure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("schedule.pcap");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&schedule()).unwrap();
    path
}

fn summary(args: &[&str], file: &std::path::Path) -> Value {
    let out = run_path(args, file);
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&out)
        .into_iter()
        .find(|v| v["type"] == "summary")
        .expect("a summary record")
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {list}"))
}

#[test]
fn pressure_figures_match_the_schedule() {
    let file = capture();
    let s = summary(&["read", "--json"], &file);
    let p = &s["pressure"];

    let server = find(&p["time_wait"], "host", "10.0.0.1");
    assert_eq!(server["peak"], 147, "{server}");
    assert_eq!(server["at"], "2023-11-14T22:14:19.865Z");
    assert_eq!(server["peak_as_server"], 147);
    assert_eq!(server["peak_as_client"], 0);
    assert_eq!(server["entered"], 300);

    let client = find(&p["time_wait"], "host", "10.0.0.3");
    assert_eq!(client["peak"], 147, "{client}");
    assert_eq!(client["at"], "2023-11-14T22:17:39.865Z");
    assert_eq!(client["peak_as_client"], 147);
    assert_eq!(client["entered"], 301);
    assert_eq!(find(&p["time_wait"], "host", "10.0.0.4")["peak"], 2);
    assert_eq!(p["time_wait"][0]["peak"], 147, "highest first");

    let web = find(&p["servers"], "server", "10.0.0.1:80");
    assert_eq!(web["attempts"], 801, "{web}");
    assert_eq!(web["handshakes"], 601);
    assert_eq!(web["half_open_peak"], 200);
    // The 200th SYN-ACK: 400 s + 199 × 2.5 ms + 0.1 ms.
    assert_eq!(web["half_open_at"], "2023-11-14T22:20:00.497600Z");
    assert_eq!(web["synacks_unanswered"], 200);
    assert_eq!(web["synacks_resent"], 20);
    assert_eq!(web["synacks_stateless"], 180);
    assert_eq!(web["syns_unanswered"], 0);
    assert_eq!(web["sources"], 64, "the cap");
    assert_eq!(web["sources_capped"], true);
    assert_eq!(web["peak_syn_rate"], 200);
    assert_eq!(web["syn_flood"], true);
    assert_eq!(p["syn_flood"], serde_json::json!(["10.0.0.1:80"]));

    let small = find(&p["servers"], "server", "10.0.0.1:81");
    assert_eq!(small["attempts"], 5, "{small}");
    assert_eq!(small["handshakes"], 2);
    assert_eq!(small["syns_unanswered"], 3);
    assert_eq!(small["syn_segments_unanswered"], 9);
    assert_eq!(small["syns_dropped_while_listening"], true);
    assert_eq!(small["syn_flood"], false);

    let ports = find(&p["clients"], "host", "10.0.0.3");
    assert_eq!(ports["peak_ports"], 147, "{ports}");
    assert_eq!(ports["at"], "2023-11-14T22:17:39.860Z");
    assert_eq!(ports["connections"], 301);
    assert_eq!(ports["reused_within_span"], 1);
    assert_eq!(find(&p["clients"], "host", "10.0.0.2")["peak_ports"], 147);
    assert_eq!(
        find(&p["clients"], "host", "10.0.0.2")["reused_within_span"],
        0
    );

    assert_eq!(p["port_reuse"], 1);
    assert_eq!(p["port_reuse_in_time_wait"], 1);
    assert_eq!(p["capped"]["hosts"], 0);
    assert_eq!(p["span_ms"], 60_000);

    // Without packets in order (a summary), the same counts.
    let t = summary(&["read", "--summary", "--json"], &file);
    assert_eq!(t["pressure"], s["pressure"]);

    // The text views: the warning and the footer line, before the summary line.
    let text = stdout(&run_path(&["read"], &file));
    let tail: Vec<&str> = text.lines().rev().take(3).collect();
    assert!(tail[0].starts_with("summary: "), "{tail:?}");
    assert!(
        tail[1].starts_with("pressure: most in TIME_WAIT at once: 147 on 10.0.0.1 at 22:14:19.865 (147 as server, 0 as client), 147 on 10.0.0.3 at 22:17:39.865 (0 as server, 147 as client)"),
        "{}",
        tail[1]
    );
    for part in [
        "most half-open at once: 200 on 10.0.0.1:80 at 22:20:00.497",
        "SYN-ACKs never answered: 200 from 10.0.0.1:80 (20 resent: state kept; 180 sent once",
        "SYNs never answered: 3 connection attempts (9 SYNs) to 10.0.0.1:81 while it completed 2 handshakes",
        "local ports used within one 60 s TIME_WAIT span, against the 28232 of Linux's default ephemeral range 32768–60999: 147 from 10.0.0.2 at 22:14:19.860 (0.5%), 147 from 10.0.0.3 at 22:17:39.860 (0.5%)",
        "local ports used again within 60 s: 1 by 10.0.0.3",
        "1 4-tuple reused (1 over TIME_WAIT)",
    ] {
        assert!(tail[1].contains(part), "{part}\n{}", tail[1]);
    }
    assert_eq!(
        tail[2],
        "warning: SYN flood on 10.0.0.1:80: 200 of 801 connection attempts never completed (200 SYN-ACKs unanswered, 0 SYNs unanswered), up to 200 SYNs within one second, from at least 64 source addresses, up to 200 half-open at once"
    );
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

/// The real capture (fixtures/time-wait-pressure.pcap, made on a private
/// namespace's loopback): synack's TIME_WAIT figures beside the kernel's own
/// TIME-WAIT sockets, listed by `ss` right after the traffic
/// (fixtures/ss/time-wait-pressure.txt, see fixtures/README.md).
#[test]
fn real_capture_time_wait_matches_the_kernels_sockets() {
    let ss = std::fs::read_to_string(fixture("ss/time-wait-pressure.txt")).unwrap();
    let kernel: std::collections::BTreeSet<(String, String)> = ss
        .lines()
        .filter(|l| l.starts_with("TIME-WAIT"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[3].to_string(), f[4].to_string())
        })
        .collect();
    assert_eq!(kernel.len(), 80);
    let per_host = |ip: &str| kernel.iter().filter(|(l, _)| l.starts_with(ip)).count();

    let file = fixture("time-wait-pressure.pcap");
    let out = run_path(&["read", "--json", "--summary"], &file);
    let lines = json_lines(&out);
    // The endpoints synack leaves in TIME_WAIT are the kernel's, one for one.
    let mut synack = std::collections::BTreeSet::new();
    for c in lines.iter().filter(|v| v["type"] == "connection") {
        for (me, peer) in [("client", "server"), ("server", "client")] {
            if c["states"][me] == "TIME_WAIT" {
                let a = c[me].as_str().unwrap().to_string();
                let b = c[peer].as_str().unwrap().to_string();
                synack.insert((a, b));
            }
        }
    }
    assert_eq!(synack, kernel);
    // Nothing expired within the capture (0.17 s): the peaks are those counts,
    // reached at the last FIN of each phase (frames 399 and 799).
    let p = &lines.last().unwrap()["pressure"];
    let server = find(&p["time_wait"], "host", "127.0.0.1");
    assert_eq!(server["peak"].as_u64(), Some(per_host("127.0.0.1:") as u64));
    assert_eq!(server["peak_as_server"], 40);
    assert_eq!(server["at"], "2026-11-29T21:06:14.956067Z");
    let client = find(&p["time_wait"], "host", "127.0.0.3");
    assert_eq!(client["peak"].as_u64(), Some(per_host("127.0.0.3:") as u64));
    assert_eq!(client["peak_as_client"], 40);
    assert_eq!(client["at"], "2026-11-29T21:06:15.082381Z");
    assert_eq!(p["port_reuse"], 0);
    assert_eq!(find(&p["clients"], "host", "127.0.0.3")["peak_ports"], 40);
    assert_eq!(find(&p["clients"], "host", "127.0.0.2")["peak_ports"], 40);
    assert_eq!(p["syn_flood"], serde_json::json!([]));
}
