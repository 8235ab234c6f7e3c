//! `synack read --zeek`: Zeek's conn.log, read back by a Zeek-log reader
//! from outside this project (parsezeeklogs, from PyPI; see tests/zeek/),
//! agreeing with synack's own JSON records; field names as Zeek's
//! documentation lists them; and, on Zeek's own test traces, the same
//! values as Zeek's own conn.log of them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// conn.log's columns in Zeek's documentation of `Conn::Info`
/// (https://docs.zeek.org/en/v8.2.0/scripts/base/protocols/conn/main.zeek.html),
/// in order, with their types; `id` is written as its four `conn_id`
/// fields, as the ASCII writer does. `community_id` is the field Zeek's
/// policy/protocols/conn/community-id-logging.zeek adds.
const ZEEK_FIELDS: [(&str, &str); 23] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("ip_proto", "count"),
    ("community_id", "string"),
];

/// A Python with parsezeeklogs: tests/zeek/.venv (made by .ci/run), else
/// the system's if it has the package.
fn reader() -> Option<PathBuf> {
    let venv = root().join("tests/zeek/.venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    let system = Command::new("python3")
        .args(["-c", "import parsezeeklogs"])
        .output()
        .is_ok_and(|o| o.status.success());
    if system {
        return Some("python3".into());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI installs parsezeeklogs into tests/zeek/.venv (see .ci/run)"
    );
    eprintln!(
        "SKIPPED the outside reader: python3 -m venv tests/zeek/.venv && \
         tests/zeek/.venv/bin/pip install -r tests/zeek/requirements.txt"
    );
    None
}

/// What parsezeeklogs read from `file`: its header, then the records.
fn read_back(python: &Path, file: &Path) -> (Value, Vec<Value>) {
    let out = Command::new(python)
        .arg(root().join("tests/zeek/read_back.py"))
        .arg(file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect::<Vec<_>>();
    let header = lines.remove(0);
    assert_eq!(header["records"], lines.len());
    (header, lines)
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("synack-zeek-{}-{name}", std::process::id()))
}

/// A record without its unset fields (JSON leaves them out, TSV writes `-`).
fn set_fields(v: &Value) -> serde_json::Map<String, Value> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(_, x)| !x.is_null())
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect()
}

fn epoch_seconds(rfc3339: &str) -> f64 {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9
}

fn split(addr: &str) -> (String, u64) {
    let a: std::net::SocketAddr = addr.parse().unwrap();
    (a.ip().to_string(), u64::from(a.port()))
}

