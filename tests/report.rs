//! `synack report`: the HTML file is checked in a real browser (Debian's
//! chromium, driven by puppeteer-core from tests/browser): no console
//! errors, nothing fetched, a row per connection, filters and sorting,
//! a connection's ladder on click, and the arrow key stepping through its
//! packets with the states `synack read --json` gives for each. A report of
//! 60,000 connections must be ready in under 2 s.
//!
//! Without node, chromium or tests/browser/node_modules the browser half is
//! SKIPPED with a message, except in CI (env CI set), where it must run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use common::*;

/// In the order they were captured, so capture time runs forward.
const FILES: [&str; 6] = [
    "close-client-first.pcap",
    "refused.pcap",
    "keepalive.pcap",
    "zero-window.pcap",
    "retransmission.pcap",
    "port-reuse.pcap",
];

fn out_dir() -> PathBuf {
    let d = root().join("target").join("report-test");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether the browser can run here; `None` with the reason when not.
fn browser_missing() -> Option<String> {
    let dir = root().join("tests/browser");
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} is not installed (apt-get install chromium)"
        ));
    }
    if !dir.join("node_modules/puppeteer-core").exists() {
        return Some("tests/browser has no node_modules (npm ci in tests/browser)".into());
    }
    None
}

/// One browser at a time: the load-time check must not share the CPU with another.
static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run the browser check on `expect`; skip loudly outside CI when it cannot run.
fn browser_check(expect: &Value, name: &str) {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(why) = browser_missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser check (see .ci/run): {why}"
        );
        eprintln!("SKIPPED the browser check ({name}): {why}");
        return;
    }
    let file = out_dir().join(format!("{name}.expect.json"));
    std::fs::write(&file, expect.to_string()).unwrap();
    let dir = root().join("tests/browser");
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg(&file)
        .current_dir(&dir)
        .output()
        .expect("run node");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "browser check {name} failed:\n{report}"
    );
}

fn report(files: &[PathBuf], extra: &[&str], out: &Path) {
    report_in("en", files, extra, out)
}

fn report_in(lang: &str, files: &[PathBuf], extra: &[&str], out: &Path) {
    let o = synack()
        .args(["--lang", lang, "report"])
        .args(files)
        .args(extra)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "synack report: {}", stderr(&o));
}

fn ids_where(conns: &[&Value], f: impl Fn(&Value) -> bool) -> Vec<u64> {
    conns
        .iter()
        .filter(|c| f(c))
        .map(|c| c["conn"].as_u64().unwrap())
        .collect()
}

fn retransmissions(c: &Value) -> u64 {
    ["client", "server"]
        .iter()
        .map(|s| {
            let a = &c["analysis"][s];
            [
                "retransmission",
                "fast_retransmission",
                "spurious_retransmission",
            ]
            .iter()
            .map(|k| a[k].as_u64().unwrap())
            .sum::<u64>()
        })
        .sum()
}

