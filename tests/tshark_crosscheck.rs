//! Every header field synack reports, checked against tshark's reading of the
//! same fixture. The TSVs in fixtures/tshark/ were written once by
//! fixtures/scripts/tshark-fields.sh (tshark 4.0); this test needs no tshark.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;

type Row = HashMap<String, String>;

fn read_tsv(path: &std::path::Path) -> Vec<Row> {
    // Lossy: tshark copies packet comments into the expert column, and
    // hostile-strings.pcapng's are not all UTF-8 (that column is not compared).
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8_lossy(&bytes);
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
    // Said in the summary, or (nothing read at all: no summary) on stderr.
    let input_errors = records
        .last()
        .and_then(|s| s["errors"].as_array())
        .map_or(0, Vec::len)
        + usize::from(!out.status.success() && stderr(&out).starts_with("synack: "));
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
        check_layers(&mut c, p, row);
        if p.get("flags").is_some_and(Value::is_array) {
            check_tcp(&mut c, p, row);
        } else if row.contains_key("udp.srcport") && p["protocol"] == "udp" {
            // Outer UDP headers of VXLAN and Geneve come first in tshark's list.
            let outer_udp = encap(p)
                .iter()
                .filter(|e| e["kind"] == "vxlan" || e["kind"] == "geneve")
                .count();
            c.eq(
                "udp src_port",
                get_u64(p, "src_port"),
                nth(row, "udp.srcport", outer_udp),
            );
            c.eq(
                "udp dst_port",
                get_u64(p, "dst_port"),
                nth(row, "udp.dstport", outer_udp),
            );
        }
    }
    assert!(
        c.checked > 0 || input_errors > 0,
        "{name}: nothing compared"
    );
    c.checked
}