#[test]
fn every_fixtures_conn_log_reads_back_and_agrees_with_json() {
    let Some(python) = reader() else {
        return;
    };
    let mut checked = 0;
    for name in capture_fixtures() {
        let f = fixture(&name);
        let tsv = run_path(&["read", "--zeek"], &f);
        let json = run_path(&["read", "--zeek", "--json"], &f);
        let ours = run_path(&["read", "--json", "--summary"], &f);
        let records: Vec<Value> = json_lines(&ours)
            .into_iter()
            .filter(|v| v["type"] == "connection")
            .collect();
        let (tsv_file, json_file) = (temp(&format!("{name}.log")), temp(&format!("{name}.json")));
        std::fs::write(&tsv_file, &tsv.stdout).unwrap();
        std::fs::write(&json_file, &json.stdout).unwrap();

        // The header, as the outside reader understood it.
        let (header, from_tsv) = read_back(&python, &tsv_file);
        assert_eq!(header["json"], false);
        assert_eq!(header["path"], "conn", "{name}");
        let fields: Vec<&str> = ZEEK_FIELDS.iter().map(|f| f.0).collect();
        assert_eq!(header["fields"], serde_json::json!(fields), "{name}");
        for (field, ty) in ZEEK_FIELDS {
            assert_eq!(header["types"][field], ty, "{name}: type of {field}");
        }
        let d = &header["directives"];
        assert_eq!(
            (
                &d["separator"],
                &d["set_separator"],
                &d["empty_field"],
                &d["unset_field"]
            ),
            (&"\t".into(), &",".into(), &"(empty)".into(), &"-".into())
        );
        for stamp in ["open", "close"] {
            let s = d[stamp].as_str().unwrap_or_default();
            assert!(
                s.len() == 19 && s.split('-').count() == 6,
                "{name}: #{stamp} {s:?} is not Zeek's %Y-%m-%d-%H-%M-%S"
            );
        }

        // The JSON form says the same, field for field.
        if records.is_empty() {
            assert!(
                json.stdout.is_empty(),
                "{name}: JSON rows without connections"
            );
            continue;
        }
        let (jheader, from_json) = read_back(&python, &json_file);
        assert_eq!(jheader["json"], true);
        assert_eq!(from_json.len(), from_tsv.len(), "{name}");
        for (t, j) in from_tsv.iter().zip(&from_json) {
            assert_eq!(
                set_fields(t),
                set_fields(j),
                "{name}: TSV and JSON rows differ"
            );
        }

        // And it agrees with synack's own connection records.
        assert_eq!(from_tsv.len(), records.len(), "{name}");
        for (z, c) in from_tsv.iter().zip(&records) {
            let ctx = format!("{name} #{}", c["conn"]);
            let (oh, op) = split(c["client"].as_str().unwrap());
            let (rh, rp) = split(c["server"].as_str().unwrap());
            assert_eq!(
                (&z["id.orig_h"], &z["id.orig_p"]),
                (&oh.into(), &op.into()),
                "{ctx}"
            );
            assert_eq!(
                (&z["id.resp_h"], &z["id.resp_p"]),
                (&rh.into(), &rp.into()),
                "{ctx}"
            );
            assert_eq!(z["proto"], "tcp");
            assert_eq!(z["ip_proto"], 6);
            assert_eq!(z["conn_state"], c["conn_state"], "{ctx}");
            assert_eq!(z["history"], c["history"], "{ctx}");
            assert_eq!(z["community_id"], c["community_id"], "{ctx}");
            assert_eq!(z["orig_pkts"], c["packets"]["client"], "{ctx}");
            assert_eq!(z["resp_pkts"], c["packets"]["server"], "{ctx}");
            assert_eq!(z["orig_ip_bytes"], c["ip_bytes"]["client"], "{ctx}");
            assert_eq!(z["resp_ip_bytes"], c["ip_bytes"]["server"], "{ctx}");
            let missed = c["missed_bytes"]["client"].as_u64().unwrap()
                + c["missed_bytes"]["server"].as_u64().unwrap();
            assert_eq!(z["missed_bytes"], missed, "{ctx}");
            let ts = z["ts"].as_f64().unwrap();
            let start = epoch_seconds(c["start"].as_str().unwrap());
            assert!((ts - start).abs() < 1e-6, "{ctx}: ts {ts} start {start}");
            // Zeek's duration stops where both sides closed: never longer.
            let end = epoch_seconds(c["end"].as_str().unwrap());
            if let Some(d) = z["duration"].as_f64() {
                assert!(d > 0.0 && d <= end - start + 1e-6, "{ctx}: duration {d}");
                // Sizes from sequence numbers: at least the bytes seen.
                for (zk, side) in [("orig_bytes", "client"), ("resp_bytes", "server")] {
                    let seen = c["bytes"][side].as_u64().unwrap();
                    assert!(z[zk].as_u64().unwrap() >= seen, "{ctx}: {zk}");
                }
            } else {
                assert!(z["orig_bytes"].is_null() && z["resp_bytes"].is_null());
            }
            let uid = z["uid"].as_str().unwrap();
            assert!(
                uid.starts_with('C')
                    && (8..=19).contains(&uid.len())
                    && uid[1..].bytes().all(|b| b.is_ascii_alphanumeric()),
                "{ctx}: uid {uid}"
            );
            checked += 1;
        }
        let _ = std::fs::remove_file(&tsv_file);
        let _ = std::fs::remove_file(&json_file);
    }
    assert!(checked >= 30, "only {checked} connections checked");
}

#[test]
fn the_tsv_header_is_zeeks_byte_for_byte() {
    let out = run_path(&["read", "--zeek"], &fixture("ipv4-echo.pcap"));
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#separator \\x09");
    assert_eq!(lines[1], "#set_separator\t,");
    assert_eq!(lines[2], "#empty_field\t(empty)");
    assert_eq!(lines[3], "#unset_field\t-");
    assert_eq!(lines[4], "#path\tconn");
    assert!(lines[5].starts_with("#open\t"));
    assert!(lines[6].starts_with("#fields\tts\tuid\tid.orig_h\t"));
    assert!(lines[7].starts_with("#types\ttime\tstring\taddr\tport\t"));
    assert!(lines.last().unwrap().starts_with("#close\t"));
    assert_eq!(lines.len(), 10, "header, one row, footer");
    // Checked by hand against the capture (tshark: 8 + 6 frames, IP
    // lengths 437 and 333; Zeek's duration stops at the last FIN).
    let row: Vec<&str> = lines[8].split('\t').collect();
    assert_eq!(
        row[2..].join(" "),
        "127.0.0.1 48116 127.0.0.1 9999 tcp - 0.000653 13 13 SF - - 0 ShADadFf 8 437 6 333 - 6 \
         1:OAr5F9R93OanJ2gGVkfQE+H1Zq0="
    );
}

