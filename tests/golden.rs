//! Golden output: the packet lines for every fixture, exactly. The header
//! fields inside them are the ones tshark_crosscheck.rs checks against tshark;
//! these files pin down how they are written (and were read through by hand).
//! After an intended change of format, regenerate with
//! `SYNACK_BLESS=1 cargo test --test golden` and review the diff.

mod common;

use common::*;

#[test]
fn every_fixture_renders_as_its_golden_file() {
    let bless = std::env::var_os("SYNACK_BLESS").is_some();
    let mut failures = Vec::new();
    let fixtures = capture_fixtures();
    assert!(fixtures.len() >= 30, "only {} fixtures", fixtures.len());
    for name in fixtures {
        // Epoch time with nanoseconds: independent of the time zone, loses nothing.
        let out = run_path(
            &["read", "-N", "--time", "epoch", "--nano"],
            &fixture(&name),
        );
        let text = stdout(&out);
        let golden = root().join("tests/golden").join(format!("{name}.txt"));
        if bless {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{}: missing; run with SYNACK_BLESS=1", golden.display()));
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            failures.push(format!(
                "{name}: first difference at line {}:\n  want: {}\n  got:  {}",
                line + 1,
                want.lines().nth(line).unwrap_or("<end>"),
                text.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The textbook fixtures in Chinese (`--lang zh`): the packet lines with
/// `--why`, the ladder at 100 columns and the summary table, one file each
/// under tests/golden/zh/. Each was read through by hand against the capture
/// (fixtures/README.md says what each frame is) and against the English
/// golden files, sentence by sentence. Regenerate with SYNACK_BLESS=1.
const TEXTBOOK: [&str; 14] = [
    "close-client-first.pcap",
    "close-server-first.pcap",
    "close-three-way.pcap",
    "simultaneous-close.pcap",
    "half-close.pcap",
    "refused.pcap",
    "keepalive.pcap",
    "keepalive-dead.pcap",
    "zero-window.pcap",
    "rst-abort.pcap",
    "rst-unread.pcap",
    "port-reuse.pcap",
    "retransmission.pcap",
    "syn-retransmission.pcap",
];

fn zh_golden_text(name: &str) -> String {
    let mut text = String::new();
    let views: [(&str, &[&str]); 3] = [
        ("lines", &["-N", "--time", "epoch", "--nano", "--why"]),
        ("ladder", &["--view", "ladder"]),
        ("summary", &["--summary"]),
    ];
    for (what, args) in views {
        let out = synack()
            .env("COLUMNS", "100")
            .args(["read", "--lang", "zh"])
            .args(args)
            .arg(fixture(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name} {what}: {}", stderr(&out));
        text.push_str(&format!(
            "$ synack read --lang zh {} {name}\n",
            args.join(" ")
        ));
        text.push_str(&stdout(&out));
        text.push('\n');
    }
    text
}

#[test]
fn textbook_fixtures_in_chinese_render_as_their_golden_files() {
    let bless = std::env::var_os("SYNACK_BLESS").is_some();
    let dir = root().join("tests/golden/zh");
    let mut failures = Vec::new();
    for name in TEXTBOOK {
        let text = zh_golden_text(name);
        let golden = dir.join(format!("{name}.txt"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            failures.push(format!(
                "{name}: first difference at line {}:\n  want: {}\n  got:  {}",
                line + 1,
                want.lines().nth(line).unwrap_or("<end>"),
                text.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(after an intended change: SYNACK_BLESS=1 cargo test --test golden, then read the diff)",
        failures.join("\n")
    );
}
