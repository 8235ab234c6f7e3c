//! Ladder diagrams and Mermaid output on real captures: golden ladders for
//! the textbook cases, widths at 60 and 120 columns, colour only on a
//! terminal, and the Mermaid text checked by Mermaid's own parser.

mod common;

use std::process::Command;

use common::*;

/// The cases the issue names, one fixture each (port reuse: two ladders).
const CASES: [&str; 9] = [
    "close-client-first.pcap",
    "close-three-way.pcap",
    "simultaneous-close.pcap",
    "half-close.pcap",
    "rst-abort.pcap",
    "refused.pcap",
    "keepalive.pcap",
    "port-reuse.pcap",
    "midstream.pcap",
];

fn ladder(name: &str, columns: u16, extra: &[&str]) -> String {
    let out = synack()
        .env("COLUMNS", columns.to_string())
        .args(["read", "--view", "ladder"])
        .args(extra)
        .arg(fixture(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn golden_ladders() {
    let bless = std::env::var_os("SYNACK_BLESS").is_some();
    let mut failures = Vec::new();
    for name in CASES {
        let text = ladder(name, 100, &[]);
        let golden = root()
            .join("tests/golden/ladder")
            .join(format!("{name}.txt"));
        if bless {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != text {
            failures.push(format!("{name}: differs from {}", golden.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(after an intended change: SYNACK_BLESS=1 cargo test --test ladder)",
        failures.join("\n")
    );
}

#[test]
fn four_way_close_reads_like_the_textbook() {
    let t = ladder("close-client-first.pcap", 100, &[]);
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].starts_with("#1  client 10.99.2.1:") && lines[0].contains("server 10.99.2.2:9999")
    );
    // Initial states above the lanes, then SYN to the right, SYN+ACK to the left.
    assert!(
        lines[2].contains("CLOSED │") && lines[2].ends_with("│ LISTEN"),
        "{}",
        lines[2]
    );
    let syn = lines
        .iter()
        .find(|l| l.contains("SYN seq=0") && !l.contains("SYN,ACK"))
        .unwrap();
    assert!(
        syn.contains("SYN_SENT │ ──") && syn.contains("▶ │ SYN_RCVD"),
        "{syn}"
    );
    assert!(syn.contains("handshake 1/3"));
    let synack = lines
        .iter()
        .find(|l| l.contains("SYN,ACK seq=0 ack=1"))
        .unwrap();
    assert!(synack.contains("ESTABLISHED │ ◀"), "{synack}");
    let data = lines
        .iter()
        .find(|l| l.contains("PSH,ACK seq=1:6 ack=1 len=5"))
        .unwrap();
    assert!(data.contains("▶ │"), "client data goes right: {data}");
    let fin = lines.iter().find(|l| l.contains("FIN_WAIT_1")).unwrap();
    assert!(
        fin.contains("FIN,ACK")
            && fin.contains("CLOSE_WAIT")
            && fin.contains("close 1: client FIN")
    );
    assert!(t.contains("TIME_WAIT") && t.contains("still in TIME_WAIT at end of capture"));
    let story = lines.iter().find(|l| l.starts_with("Opened in")).unwrap();
    assert!(
        story.contains("5 B each way") && story.contains("client closed first (four-way close)"),
        "{story}"
    );
    assert!(t.contains("no retransmissions."));
}

#[test]
fn idle_gaps_fold_into_one_row() {
    let t = ladder("keepalive.pcap", 100, &[]);
    let idle: Vec<&str> = t.lines().filter(|l| l.contains(" idle ⋮")).collect();
    assert_eq!(idle.len(), 3, "{t}");
    assert!(idle[0].contains("⋮ 1.01 s idle ⋮"), "{}", idle[0]);
    assert_eq!(
        t.lines()
            .filter(|l| l.ends_with("keep-alive probe"))
            .count(),
        3
    );
    assert!(t.contains("3 keep-alive probes"));
}

#[test]
fn port_reuse_draws_two_ladders() {
    let t = ladder("port-reuse.pcap", 100, &[]);
    assert!(t.contains("#1  client 127.0.0.1:40000") && t.contains("#2  client 127.0.0.1:40000"));
    assert!(t.contains("port reuse: 4-tuple of #1 (in TIME_WAIT)"));
    let only2 = ladder("port-reuse.pcap", 100, &["--conn", "2"]);
    assert!(!only2.contains("#1  client") && only2.contains("#2  client"));
}

#[test]
fn refused_rst_and_midstream_stories() {
    assert!(ladder("refused.pcap", 100, &[]).contains("Refused: the SYN was answered by RST."));
    let abort = ladder("rst-abort.pcap", 100, &[]);
    assert!(abort.contains("reset by the client (abort)") && abort.contains("RST: abort"));
    let mid = ladder("midstream.pcap", 100, &[]);
    assert!(mid.contains("Joined mid-stream (no handshake seen)"));
    assert!(mid.contains("ESTABLISHED │") && mid.contains("│ ESTABLISHED"));
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn never_wider_than_the_terminal() {
    for name in capture_fixtures() {
        for cols in [60u16, 120] {
            let t = ladder(&name, cols, &[]);
            assert!(
                widest(&t) <= usize::from(cols),
                "{name} at {cols}: {}",
                widest(&t)
            );
        }
    }
    // Below 80 columns the narrow layout drops the time column.
    let narrow = ladder("close-client-first.pcap", 60, &[]);
    assert!(!narrow.contains("time (s)"));
    assert!(ladder("close-client-first.pcap", 120, &[]).contains("time (s)"));
}

#[test]
fn ascii_draws_with_plain_ascii() {
    let t = ladder("close-client-first.pcap", 100, &["--ascii"]);
    let body: String = t.lines().skip(1).collect();
    assert!(body.contains("-->") || body.contains("->"), "{t}");
    let non_ascii: Vec<char> = t
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_ascii() && *c != 'µ')
        .collect();
    assert!(non_ascii.is_empty(), "{non_ascii:?}");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // A pipe: no escape codes.
    assert!(!ladder("rst-abort.pcap", 100, &[]).contains('\x1b'));
    // A terminal, through script(1) when it is installed.
    let bin = env!("CARGO_BIN_EXE_synack");
    let file = fixture("rst-abort.pcap");
    let run_tty = |no_color: bool| {
        let cmd = format!(
            "env {} COLUMNS=100 TZ=UTC {bin} read --view ladder {}",
            if no_color { "NO_COLOR=1" } else { "" },
            file.display()
        );
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
    };
    let Ok(tty) = run_tty(false) else {
        eprintln!("SKIPPED the terminal half: script(1) is not installed");
        return;
    };
    assert!(
        String::from_utf8_lossy(&tty.stdout).contains("\x1b[31m"),
        "RST in red on a terminal"
    );
    let plain = run_tty(true).unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\x1b["));
}

/// Mermaid: every statement is one synack writes; and, when tests/mermaid has
/// its node_modules (CI installs them), Mermaid's own parser accepts it all.
#[test]
fn mermaid_parses() {
    let mut all = String::new();
    for name in CASES {
        let out = run_path(&["read", "--view", "mermaid"], &fixture(name));
        assert!(out.status.success());
        let text = stdout(&out);
        assert!(text.starts_with("```mermaid\nsequenceDiagram\n"), "{name}");
        for line in text.lines() {
            let ok = line == "```mermaid"
                || line == "```"
                || line == "sequenceDiagram"
                || line.starts_with("    title ")
                || line.starts_with("    participant C as client ")
                || line.starts_with("    participant S as server ")
                || line.starts_with("    C->>S: ")
                || line.starts_with("    S->>C: ")
                || line.starts_with("    Note over C: ")
                || line.starts_with("    Note over S: ")
                || line.starts_with("    Note right of S: ")
                || line.starts_with("    Note over C,S: ")
                || line.is_empty();
            assert!(ok, "{name}: unexpected Mermaid line: {line}");
            let bare = line.replace("#59;", "").replace("#35;", "");
            assert!(!bare.contains(';'), "{name}: bare ';' in {line}");
        }
        all.push_str(&text);
    }
    let dir = root().join("tests/mermaid");
    if !dir.join("node_modules/mermaid").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs tests/mermaid's parser (see .ci/run)"
        );
        eprintln!("SKIPPED Mermaid's parser: run 'npm install' in tests/mermaid to include it");
        return;
    }
    let mut child = Command::new("node")
        .arg(dir.join("check.mjs"))
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), all.as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Mermaid rejected synack's output: {report}"
    );
    let diagrams = all.matches("```mermaid").count();
    assert!(
        diagrams >= CASES.len() + 2,
        "refused and port-reuse hold two connections each"
    );
    assert!(
        report.contains(&format!("{diagrams} diagrams, 0 failed")),
        "{report}"
    );
}

/// The ladder's clock is its time column: a TIME_WAIT deadline is said in
/// the rows' seconds, not as a time of day; once TIME_WAIT has expired the
/// story says it was held, not that it holds.
#[test]
fn time_wait_is_told_on_the_ladders_own_clock() {
    let t = ladder("port-reuse.pcap", 100, &["--time-wait", "1", "--conn", "1"]);
    let row_time = |needle: &str| -> f64 {
        let l = t.lines().find(|l| l.contains(needle)).unwrap();
        l.split_whitespace().next().unwrap().parse().unwrap()
    };
    let entered = row_time("◀─────────── FIN,ACK");
    let expired = row_time("TIME_WAIT expired");
    let note = t
        .lines()
        .find(|l| l.contains("client TIME_WAIT until"))
        .unwrap();
    let until: f64 = note
        .split("until t=")
        .nth(1)
        .and_then(|r| r.split(" s ").next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (until - (entered + 1.0)).abs() < 1e-6,
        "{note} vs {entered}"
    );
    assert!(
        (expired - until).abs() < 1e-6,
        "expires at {expired}, said {until}"
    );
    // No time of day anywhere on the ladder.
    let clock = t.lines().find(|l| {
        l.as_bytes().windows(8).any(|w| {
            w[2] == b':'
                && w[5] == b':'
                && w.iter()
                    .enumerate()
                    .all(|(i, c)| i % 3 == 2 || c.is_ascii_digit())
        })
    });
    assert!(clock.is_none(), "a time of day: {clock:?}\n{t}");
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(&t).contains("the client held TIME_WAIT for 2MSL (1 s)")
            && !words(&t).contains("holds TIME_WAIT"),
        "{t}"
    );
    // Still running at the end of the capture: it holds, until a time on the clock.
    let t2 = ladder("port-reuse.pcap", 100, &["--conn", "2"]);
    assert!(
        words(&t2).contains("the client holds TIME_WAIT until t=60.007942 s"),
        "{t2}"
    );
}