#[test]
fn uids_are_stable_and_tell_reused_4_tuples_apart() {
    let uids = |args: &[&str]| -> Vec<String> {
        json_lines(&run_path(args, &fixture("port-reuse.pcap")))
            .iter()
            .map(|v| v["uid"].as_str().unwrap().to_string())
            .collect()
    };
    let first = uids(&["read", "--zeek", "--json"]);
    assert_eq!(first.len(), 2);
    assert_ne!(first[0], first[1], "same Community ID, different start");
    assert_eq!(
        first,
        uids(&["read", "--zeek", "--json"]),
        "same run, same uids"
    );
    // The uid depends on nothing but the connection: not on other traffic.
    let one = json_lines(&run_path(
        &["read", "--zeek", "--json", "-c", "10"],
        &fixture("port-reuse.pcap"),
    ));
    assert_eq!(one[0]["uid"], first[0].as_str());
}

/// Zeek's own conn.log rows for traces of its test suite (zeek/zeek commit
/// a13de64fbbdb, testing/btest/Baseline/<test>/conn.log), from id.orig_h to
/// resp_ip_bytes, with `service`, `local_orig` and `local_resp` left out
/// (synack runs no HTTP analyzer and knows no local networks). The traces
/// are kept in shared/captures (see its README).
const ZEEK_SAYS: [(&str, &str, &str); 4] = [
    (
        "zeek__tcp-missing-syn.pcap",
        "",
        "141.42.64.125 56730 125.190.109.199 80 tcp 1.550793 98 9417 SF 0 ^hADdFaf 11 670 10 9945",
    ),
    (
        "zeek__tcp-http-with-padding.pcap",
        "",
        "167.221.30.181 59406 217.207.159.63 27272 tcp 10.914549 16 191 SF 0 ShADadfF 13 704 12 823",
    ),
    (
        "zeek__wikipedia.pcap",
        "port 50000",
        "141.142.220.118 50000 208.80.152.3 80 tcp 0.229603 1148 734 S1 0 ShADad 6 1468 4 950",
    ),
    (
        "zeek__zeek-image-post-1080-8000-x.pcap",
        "",
        "127.0.0.1 1080 44.1.1.1 8000 tcp 0.020403 5958 182 SF 0 ^hADadFf 10 6478 9 658",
    ),
];

#[test]
fn zeeks_own_conn_log_of_its_test_traces() {
    let mut compared = 0;
    for (trace, filter, want) in ZEEK_SAYS {
        let Some(path) = shared_capture(trace) else {
            eprintln!("SKIPPED {trace}: not in shared/captures");
            continue;
        };
        let mut args = vec!["read", "--zeek"];
        let p = path.to_str().unwrap();
        args.push(p);
        if !filter.is_empty() {
            args.push(filter);
        }
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(rows.len(), 1, "{trace}: {text}");
        let cells: Vec<&str> = rows[0].split('\t').collect();
        // id.orig_h … proto, then duration … conn_state, then missed_bytes … resp_ip_bytes.
        let got = [&cells[2..7], &cells[8..12], &cells[14..20]]
            .concat()
            .join(" ");
        assert_eq!(got, want, "{trace}");
        compared += 1;
    }
    eprintln!(
        "{compared} of {} traces compared with Zeek",
        ZEEK_SAYS.len()
    );
}

#[test]
fn community_ids_of_the_specifications_captures() {
    // corelight/community-id-spec, baseline/baseline_deflt.json (commit
    // b1fe530faa0c): the Community IDs of its pcaps/tcp.pcap and ipv6.pcap.
    for (trace, want) in [
        (
            "community-id-spec__tcp.pcap",
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
        ),
        (
            "community-id-spec__ipv6.pcap",
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
        ),
    ] {
        let Some(path) = shared_capture(trace) else {
            eprintln!("SKIPPED {trace}: not in shared/captures");
            continue;
        };
        let recs = json_lines(&run_path(&["read", "--json", "--summary"], &path));
        let ids: Vec<&Value> = recs
            .iter()
            .filter(|v| v["type"] == "connection")
            .map(|v| &v["community_id"])
            .collect();
        assert_eq!(ids, vec![want], "{trace}");
    }
}
