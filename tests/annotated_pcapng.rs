//! `synack read IN -w OUT.pcapng`: every frame unchanged, each TCP packet
//! commented with its annotation. Read back by synack (the same packet
//! lines) and by tshark and capinfos (the comments, the filters, the
//! writing application).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("synack-annot-{}-{name}.pcapng", std::process::id()))
}

/// tshark is installed here and in CI (.ci/run); elsewhere those checks skip.
fn have_wireshark_tools() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs tshark (see .ci/run)"
        );
        eprintln!("SKIPPED the tshark checks: tshark is not installed");
    }
    ok
}

const LINES: [&str; 5] = ["read", "-N", "--time", "epoch", "--nano"];

#[test]
fn every_fixture_reads_back_as_the_same_lines() {
    let mut compared = 0;
    for name in capture_fixtures() {
        let out = temp(&name);
        let mut args = LINES.to_vec();
        let f = fixture(&name);
        args.push(f.to_str().unwrap());
        args.extend(["-w", out.to_str().unwrap()]);
        let first = run(&args);
        if !first.status.success() {
            // A capture cut in the middle: the copy holds what was read.
            assert!(
                stderr(&first).contains("synack: "),
                "{name}: {}",
                stderr(&first)
            );
            continue;
        }
        let again = run_path(&LINES, &out);
        assert!(again.status.success(), "{name}: {}", stderr(&again));
        assert_eq!(stdout(&first), stdout(&again), "{name}");
        let _ = std::fs::remove_file(&out);
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} fixtures compared");
}

/// `(frame number, annotation)` of every TCP line: the text after ` | `.
fn annotations(lines: &str) -> Vec<(u64, String)> {
    lines
        .lines()
        .filter_map(|l| {
            let (head, annotation) = l.split_once(" | ")?;
            let n = head.split_whitespace().next()?.parse().ok()?;
            Some((n, annotation.to_string()))
        })
        .collect()
}

fn tshark(file: &std::path::Path, filter: &str) -> Vec<(u64, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.comment",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, c) = l.split_once('\t').unwrap_or((l, ""));
            (n.parse().unwrap(), c.to_string())
        })
        .collect()
}

#[test]
fn wireshark_shows_and_filters_the_annotations() {
    if !have_wireshark_tools() {
        return;
    }
    for name in [
        "close-client-first.pcap",
        "close-three-way.pcap",
        "refused.pcap",
        "keepalive.pcap",
        "simultaneous-close.pcap",
        "ipv6-echo.pcap",
        "any-sll2.pcap",
        "echo.pcapng",
    ] {
        let out = temp(name);
        let mut args = LINES.to_vec();
        let f = fixture(name);
        args.push(f.to_str().unwrap());
        args.extend(["-w", out.to_str().unwrap()]);
        let first = run(&args);
        assert!(first.status.success(), "{name}: {}", stderr(&first));
        let want = annotations(&stdout(&first));
        assert!(!want.is_empty(), "{name}: no TCP lines");

        // Every TCP packet carries its line's annotation as its comment.
        assert_eq!(tshark(&out, "frame.comment"), want, "{name}");
        for word in ["handshake", "TIME_WAIT", "refused", "keep-alive"] {
            let expect: Vec<u64> = want
                .iter()
                .filter(|(_, a)| a.contains(word))
                .map(|(n, _)| *n)
                .collect();
            let got: Vec<u64> = tshark(&out, &format!("frame.comment contains \"{word}\""))
                .iter()
                .map(|(n, _)| *n)
                .collect();
            assert_eq!(got, expect, "{name}: frame.comment contains \"{word}\"");
        }
        // The handshake is found where the lines show it.
        if name.starts_with("close-") {
            let hs = tshark(&out, "frame.comment contains \"handshake\"");
            assert_eq!(hs.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        }

        // The section header names synack as the writing application.
        let info = Command::new("capinfos").arg(&out).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.lines().any(|l| l.starts_with("Capture application:")
                && l.trim_end()
                    .ends_with(&format!("synack {}", env!("CARGO_PKG_VERSION")))),
            "{name}: {info}"
        );
        let _ = std::fs::remove_file(&out);
    }
}

#[test]
fn read_refuses_a_name_that_is_not_pcapng() {
    let out = run(&[
        "read",
        fixture("ipv4-echo.pcap").to_str().unwrap(),
        "-w",
        "/tmp/x.pcap",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("name the file .pcapng"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unwritable_file_is_one_line_and_a_failure() {
    let out = run(&[
        "read",
        fixture("ipv4-echo.pcap").to_str().unwrap(),
        "-w",
        "/nonexistent-dir/x.pcapng",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot write /nonexistent-dir/x.pcapng"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("synack:")).count(),
        1,
        "{err}"
    );
}
