//! The README's sharding recipe, run as it is written there: `synack read
//! --shard K/N --summary --json` split by `xargs -P` (and by GNU parallel)
//! over a real fixture and a generated capture, then the README's DuckDB
//! queries over the shards' JSON Lines, in DuckDB itself (the `duckdb`
//! Python package: tests/duckdb/.venv, made by .ci/run). Every answer is
//! checked against the records of one run without shards.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

/// The README section with the recipe.
const SECTION: &str = "### Every core and every machine";

/// The files the recipe names (`FILES=…`), made here from a real fixture
/// and the generated capture (compressed, as the README shows it).
const MONDAY: &str = "monday.pcap";
const TUESDAY: &str = "tuesday.pcap.gz";

/// A Python with duckdb: tests/duckdb/.venv (made by .ci/run), else the
/// system's if it has the package. Missing: a failure under CI, else said
/// loudly and skipped.
fn duckdb_python() -> Option<PathBuf> {
    let venv = root().join("tests/duckdb/.venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    let system = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if system {
        return Some("python3".into());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI installs duckdb into tests/duckdb/.venv (see .ci/run)"
    );
    eprintln!(
        "SKIPPED the DuckDB recipe: python3 -m venv tests/duckdb/.venv && \
         tests/duckdb/.venv/bin/pip install -r tests/duckdb/requirements.txt"
    );
    None
}

/// The fenced blocks of `lang` (```sh, ```sql) in the recipe's section.
fn recipe_blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let start = readme
        .find(SECTION)
        .expect("the recipe's section in README.md");
    let rest = &readme[start + SECTION.len()..];
    let section = &rest[..rest.find("\n### ").unwrap_or(rest.len())];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        if let Some(tag) = line.strip_prefix("```") {
            match current.take() {
                Some(b) => blocks.push(b),
                None if tag.trim() == lang => current = Some(String::new()),
                None => current = Some(String::from("\0")),
            }
            continue;
        }
        if let Some(b) = current.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks.retain(|b| !b.starts_with('\0'));
    blocks
}

/// A scratch directory with the recipe's input files.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    std::fs::copy(fixture("time-wait-pressure.pcap"), dir.join(MONDAY)).expect("copy fixture");
    let raw = std::fs::read(generated_capture()).expect("generated capture");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.join(TUESDAY)).expect("create gzip"),
        flate2::Compression::fast(),
    );
    gz.write_all(&raw).expect("write gzip");
    gz.finish().expect("finish gzip");
    dir
}

