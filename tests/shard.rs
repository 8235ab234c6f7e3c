//! `--shard K/N`: N runs, one per shard, write together exactly the
//! connection records of one run (compared whole but for the per-run
//! `conn` number), for N = 1 to 5, on every fixture and on a generated
//! capture; their counts add up to one run's.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;

/// Connection records without their per-run number, counted (a multiset),
/// and the summary record.
fn records(args: &[&str], file: &Path) -> (BTreeMap<String, u32>, Value) {
    let out = synack()
        .args(["read", "--summary", "--json"])
        .args(args)
        .arg(file)
        .output()
        .expect("run synack");
    let mut recs = BTreeMap::new();
    let mut summary = Value::Null;
    for mut r in json_lines(&out) {
        match r["type"].as_str() {
            Some("connection") => {
                r.as_object_mut().expect("object").remove("conn");
                *recs.entry(r.to_string()).or_default() += 1;
            }
            Some("summary") => summary = r,
            _ => panic!("unexpected record {r}"),
        }
    }
    (recs, summary)
}

const COUNTS: &[&str] = &[
    "tcp_frames",
    "udp_frames",
    "icmp_frames",
    "arp_frames",
    "fragment_frames",
    "other_frames",
    "undecodable",
    "cut_by_snaplen",
    "connections",
];

fn shards_add_up(file: &Path, threads: &str) {
    let (whole, whole_summary) = records(&["--threads", "1"], file);
    for n in 1..=5u32 {
        let mut union: BTreeMap<String, u32> = BTreeMap::new();
        let mut totals = BTreeMap::<&str, u64>::new();
        let mut frames = 0;
        for k in 0..n {
            let shard = format!("{k}/{n}");
            let (recs, summary) = records(&["--threads", threads, "--shard", &shard], file);
            for (r, c) in recs {
                *union.entry(r).or_default() += c;
            }
            for key in COUNTS {
                *totals.entry(key).or_default() += summary[key].as_u64().unwrap_or(0);
            }
            let s = &summary["shard"];
            assert_eq!(s["index"], k, "{summary}");
            assert_eq!(s["count"], n, "{summary}");
            assert_eq!(
                s["frames_read"],
                whole_summary["frames"],
                "{}",
                file.display()
            );
            assert_eq!(
                summary["frames"].as_u64().unwrap() + s["frames_skipped"].as_u64().unwrap(),
                s["frames_read"].as_u64().unwrap()
            );
            frames += summary["frames"].as_u64().unwrap();
        }
        let what = format!("{} in {n} shards (threads {threads})", file.display());
        assert_eq!(frames, whole_summary["frames"].as_u64().unwrap(), "{what}");
        for key in COUNTS {
            assert_eq!(
                totals[key],
                whole_summary[key].as_u64().unwrap(),
                "{what}: {key}"
            );
        }
        if union != whole {
            let missing: Vec<_> = whole.keys().filter(|r| !union.contains_key(*r)).collect();
            let extra: Vec<_> = union.keys().filter(|r| !whole.contains_key(*r)).collect();
            panic!(
                "{what}: the shards' records differ from one run's\n  missing: {:?}\n  extra: {:?}",
                missing.first(),
                extra.first()
            );
        }
    }
}

#[test]
fn every_fixture() {
    for name in capture_fixtures() {
        shards_add_up(&fixture(&name), "1");
    }
}

#[test]
fn a_generated_capture() {
    let file = generated_capture();
    shards_add_up(&file, "1");
    // Each shard on several threads.
    shards_add_up(&file, "3");
}

#[test]
fn shards_are_told_apart_and_refused_when_wrong() {
    let echo = fixture("ipv4-echo.pcap");
    for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
        let out = run(&["read", &format!("--shard={bad}"), &echo.to_string_lossy()]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("K/N"), "{bad}: {}", stderr(&out));
    }
    // The text summary says which shard, and what was read and skipped.
    let out = run(&[
        "read",
        "--summary",
        "--shard",
        "1/2",
        &fixture("port-reuse.pcap").to_string_lossy(),
    ]);
    let text = stdout(&out);
    assert!(text.contains("shard 1/2: 20 frames read, "), "{text}");
}
