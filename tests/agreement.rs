//! One fact, one place: on every fixture, the packet lines, the summary
//! table, the ladder's story and the JSON connection records agree on how
//! each connection closed, who closed first, who held TIME_WAIT, why it was
//! reset and who sent keep-alive probes.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// The facts one view states about one connection (None: it says nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Said {
    close: Option<String>,
    first: Option<String>,
    time_wait: Option<String>,
    reset: Option<String>,
    prober: Option<String>,
}

fn holders(client: bool, server: bool) -> Option<String> {
    match (client, server) {
        (true, true) => Some("both".into()),
        (true, false) => Some("client".into()),
        (false, true) => Some("server".into()),
        (false, false) => None,
    }
}

/// A reset cause as the words name it, back to the JSON name.
fn cause_name(words: &str) -> String {
    match words {
        "keep-alive timeout" => "keepalive_timeout".into(),
        "answering a keep-alive" => "keepalive_answer".into(),
        "after close" => "after_close".into(),
        "cause unknown" => "unknown".into(),
        w => w.replace(' ', "_"),
    }
}

fn close_name(words: &str) -> String {
    match words {
        "four-way" => "four_way".into(),
        "three-packet" => "three_way".into(),
        w => w.into(),
    }
}

fn from_json(name: &str) -> BTreeMap<u64, Said> {
    let out = run_path(&["read", "--json"], &fixture(name));
    let mut m = BTreeMap::new();
    for c in json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == "connection")
    {
        let s = |v: &Value| v.as_str().map(str::to_string);
        let closed = c["close"]["type"].is_string();
        m.insert(
            c["conn"].as_u64().unwrap(),
            Said {
                close: s(&c["close"]["type"]),
                first: if closed {
                    s(&c["close"]["first_fin"])
                } else {
                    None
                },
                time_wait: s(&c["time_wait"]),
                reset: s(&c["reset_cause"]).filter(|r| r != "refused"),
                prober: s(&c["keepalive"]["by"]),
            },
        );
    }
    m
}

fn from_table(name: &str) -> BTreeMap<u64, Said> {
    let out = run_path(&["read", "--summary"], &fixture(name));
    let text = stdout(&out);
    if !text.starts_with('#') {
        return BTreeMap::new(); // no connection: no table
    }
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    // Columns are separated by two or more spaces; find each column's start
    // (in characters: the header has arrows).
    let head_line: Vec<char> = text.lines().next().unwrap().chars().collect();
    let head_str: String = head_line.iter().collect();
    let starts: Vec<usize> = header
        .iter()
        .map(|h| head_str[..head_str.find(h).unwrap()].chars().count())
        .collect();
    let col = |line: &str, name: &str| -> String {
        let Some(i) = header.iter().position(|h| *h == name) else {
            return String::new();
        };
        let chars: Vec<char> = line.chars().collect();
        let from = starts[i].min(chars.len());
        let to = starts
            .get(i + 1)
            .copied()
            .unwrap_or(chars.len())
            .min(chars.len());
        chars[from..to]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    };
    let mut m = BTreeMap::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        let id: u64 = col(line, "#").parse().unwrap();
        let close = col(line, "close");
        let mut said = Said::default();
        if let Some(rest) = close.strip_prefix("RST by ") {
            let (_, cause) = rest.split_once(": ").unwrap();
            said.reset = Some(cause_name(cause));
        } else if close.starts_with("simultaneous") {
            said.close = Some("simultaneous".into());
            said.first = None;
        } else if let Some((kind, first)) = close.split_once(", ") {
            if kind != "both sent FIN" {
                said.close = Some(close_name(kind));
                said.first = first.split_whitespace().next().map(str::to_string);
            }
        }
        let tw = col(line, "TIME_WAIT");
        said.time_wait = holders(tw.contains("client until"), tw.contains("server until"));
        let ka = col(line, "keep-alive");
        said.prober = ka
            .split_once(" probes by ")
            .map(|(_, r)| r.split(',').next().unwrap().to_string());
        m.insert(id, said);
    }
    m
}