/// A side's states at a packet as the page must show them: the whole path
/// where the packet changed it, else the state it stays in; each state as
/// `shown` says it (`SYN_SENT(同步已发送)` in Chinese).
fn side_states(p: &Value, side: &str, shown: &dyn Fn(&str) -> String) -> String {
    match p["transitions"][side].as_array() {
        Some(path) => path
            .iter()
            .map(|s| shown(s.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("→"),
        None => shown(p["states"][side].as_str().unwrap()),
    }
}

/// How the page says the things the browser check finds by their text.
fn words(lang: &str) -> Value {
    if lang == "zh" {
        // Checked by hand against src/lang/ui.rs (STEP, FRAME, COUNT).
        json!({ "step": "第 {k} 步，共 {n} 步", "frame": "第 {f} 帧 ", "count": "显示 {shown} 个，共 {total} 个连接" })
    } else {
        json!({ "step": "step {k} of {n}", "frame": "frame {f} ", "count": "{shown} of {total} connections" })
    }
}

/// Times of day to milliseconds, as ladders write them (lines write µs).
fn to_ms(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let clock = b.len() >= i + 15
            && b[i + 2] == b':'
            && b[i + 5] == b':'
            && b[i + 8] == b'.'
            && b[i..i + 15]
                .iter()
                .enumerate()
                .all(|(k, c)| [2, 5, 8].contains(&k) || c.is_ascii_digit());
        if clock {
            out.push_str(&s[i..i + 12]);
            i += 15;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[test]
fn the_report_works_in_a_real_browser() {
    the_report_in("en");
}

/// Made with --lang zh, the page speaks Chinese: `<html lang="zh-CN">`, no
/// English word of the page's own texts anywhere a reader looks (as it
/// opens, with a connection open, filtered), the states as the textbook
/// names them, and everything works as in English.
#[test]
fn the_chinese_report_works_in_a_real_browser() {
    the_report_in("zh");
}

fn the_report_in(lang: &str) {
    let files: Vec<PathBuf> = FILES.iter().map(|f| fixture(f)).collect();
    let html = out_dir().join(format!("fixtures-{lang}.html"));
    report_in(lang, &files, &["--details", "6"], &html);
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: no reference to anything outside the file.
    for needle in [
        "http://", "https://", "src=", "<link", "@import", "url(http",
    ] {
        let bare = page.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !bare.contains(needle),
            "the report refers outside itself: {needle}"
        );
    }

    // What the page must show, from synack's own JSON of the same files.
    let json = synack()
        .args(["read", "--json"])
        .args(&files)
        .output()
        .unwrap();
    let records = json_lines(&json);
    let conns: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "connection")
        .collect();
    let mut ids: Vec<u64> = ids_where(&conns, |_| true);
    ids.sort();
    assert_eq!(ids.len(), 8, "the six fixtures hold eight connections");
    let sorted = |mut v: Vec<u64>| {
        v.sort();
        v
    };
    let conn = 1; // close-client-first.pcap: the textbook four-way close.
    let packets: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "packet" && r["conn"] == conn)
        .collect();
    // Each frame's notes as the lines view words them: what comes after
    // "| #7 ", less the two state parts at the end.
    let lines = synack()
        .args(["--lang", lang, "read", "-N"])
        .args(&files)
        .output()
        .unwrap();
    // The states as the page shows them: the glossary's Chinese beside the RFC name.
    let chinese: std::collections::HashMap<String, String> =
        common::ui::glossary_pairs().into_iter().collect();
    let shown = |s: &str| -> String {
        if lang == "zh" {
            format!("{s}({})", chinese[s])
        } else {
            s.to_string()
        }
    };
    let notes_of = |frame: u64| -> Vec<String> {
        let text = stdout(&lines);
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&frame.to_string()))
            .unwrap_or_else(|| panic!("frame {frame} in the lines view"));
        let tail = line.split(&format!("| #{conn} ")).nth(1).unwrap_or("");
        let parts: Vec<&str> = tail.split(" · ").collect();
        parts[..parts.len().saturating_sub(2)]
            .iter()
            .map(|s| to_ms(s))
            .collect()
    };
    let mut steps: Vec<Value> = packets
        .iter()
        .map(|p| {
            let frame = p["frame"].as_u64().unwrap();
            json!({
                "frame": frame,
                "client": side_states(p, "client", &shown),
                "server": side_states(p, "server", &shown),
                "notes": notes_of(frame),
            })
        })
        .collect();
    // Events between frames (the TIME_WAIT still running at the end) are steps too.
    for _ in records
        .iter()
        .filter(|r| r["type"] == "event" && r["conn"] == conn)
    {
        steps.push(json!({ "frame": null }));
    }
    let most = conns
        .iter()
        .max_by_key(|c| (retransmissions(c), std::cmp::Reverse(c["conn"].as_u64())))
        .unwrap()["conn"]
        .as_u64()
        .unwrap();
    let mut expect = json!({
        "mode": "full",
        "report": html,
        "words": words(lang),
        "screenshot": out_dir().join(if lang == "zh" { "report-zh.png" } else { "report.png" }),
        "ids": ids,
        "addr": {
            "text": "127.0.0.1",
            "ids": sorted(ids_where(&conns, |c| {
                c["client"].as_str().unwrap().contains("127.0.0.1")
                    || c["server"].as_str().unwrap().contains("127.0.0.1")
            })),
        },
        "close": { "value": "refused", "ids": sorted(ids_where(&conns, |c| c["refused"] == true)) },
        "tw": { "value": "client", "ids": sorted(ids_where(&conns, |c| c["time_wait"] == "client" || c["time_wait"] == "both")) },
        "retrans_ids": sorted(ids_where(&conns, |c| retransmissions(c) > 0)),
        "most_retrans": most,
        "conn": conn,
        "steps": steps,
        "packets": packets.len(),
        "screenshot_step": 7,
        // port-reuse's first connection: neither a problem nor among the six busiest.
        "no_details": 7,
    });
    // The expectations are not empty: each filter keeps some rows and drops others.
    for k in ["addr", "close", "tw"] {
        let n = expect[k]["ids"].as_array().unwrap().len();
        assert!(n > 0 && n < 8, "{k}: {n}");
    }
    assert!(!page.contains(r#"id="d-7""#) && page.contains(r#"id="d-1""#));
    if lang == "zh" {
        // The check is not blind: the words it looks for are the English
        // page's, and the states it expects are Chinese.
        let forbidden = common::ui::english_ui_words();
        for w in [
            "Timeline",
            "Connections",
            "Previous",
            "Next",
            "client",
            "server",
            "step",
            "frame",
        ] {
            assert!(forbidden.iter().any(|f| f == w), "{w} is not looked for");
        }
        assert!(steps[0]["client"]
            .as_str()
            .unwrap()
            .contains("SYN_SENT(同步已发送)"));
        expect["lang"] = json!("zh-CN");
        expect["forbidden"] = json!(forbidden);
    }
    browser_check(&expect, &format!("fixtures-{lang}"));
}

/// `n` short connections made with synack-core's frame builder: every
/// fourth is refused, the rest handshake, send a request and end with a
/// RST (a quarter) or FINs.
fn many_connections(path: &Path, n: u32) {
    use synack_core::decode::tcp::flag;
    use synack_core::synth::{addr, SegmentSpec};
    let mut frames = Vec::new();
    let mut us: u64 = 1_700_000_000_000_000;
    for i in 0..n {
        let c = addr(
            [10, 1, (i >> 16) as u8, (i >> 8) as u8],
            1024 + (i & 0xff) as u16 * 200 + (i >> 16) as u16,
        );
        let s = addr([10, 2, 0, 1], 80);
        let mut put = |from_client: bool, flags: u8, seq: u32, ack: u32, len: u16| {
            let mut x = if from_client {
                SegmentSpec::new(c, s)
            } else {
                SegmentSpec::new(s, c)
            };
            x.flags = flags;
            x.seq = seq;
            x.ack = ack;
            x.len = len;
            us += 35;
            frames.push((us, x));
        };
        put(true, flag::SYN, 1000, 0, 0);
        if i % 4 == 3 {
            put(false, flag::RST | flag::ACK, 0, 1001, 0);
            continue;
        }
        put(false, flag::SYN | flag::ACK, 5000, 1001, 0);
        put(true, flag::ACK | flag::PSH, 1001, 5001, 100);
        if i % 4 == 2 {
            put(false, flag::RST | flag::ACK, 5001, 1101, 0);
        } else {
            put(false, flag::FIN | flag::ACK, 5001, 1101, 0);
            put(true, flag::FIN | flag::ACK, 1101, 5002, 0);
            put(false, flag::ACK, 5002, 1102, 0);
        }
    }
    write_raw_pcap(path, frames);
}

#[test]
fn a_report_of_60000_connections_opens_in_under_2_s() {
    let n = 60_000;
    let pcap = out_dir().join("many.pcap");
    many_connections(&pcap, n);
    let html = out_dir().join("many.html");
    let t = std::time::Instant::now();
    report(&[pcap], &[], &html);
    let size = std::fs::metadata(&html).unwrap().len();
    eprintln!(
        "report of {n} connections: {:.1} s to write (debug build), {:.1} MB",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        page.matches(r#"<script type="application/json" id="d-"#)
            .count(),
        100
    );
    let expect = json!({
        "mode": "load",
        "report": html,
        "rows": n,
        "details": 100,
        "max_ms": 2000,
        "words": words("en"),
    });
    browser_check(&expect, "many");
}