/// Run shell text in `dir` with this build's synack first on the PATH.
fn shell(script: &str, dir: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_synack"))
        .parent()
        .expect("binary's directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let out = Command::new("sh")
        .args(["-ec", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("TZ", "UTC")
        .env("SYNACK_LANG", "en")
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "the recipe failed:\n{script}\n{}",
        stderr(&out)
    );
}

/// The answers of the README's queries, by DuckDB, run in `dir`.
fn duckdb_answers(python: &Path, sql: &str, dir: &Path) -> Vec<Vec<Value>> {
    let mut child = Command::new(python)
        .arg(root().join("tests/duckdb/query.py"))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("write the queries");
    let out = child.wait_with_output().expect("python runs");
    assert!(out.status.success(), "DuckDB: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("rows as JSON"))
        .collect()
}

/// One run's connection records, over the recipe's files, without shards.
fn one_run(dir: &Path) -> Vec<Value> {
    let out = synack()
        .args([
            "read",
            "--threads",
            "1",
            "--summary",
            "--json",
            MONDAY,
            TUESDAY,
        ])
        .current_dir(dir)
        .output()
        .expect("run synack");
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&out)
        .into_iter()
        .filter(|r| r["type"] == "connection")
        .collect()
}

/// The shards' connection records, as the recipe wrote them.
fn shard_records(dir: &Path, n: usize) -> Vec<Value> {
    let mut recs = Vec::new();
    for k in 0..n {
        let path = dir.join(format!("shard-{k}.jsonl"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut summaries = 0;
        for line in text.lines() {
            let r: Value = serde_json::from_str(line).expect("JSON Lines");
            match r["type"].as_str() {
                Some("connection") => recs.push(r),
                Some("summary") => {
                    summaries += 1;
                    assert_eq!(r["shard"]["index"], k, "{}", path.display());
                    assert_eq!(r["shard"]["count"], n, "{}", path.display());
                }
                _ => panic!("{}: unexpected record {r}", path.display()),
            }
        }
        assert_eq!(summaries, 1, "{}", path.display());
    }
    recs
}

/// Records without their per-run number, counted.
fn multiset(recs: &[Value]) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for r in recs {
        let mut r = r.clone();
        r.as_object_mut().expect("object").remove("conn");
        *m.entry(r.to_string()).or_default() += 1;
    }
    m
}

/// An `address:port` without its port, as the queries' regexp cuts it.
fn host(end: &Value) -> String {
    let s = end.as_str().expect("an endpoint");
    match s.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            h.to_string()
        }
        _ => s.to_string(),
    }
}

fn top_talkers(recs: &[Value]) -> Vec<Value> {
    let mut hosts: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for r in recs {
        let b = &r["bytes"];
        let (c, s) = (b["client"].as_u64().unwrap(), b["server"].as_u64().unwrap());
        for (end, sent, received) in [("client", c, s), ("server", s, c)] {
            let e = hosts.entry(host(&r[end])).or_default();
            e.0 += 1;
            e.1 += sent;
            e.2 += received;
        }
    }
    let mut rows: Vec<_> = hosts.into_iter().collect();
    rows.sort_by(|a, b| {
        (b.1 .1 + b.1 .2)
            .cmp(&(a.1 .1 + a.1 .2))
            .then(a.0.cmp(&b.0))
    });
    rows.into_iter()
        .take(10)
        .map(|(h, (n, sent, received))| json!([h, n, sent, received]))
        .collect()
}

fn close_kinds(recs: &[Value]) -> Vec<Value> {
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for r in recs {
        let kind = if r["refused"] == true {
            "refused".to_string()
        } else if let Some(t) = r["close"]["type"].as_str() {
            t.to_string()
        } else if let Some(by) = r["aborted_by"].as_str() {
            format!("reset by {by}")
        } else {
            "not closed".to_string()
        };
        *kinds.entry(kind).or_default() += 1;
    }
    let mut rows: Vec<_> = kinds.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.into_iter().map(|(k, n)| json!([k, n])).collect()
}

fn time_wait_holders(recs: &[Value]) -> Vec<Value> {
    let mut hosts: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for r in recs {
        let tw = r["time_wait"].as_str().unwrap_or("");
        for side in ["client", "server"] {
            if tw != side && tw != "both" {
                continue;
            }
            let until = r["time_wait_until"][side]
                .as_str()
                .expect("until")
                .to_string();
            let e = hosts.entry(host(&r[side])).or_default();
            e.0 += 1;
            // Same-shaped RFC 3339 strings order as the times do.
            e.1 = e.1.clone().max(until);
        }
    }
    let mut rows: Vec<_> = hosts.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    rows.into_iter()
        .take(10)
        .map(|(h, (n, until))| json!([h, n, until]))
        .collect()
}

/// What the recipe wrote is one run's records, and DuckDB's answers over
/// them are those computed from one run's records.
fn check(python: &Path, dir: &Path, n: usize, whole: &[Value], how: &str) {
    let shards = shard_records(dir, n);
    assert_eq!(shards.len(), whole.len(), "{how}: connection records");
    assert!(
        multiset(&shards) == multiset(whole),
        "{how}: the shards' records differ from one run's"
    );
    let sql = recipe_blocks("sql");
    assert_eq!(sql.len(), 1, "one sql block in the recipe");
    let answers = duckdb_answers(python, &sql[0], dir);
    assert_eq!(answers.len(), 3, "{how}: three queries answered");
    let expected = [
        ("top talkers", top_talkers(whole)),
        ("close kinds", close_kinds(whole)),
        ("TIME_WAIT holders", time_wait_holders(whole)),
    ];
    for ((what, want), got) in expected.iter().zip(&answers) {
        assert_eq!(got, want, "{how}: {what}");
    }
    // The answers say something: many hosts, several kinds of close.
    assert_eq!(answers[0].len(), 10, "{how}: top talkers");
    assert!(answers[1].len() >= 4, "{how}: close kinds {:?}", answers[1]);
    assert_eq!(answers[2].len(), 10, "{how}: TIME_WAIT holders");
}

/// The recipe's number of shards, from its `N=` line.
fn shards_in(block: &str) -> usize {
    block
        .lines()
        .find_map(|l| l.strip_prefix("N="))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("N=… in the recipe")
}

#[test]
fn the_recipe_with_xargs() {
    let Some(python) = duckdb_python() else {
        return;
    };
    let sh = recipe_blocks("sh");
    assert_eq!(sh.len(), 2, "the xargs and GNU parallel blocks: {sh:?}");
    let xargs = &sh[0];
    assert!(xargs.contains("xargs -P"), "{xargs}");
    assert!(
        xargs.contains(&format!("FILES=\"{MONDAY} {TUESDAY}\"")),
        "the test makes the files the recipe names: {xargs}"
    );
    let n = shards_in(xargs);
    assert!(n > 1, "{n} shards");
    let dir = scratch("duckdb-xargs");
    let whole = one_run(&dir);
    assert!(whole.len() > 3_000, "{} connections", whole.len());
    shell(xargs, &dir);
    check(&python, &dir, n, &whole, "xargs");
}

#[test]
fn the_recipe_with_gnu_parallel() {
    let Some(python) = duckdb_python() else {
        return;
    };
    let has_parallel = Command::new("parallel")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_parallel {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs GNU parallel (see .ci/run)"
        );
        eprintln!("SKIPPED the GNU parallel recipe: apt-get install parallel");
        return;
    }
    let sh = recipe_blocks("sh");
    let (setup, parallel) = (&sh[0], &sh[1]);
    assert!(parallel.contains("parallel -j"), "{parallel}");
    // The block uses the first one's N and FILES.
    let assignments: String = setup
        .lines()
        .filter(|l| l.starts_with("N=") || l.starts_with("FILES="))
        .map(|l| format!("{l}\n"))
        .collect();
    let n = shards_in(setup);
    let dir = scratch("duckdb-parallel");
    let whole = one_run(&dir);
    shell(&format!("{assignments}{parallel}"), &dir);
    check(&python, &dir, n, &whole, "GNU parallel");
}
