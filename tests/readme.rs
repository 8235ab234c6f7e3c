//! The README's examples, run: every `$ synack …` shown with its output is
//! run and must print what the README shows (`…` stands for lines left
//! out); every `synack read …` example without output must run cleanly and
//! read some frames. Live examples (`$ sudo synack demo …`) run as root,
//! compared after their times, ephemeral ports and measured durations are
//! blanked. So the README cannot drift from the program.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// One `$ command` with the lines shown under it.
#[derive(Debug)]
struct Shown {
    line: usize,
    command: String,
    comment: String,
    output: Vec<String>,
}

/// The README's fenced blocks, as `$` examples.
fn shown_examples(readme: &str) -> Vec<Shown> {
    let mut out: Vec<Shown> = Vec::new();
    let mut in_block = false;
    let mut current: Option<Shown> = None;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            if in_block {
                out.extend(current.take());
            }
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.extend(current.take());
            let (command, comment) = split_comment(cmd);
            current = Some(Shown {
                line: i + 1,
                command,
                comment,
                output: Vec::new(),
            });
        } else if let Some(c) = current.as_mut() {
            c.output.push(line.to_string());
        }
    }
    out
}

/// `cmd  # comment` → (cmd, comment); a `#` inside quotes is not a comment.
fn split_comment(cmd: &str) -> (String, String) {
    let mut quoted = false;
    let bytes = cmd.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'#' if !quoted && i > 0 && bytes[i - 1] == b' ' => {
                return (cmd[..i].trim().to_string(), cmd[i + 1..].trim().to_string())
            }
            _ => {}
        }
    }
    (cmd.trim().to_string(), String::new())
}

/// Run `command` through sh from the repository root, with the built
/// synack first on PATH; stdout, with a terminal of `cols` columns if asked.
fn run_shell(command: &str, terminal_cols: Option<u16>) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_synack"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = match terminal_cols {
        // util-linux script: a real pseudo-terminal.
        Some(cols) => {
            let mut c = Command::new("script");
            c.args([
                "-qec",
                &format!("stty cols {cols} rows 50; {command}"),
                "/dev/null",
            ]);
            c
        }
        None => {
            let mut c = Command::new("sh");
            c.args(["-c", command]);
            c
        }
    };
    let o = c
        .current_dir(root())
        .env("PATH", path)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("COLUMNS")
        .output()
        .expect("run sh");
    String::from_utf8_lossy(&o.stdout).replace('\r', "")
}

/// The shown lines appear in order; `…` (a line of its own) stands for any
/// lines left out. Without `…`, lines follow each other (after the first).
fn matches_shown(shown: &[String], got: &[String]) -> Result<(), String> {
    let mut at = 0;
    // What comes before the first line shown (stderr on a terminal) is free.
    let mut gap = true;
    for want in shown {
        let want_t = want.trim();
        if want_t == "…" {
            gap = true;
            continue;
        }
        // A line cut short with `…` matches the line it starts.
        let same = |g: &String| match want.trim_end().strip_suffix('…') {
            Some(head) => g.starts_with(head),
            None => g.trim_end() == want.trim_end(),
        };
        let found = if gap {
            got[at..].iter().position(same)
        } else {
            got.get(at).filter(|g| same(g)).map(|_| 0)
        };
        match found {
            Some(k) => at += k + 1,
            None => {
                return Err(format!(
                    "README shows '{want_t}', not found {} line {} of the output:\n{}",
                    if gap { "from" } else { "at" },
                    at + 1,
                    got.join("\n")
                ))
            }
        }
        gap = false;
    }
    Ok(())
}

/// Times, ephemeral ports and measured durations differ from run to run.
fn blank_live(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        // hh:mm:ss.fraction
        if i + 8 <= b.len()
            && b[i].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && b[i + 2] == ':'
            && b[i + 5] == ':'
        {
            let mut j = i + 8;
            if j < b.len() && b[j] == '.' {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            out.push_str("HH:MM:SS");
            i = j;
            continue;
        }
        // a number: an ephemeral port after ':' or a measured duration before a unit
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == '.') {
                j += 1;
            }
            let word: String = b[i..j].iter().collect();
            let after: String = b[j..b.len().min(j + 4)].iter().collect();
            let port = i > 0 && b[i - 1] == ':' && word.parse::<u32>().is_ok_and(|p| p >= 32768);
            let duration = after.starts_with(" µs")
                || after.starts_with(" ms")
                // "1 s" as well as "1.02 s" (a backlog wait can round to whole
                // seconds), but not "4 segments"
                || (after.starts_with(" s") && !after[2..].starts_with(char::is_alphanumeric));
            if port {
                out.push_str("PORT");
            } else if duration {
                out.push('N');
            } else {
                out.push_str(&word);
            }
            i = j;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn may_run_live() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the README's live examples as root"
        );
        eprintln!("SKIPPED: the README's sudo examples need root");
    }
    root
}

