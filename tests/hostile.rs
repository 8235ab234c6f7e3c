//! Hostile strings: nothing from a capture or a file name reaches the
//! terminal raw. fixtures/hostile-strings.pcapng (made by
//! fixtures/scripts/make-hostile.py) carries escape sequences and control
//! bytes in every text option pcapng has; here it is also copied under a
//! file name full of them, whole and cut short (so the banner and an error
//! message quote that name), and read in every view, from a file and from stdin.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::*;

const VIEWS: &[&[&str]] = &[
    &[],
    &["-e", "-N", "--why", "--time", "utc"],
    &["--json"],
    &["--summary"],
    &["--summary", "--json"],
    &["--view", "ladder"],
    &["--view", "ladder", "--ascii"],
    &["--view", "mermaid"],
];

/// A file name that tries to set the title, clear the screen, turn text red,
/// fake a new line and reverse what follows.
const HOSTILE_NAME: &str =
    "evil\u{1b}]0;title\u{7}\u{1b}[2J\u{1b}[31m\nfake\r\u{9b}6n\u{202e}gnp.pcapng";

/// A fresh directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-hostile-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every byte a terminal could act on, other than newline and tab: C0
/// controls, DEL, C1 controls (U+0080..U+009F, or as lone bytes), and the
/// bidirectional overrides. The output must also be UTF-8.
fn unsafe_for_a_terminal(bytes: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return Some(format!("not UTF-8: {e}")),
    };
    text.char_indices()
        .find(|&(_, c)| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .map(|(at, c)| format!("{c:?} at byte {at}"))
}

fn assert_safe(out: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if let Some(bad) = unsafe_for_a_terminal(bytes) {
            panic!(
                "{what}: {stream} holds {bad}:\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

fn read(view: &[&str], file: &Path) -> Output {
    synack()
        .arg("read")
        .args(view)
        .arg(file)
        .output()
        .expect("run synack")
}

#[test]
fn the_checker_catches_what_it_should() {
    // The assertion must be able to fail: every kind of byte it looks for.
    for bad in [
        &b"\x1b[31m"[..],
        b"\x07",
        b"a\rb",
        b"\x7f",
        "\u{9b}".as_bytes(),
        b"\x9b",
        "\u{202e}".as_bytes(),
    ] {
        assert!(unsafe_for_a_terminal(bad).is_some(), "{bad:?}");
    }
    assert!(unsafe_for_a_terminal("plain\ttext ✓ µs →\n".as_bytes()).is_none());
}

#[test]
fn no_view_lets_a_hostile_string_reach_the_terminal() {
    let dir = scratch("views");
    let whole = dir.join(HOSTILE_NAME);
    std::fs::copy(fixture("hostile-strings.pcapng"), &whole).unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join(format!("cut-{HOSTILE_NAME}"));
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();

    for view in VIEWS {
        let out = read(view, &whole);
        assert!(out.status.success(), "{view:?}: {}", stderr(&out));
        assert_safe(&out, &format!("{view:?} on the whole file"));
        assert!(stdout(&out).contains("127.0.0.1"), "{view:?}: no output");

        // Cut inside the last block: the error names the file.
        let out = read(view, &cut);
        assert_eq!(out.status.code(), Some(1), "{view:?}: {}", stderr(&out));
        assert_safe(&out, &format!("{view:?} on the cut file"));
        assert!(
            stderr(&out).contains("truncated pcapng file"),
            "{view:?}: {}",
            stderr(&out)
        );

        // The same bytes on stdin.
        let out = synack()
            .arg("read")
            .args(*view)
            .arg("-")
            .stdin(Stdio::from(std::fs::File::open(&whole).unwrap()))
            .output()
            .expect("run synack");
        assert!(out.status.success(), "{view:?} stdin: {}", stderr(&out));
        assert_safe(&out, &format!("{view:?} on stdin"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hostile_file_name_is_shown_escaped() {
    let dir = scratch("name");
    let whole = dir.join(HOSTILE_NAME);
    std::fs::copy(fixture("hostile-strings.pcapng"), &whole).unwrap();
    let err = stderr(&read(&[], &whole));
    let shown = "evil\\e]0;title\\u{7}\\e[2J\\e[31m\\nfake\\r\\u{9b}6n\\u{202e}gnp.pcapng";
    assert!(
        err.starts_with("reading from file ") && err.contains(shown),
        "{err}"
    );
    // A usage error quoting the name escapes it the same way.
    let missing = dir.join(format!("missing-{HOSTILE_NAME}"));
    let out = read(&[], &missing);
    assert_eq!(out.status.code(), Some(2));
    assert_safe(&out, "a missing file");
    assert!(
        stderr(&out).contains(&format!("missing-{shown}: no such file")),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_strings_change_nothing_in_the_analysis() {
    // The same 14 frames as ipv4-echo.pcap, same timestamps: same lines and JSON.
    for view in [&["-N", "--time", "epoch", "--nano"][..], &["--json"][..]] {
        let hostile = read(view, &fixture("hostile-strings.pcapng"));
        let plain = read(view, &fixture("ipv4-echo.pcap"));
        assert_eq!(stdout(&hostile), stdout(&plain), "{view:?}");
    }
}
