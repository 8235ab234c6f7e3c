//! Every header field synack reports, checked against tshark's reading of the
//! same fixture. The TSVs in fixtures/tshark/ were written once by
//! fixtures/scripts/tshark-fields.sh (tshark 4.0); this test needs no tshark.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;

type Row = HashMap<String, String>;

fn read_tsv(path: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t').chain(std::iter::repeat("")))
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// tshark prints numbers in decimal or 0x-hex depending on the field.
fn num(s: &str) -> u64 {
    let s = s.split(',').next().unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap()
    } else {
        s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
    }
}

fn first(s: &str) -> &str {
    s.split(',').next().unwrap_or(s)
}

struct Checker<'a> {
    file: &'a str,
    frame: u64,
    checked: usize,
}

impl Checker<'_> {
    fn eq(&mut self, field: &str, ours: Option<String>, theirs: Option<String>) {
        if let Some(theirs) = theirs {
            assert_eq!(
                ours.as_deref(),
                Some(theirs.as_str()),
                "{} frame {}: {field} differs from tshark",
                self.file,
                self.frame
            );
            self.checked += 1;
        }
    }
}

fn get_u64(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_u64).map(|n| n.to_string())
}

fn get_str(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn options_of<'a>(v: &'a Value, kind: &str) -> Vec<&'a Value> {
    v.get("options")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|o| o["kind"] == kind).collect())
        .unwrap_or_default()
}

fn epoch_nanos(rfc3339: &str) -> i128 {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("rfc3339 ts");
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
}

fn tshark_epoch_nanos(s: &str) -> i128 {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<9}");
    secs.parse::<i128>().unwrap() * 1_000_000_000 + frac[..9].parse::<i128>().unwrap()
}

