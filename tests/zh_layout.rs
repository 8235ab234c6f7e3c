//! Chinese characters take two columns: under `--lang zh`, ladders and
//! tables are laid out by display width (unicode-width), so at 60, 80 and
//! 120 columns no line is wider than the terminal, a ladder's lanes stay in
//! one column from its first row to its last, and a table's columns line up
//! (boxed on a terminal, through script(1); plain into a pipe).

mod common;

use std::process::Command;

use common::*;
use unicode_width::UnicodeWidthStr;

const WIDTHS: [u16; 3] = [60, 80, 120];

/// The display columns where `glyphs` appear in `line`.
fn columns_of(line: &str, glyphs: &[char]) -> Vec<usize> {
    let mut col = 0;
    let mut at = Vec::new();
    for c in line.chars() {
        if glyphs.contains(&c) {
            at.push(col);
        }
        col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    at
}

fn ladder_zh(name: &str, cols: u16) -> String {
    let out = synack()
        .env("COLUMNS", cols.to_string())
        .args(["read", "--lang", "zh", "--view", "ladder"])
        .arg(fixture(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn chinese_ladders_fit_and_keep_their_lanes_straight() {
    let mut failures = Vec::new();
    let mut lanes_checked = 0;
    for name in capture_fixtures() {
        for cols in WIDTHS {
            let text = ladder_zh(&name, cols);
            for line in text.lines() {
                let w = UnicodeWidthStr::width(line);
                if w > usize::from(cols) {
                    failures.push(format!("{name} at {cols}: {w} columns: {line}"));
                }
            }
            // Each ladder starts with its title "#N  客户端 …"; every line with
            // both lanes has them at the same two columns as its first.
            let mut lanes: Option<Vec<usize>> = None;
            for line in text.lines() {
                if line.starts_with('#') {
                    lanes = None;
                    continue;
                }
                let at = columns_of(line, &['│']);
                if at.len() != 2 {
                    continue;
                }
                lanes_checked += 1;
                match &lanes {
                    None => lanes = Some(at),
                    Some(first) if *first != at => failures.push(format!(
                        "{name} at {cols}: lanes at {at:?}, not {first:?}: {line}"
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    assert!(lanes_checked > 1000, "only {lanes_checked} lane lines");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The textbook names sit under the RFC names, in the lanes.
    let t = ladder_zh("close-client-first.pcap", 80);
    assert!(t.contains("            同步已发送 │"), "{t}");
    assert!(t.contains("│ 同步收到"), "{t}");
}

/// The summary table on a terminal of `cols` columns, through script(1).
fn table_on_a_terminal(files: &[&str], cols: u16) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_synack");
    let files: Vec<String> = files
        .iter()
        .map(|f| fixture(f).display().to_string())
        .collect();
    let cmd = format!(
        "env COLUMNS={cols} TZ=UTC NO_COLOR=1 SYNACK_LANG=zh {bin} read --summary {} 2>/dev/null",
        files.join(" ")
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

#[test]
fn chinese_tables_line_up_on_a_terminal() {
    let files = [
        "close-client-first.pcap",
        "keepalive.pcap",
        "zero-window.pcap",
        "rst-abort.pcap",
        "refused.pcap",
        "half-close.pcap",
    ];
    let Some(_) = table_on_a_terminal(&files, 80) else {
        assert!(std::env::var_os("CI").is_none(), "CI has script(1)");
        eprintln!("SKIPPED: script(1) is not installed");
        return;
    };
    let separators = [
        '│', '┆', '┬', '┼', '╪', '┴', '┐', '┤', '╡', '├', '╞', '┌', '└', '┘',
    ];
    for cols in WIDTHS {
        let text = table_on_a_terminal(&files, cols).unwrap();
        assert!(text.contains("客户端") || text.contains("客户"), "{text}");
        let mut boxed = 0;
        let mut columns: Option<Vec<usize>> = None;
        for line in text.lines() {
            let w = UnicodeWidthStr::width(line);
            assert!(w <= usize::from(cols), "at {cols}: {w} columns: {line}");
            if !line.starts_with(|c| separators.contains(&c)) {
                continue;
            }
            boxed += 1;
            let at = columns_of(line, &separators);
            match &columns {
                None => columns = Some(at),
                Some(first) => assert_eq!(first, &at, "at {cols}: {line}\n{text}"),
            }
        }
        assert!(boxed > 5, "at {cols}: no table in {text}");
    }
}

#[test]
fn chinese_tables_line_up_in_a_pipe() {
    let out = synack()
        .args(["read", "--lang", "zh", "--summary"])
        .args(
            [
                "close-client-first.pcap",
                "keepalive.pcap",
                "zero-window.pcap",
                "refused.pcap",
            ]
            .map(fixture),
        )
        .output()
        .unwrap();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    // Cells are two spaces apart: each starts where its column's header starts.
    let starts = |line: &str| {
        let mut at = Vec::new();
        let mut col = 0;
        let mut spaces = 2;
        for c in line.chars() {
            if c == ' ' {
                spaces += 1;
            } else {
                if spaces >= 2 {
                    at.push(col);
                }
                spaces = 0;
            }
            col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        }
        at
    };
    let header = starts(lines[0]);
    assert!(lines[0].starts_with("#  客户端"), "{text}");
    assert!(header.len() >= 10, "{header:?}: {}", lines[0]);
    for line in &lines[1..] {
        for s in starts(line) {
            assert!(
                header.contains(&s),
                "cell at column {s} under no header: {line}\n{text}"
            );
        }
    }
    // The close column: Chinese cells of different widths, the next column still aligned.
    assert!(text.contains("四次挥手，客户端先关闭"), "{text}");
}
