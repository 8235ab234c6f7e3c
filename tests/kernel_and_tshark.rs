//! Two independent witnesses for every lifecycle fixture:
//! - the kernel: `ss -tan` snapshots taken while the capture ran
//!   (fixtures/ss/), which say who really sat in TIME_WAIT;
//! - tshark's `tcp.analysis` flags for the same frames
//!   (fixtures/tshark-analysis/), where synack must agree except in the two
//!   documented places it knows better.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::Value;

fn json(name: &str) -> Vec<Value> {
    let out = run_path(&["read", "--json"], &fixture(name));
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    json_lines(&out)
}

/// Normalise `ss` addresses ("10.99.2.1:41652", "[fd00:99::1]:9999") to synack's form.
fn addr(s: &str) -> String {
    if s.contains('[') || s.matches(':').count() == 1 {
        s.to_string()
    } else {
        let (ip, port) = s.rsplit_once(':').unwrap();
        format!("[{ip}]:{port}")
    }
}

/// Local addresses the kernel showed in TIME-WAIT, with their peers.
fn kernel_time_wait(ss: &str) -> BTreeSet<(String, String)> {
    ss.lines()
        .filter(|l| l.starts_with("TIME-WAIT"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (addr(f[3]), addr(f[4]))
        })
        .collect()
}

#[test]
fn time_wait_holders_agree_with_the_kernel() {
    let dir = fixture("ss");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = format!("{}.pcap", file.trim_end_matches(".txt"));
        let ss = std::fs::read_to_string(entry.path()).unwrap();
        let kernel = kernel_time_wait(&ss);
        let mut ours = BTreeSet::new();
        for c in json(&name).iter().filter(|v| v["type"] == "connection") {
            let (client, server) = (c["client"].as_str().unwrap(), c["server"].as_str().unwrap());
            match c["time_wait"].as_str() {
                Some("client") => ours.insert((client.to_string(), server.to_string())),
                Some("server") => ours.insert((server.to_string(), client.to_string())),
                Some("both") => {
                    ours.insert((client.to_string(), server.to_string()));
                    ours.insert((server.to_string(), client.to_string()))
                }
                _ => false,
            };
        }
        assert_eq!(ours, kernel, "{name}: synack's TIME_WAIT holders vs ss");
        checked += ours.len();
    }
    assert!(checked >= 12, "only {checked} TIME_WAIT sockets compared");
}

const FLAGS: [&str; 15] = [
    "keep_alive",
    "keep_alive_ack",
    "retransmission",
    "fast_retransmission",
    "spurious_retransmission",
    "out_of_order",
    "duplicate_ack",
    "lost_segment",
    "ack_lost_segment",
    "zero_window",
    "zero_window_probe",
    "zero_window_probe_ack",
    "window_update",
    "window_full",
    "reused_ports",
];

/// tshark marks a fast retransmission as a retransmission too; so does synack's count.
fn normalise(mut s: BTreeSet<String>) -> BTreeSet<String> {
    if s.contains("fast_retransmission") || s.contains("spurious_retransmission") {
        s.insert("retransmission".into());
    }
    s
}

#[test]
fn analysis_flags_agree_with_tshark_except_where_documented() {
    let dir = fixture("tshark-analysis");
    let mut frames = 0;
    let mut documented = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = file.trim_end_matches(".tsv").to_string();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
        let mut theirs: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        for l in lines {
            let cols: Vec<&str> = l.split('\t').collect();
            let frame: u64 = cols[0].parse().unwrap();
            let set = theirs.entry(frame).or_default();
            for (h, v) in header.iter().zip(&cols) {
                if let Some(flag) = h.strip_prefix("tcp.analysis.") {
                    if FLAGS.contains(&flag) && !v.is_empty() {
                        set.insert(flag.to_string());
                    }
                }
            }
        }
        for p in json(&name).iter().filter(|v| v["type"] == "packet") {
            let frame = p["frame"].as_u64().unwrap();
            let ours: BTreeSet<String> = p["events"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["kind"].as_str())
                        // Port reuse is one event, `port_reuse`: tshark's
                        // `reused_ports` under synack's lifecycle name.
                        .map(|k| if k == "port_reuse" { "reused_ports" } else { k })
                        .filter(|k| FLAGS.contains(k))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let ours = normalise(ours);
            let theirs = normalise(theirs.get(&frame).cloned().unwrap_or_default());
            frames += 1;
            if ours == theirs {
                continue;
            }
            // Documented difference 1: Linux zero-window probes (0 bytes at
            // SND.UNA − 1 while the peer's window is 0) — tshark: keep_alive.
            let zwp = ours.contains("zero_window_probe") && theirs.contains("keep_alive");
            // …and so tshark does not see the probe's ACK as a probe ACK.
            let zwp_ack = ours.contains("zero_window_probe_ack")
                && !theirs.contains("zero_window_probe_ack")
                && theirs.contains("zero_window");
            // Documented difference 2: a resend whose original is in the
            // capture is a retransmission even within 3 ms — tshark: out_of_order.
            let resend = ours.contains("retransmission") && theirs.contains("out_of_order");
            let mut a = ours.clone();
            let mut b = theirs.clone();
            if zwp {
                a.remove("zero_window_probe");
                b.remove("keep_alive");
            }
            if zwp_ack {
                a.remove("zero_window_probe_ack");
            }
            if resend {
                a.remove("retransmission");
                b.remove("out_of_order");
            }
            assert_eq!(
                a, b,
                "{name} frame {frame}: synack {ours:?} vs tshark {theirs:?}"
            );
            documented += 1;
        }
    }
    assert!(frames > 250, "compared only {frames} frames");
    eprintln!("{frames} frames compared, {documented} documented differences");
}