fn check_file(name: &str, tsv: &std::path::Path, capture: &std::path::Path) -> usize {
    // tshark 4.0 numbers pcapng custom blocks as frames ("PCAPNG" rows);
    // they are not packets, so the packets are renumbered without them.
    let mut rows = read_tsv(tsv);
    if rows
        .iter()
        .any(|r| r.get("_ws.col.Protocol").is_some_and(|p| p == "PCAPNG"))
    {
        rows.retain(|r| r.get("_ws.col.Protocol").is_none_or(|p| p != "PCAPNG"));
        for (i, r) in rows.iter_mut().enumerate() {
            r.insert("frame.number".into(), (i + 1).to_string());
        }
    }
    let out = run_path(&["read", "--json"], capture);
    let records = json_lines(&out);
    let packets: HashMap<u64, &Value> = records
        .iter()
        .filter(|r| r["type"] == "packet")
        .map(|r| (r["frame"].as_u64().unwrap(), r))
        .collect();
    let mut c = Checker {
        file: name,
        frame: 0,
        checked: 0,
    };
    let input_errors = records
        .last()
        .and_then(|s| s["errors"].as_array())
        .map_or(0, Vec::len);
    for row in &rows {
        let frame = num(&row["frame.number"]);
        c.frame = frame;
        let Some(p) = packets.get(&frame) else {
            // libpcap stops where tshark goes on (a pcapng whose interfaces
            // differ in link type): allowed only if synack said so.
            assert!(
                input_errors > 0,
                "{name}: synack has no frame {frame} and reported no error"
            );
            continue;
        };
        c.eq(
            "wire_len",
            get_u64(p, "wire_len"),
            row.get("frame.len").cloned(),
        );
        c.eq(
            "caplen",
            get_u64(p, "caplen"),
            row.get("frame.cap_len").cloned(),
        );
        if p.get("ts_invalid") == Some(&Value::Bool(true)) {
            // The file's nanosecond field is ≥ 10⁹: synack carries it into the
            // seconds, tshark prints the digits as a fraction. Neither is "right";
            // the flag is what matters.
            c.checked += 1;
        } else if let Some(t) = row.get("frame.time_epoch") {
            let ours = p["ts"].as_str().map(epoch_nanos);
            assert_eq!(
                ours,
                Some(tshark_epoch_nanos(t)),
                "{name} frame {frame}: ts"
            );
            c.checked += 1;
        }
        c.eq(
            "src_mac",
            get_str(p, "src_mac"),
            row.get("eth.src").map(|s| first(s).to_string()),
        );
        c.eq(
            "dst_mac",
            get_str(p, "dst_mac"),
            row.get("eth.dst").map(|s| first(s).to_string()),
        );
        if let Some(ids) = row.get("vlan.id") {
            let ours: Vec<String> = p["vlan"]
                .as_array()
                .map(|a| a.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            // tshark names an 802.1ad (QinQ) outer tag ieee8021ad.id, not vlan.id.
            let outer = row.get("ieee8021ad.id").map(|o| o.split(',').count());
            let skip = outer.unwrap_or(0).min(ours.len());
            if let Some(o) = row.get("ieee8021ad.id") {
                c.eq(
                    "qinq outer vlan",
                    Some(ours[..skip].join(",")),
                    Some(o.clone()),
                );
            }
            c.eq("vlan", Some(ours[skip..].join(",")), Some(ids.clone()));
        }
        // An ICMP error quotes an inner IP header: tshark lists both, outer first.
        let v4 = row.contains_key("ip.src");
        let v6 = row.contains_key("ipv6.src");
        if v4 || v6 {
            // A source-routed datagram: tshark's ip.dst is the route's final
            // address, ip.cur_rt the header's field, which synack reports (as tcpdump).
            let v4_dst = if row.contains_key("ip.cur_rt") {
                "ip.cur_rt"
            } else {
                "ip.dst"
            };
            let (src, dst, ttl) = if v4 {
                ("ip.src", v4_dst, "ip.ttl")
            } else {
                ("ipv6.src", "ipv6.dst", "ipv6.hlim")
            };
            c.eq(
                "src_ip",
                get_str(p, "src_ip"),
                row.get(src).map(|s| first(s).to_string()),
            );
            c.eq(
                "dst_ip",
                get_str(p, "dst_ip"),
                row.get(dst).map(|s| first(s).to_string()),
            );
            c.eq(
                "ttl",
                get_u64(p, "ttl"),
                row.get(ttl).map(|s| first(s).to_string()),
            );
            // The ECN codepoint: tshark gives the two bits as a number.
            let ecn_field = if v4 {
                "ip.dsfield.ecn"
            } else {
                "ipv6.tclass.ecn"
            };
            if let Some(bits) = row.get(ecn_field) {
                let name = match num(first(bits)) {
                    0 => "Not-ECT",
                    1 => "ECT(1)",
                    2 => "ECT(0)",
                    _ => "CE",
                };
                c.eq("ecn", get_str(p, "ecn"), Some(name.to_string()));
            }
            if v4 && p.get("ip_version").and_then(Value::as_u64) == Some(4) {
                c.eq(
                    "ip_id",
                    get_u64(p, "ip_id"),
                    row.get("ip.id").map(|s| num(s).to_string()),
                );
                let ours_off = p
                    .pointer("/fragment/offset")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                c.eq(
                    "fragment offset",
                    Some(ours_off.to_string()),
                    // tshark counts 8-byte units; synack reports bytes.
                    row.get("ip.frag_offset").map(|s| (num(s) * 8).to_string()),
                );
            }
        }
        if p.get("flags").is_some_and(Value::is_array) {
            check_tcp(&mut c, p, row);
        } else if let Some(port) = row.get("udp.srcport") {
            if p["protocol"] == "udp" {
                c.eq(
                    "udp src_port",
                    get_u64(p, "src_port"),
                    Some(first(port).to_string()),
                );
                c.eq(
                    "udp dst_port",
                    get_u64(p, "dst_port"),
                    row.get("udp.dstport").map(|s| first(s).to_string()),
                );
            }
        }
    }
    assert!(
        c.checked > 0 || input_errors > 0,
        "{name}: nothing compared"
    );
    c.checked
}

fn check_tcp(c: &mut Checker<'_>, p: &Value, row: &Row) {
    if !row.contains_key("tcp.srcport") {
        panic!(
            "{} frame {}: synack decoded TCP, tshark did not",
            c.file, c.frame
        );
    }
    c.eq(
        "src_port",
        get_u64(p, "src_port"),
        row.get("tcp.srcport").map(|s| first(s).to_string()),
    );
    c.eq(
        "dst_port",
        get_u64(p, "dst_port"),
        row.get("tcp.dstport").map(|s| first(s).to_string()),
    );
    c.eq(
        "seq",
        get_u64(p, "seq"),
        row.get("tcp.seq_raw").map(|s| first(s).to_string()),
    );
    // Bit order as in the header's flags word: AE (RFC 9768, formerly NS) is bit 8.
    let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];
    let ours_flags: u64 = p["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| 1u64 << names.iter().position(|n| f == n).unwrap())
        .sum();
    if let Some(f) = row.get("tcp.flags") {
        // tshark's flags word also holds the three reserved bits above AE.
        c.eq(
            "flags",
            Some(ours_flags.to_string()),
            Some((num(f) & 0x1ff).to_string()),
        );
    }
    if ours_flags & 0x10 != 0 {
        c.eq(
            "ack",
            get_u64(p, "ack"),
            row.get("tcp.ack_raw").map(|s| first(s).to_string()),
        );
    } else {
        assert!(
            p["ack"].is_null(),
            "{} frame {}: ack without ACK flag",
            c.file,
            c.frame
        );
    }
    c.eq(
        "win",
        get_u64(p, "win"),
        row.get("tcp.window_size_value")
            .map(|s| first(s).to_string()),
    );
    if ours_flags & 0x20 != 0 {
        c.eq(
            "urg",
            get_u64(p, "urg"),
            row.get("tcp.urgent_pointer").map(|s| first(s).to_string()),
        );
    }
    c.eq(
        "len",
        get_u64(p, "len"),
        row.get("tcp.len").map(|s| first(s).to_string()),
    );
    let opt_u64 = |kind: &str, field: &str| -> Option<String> {
        options_of(p, kind)
            .first()
            .and_then(|o| o[field].as_u64())
            .map(|n| n.to_string())
    };
    c.eq(
        "mss",
        opt_u64("mss", "value"),
        row.get("tcp.options.mss_val").cloned(),
    );
    c.eq(
        "wscale",
        opt_u64("wscale", "shift"),
        row.get("tcp.options.wscale.shift").cloned(),
    );
    c.eq(
        "tsval",
        opt_u64("timestamp", "val"),
        row.get("tcp.options.timestamp.tsval").cloned(),
    );
    c.eq(
        "tsecr",
        opt_u64("timestamp", "ecr"),
        row.get("tcp.options.timestamp.tsecr").cloned(),
    );
    if row.contains_key("tcp.options.sack_perm") {
        c.eq(
            "sack_perm",
            Some((!options_of(p, "sack_perm").is_empty()).to_string()),
            Some("true".into()),
        );
    }
    if let (Some(le), Some(re)) = (
        row.get("tcp.options.sack_le"),
        row.get("tcp.options.sack_re"),
    ) {
        let blocks: Vec<(u64, u64)> = options_of(p, "sack")
            .iter()
            .flat_map(|o| o["blocks"].as_array().cloned().unwrap_or_default())
            .map(|b| (b[0].as_u64().unwrap(), b[1].as_u64().unwrap()))
            .collect();
        let theirs: Vec<(u64, u64)> = le.split(',').map(num).zip(re.split(',').map(num)).collect();
        c.eq(
            "sack blocks",
            Some(format!("{blocks:?}")),
            Some(format!("{theirs:?}")),
        );
    }
    if let Some(kinds) = row.get("tcp.option_kind") {
        let ours: Vec<String> = p["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| option_number(o).to_string())
            .collect();
        c.eq("option kinds", Some(ours.join(",")), Some(kinds.clone()));
    }
}

fn option_number(o: &Value) -> u64 {
    match o["kind"].as_str().unwrap() {
        "eol" => 0,
        "nop" => 1,
        "mss" => 2,
        "wscale" => 3,
        "sack_perm" => 4,
        "sack" => 5,
        "timestamp" => 8,
        "mptcp" => 30,
        "tfo" => o.get("number").and_then(Value::as_u64).unwrap_or(34),
        _ => o["number"].as_u64().unwrap(),
    }
}

#[test]
fn every_fixture_matches_tshark() {
    let mut total = 0;
    let mut files = 0;
    for name in capture_fixtures() {
        let tsv = fixture(&format!("tshark/{name}.tsv"));
        assert!(
            tsv.exists(),
            "{name} has no tshark TSV: run fixtures/scripts/tshark-fields.sh"
        );
        total += check_file(&name, &tsv, &fixture(&name));
        files += 1;
    }
    assert!(files >= 10, "only {files} fixtures found");
    eprintln!("compared {total} fields over {files} fixtures");
}

#[test]
fn shared_captures_match_tshark() {
    let dir = fixture("tshark/shared");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("missing {}", dir.display());
    };
    let mut files = 0;
    for e in entries.flatten() {
        let tsv_name = e.file_name().to_string_lossy().into_owned();
        let Some(capture_name) = tsv_name.strip_suffix(".tsv") else {
            continue;
        };
        let Some(capture) = shared_capture(capture_name) else {
            eprintln!("skipping {capture_name}: ../shared/captures is not beside this checkout");
            continue;
        };
        // A file libpcap cannot read to the end still has its frames compared.
        check_file(capture_name, &e.path(), &capture);
        files += 1;
    }
    eprintln!("compared {files} shared captures");
}
