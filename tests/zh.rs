//! `--lang zh`: no English sentence is left in what synack says to people
//! (every fixture in every text view, the errors of the broken ones, every
//! --help, demo --list, usage mistakes, and three demos run live), JSON stays
//! English byte for byte, and the language follows SYNACK_LANG and the locale.
//! "English sentence" is defined in tests/common/english.rs.

mod common;

use common::english::english_sentences;
use common::*;

/// The English sentences in `text`, with where they were found. libpcap's
/// description of a link type, in parentheses after its name on the
/// "链路类型 NFLOG (Linux netfilter log messages)" line, is libpcap's text.
fn check(what: &str, text: &str, found: &mut Vec<String>) {
    let text: String = text
        .lines()
        .map(|l| match l.split_once("链路类型 ") {
            Some((before, after)) => match (after.find(" ("), after.find(")，")) {
                (Some(open), Some(close)) if open < close => {
                    format!("{before}链路类型 {}{}", &after[..open], &after[close + 1..])
                }
                _ => l.to_string(),
            },
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    for s in english_sentences(&text) {
        found.push(format!("{what}: \"{s}\""));
    }
}

fn zh(args: &[&str]) -> std::process::Output {
    synack()
        .arg("--lang")
        .arg("zh")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_detector_finds_english_and_only_english() {
    let e = english_sentences;
    assert_eq!(
        e("cannot read x.pcap: no such file"),
        vec!["cannot read", "no such file"]
    );
    assert!(e("#1 第1次握手 · 客户端 CLOSED(关闭)→SYN_SENT(同步已发送)").is_empty());
    assert!(e("seq 5 = 期望的下一个序号 6 − 1，len 0，没有 SYN/FIN/RST").is_empty());
    assert!(e("bind() 失败：\"Address already in use\" (EADDRINUSE)").is_empty());
    assert!(e("  synack read -e -S --number capture.pcapng    链路层头部").is_empty());
    assert_eq!(e("synack: the file is empty"), vec!["the file is empty"]);
    assert_eq!(
        e("half-close: client still sends"),
        vec!["client still sends"]
    );
    // The English output is full of them: the detector is not blind.
    let en = run_path(&["read", "--why"], &fixture("close-client-first.pcap"));
    assert!(english_sentences(&stdout(&en)).len() > 10);
}

#[test]
fn every_fixture_in_every_text_view_is_chinese() {
    let mut found = Vec::new();
    let mut names = capture_fixtures();
    // The broken ones, for their error messages.
    for extra in [
        "cut-mid-record.pcap",
        "cut-mid-header.pcap",
        "not-a-capture.pcap",
        "unsupported-link-mfr.pcap",
        "compressed/close-client-first.pcap.gz",
        "compressed/echo.pcapng.zst",
    ] {
        if fixture(extra).exists() {
            names.push(extra.to_string());
        }
    }
    let views: [&[&str]; 6] = [
        &["-N", "--why"],
        &["-e", "-v", "-S"],
        &["--view", "ladder"],
        &["--view", "mermaid"],
        &["--summary"],
        &["-X"],
    ];
    for name in &names {
        for view in views {
            let out = synack()
                .env("COLUMNS", "100")
                .args(["read", "--lang", "zh"])
                .args(view)
                .arg(fixture(name))
                .output()
                .unwrap();
            let what = format!("{name} {}", view.join(" "));
            let text = stdout(&out);
            // -X dumps the bytes as ASCII: what a packet carries is not synack's words.
            let text: String = if view == ["-X"] {
                text.lines()
                    .filter(|l| !l.starts_with("\t0x"))
                    .collect::<Vec<_>>()
                    .join("\n")
            } else if view == ["--view", "mermaid"] {
                // Mermaid's statements (Note over C:, participant…) are its syntax.
                text.lines()
                    .map(|l| l.split_once(": ").map_or(l, |(_, words)| words))
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                text
            };
            check(&what, &text, &mut found);
            check(&format!("{what} (stderr)"), &stderr(&out), &mut found);
        }
    }
    assert!(
        found.is_empty(),
        "{} English sentences:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn help_list_and_mistakes_are_chinese() {
    let mut found = Vec::new();
    let pages: &[&[&str]] = &[
        &["--help"],
        &["-h"],
        &["read", "--help"],
        &["live", "--help"],
        &["demo", "--help"],
        &["interfaces", "--help"],
        &["echo", "--help"],
        &["echo", "server", "--help"],
        &["echo", "client", "--help"],
        &["help", "read"],
        &["demo", "--list"],
        // usage mistakes: clap's and synack's
        &["read", "--vew", "ladder", "x.pcap"],
        &["read", "--view", "tree", "x.pcap"],
        &["read", "--conn", "0", "x.pcap"],
        &["read", "--only", "retransmision", "x.pcap"],
        &["read"],
        &["read", "no-such.pcap"],
        &["read", "--summary", "--why", "x.pcap"],
        &["read", "-tt", "--json", "x.pcap"],
        &["demo", "nothing-like-this"],
        &["echo", "client", "--send", "a,,b"],
        &["echo", "client", "--give-up-after", "0", "--send", "a"],
        &["echo", "client", "--keepalive", "1,2", "--send", "a"],
        &["echo", "client", "--connect", "localhost", "--send", "a"],
        &[],
    ];
    for args in pages {
        let out = zh(args);
        let what = format!("synack --lang zh {}", args.join(" "));
        check(&what, &stdout(&out), &mut found);
        check(&format!("{what} (stderr)"), &stderr(&out), &mut found);
        assert!(
            !stdout(&out).is_empty() || !stderr(&out).is_empty(),
            "{what}: says nothing"
        );
    }
    assert!(
        found.is_empty(),
        "{} English sentences:\n{}",
        found.len(),
        found.join("\n")
    );
    // And each of them really is Chinese.
    let list = stdout(&zh(&["demo", "--list"]));
    assert!(
        list.starts_with("场景 (synack demo 名称，或 synack demo all)："),
        "{list}"
    );
    assert!(list.contains("address-in-use"));
    let help = stdout(&zh(&["read", "--help"]));
    assert!(help.contains("用法：synack read [选项]"), "{help}");
}

#[test]
fn json_stays_english_byte_for_byte() {
    for name in [
        "close-client-first.pcap",
        "zero-window.pcap",
        "refused.pcap",
    ] {
        for extra in [&["--json"][..], &["--json", "--summary"][..]] {
            let en = run_path(&[&["read"][..], extra].concat(), &fixture(name));
            let zh = run_path(
                &[&["read", "--lang", "zh"][..], extra].concat(),
                &fixture(name),
            );
            assert_eq!(stdout(&en), stdout(&zh), "{name} {extra:?}");
            assert!(stdout(&en).contains("\"type\":\"summary\""));
        }
    }
}

#[test]
fn the_language_follows_synack_lang_then_the_locale() {
    let file = fixture("refused.pcap");
    let lang_run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = synack();
        c.env_remove("SYNACK_LANG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANG");
        for (k, v) in env {
            c.env(k, v);
        }
        stdout(&c.arg("read").args(args).arg(&file).output().unwrap())
    };
    let chinese = |s: &str| s.contains("连接被拒绝");
    let english = |s: &str| s.contains("connection refused");
    assert!(english(&lang_run(&[], &[])));
    assert!(chinese(&lang_run(&[("LANG", "zh_CN.UTF-8")], &[])));
    assert!(chinese(&lang_run(
        &[("LANG", "C.UTF-8"), ("LC_MESSAGES", "zh_TW.UTF-8")],
        &[]
    )));
    assert!(english(&lang_run(
        &[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "C.UTF-8")],
        &[]
    )));
    assert!(english(&lang_run(
        &[("LANG", "zh_CN.UTF-8"), ("SYNACK_LANG", "en")],
        &[]
    )));
    assert!(chinese(&lang_run(
        &[("LC_ALL", "C.UTF-8"), ("SYNACK_LANG", "zh")],
        &[]
    )));
    assert!(english(&lang_run(
        &[("LC_ALL", "C.UTF-8"), ("SYNACK_LANG", "zh")],
        &["--lang", "en"]
    )));
    assert!(chinese(&lang_run(
        &[("LANG", "en_US.UTF-8")],
        &["--lang", "zh"]
    )));
    // Output that must be ASCII (--ascii, or a locale that is not UTF-8)
    // cannot be Chinese: it is English then.
    assert!(english(&lang_run(&[("LANG", "zh_CN.GBK")], &[])));
    assert!(english(&lang_run(&[("LANG", "zh_CN.UTF-8")], &["--ascii"])));
    assert!(english(&lang_run(
        &[("LANG", "C.UTF-8")],
        &["--lang", "zh", "--ascii"]
    )));
}

/// Three demos, live on loopback, in Chinese: the narration (stderr), the
/// packet lines, the kernel check and what the scenario showed (stdout).
#[test]
fn live_demos_narrate_in_chinese() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run these live-capture tests as root"
        );
        eprintln!("SKIPPED: live demos need root (run the tests as root to include them)");
        return;
    }
    let mut found = Vec::new();
    for (scenario, port, must) in [
        ("basic", "19411", "客户端进入 TIME_WAIT(时间等待)"),
        ("refused", "19412", "连接被拒绝"),
        ("empty-send", "19413", "双方都卡住了"),
    ] {
        let out = zh(&["demo", scenario, "--port", port]);
        assert!(out.status.success(), "{scenario}: {}", stderr(&out));
        let (so, se) = (stdout(&out), stderr(&out));
        assert!(
            so.contains(&format!("演示 {scenario}：")),
            "{scenario}: {so}"
        );
        assert!(
            so.contains("内核核对：synack 推断的最终状态与 /proc/net/tcp 对照"),
            "{so}"
        );
        assert!(
            so.contains(must) || se.contains(must),
            "{scenario}: {so}\n{se}"
        );
        check(&format!("demo {scenario}"), &so, &mut found);
        check(&format!("demo {scenario} (stderr)"), &se, &mut found);
    }
    assert!(
        found.is_empty(),
        "{} English sentences:\n{}",
        found.len(),
        found.join("\n")
    );
    // With --json, the narration goes into the summary record: in English.
    let out = zh(&["demo", "empty-send", "--port", "19414", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = json_lines(&out).pop().unwrap();
    let steps = summary["steps"].as_array().unwrap();
    assert!(
        steps[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("the client sends 'hello'"),
        "{summary}"
    );
    assert!(
        summary["kernel_check"]["totals"][0]["what"]
            .as_str()
            .unwrap()
            .starts_with("bytes waiting"),
        "{summary}"
    );
}

/// The echo tools in Chinese: the server's lines, the client's, and what a
/// refused client says.
#[test]
fn echo_tools_speak_chinese() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut server = synack()
        .args(["--lang", "zh", "echo", "server", "--listen", "127.0.0.1:0"])
        .args(["--exit-after", "1", "--close-after", "50ms"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    // 回显服务器：正在 127.0.0.1:PORT 上监听 (Ctrl-C 停止)
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let client = synack()
        .args(["--lang", "zh", "echo", "client", "--connect", &addr])
        .args(["--send", "hello,world", "--close", "wait"])
        .output()
        .unwrap();
    assert!(client.status.success(), "{}", stderr(&client));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(server.wait().unwrap().success());
    let server_said = first + &rest;
    assert!(
        server_said.starts_with("回显服务器：正在 127.0.0.1:"),
        "{server_said}"
    );
    assert!(
        server_said.contains("本方先关闭 (--close-after)"),
        "{server_said}"
    );
    assert!(server_said.contains("1 个连接："), "{server_said}");
    let client_said = stderr(&client);
    assert!(client_said.contains("回显客户端：已连接"), "{client_said}");
    assert!(
        client_said.contains("服务器先关闭了 (FIN)；本方关闭：服务器进入 TIME_WAIT"),
        "{client_said}"
    );
    assert_eq!(stdout(&client), "HELLO\nWORLD\n");
    // Nobody listens on the port the server had: refused, said in Chinese.
    let refused = synack()
        .args([
            "--lang",
            "zh",
            "echo",
            "client",
            "--connect",
            &addr,
            "--send",
            "hi",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let refused_said = stderr(&refused);
    assert!(
        refused_said.contains(&format!("synack: 连接被拒绝：{addr} 上没有进程在监听")),
        "{refused_said}"
    );
    let mut found = Vec::new();
    check("echo server", &server_said, &mut found);
    check("echo client", &client_said, &mut found);
    check("refused client", &refused_said, &mut found);
    assert!(found.is_empty(), "{found:#?}");
}

/// README.zh-CN.md shows real output: every `$ synack read …` and
/// `$ synack demo --lang zh --list` block is the binary's output today.
#[test]
fn the_chinese_readme_shows_what_synack_prints() {
    let readme = std::fs::read_to_string(root().join("README.zh-CN.md")).unwrap();
    let mut checked = 0;
    // Output blocks open with a bare ``` (command blocks are ```sh).
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line) {
            (None, "```") => current = Some(String::new()),
            (None, l) if l.starts_with("```") => current = Some("\u{0}".into()),
            (Some(b), "```") => {
                if !b.starts_with('\u{0}') {
                    blocks.push(std::mem::take(b));
                }
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    for block in &blocks {
        let Some((command, shown)) = block.split_once('\n') else {
            continue;
        };
        let Some(command) = command.strip_prefix("$ ") else {
            continue;
        };
        // Excerpts (cut with …) and live demos are not reproducible.
        if shown.contains("… | ") || command.contains("sudo") {
            continue;
        }
        let mut words: Vec<&str> = command.split_whitespace().collect();
        let mut cmd = synack();
        if let Some(cols) = words[0].strip_prefix("COLUMNS=") {
            cmd.env("COLUMNS", cols);
            words.remove(0);
        }
        assert_eq!(words[0], "synack", "{command}");
        let out = cmd.args(&words[1..]).output().unwrap();
        assert_eq!(stdout(&out), shown, "README.zh-CN.md: {command}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} blocks checked");
}