/// The `encap` array of a packet record (empty when there is none).
fn encap(p: &Value) -> Vec<Value> {
    p.get("encap")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The `i`-th of a field's comma-joined occurrences (tshark lists every
/// layer, outermost first).
fn nth(row: &Row, field: &str, i: usize) -> Option<String> {
    row.get(field)?
        .split(',')
        .nth(i)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// One IP header as tshark lists it: the `ip.version` column names the
/// families in layer order; each family's fields are counted separately.
struct TsharkIp {
    version: u8,
    src: Option<String>,
    dst: Option<String>,
    ttl: Option<String>,
    ecn: Option<String>,
    id: Option<String>,
    frag_offset: Option<String>,
}

fn tshark_ip_layers(row: &Row) -> Vec<TsharkIp> {
    let (mut n4, mut n6) = (0, 0);
    let mut out = Vec::new();
    for v in row.get("ip.version").map_or("", String::as_str).split(',') {
        match v {
            "4" => {
                out.push(TsharkIp {
                    version: 4,
                    src: nth(row, "ip.src", n4),
                    // A source-routed datagram: tshark's ip.dst is the route's
                    // final address, ip.cur_rt the header's field, which synack
                    // reports (as tcpdump does).
                    dst: nth(row, "ip.cur_rt", n4).or_else(|| nth(row, "ip.dst", n4)),
                    ttl: nth(row, "ip.ttl", n4),
                    ecn: nth(row, "ip.dsfield.ecn", n4),
                    id: nth(row, "ip.id", n4),
                    frag_offset: nth(row, "ip.frag_offset", n4),
                });
                n4 += 1;
            }
            "6" => {
                out.push(TsharkIp {
                    version: 6,
                    src: nth(row, "ipv6.src", n6),
                    dst: nth(row, "ipv6.dst", n6),
                    ttl: nth(row, "ipv6.hlim", n6),
                    ecn: nth(row, "ipv6.tclass.ecn", n6),
                    id: None,
                    frag_offset: None,
                });
                n6 += 1;
            }
            _ => {}
        }
    }
    out
}

fn ecn_name(bits: &str) -> String {
    match num(bits) {
        0 => "Not-ECT",
        1 => "ECT(1)",
        2 => "ECT(0)",
        _ => "CE",
    }
    .to_string()
}

/// MACs, VLAN tags and IP headers, layer by layer: synack's outer layers
/// (its `encap` path) against tshark's first occurrences, its innermost
/// header against the occurrence after them. An ICMP error's quoted header
/// comes after all of synack's layers and is not compared.
fn check_layers(c: &mut Checker<'_>, p: &Value, row: &Row) {
    let path = encap(p);
    // Ethernet addresses: the link's (when it is Ethernet), then the tunnels'.
    let mut macs: Vec<(Option<String>, Option<String>)> = Vec::new();
    if p["link"] == "ethernet" {
        macs.push((get_str(p, "src_mac"), get_str(p, "dst_mac")));
    }
    for e in path.iter().filter(|e| e["kind"] == "ethernet") {
        macs.push((get_str(e, "src_mac"), get_str(e, "dst_mac")));
    }
    for (i, (src, dst)) in macs.into_iter().enumerate() {
        c.eq(&format!("src_mac #{i}"), src, nth(row, "eth.src", i));
        c.eq(&format!("dst_mac #{i}"), dst, nth(row, "eth.dst", i));
    }
    // VLAN tags in every layer; tshark names 802.1ad tags ieee8021ad.id.
    let tags: Vec<(u64, u64)> = path
        .iter()
        .filter(|e| e["kind"] == "vlan")
        .map(|e| (e["tpid"].as_u64().unwrap(), e["id"].as_u64().unwrap()))
        .collect();
    let join = |qinq: bool| -> String {
        let ids: Vec<String> = tags
            .iter()
            .filter(|(tpid, _)| (*tpid == 0x88a8) == qinq)
            .map(|(_, id)| id.to_string())
            .collect();
        ids.join(",")
    };
    c.eq("vlan", Some(join(false)), row.get("vlan.id").cloned());
    c.eq(
        "qinq outer vlan",
        Some(join(true)),
        row.get("ieee8021ad.id").cloned(),
    );
    // The `vlan` field (the link's own tags) must be where the path starts.
    if let Some(link_tags) = p.get("vlan").and_then(Value::as_array) {
        let ids: Vec<u64> = link_tags.iter().filter_map(Value::as_u64).collect();
        let first: Vec<u64> = tags.iter().take(ids.len()).map(|(_, id)| *id).collect();
        assert_eq!(ids, first, "{} frame {}: vlan vs encap", c.file, c.frame);
    }
    let theirs = tshark_ip_layers(row);
    let outer: Vec<&Value> = path.iter().filter(|e| e["kind"] == "ip").collect();
    for (i, (ours, t)) in outer.iter().zip(&theirs).enumerate() {
        c.eq(
            &format!("outer ip_version #{i}"),
            get_u64(ours, "ip_version"),
            Some(t.version.to_string()),
        );
        c.eq(
            &format!("outer src_ip #{i}"),
            get_str(ours, "src_ip"),
            t.src.clone(),
        );
        c.eq(
            &format!("outer dst_ip #{i}"),
            get_str(ours, "dst_ip"),
            t.dst.clone(),
        );
        c.eq(
            &format!("outer ttl #{i}"),
            get_u64(ours, "ttl"),
            t.ttl.clone(),
        );
        c.eq(
            &format!("outer ecn #{i}"),
            get_str(ours, "ecn"),
            t.ecn.as_deref().map(ecn_name),
        );
    }
    let Some(t) = theirs.get(outer.len()) else {
        return;
    };
    if p.get("ip_version").is_none() {
        // tshark read an IP header synack did not (it says why in `error`).
        assert!(
            p.get("error").is_some(),
            "{} frame {}: tshark has an IPv{} header, synack none and no error",
            c.file,
            c.frame,
            t.version
        );
        return;
    }
    c.eq(
        "ip_version",
        get_u64(p, "ip_version"),
        Some(t.version.to_string()),
    );
    c.eq("src_ip", get_str(p, "src_ip"), t.src.clone());
    c.eq("dst_ip", get_str(p, "dst_ip"), t.dst.clone());
    c.eq("ttl", get_u64(p, "ttl"), t.ttl.clone());
    c.eq("ecn", get_str(p, "ecn"), t.ecn.as_deref().map(ecn_name));
    if t.version == 4 {
        c.eq(
            "ip_id",
            get_u64(p, "ip_id"),
            t.id.as_deref().map(|s| num(s).to_string()),
        );
        let ours_off = p
            .pointer("/fragment/offset")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        c.eq(
            "fragment offset",
            Some(ours_off.to_string()),
            // tshark counts 8-byte units; synack reports bytes.
            t.frag_offset.as_deref().map(|s| (num(s) * 8).to_string()),
        );
    }
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
        // What follows an EOL is padding: tshark calls each zero byte of it
        // another EOL, synack stops at the first.
        let theirs: Vec<&str> = kinds.split(',').collect();
        let end = theirs
            .iter()
            .position(|k| *k == "0")
            .map_or(theirs.len(), |i| i + 1);
        c.eq(
            "option kinds",
            Some(ours.join(",")),
            Some(theirs[..end].join(",")),
        );
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

/// The tunnel identifiers (which the standard TSVs do not hold), checked
/// against tshark run now on every capture where synack found an
/// encapsulation: MPLS labels, PPPoE sessions, GRE keys and sequence
/// numbers, ERSPAN versions and sessions, VXLAN and Geneve VNIs, layer by
/// layer. Skipped (with a note) where tshark is not installed.
#[test]
fn tunnel_identifiers_match_tshark() {
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: tshark is not installed");
        return;
    }
    let mut captures: Vec<(String, std::path::PathBuf)> = capture_fixtures()
        .into_iter()
        .map(|n| (n.clone(), fixture(&n)))
        .collect();
    if let Ok(entries) = std::fs::read_dir(fixture("tshark/shared")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let name = name.trim_end_matches(".tsv").to_string();
            match shared_capture(&name) {
                Some(p) => captures.push((name, p)),
                None => {
                    eprintln!("skipping {name}: ../shared/captures is not beside this checkout")
                }
            }
        }
    }
    // (synack's JSON kind, its field, tshark's field, how tshark writes it → ours)
    type Field = (&'static str, &'static str, &'static str, fn(&str) -> u64);
    let dec: fn(&str) -> u64 = |s| s.parse().unwrap();
    let fields: [Field; 11] = [
        ("mpls", "label", "mpls.label", dec),
        ("mpls", "ttl", "mpls.ttl", dec),
        ("pppoe", "session", "pppoe.session_id", num),
        ("gre", "protocol", "gre.proto", num),
        ("gre", "key", "gre.key", num),
        ("gre", "seq", "gre.sequence_number", dec),
        ("erspan", "session", "erspan.spanid", dec),
        ("erspan", "vlan", "erspan.vlan", dec),
        ("vxlan", "vni", "vxlan.vni", dec),
        ("geneve", "vni", "geneve.vni", num),
        ("geneve", "protocol", "geneve.proto_type", num),
    ];
    let (mut files, mut checked) = (0, 0);
    for (name, path) in captures {
        let out = run_path(&["read", "--json"], &path);
        let packets: Vec<Value> = json_lines(&out)
            .into_iter()
            .filter(|r| r["type"] == "packet" && r.get("encap").is_some())
            .collect();
        if packets.is_empty() {
            continue;
        }
        let mut cmd = std::process::Command::new("tshark");
        cmd.arg("-r")
            .arg(&path)
            .args([
                "-n",
                "-T",
                "fields",
                "-E",
                "occurrence=a",
                "-E",
                "aggregator=,",
            ])
            .args(["-e", "frame.number", "-e", "erspan.version"]);
        for (_, _, f, _) in &fields {
            cmd.args(["-e", f]);
        }
        let t = cmd.output().expect("run tshark");
        let text = String::from_utf8_lossy(&t.stdout);
        let rows: std::collections::HashMap<u64, Vec<&str>> = text
            .lines()
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[0].parse().unwrap(), cols)
            })
            .collect();
        for p in &packets {
            let frame = p["frame"].as_u64().unwrap();
            let Some(cols) = rows.get(&frame) else {
                continue;
            };
            let path = encap(p);
            let of_kind = |kind: &str| {
                path.iter()
                    .filter(|e| e["kind"] == kind)
                    .collect::<Vec<_>>()
            };
            // ERSPAN's version field: 1 for type II, 2 for type III (type I has no header).
            let ours: Vec<String> = of_kind("erspan")
                .iter()
                .filter(|e| e["erspan_type"].as_u64() != Some(1))
                .map(|e| (e["erspan_type"].as_u64().unwrap() - 1).to_string())
                .collect();
            if !cols[1].is_empty() || !ours.is_empty() {
                assert_eq!(
                    ours.join(","),
                    cols[1],
                    "{name} frame {frame}: erspan.version"
                );
                checked += 1;
            }
            for (i, (kind, field, tfield, parse)) in fields.iter().enumerate() {
                let theirs: Vec<u64> = cols
                    .get(i + 2)
                    .unwrap_or(&"")
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(parse)
                    .collect();
                let ours: Vec<u64> = of_kind(kind)
                    .iter()
                    .filter_map(|e| e[field].as_u64())
                    .collect();
                assert_eq!(
                    ours, theirs,
                    "{name} frame {frame}: {kind}.{field} vs {tfield}"
                );
                checked += theirs.len();
            }
        }
        files += 1;
    }
    assert!(files >= 13, "only {files} captures with tunnels");
    eprintln!("compared {checked} tunnel identifiers over {files} captures");
}