#[test]
fn every_example_shown_with_its_output_prints_it() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples = shown_examples(&readme);
    assert!(examples.len() >= 8, "{examples:#?}");
    let mut ran = 0;
    for ex in &examples {
        let live = ex.command.starts_with("sudo ");
        if live && !may_run_live() {
            continue;
        }
        let command = ex.command.trim_start_matches("sudo ");
        assert!(
            command.starts_with("synack "),
            "README line {}: not a synack example: {}",
            ex.line,
            ex.command
        );
        // "# a 100-column terminal", "# on a terminal": run in a real one.
        let cols = ex
            .comment
            .split_once("-column terminal")
            .and_then(|(n, _)| n.rsplit(' ').next()?.parse().ok())
            .or_else(|| {
                ex.comment
                    .contains("on a terminal")
                    .then(|| ex.output.first().map_or(80, |l| l.chars().count() as u16))
            });
        let got = run_shell(command, cols);
        let (shown, got): (Vec<String>, Vec<String>) = if live {
            (
                ex.output.iter().map(|l| blank_live(l)).collect(),
                got.lines().map(blank_live).collect(),
            )
        } else {
            (ex.output.clone(), got.lines().map(str::to_string).collect())
        };
        if let Err(e) = matches_shown(&shown, &got) {
            panic!("README line {}: $ {}\n{e}", ex.line, ex.command);
        }
        ran += 1;
    }
    assert!(ran >= 7, "only {ran} examples ran");
}

/// `synack read …` in ```sh blocks and in backticks in the options table.
fn read_examples(readme: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if in_sh {
            if let Some(cmd) = line.strip_prefix("synack read ") {
                out.push((i + 1, format!("synack read {}", split_comment(cmd).0)));
            }
        } else {
            for part in line.split('`').skip(1).step_by(2) {
                if part.starts_with("synack read ")
                    && part.contains("fixtures/")
                    && !part.contains('…')
                {
                    out.push((i + 1, part.replace("\\|", "|")));
                }
            }
        }
    }
    out
}

#[test]
fn every_read_example_runs_and_reads_frames() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples = read_examples(&readme);
    assert!(examples.len() >= 25, "{examples:#?}");
    let dir = std::env::temp_dir().join(format!("synack-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (line, command) in examples {
        // Only synack's part of a pipeline (jq, tshark… are not needed here);
        // files it writes go to a scratch directory.
        let synack_part = command.split(" | ").next().unwrap().to_string();
        let words = shell_words(&synack_part);
        // `-o FILE` (the pictures) goes to the scratch directory too, and
        // is what the example printed.
        let mut written = None;
        let args: Vec<String> = words
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, w)| {
                let after_o = words[i - 1] == "-o";
                if after_o || (w.ends_with(".pcapng") && !w.starts_with("fixtures/")) {
                    let name = Path::new(w).file_name().unwrap_or_default();
                    let p = dir.join(name).to_string_lossy().into_owned();
                    if after_o {
                        written = Some(p.clone());
                    }
                    p
                } else {
                    w.clone()
                }
            })
            .collect();
        let o = synack().args(&args).current_dir(root()).output().unwrap();
        let out = match &written {
            Some(p) => std::fs::read_to_string(p).unwrap_or_default(),
            None => stdout(&o),
        };
        assert!(
            o.status.success(),
            "README line {line}: {command}\n{}",
            stderr(&o)
        );
        assert!(
            !out.is_empty(),
            "README line {line}: {command} printed nothing"
        );
        // A picture of nothing says so.
        assert!(
            !out.contains("summary: 0 frames")
                && !out.contains("\"frames\":0,")
                && !out.contains("no TCP connection to draw"),
            "README line {line}: {command} read no frames:\n{out}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Split a command line as sh would, for the simple quoting the README uses.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut w = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !w.is_empty() {
                    words.push(std::mem::take(&mut w));
                }
                any = false;
            }
            c => w.push(c),
        }
    }
    if any || !w.is_empty() {
        words.push(w);
    }
    words
}

#[test]
fn the_matcher_can_fail() {
    let shown = vec!["a".to_string(), "…".to_string(), "c".to_string()];
    let got: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert!(matches_shown(&shown, &got).is_ok());
    let wrong: Vec<String> = ["a", "b", "d"].iter().map(|s| s.to_string()).collect();
    assert!(matches_shown(&shown, &wrong).is_err());
    let strict = vec!["a".to_string(), "c".to_string()];
    assert!(
        matches_shown(&["b".to_string()], &got).is_ok(),
        "a free start"
    );
    assert!(matches_shown(&["long li…".to_string()], &["long line".to_string()]).is_ok());
    assert!(matches_shown(&["long lx…".to_string()], &["long line".to_string()]).is_err());
    assert!(matches_shown(&strict, &got).is_err(), "no … means no gap");
    assert_eq!(
        blank_live("21:21:47.210303 IP 127.0.0.1:38284 > 127.0.0.1:9999: RTT 26 µs"),
        "HH:MM:SS IP 127.0.0.1:PORT > 127.0.0.1:9999: RTT N µs"
    );
}
