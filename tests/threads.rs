//! `--threads N`: the output of every view equals `--threads 1`'s byte for
//! byte (stdout, stderr and exit status), on every fixture and on a
//! generated capture with thousands of connections, for N = 2, 3 and 8.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

/// Every view, and options that change what the views show.
const VIEWS: &[&[&str]] = &[
    &[],
    &["-e", "-N", "-S", "--why"],
    &["-v", "-X", "-ttt"],
    &["--json"],
    &["--json", "-v", "-XX"],
    &["--summary"],
    &["--summary", "--json"],
    &["--summary", "--time", "relative"],
    &["--view", "ladder"],
    &["--view", "mermaid"],
    &["--view", "svg"],
    &["--view", "graph"],
    &["--lang", "zh", "--why"],
    &["--lang", "zh", "--summary"],
    &["--lang", "zh", "--view", "ladder"],
    &["--zeek"],
    &["--zeek", "--json"],
    &["--only", "retransmission,rst"],
    &["--summary", "--only", "time_wait"],
    &["--conn", "2"],
];

const THREADS: &[&str] = &["2", "3", "8"];

fn run_threads(threads: &str, view: &[&str], extra: &[&str], file: &Path) -> Output {
    synack()
        .args(["read", "--threads", threads])
        .args(view)
        .args(extra)
        .arg(file)
        .output()
        .expect("run synack")
}

/// The conn.log's #open and #close lines carry the wall clock.
fn masked(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn same_output(file: &Path, extra: &[&str]) {
    same_output_in(VIEWS, file, extra)
}

fn same_output_in(views: &[&[&str]], file: &Path, extra: &[&str]) {
    for view in views {
        let one = run_threads("1", view, extra, file);
        for n in THREADS {
            let many = run_threads(n, view, extra, file);
            let what = format!("{} {view:?} {extra:?} --threads {n}", file.display());
            assert_eq!(one.status.code(), many.status.code(), "{what}: exit status");
            if masked(&one.stdout) != masked(&many.stdout) {
                let a = masked(&one.stdout);
                let b = masked(&many.stdout);
                let line = a
                    .lines()
                    .zip(b.lines())
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.lines().count().min(b.lines().count()));
                panic!(
                    "{what}: stdout differs from --threads 1 at line {}:\n  1: {}\n  {n}: {}",
                    line + 1,
                    a.lines().nth(line).unwrap_or("(end)"),
                    b.lines().nth(line).unwrap_or("(end)")
                );
            }
            assert_eq!(
                stderr(&one),
                stderr(&many),
                "{what}: stderr differs from --threads 1"
            );
        }
    }
}

#[test]
fn every_fixture_every_view() {
    let names = capture_fixtures();
    assert!(names.len() > 30, "fixtures: {names:?}");
    // Two at a time: each run is short, most of the time is starting it.
    std::thread::scope(|s| {
        for chunk in names.chunks(names.len().div_ceil(2)) {
            s.spawn(move || {
                for name in chunk {
                    same_output(&fixture(name), &[]);
                }
            });
        }
    });
}

#[test]
fn the_broken_fixtures_too() {
    // Cut captures, a non-capture, an undecodable link: the same errors and
    // the same frames before them.
    for name in [
        "cut-mid-header.pcap",
        "cut-mid-record.pcap",
        "not-a-capture.pcap",
        "unsupported-link-mfr.pcap",
    ] {
        let file = fixture(name);
        for n in THREADS {
            for view in [&[][..], &["--json"][..], &["--summary"][..]] {
                let one = run_threads("1", view, &[], &file);
                let many = run_threads(n, view, &[], &file);
                assert_eq!(one.status.code(), many.status.code(), "{name} {view:?}");
                assert_eq!(stdout(&one), stdout(&many), "{name} {view:?} --threads {n}");
                assert_eq!(stderr(&one), stderr(&many), "{name} {view:?} --threads {n}");
            }
        }
    }
}

#[test]
fn a_generated_capture_every_view() {
    let file = generated_capture();
    // Sanity: the capture holds what it is made for.
    let one = run_threads("1", &["--summary", "--json"], &[], &file);
    let recs = json_lines(&one);
    let summary = recs.last().expect("summary");
    assert!(
        summary["connections"].as_u64().unwrap() > 2_900,
        "{summary}"
    );
    assert!(summary["udp_frames"].as_u64().unwrap() > 100, "{summary}");
    assert!(
        summary["pressure"]["port_reuse"].as_u64().unwrap() > 10,
        "{summary}"
    );
    let ended = |how: &str| {
        recs.iter()
            .filter(|r| r["ended_by"] == how && r["type"] == "connection")
            .count()
    };
    assert!(ended("closed") > 1_000, "closed {}", ended("closed"));
    assert!(ended("end_of_input") > 100);
    same_output(&file, &[]);
}

#[test]
fn idle_sweeps_and_short_time_waits() {
    // Idle connections swept mid-capture (several in one sweep), and
    // TIME_WAITs of 5 s: many timers between two frames.
    let file = generated_capture();
    let extra = ["--idle-timeout", "4s", "--time-wait", "5s"];
    let recs = json_lines(&run_threads("1", &["--summary", "--json"], &extra, &file));
    let idle = recs
        .iter()
        .filter(|r| r["ended_by"] == "idle_timeout")
        .count();
    assert!(idle > 50, "idle sweeps retired {idle}");
    same_output(&file, &extra);
}

#[test]
fn the_connection_cap_is_said_when_reached() {
    let file = generated_capture();
    let note = "together held up to --max-connections";
    let capped = run_threads("2", &["--summary"], &["--max-connections", "50"], &file);
    assert!(stderr(&capped).contains(note), "{}", stderr(&capped));
    let roomy = run_threads("2", &["--summary"], &[], &file);
    assert!(!stderr(&roomy).contains(note), "{}", stderr(&roomy));
    // Under the cap of one thread, the output is still the same.
    let one = run_threads("1", &["--summary"], &["--max-connections", "100000"], &file);
    assert_eq!(stdout(&one), stdout(&roomy));
}

#[test]
fn one_shard_on_threads() {
    // A shard's run is the same on any number of threads.
    let file = generated_capture();
    let views: &[&[&str]] = &[
        &[],
        &["--json"],
        &["--summary"],
        &["--summary", "--json"],
        &["--zeek"],
    ];
    for shard in ["0/3", "2/3"] {
        same_output_in(views, &file, &["--shard", shard]);
    }
}

#[test]
fn output_to_a_file() {
    // -o FILE: the file is the same, whoever writes it (the views' own
    // thread, with --summary).
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("threads-output");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let file = fixture("tunnel-vlan-vxlan.pcap");
    for view in [&["--summary"][..], &["--json"][..], &["--view", "svg"][..]] {
        let mut written = Vec::new();
        for n in ["1", "2"] {
            let path = dir.join(format!("out-{n}"));
            let out = synack()
                .args(["read", "--threads", n, "-o"])
                .arg(&path)
                .args(view)
                .arg(&file)
                .output()
                .expect("run synack");
            assert!(out.status.success(), "{view:?}: {}", stderr(&out));
            assert!(out.stdout.is_empty(), "{view:?}: stdout not empty");
            written.push(std::fs::read(&path).expect("read output"));
        }
        assert!(!written[0].is_empty(), "{view:?}: nothing written");
        assert!(written[0] == written[1], "{view:?}: -o FILE differs");
    }
}