fn from_ladder(name: &str) -> BTreeMap<u64, Said> {
    let out = synack()
        .env("COLUMNS", "5000")
        .args(["read", "--view", "ladder"])
        .arg(fixture(name))
        .output()
        .unwrap();
    let text = stdout(&out);
    let mut m = BTreeMap::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('#') {
            id = rest.split_whitespace().next().and_then(|n| n.parse().ok());
            continue;
        }
        // The story: the one line that ends a ladder with a full stop.
        if !line.ends_with('.') || line.starts_with(' ') {
            continue;
        }
        let Some(n) = id.take() else { continue };
        let mut said = Said::default();
        for part in line.trim_end_matches('.').split("; ") {
            let p = part.to_lowercase();
            if let Some(r) = p.split_once("reset by the ") {
                let cause = r.1.split_once(" (").unwrap().1;
                let cause = cause.split_once(')').unwrap().0;
                said.reset = Some(cause_name(cause));
            }
            if p.contains("simultaneous close") {
                said.close = Some("simultaneous".into());
            } else if let Some((who, rest)) = p.split_once(" closed first (") {
                said.first = who.split_whitespace().last().map(str::to_string);
                said.close = Some(close_name(rest.split(" close)").next().unwrap()));
            }
            let c =
                p.contains("the client holds time_wait") || p.contains("the client held time_wait");
            let s =
                p.contains("the server holds time_wait") || p.contains("the server held time_wait");
            if c || s {
                said.time_wait = holders(c, s);
            }
            if let Some((_, who)) = p.split_once("keep-alive probes by the ") {
                said.prober = Some(who.to_string());
            } else if let Some((_, who)) = p.split_once("keep-alive probe by the ") {
                said.prober = Some(who.to_string());
            }
        }
        m.insert(n, said);
    }
    m
}

fn from_lines(name: &str, json: &BTreeMap<u64, Said>) -> BTreeMap<u64, Said> {
    // The client/server addresses, to tell who sent a probe.
    let out = run_path(&["read", "--json"], &fixture(name));
    let mut client_of = BTreeMap::new();
    for c in json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == "connection")
    {
        client_of.insert(
            c["conn"].as_u64().unwrap(),
            c["client"].as_str().unwrap().to_string(),
        );
    }
    let out = run_path(&["read", "--time", "none"], &fixture(name));
    let mut m: BTreeMap<u64, Said> = json.keys().map(|k| (*k, Said::default())).collect();
    let mut tw: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
    for line in stdout(&out).lines() {
        let (head, tail) = if let Some((h, t)) = line.split_once(" | #") {
            (h, t)
        } else if let Some(t) = line.strip_prefix("── #") {
            ("", t)
        } else {
            continue;
        };
        let (n, notes) = tail.split_once(' ').unwrap();
        let n: u64 = n.parse().unwrap();
        let said = m.entry(n).or_default();
        for note in notes.split(" · ") {
            if let Some(first) = note
                .strip_prefix("close 1: ")
                .and_then(|r| r.strip_suffix(" FIN"))
            {
                said.first = Some(first.to_string());
            }
            if note.contains("three-packet close") {
                said.close = Some("three_way".into());
            } else if note.contains("simultaneous close") {
                said.close = Some("simultaneous".into());
            } else if note.starts_with("close 4/4") && said.close.is_none() {
                said.close = Some("four_way".into());
            }
            if let Some(cause) = note.strip_prefix("RST: ") {
                if cause != "refused" && said.reset.is_none() {
                    said.reset = Some(cause_name(cause));
                }
            }
            let e = tw.entry(n).or_default();
            if note.starts_with("client TIME_WAIT until") {
                e.0 = true;
            }
            if note.starts_with("server TIME_WAIT until") {
                e.1 = true;
            }
            if note == "keep-alive probe" && said.prober.is_none() {
                let src = head
                    .split(" > ")
                    .next()
                    .unwrap()
                    .rsplit(' ')
                    .next()
                    .unwrap();
                said.prober = Some(if client_of.get(&n).is_some_and(|c| c == src) {
                    "client".into()
                } else {
                    "server".into()
                });
            }
        }
    }
    for (n, (c, s)) in tw {
        if let Some(said) = m.get_mut(&n) {
            said.time_wait = holders(c, s);
        }
    }
    // Simultaneous closes have no "first" in the table's words.
    for said in m.values_mut() {
        if said.close.as_deref() == Some("simultaneous") {
            said.first = None;
        }
    }
    m
}

#[test]
fn lines_table_ladder_and_json_say_the_same() {
    let mut checked = 0;
    for name in capture_fixtures() {
        let mut json = from_json(&name);
        for said in json.values_mut() {
            if said.close.as_deref() == Some("simultaneous") {
                said.first = None;
            }
        }
        let table = from_table(&name);
        let ladder = from_ladder(&name);
        let lines = from_lines(&name, &json);
        for (id, j) in &json {
            for (view, m) in [("table", &table), ("ladder", &ladder), ("lines", &lines)] {
                let said = m
                    .get(id)
                    .unwrap_or_else(|| panic!("{name} #{id}: not in the {view}"));
                assert_eq!(said, j, "{name} #{id}: the {view} disagrees with the JSON");
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} connections compared");
}
