//! Hostile strings: nothing from a capture or a file name reaches the
//! terminal raw, and nothing becomes markup in the SVG and HTML views.
//! fixtures/hostile-strings.pcapng (made by fixtures/scripts/make-hostile.py)
//! carries escape sequences and control bytes in every text option pcapng
//! has, and script elements in its comments and interface name; here it is
//! also copied under a file name full of both, whole and cut short (so the
//! banner, an error message and the report's title quote that name), and
//! read in every view, in English and Chinese, from a file and from stdin.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::*;

const VIEWS: &[&[&str]] = &[
    &[],
    &["-e", "-N", "--why", "--time", "utc"],
    &["-v", "-XX"],
    &["-A"],
    &["--json"],
    &["--json", "-v", "-XX"],
    &["--summary"],
    &["--summary", "--json"],
    &["--zeek"],
    &["--zeek", "--json"],
    &["--view", "ladder"],
    &["--view", "ladder", "--ascii"],
    &["--view", "mermaid"],
    &["--view", "svg"],
    &["--view", "graph"],
    &["--lang", "zh", "-e", "-N", "--why"],
    &["--lang", "zh", "--summary"],
    &["--lang", "zh", "--view", "ladder"],
    &["--lang", "zh", "--view", "svg"],
];

/// Markup the fixture and the file name try to inject: none of it may
/// appear as it is in SVG or HTML output.
const INJECTED: &[&str] = &["<script>alert", "<img src=x"];

/// A file name that tries to set the title, clear the screen, turn text red,
/// fake a new line and reverse what follows.
/// Then markup that would run script if a page or picture quoted it raw.
const HOSTILE_NAME: &str = "evil\u{1b}]0;title\u{7}\u{1b}[2J\u{1b}[31m\nfake\r\u{9b}6n\u{202e}gnp\
     <script>alert(1)<img src=x onerror=alert(2)>.pcapng";

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

/// SVG output is well-formed XML with no element or attribute that runs
/// script, and no injected markup survives in it even as text.
fn assert_markup_safe(out: &Output, what: &str) {
    let text = stdout(out);
    for bad in INJECTED {
        assert!(!text.contains(bad), "{what}: {bad:?} in the output");
    }
    if !text.trim_start().starts_with("<?xml") {
        return;
    }
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{what}: not well-formed XML: {e}"));
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(
            !["script", "foreignObject", "img", "iframe"].contains(&name),
            "{what}: a <{name}> element"
        );
        for a in node.attributes() {
            assert!(
                !a.name().starts_with("on"),
                "{what}: attribute {}",
                a.name()
            );
        }
    }
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
        assert_markup_safe(&out, &format!("{view:?} on the whole file"));
        // Every view names the connection's address somewhere (the pictures in a title).
        assert!(stdout(&out).contains("127.0.0.1"), "{view:?}: no output");

        // Cut inside the last block: the error names the file.
        let out = read(view, &cut);
        assert_eq!(out.status.code(), Some(1), "{view:?}: {}", stderr(&out));
        assert_safe(&out, &format!("{view:?} on the cut file"));
        let truncated = if view.contains(&"zh") {
            "截断"
        } else {
            "truncated pcapng file"
        };
        assert!(
            stderr(&out).contains(truncated),
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
        assert_markup_safe(&out, &format!("{view:?} on stdin"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_report_quotes_a_hostile_name_as_text() {
    let dir = scratch("report");
    let whole = dir.join(HOSTILE_NAME);
    std::fs::copy(fixture("hostile-strings.pcapng"), &whole).unwrap();
    for lang in ["en", "zh"] {
        let html = dir.join(format!("report-{lang}.html"));
        let out = synack()
            .args(["--lang", lang, "report"])
            .arg(&whole)
            .arg("-o")
            .arg(&html)
            .output()
            .expect("run synack");
        assert!(out.status.success(), "{lang}: {}", stderr(&out));
        assert_safe(&out, &format!("report --lang {lang}"));
        let page = std::fs::read_to_string(&html).unwrap();
        // The page's markup, and its data: JSON in script elements, where
        // text is inert unless it ends or confuses the element.
        let (mut markup, mut data) = (String::new(), Vec::new());
        let mut rest = page.as_str();
        let open = r#"<script type="application/json""#;
        while let Some(at) = rest.find(open) {
            let body = at + rest[at..].find('>').unwrap() + 1;
            let end = body + rest[body..].find("</script>").expect("a closed element");
            markup.push_str(&rest[..body]);
            data.push(&rest[body..end]);
            rest = &rest[end..];
        }
        markup.push_str(rest);
        for bad in INJECTED {
            assert!(!markup.contains(bad), "{lang}: {bad:?} in the page");
        }
        for d in &data {
            assert!(
                !d.contains("</") && !d.contains("<!--") && !d.contains("<script"),
                "{lang}: {d}"
            );
            let v: serde_json::Value = serde_json::from_str(d).expect("the data is JSON");
            if let Some(files) = v["meta"]["files"].as_array() {
                // The name itself, whole, once the JSON is read.
                assert!(
                    files[0].as_str().unwrap().ends_with(HOSTILE_NAME),
                    "{lang}: {files:?}"
                );
            }
        }
        assert!(data.len() >= 2, "{lang}: the table's data and a detail");
        // The title names the file, as text: markup escaped, controls gone.
        let title = page
            .split_once("<title>")
            .and_then(|(_, t)| t.split_once("</title>"))
            .map(|(t, _)| t)
            .expect("a title");
        assert!(
            title.contains("&lt;script&gt;alert(1)&lt;img src=x onerror=alert(2)&gt;.pcapng"),
            "{lang}: {title}"
        );
        assert!(
            unsafe_for_a_terminal(title.as_bytes()).is_none(),
            "{lang}: {title:?}"
        );
        // The page has one script of its own; its data elements hold JSON.
        assert_eq!(page.matches("<script>").count(), 1, "{lang}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hostile_file_name_is_shown_escaped() {
    let dir = scratch("name");
    let whole = dir.join(HOSTILE_NAME);
    std::fs::copy(fixture("hostile-strings.pcapng"), &whole).unwrap();
    let err = stderr(&read(&[], &whole));
    let shown = "evil\\e]0;title\\u{7}\\e[2J\\e[31m\\nfake\\r\\u{9b}6n\\u{202e}gnp\
         <script>alert(1)<img src=x onerror=alert(2)>.pcapng";
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
