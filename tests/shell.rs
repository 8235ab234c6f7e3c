//! `synack completions SHELL` and `synack man`: the scripts are run by the real shells
//! (bash always; zsh and fish when installed, skipped with a note otherwise) and the
//! pages rendered by the real groff when it is installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn synack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run synack")
}

/// stdout of a successful run.
fn stdout_of(args: &[&str]) -> String {
    let out = synack(args);
    assert!(
        out.status.success(),
        "synack {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A path of this test's own in the temporary directory, removed first if an earlier
/// run left it; the caller removes it when done.
fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("synack-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
}

fn write(path: &Path, text: &str) {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap();
}

/// Runs `script` in a shell; (exit status ok, stdout, stderr).
fn run_shell(shell: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(shell)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {shell}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What bash's completion offers after `words` (the last one being completed).
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let words_array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let cword = words.len() - 1;
    let prev = words[cword.saturating_sub(1)];
    let cur = words[cword];
    let program = format!(
        "source {}; COMP_WORDS=({words_array}); COMP_CWORD={cword}; \
         _synack synack '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let (ok, out, err) = run_shell("bash", &["-c", &program]);
    assert!(ok, "bash completion failed: {err}");
    out.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_is_valid_and_completes_subcommands_and_options() {
    let script = stdout_of(&["completions", "bash"]);
    let path = scratch("synack.bash");
    write(&path, &script);
    let (ok, _, err) = run_shell("bash", &["-n", path.to_str().unwrap()]);
    assert!(ok, "bash -n: {err}");
    for word in [
        "read",
        "live",
        "interfaces",
        "echo",
        "demo",
        "report",
        "--json",
        "--summary",
    ] {
        assert!(script.contains(word), "the script lacks {word}");
    }
    // Bash itself, completing as a user would press Tab.
    assert_eq!(bash_complete(&path, &["synack", "rea"]), ["read"]);
    assert_eq!(
        bash_complete(&path, &["synack", "read", "--js"]),
        ["--json"]
    );
    let echo_client = bash_complete(&path, &["synack", "echo", "client", "--"]);
    for new in [
        "--give-up-after",
        "--close",
        "--repeat",
        "--pause",
        "--idle-for",
    ] {
        assert!(
            echo_client.iter().any(|w| w == new),
            "{new}: {echo_client:?}"
        );
    }
    // Old spellings stay hidden, here as in --help.
    for old in [
        "--timeout",
        "--close-first",
        "--count",
        "--interval",
        "--idle",
    ] {
        assert!(
            !echo_client.iter().any(|w| w == old),
            "{old}: {echo_client:?}"
        );
    }
    let view = bash_complete(&path, &["synack", "read", "--view", ""]);
    assert!(
        ["lines", "ladder", "mermaid", "svg", "graph"]
            .iter()
            .all(|v| view.contains(&v.to_string())),
        "{view:?}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn zsh_completion_is_valid() {
    if !has("zsh") {
        eprintln!("zsh is not installed: zsh completion not checked");
        return;
    }
    let script = stdout_of(&["completions", "zsh"]);
    let path = scratch("_synack");
    write(&path, &script);
    let (ok, _, err) = run_shell("zsh", &["-n", path.to_str().unwrap()]);
    assert!(ok, "zsh -n: {err}");
    assert!(script.contains("--json"));
    assert!(script.contains("--give-up-after"));
    assert!(!script.contains("--timeout"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn fish_completion_is_valid_and_completes() {
    if !has("fish") {
        eprintln!("fish is not installed: fish completion not checked");
        return;
    }
    let script = stdout_of(&["completions", "fish"]);
    let path = scratch("synack.fish");
    write(&path, &script);
    let (ok, _, err) = run_shell("fish", &["--no-execute", path.to_str().unwrap()]);
    assert!(ok, "fish --no-execute: {err}");
    let program = format!(
        "source {}; complete -C 'synack rea'; complete -C 'synack read --js'",
        path.display()
    );
    let (ok, out, err) = run_shell("fish", &["--no-config", "-c", &program]);
    assert!(ok, "fish: {err}");
    let words: Vec<&str> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(words, ["read", "--json"], "{out}");
    let _ = std::fs::remove_file(path);
}

/// Renders a page with groff (preconv for the UTF-8 in it), warnings on; None when
/// groff is not installed.
fn groff_warnings(page: &str) -> Option<String> {
    if !has("groff") {
        return None;
    }
    let mut child = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run groff");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "groff failed");
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn man_pages_are_roff_and_render_without_warnings() {
    let pages = [
        (vec![], "synack", "see TCP as textbooks draw it"),
        (vec!["read"], "synack-read", "--summary"),
        (vec!["live"], "synack-live", "--interface"),
        (vec!["demo"], "synack-demo", "--list"),
        (
            vec!["echo", "server"],
            "synack-echo-server",
            "--close-unread-after",
        ),
        (
            vec!["echo", "client"],
            "synack-echo-client",
            "--give-up-after",
        ),
    ];
    let mut rendered = 0;
    for (words, title, mention) in pages {
        let page = stdout_of(&[&["man"], words.as_slice()].concat());
        assert!(page.contains(&format!(".TH {title} 1")), "{title}: no .TH");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS"] {
            assert!(page.contains(section), "{title}: no {section}");
        }
        // roff escapes its dashes: --give-up-after is \-\-give\-up\-after.
        let escaped = mention.replace('-', "\\-");
        assert!(page.contains(&escaped), "{title}: no {mention}");
        if let Some(warnings) = groff_warnings(&page) {
            assert_eq!(warnings, "", "{title}");
            rendered += 1;
        }
    }
    if rendered == 0 {
        eprintln!("groff is not installed: man pages checked for structure only");
    }
    // The NAME line is one short line, not the whole description.
    let top = stdout_of(&["man"]);
    let name = top
        .split(".SH NAME\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap();
    assert_eq!(
        name,
        "synack \\- see TCP as textbooks draw it, on real packets"
    );
    // Hidden options are hidden in the man page too.
    let client = stdout_of(&["man", "echo", "client"]);
    assert!(!client.contains("\\-\\-timeout"), "{client}");
}

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let dir = scratch("man1");
    let out = synack(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "synack-demo.1",
            "synack-echo-client.1",
            "synack-echo-server.1",
            "synack-echo.1",
            "synack-interfaces.1",
            "synack-live.1",
            "synack-read.1",
            "synack-report.1",
            "synack.1",
        ]
    );
    if has("man") {
        // man -l renders the file as `man synack-read` would once installed.
        let out = Command::new("man")
            .arg("-l")
            .arg(dir.join("synack-read.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("synack-read - Read capture files"), "{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unknown_page_or_shell_is_one_line_and_exit_2() {
    let out = synack(&["man", "reed"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("synack: no man page for 'reed': the subcommands here are read, live,"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = synack(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}
