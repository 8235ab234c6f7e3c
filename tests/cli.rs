//! The command line as a user meets it: errors, exit codes, stdin, pipes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::*;

/// An error is one line on stderr, mentions what to look at, and never a panic or backtrace.
fn assert_one_line_error(o: &std::process::Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "exit status; stderr: {err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("reading from file"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(lines[0].starts_with("synack: "), "{err}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn missing_file() {
    let o = run(&["read", "fixtures/does-not-exist.pcap"]);
    assert_one_line_error(&o, 2, "does-not-exist.pcap: no such file");
}

#[test]
fn missing_file_after_dash_r() {
    let o = run(&["read", "-r", "/nonexistent/x.pcap"]);
    assert_one_line_error(&o, 1, "cannot read /nonexistent/x.pcap: no such file");
}

#[test]
fn not_a_capture() {
    let o = run_path(&["read"], &fixture("not-a-capture.pcap"));
    assert_one_line_error(&o, 1, "not a pcap or pcapng capture");
}

#[test]
fn a_directory() {
    let o = run(&["read", "-r", "fixtures"]);
    assert_one_line_error(&o, 1, "it is a directory");
}

#[test]
fn unsupported_link_type() {
    // LINKTYPE_MFR (182), a fuzzed tcpdump regression file; copied into fixtures/.
    let o = run_path(&["read"], &fixture("unsupported-link-mfr.pcap"));
    assert_one_line_error(&o, 1, "link type MFR (182) is not supported");
}

#[test]
fn bad_filter() {
    let o = synack()
        .arg("read")
        .arg(fixture("ipv4-echo.pcap"))
        .args(["tcp", "portt", "99"])
        .output()
        .unwrap();
    assert_one_line_error(&o, 1, "bad filter expression 'tcp portt 99'");
    assert!(
        o.stdout.is_empty(),
        "nothing is printed before the filter fails"
    );
}

#[test]
fn bad_flag_is_a_usage_error() {
    let o = run(&["read", "--no-such-flag", "x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--no-such-flag"));
}

#[test]
fn truncated_file_prints_complete_frames_then_one_error() {
    for (name, got) in [
        ("cut-mid-record.pcap", "only got"),
        ("cut-mid-header.pcap", "only got"),
    ] {
        let o = run_path(&["read", "-N"], &fixture(name));
        assert_one_line_error(
            &o,
            1,
            "capture ends in the middle of a record after frame 10",
        );
        assert!(stderr(&o).contains(got));
        let out = stdout(&o);
        let frames: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(" IP 127.0.0.1:"))
            .collect();
        assert_eq!(
            frames.len(),
            10,
            "{name}: the ten complete frames are printed"
        );
        assert!(frames[9].trim_start().starts_with("10 "), "{}", frames[9]);
    }
}

#[test]
fn truncated_file_in_json_reports_the_error_in_the_summary() {
    let o = run_path(&["read", "--json"], &fixture("cut-mid-record.pcap"));
    assert_eq!(o.status.code(), Some(1));
    let recs = json_lines(&o);
    let summary = recs.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["frames"], 10);
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].as_str().unwrap().contains("after frame 10"));
}

#[test]
fn later_files_are_read_after_a_bad_one() {
    let o = synack()
        .arg("read")
        .arg("-N")
        .arg(fixture("not-a-capture.pcap"))
        .arg(fixture("ipv4-echo.pcap"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("127.0.0.1:9999"));
}

#[test]
fn frame_numbers_continue_across_files() {
    let f = fixture("ipv4-echo.pcap");
    let o = synack()
        .args(["read", "--json"])
        .arg(&f)
        .arg(&f)
        .output()
        .unwrap();
    let recs = json_lines(&o);
    let frames: Vec<u64> = recs
        .iter()
        .filter(|r| r["type"] == "packet")
        .map(|r| r["frame"].as_u64().unwrap())
        .collect();
    let n = frames.len() / 2;
    assert!(n > 0);
    assert_eq!(frames, (1..=2 * n as u64).collect::<Vec<_>>());
}

#[test]
fn reads_stdin() {
    let bytes = std::fs::read(fixture("ipv4-echo.pcap")).unwrap();
    let mut child = synack()
        .args(["read", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let from_file = run_path(&["read"], &fixture("ipv4-echo.pcap"));
    assert_eq!(stdout(&o), stdout(&from_file));
}

#[test]
fn count_limits_frames_after_the_filter() {
    let o = synack()
        .args(["read", "-c", "2", "--json"])
        .arg(fixture("veth-mixed.pcap"))
        .arg("tcp")
        .output()
        .unwrap();
    assert!(o.status.success());
    let recs = json_lines(&o);
    let packets: Vec<_> = recs.iter().filter(|r| r["type"] == "packet").collect();
    assert_eq!(packets.len(), 2);
    assert!(packets.iter().all(|p| p["flags"].is_array()));
    // Frame numbers are record numbers in the file, not match numbers.
    assert!(packets[0]["frame"].as_u64().unwrap() > 1);
}

#[test]
fn closed_pipe_ends_quietly() {
    // Enough output to overflow the pipe buffer: the same capture many times.
    let f = fixture("ipv4-echo.pcap");
    let mut child = synack()
        .arg("read")
        .args(std::iter::repeat_n(&f, 400))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("127.0.0.1"));
    drop(reader);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(!stderr(&o).contains("synack:"), "{}", stderr(&o));
}

#[test]
fn help_teaches() {
    let o = run(&["read", "--help"]);
    let h = stdout(&o);
    for needle in ["FILTER", "--json", "-S", "Examples:", "stdin"] {
        assert!(h.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn why_explains_each_annotation_with_the_lines_numbers() {
    let o = run_path(&["read", "--why", "-N"], &fixture("keepalive.pcap"));
    let text = stdout(&o);
    let probe = text
        .lines()
        .find(|l| l.trim_start().starts_with("8 "))
        .unwrap();
    assert!(
        probe
            .contains("keep-alive probe [why: seq 5 = next expected 6 − 1, len 0, no SYN/FIN/RST]"),
        "{probe}"
    );
    let zw = run_path(&["read", "--why", "-N"], &fixture("zero-window.pcap"));
    let line = stdout(&zw)
        .lines()
        .find(|l| l.trim_start().starts_with("10 "))
        .unwrap()
        .to_string();
    assert!(
        line.contains("zero-window probe [why: peer window 0, seq 4344 = next expected 4345 − 1"),
        "{line}"
    );
}

#[test]
fn nothing_read_means_no_summary() {
    for o in [
        run_path(&["read"], &fixture("not-a-capture.pcap")),
        run(&["read", "-r", "fixtures"]),
    ] {
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            stdout(&o),
            "",
            "a '0 frames' summary says nothing the error did not"
        );
    }
}

#[test]
fn an_empty_file_is_called_empty() {
    let path = std::env::temp_dir().join(format!("synack-empty-{}.pcap", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    let o = run_path(&["read"], &path);
    let _ = std::fs::remove_file(&path);
    assert_one_line_error(&o, 1, "the file is empty (0 bytes)");
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_pcapng_cut_in_its_first_packet_says_before_its_first_frame() {
    // echo.pcapng cut halfway into its first block after the section header
    // and interface description.
    let bytes = std::fs::read(fixture("echo.pcapng")).unwrap();
    let len = |at: usize| u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    let shb = len(0);
    let idb = len(shb);
    let cut = shb + idb + len(shb + idb) / 2;
    let path = std::env::temp_dir().join(format!("synack-cut-{}.pcapng", std::process::id()));
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let o = run_path(&["read"], &path);
    let _ = std::fs::remove_file(&path);
    assert_one_line_error(&o, 1, "in the middle of a record before its first frame");
    assert!(!stderr(&o).contains("after frame 0"), "{}", stderr(&o));
}

#[test]
fn dash_r_then_another_file_says_the_words_are_a_filter() {
    let f = "fixtures/close-client-first.pcap";
    let o = run(&["read", "-r", f, f]);
    assert_one_line_error(&o, 2, "with -r, the words after the options are a filter");
    assert!(!stderr(&o).contains("no such file"), "{}", stderr(&o));
}

#[test]
fn conn_that_does_not_exist_is_said_with_the_count() {
    let f = "fixtures/port-reuse.pcap";
    let o = run(&["read", "--conn", "999", f]);
    assert_one_line_error(
        &o,
        1,
        "no connection #999: the input has 2 TCP connections, #1 to #2",
    );
    let o = run(&["read", "--conn", "0", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("numbered from 1"), "{}", stderr(&o));
    // The last one that exists is fine.
    assert_eq!(run(&["read", "--conn", "2", f]).status.code(), Some(0));
}

#[test]
fn options_that_cannot_go_together_are_refused_naming_both() {
    let f = "fixtures/close-client-first.pcap";
    for (args, a, b) in [
        (
            &["--json", "--view", "ladder"][..],
            "--json",
            "--view ladder",
        ),
        (
            &["--json", "--view", "mermaid"][..],
            "--json",
            "--view mermaid",
        ),
        (
            &["--summary", "--view", "ladder"][..],
            "--summary",
            "--view ladder",
        ),
        (&["--summary", "--why"][..], "--why", "--summary"),
        (&["--summary", "-e"][..], "-e", "--summary"),
        (&["--view", "ladder", "-N"][..], "-N", "--view ladder"),
        (&["--view", "ladder", "-e"][..], "-e", "--view ladder"),
        (&["--view", "mermaid", "-S"][..], "-S", "--view mermaid"),
        (&["--view", "ladder", "--why"][..], "--why", "--view ladder"),
        (&["--zeek", "--summary"][..], "--zeek", "--summary"),
        (
            &["--zeek", "--view", "ladder"][..],
            "--zeek",
            "--view ladder",
        ),
        (&["--zeek", "-N"][..], "-N", "--zeek"),
        (&["--zeek", "--json", "-e"][..], "-e", "--zeek"),
        (&["--json", "--view", "svg"][..], "--json", "--view svg"),
        (
            &["--summary", "--view", "graph"][..],
            "--summary",
            "--view graph",
        ),
        (&["--zeek", "--view", "svg"][..], "--zeek", "--view svg"),
        (&["--view", "svg", "-N"][..], "-N", "--view svg"),
        (&["--view", "graph", "--why"][..], "--why", "--view graph"),
        (&["--view", "svg", "-v"][..], "-v", "--view svg"),
        (&["--view", "graph", "-tt"][..], "-tt", "--view graph"),
    ] {
        let mut argv = vec!["read"];
        argv.extend(args);
        argv.push(f);
        let o = run(&argv);
        assert_one_line_error(&o, 2, "cannot go together");
        let err = stderr(&o);
        assert!(err.contains(a) && err.contains(b), "{args:?}: {err}");
        assert_eq!(stdout(&o), "");
    }
    // JSON records always carry what -e -N -S --why add to lines: accepted.
    let o = run(&["read", "--json", "-e", "-N", "-S", "--why", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn durations_take_units_as_in_echo() {
    let f = "fixtures/close-client-first.pcap";
    for (value, shown) in [
        ("2m", "2MSL = 120 s"),
        ("1500ms", "2MSL = 1.50 s"),
        ("90", "2MSL = 90 s"),
    ] {
        let o = run(&["read", "--time-wait", value, f]);
        assert!(o.status.success(), "{value}: {}", stderr(&o));
        assert!(stdout(&o).contains(shown), "{value}: {}", stdout(&o));
    }
    let o = run(&["read", "--time-wait", "5 fortnights", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected a duration such as 250ms or 2s"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_file_older_than_the_one_before_keeps_its_proofs() {
    // The second file's clock is behind the first's: its packets must still
    // wait for their proofs, and read exactly as the file alone (but for the
    // connection numbers, which continue).
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains(" IP ") && l.contains(" > "))
            .map(|l| {
                l.split_whitespace()
                    .filter(|w| !w.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    for (first, second) in [
        ("zero-window.pcap", "close-client-first.pcap"),
        ("keepalive.pcap", "refused.pcap"),
        ("veth-mixed.pcap", "port-reuse.pcap"),
    ] {
        let alone = strip(&stdout(&run_path(&["read"], &fixture(second))));
        let both = synack()
            .arg("read")
            .arg(fixture(first))
            .arg(fixture(second))
            .output()
            .unwrap();
        let both = strip(&stdout(&both));
        assert!(!alone.is_empty());
        assert_eq!(
            both[both.len() - alone.len()..],
            alone[..],
            "{second} after {first}"
        );
    }
}
