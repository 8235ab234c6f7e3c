//! tcpdump's letters on packet lines: -t…-ttttt, -v, -x/-X/-A. The
//! expected strings below were read off `tcpdump -r` for the same fixture
//! (tcpdump 4.99.3); where tcpdump is installed, every fixture is also
//! compared with tcpdump's own output, frame by frame (in CI it must be).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn lines(o: &std::process::Output) -> Vec<String> {
    stdout(o).lines().map(str::to_string).collect()
}

/// synack's line for frame N (read with `-N`), without the number.
fn frame_line(args: &[&str], file: &str, n: u64) -> String {
    let mut argv = vec!["read", "-N"];
    argv.extend_from_slice(args);
    let o = run_path(&argv, &fixture(file));
    assert!(o.status.success(), "{}", stderr(&o));
    let prefix = format!("{n:5}  ");
    lines(&o)
        .into_iter()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("{file}: no frame {n}"))
}

fn refused(args: &[&str], needles: &[&str]) {
    let mut argv = vec!["read"];
    argv.extend_from_slice(args);
    argv.push("fixtures/ipv4-echo.pcap");
    let o = run(&argv);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    let errs: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("reading from file"))
        .collect();
    assert_eq!(errs.len(), 1, "{args:?}: {err}");
    for n in needles {
        assert!(errs[0].contains(n), "{args:?}: '{n}' not in {err}");
    }
    assert!(o.stdout.is_empty(), "{args:?}");
}

// ---------------------------------------------------------------- -v

#[test]
fn v_shows_the_ip_header_as_tcpdump() {
    // Record Route, both shapes (tcpdump -v: "options (NOP,RR 10.99.1.1, 0.0.0.0)").
    let l = frame_line(&["-v"], "ip-options.pcap", 1);
    assert!(
        l.contains(" IP (tos 0x0, ttl 64, id 23106, offset 0, flags [DF], proto TCP (6), length 72, options (NOP,RR 10.99.1.1, 0.0.0.0)) 10.99.1.1:42408 > 10.99.1.2:9999: Flags [S], cksum 0x3fd2 (correct), seq 0,"),
        "{l}"
    );
    let l = frame_line(&["-v"], "ip-options.pcap", 2);
    assert!(l.contains("options (RR 10.99.1.1, 10.99.1.2,,EOL))"), "{l}");
    // The Timestamp option (ping -T tsandaddr's reply).
    let l = frame_line(&["-v"], "checksums.pcap", 17);
    assert!(
        l.contains("(tos 0x0, ttl 64, id 25774, offset 0, flags [none], proto ICMP (1), length 120, options (timestamp TS{TS+ADDR 75463558@10.99.5.1 75463558@10.99.5.2 75463558@10.99.5.2 ^ 0@0.0.0.0}))"),
        "{l}"
    );
    // IPv6: flow label, hop limit, next header, payload length.
    let l = frame_line(&["-v"], "ipv6-echo.pcap", 1);
    assert!(
        l.contains(" IP6 (flowlabel 0x6c9c4, hlim 64, next-header TCP (6) payload length: 40) [::1]:60462 > [::1]:9999: Flags [S], cksum 0x0030 (unverified: offload), seq 0,"),
        "{l}"
    );
    // ECN in the TOS, as tcpdump (and not again at the end of the line).
    let l = frame_line(&["-v"], "ecn.pcap", 8);
    assert!(l.contains("(tos 0x3,CE, ttl 64,"), "{l}");
    assert!(!l.contains("length 1448, CE"), "{l}");
    // Without -v, none of it.
    let l = frame_line(&[], "ip-options.pcap", 1);
    assert!(!l.contains("tos 0x0") && !l.contains("cksum"), "{l}");
}

#[test]
fn v_checks_checksums_and_says_when_it_cannot() {
    let f = "checksums.pcap";
    let l = frame_line(&["-v"], f, 1);
    assert!(l.contains("Flags [S], cksum 0xb734 (correct),"), "{l}");
    assert!(!l.contains("bad cksum"), "{l}");
    let l = frame_line(&["-v"], f, 3);
    assert!(l.contains("cksum 0xb24a (incorrect -> 0xb34b)"), "{l}");
    let l = frame_line(&["-v"], f, 4);
    assert!(l.contains("length 44, bad cksum 1d00 (->1c01)!)"), "{l}");
    // The pseudo-header's partial sum that offload leaves: tcpdump says
    // "incorrect -> 0xab79"; it is not judged here.
    let l = frame_line(&["-v"], f, 5);
    assert!(l.contains("cksum 0x1ee7 (unverified: offload)"), "{l}");
    let l = frame_line(&["-v"], f, 6);
    assert!(
        l.contains("length 44, cksum 0 (unverified: offload))"),
        "{l}"
    );
    // Loose source route: the TCP checksum covers the final destination.
    let l = frame_line(&["-v"], f, 9);
    assert!(l.contains("options (LSRR 10.99.5.77,NOP))"), "{l}");
    assert!(l.contains("cksum 0x9f73 (correct)"), "{l}");
    let l = frame_line(&["-v"], f, 12);
    assert!(l.contains("cksum 0xba75 (incorrect -> 0xbb74)"), "{l}");
    let l = frame_line(&["-v"], f, 13);
    assert!(l.contains("cksum 0xfb5e (unverified: offload)"), "{l}");
    // Loopback: every TCP checksum is the partial sum.
    let l = frame_line(&["-v"], "ipv4-echo.pcap", 1);
    assert!(l.contains("cksum 0xfe30 (unverified: offload)"), "{l}");
    // Cut by the snaplen: the partial sum is still recognised; a cut
    // segment with any other sum cannot be judged.
    let l = frame_line(&["-v"], "snaplen-60.pcap", 1);
    assert!(l.contains("cksum 0xfe30 (unverified: offload)"), "{l}");
    let l = frame_line(&["-v"], "snaplen-40.pcap", 1);
    assert!(!l.contains("cksum"), "no checksum field captured: {l}");
}

#[test]
fn v_in_json_carries_the_checksums() {
    let o = run_path(&["read", "--json", "-v"], &fixture("checksums.pcap"));
    let recs = json_lines(&o);
    let frame = |n: u64| {
        recs.iter()
            .find(|r| r["type"] == "packet" && r["frame"] == n)
            .unwrap_or_else(|| panic!("frame {n}"))
            .clone()
    };
    let f1 = frame(1);
    assert_eq!(
        (
            &f1["ip_checksum_ok"],
            &f1["tcp_checksum_ok"],
            &f1["ip_length"],
            &f1["tos"]
        ),
        (
            &true.into(),
            &true.into(),
            &serde_json::json!(44),
            &serde_json::json!(0)
        )
    );
    assert_eq!(f1["ip_flags"], serde_json::json!(["DF"]));
    assert_eq!(f1["tcp_checksum"], serde_json::json!(0xb734));
    assert_eq!(frame(3)["tcp_checksum_ok"], false);
    assert_eq!(frame(4)["ip_checksum_ok"], false);
    let f5 = frame(5);
    assert!(f5["tcp_checksum_ok"].is_null());
    assert_eq!(f5["tcp_checksum_unverified"], "offload");
    assert_eq!(frame(12)["tcp_checksum_ok"], false);
    assert_eq!(frame(11)["flow_label"], serde_json::json!(0xadb02));
    assert!(frame(11).get("ip_checksum_ok").is_none(), "IPv6 has none");
    // Without -v the records are as before.
    let plain = json_lines(&run_path(&["read", "--json"], &fixture("checksums.pcap")));
    assert!(plain.iter().all(|r| r.get("tcp_checksum_ok").is_none()));
}

// ---------------------------------------------------------------- -X -x -A

#[test]
fn x_dumps_from_the_ip_header_as_tcpdump() {
    let o = run_path(&["read", "-X", "-c", "1"], &fixture("ipv4-echo.pcap"));
    let l = lines(&o);
    assert_eq!(
        &l[1..5],
        [
            "\t0x0000:  4500 003c efcc 4000 4006 4ced 7f00 0001  E..<..@.@.L.....",
            "\t0x0010:  7f00 0001 bbf4 270f 7378 25a4 0000 0000  ......'.sx%.....",
            "\t0x0020:  a002 ffd7 fe30 0000 0204 ffd7 0402 080a  .....0..........",
            "\t0x0030:  29cf b2ee 0000 0000 0103 030a            )...........",
        ]
    );
    let o = run_path(&["read", "-XX", "-c", "1"], &fixture("ipv4-echo.pcap"));
    assert_eq!(
        lines(&o)[1],
        "\t0x0000:  0000 0000 0000 0000 0000 0000 0800 4500  ..............E."
    );
    let o = run_path(&["read", "-x", "-c", "1"], &fixture("ipv4-echo.pcap"));
    assert_eq!(lines(&o)[4], "\t0x0030:  29cf b2ee 0000 0000 0103 030a");
}

#[test]
fn payload_never_reaches_the_terminal_raw() {
    // Frame 7 carries ESC[31mred ESC[0m BEL CR LF z DEL 0xff.
    for flag in ["-X", "-A", "-XX", "-AA", "-x"] {
        let o = run_path(&["read", flag], &fixture("checksums.pcap"));
        assert!(o.status.success());
        assert!(
            o.stdout
                .iter()
                .all(|&b| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80),
            "{flag}: a control byte reached stdout"
        );
        assert!(!o.stdout.contains(&0x1b), "{flag}: ESC reached stdout");
    }
    let o = run_path(&["read", "-X", "-N"], &fixture("checksums.pcap"));
    let text = stdout(&o);
    let after7 = text.split_once("\n    8  ").unwrap().0;
    // As tcpdump -X prints frame 7.
    assert!(
        after7.ends_with(
            "\t0x0020:  5018 faf0 bc88 0000 1b5b 3331 6d72 6564  P........[31mred\n\t0x0030:  1b5b 306d 070d 0a7a 7fff                 .[0m...z.."
        ),
        "{after7}"
    );
    // tcpdump -A: printable ASCII, space, tab and newline as they are (the
    // CR before the LF dropped), everything else a dot.
    let o = run_path(&["read", "-A", "-N"], &fixture("checksums.pcap"));
    let text = stdout(&o);
    assert!(text.contains("P........[31mred.[0m.\nz..\n"), "{text}");
}

#[test]
fn x_in_json_is_hex() {
    let recs = json_lines(&run_path(
        &["read", "--json", "-X", "-c", "4"],
        &fixture("ipv4-echo.pcap"),
    ));
    assert_eq!(recs[3]["payload_hex"], "68656c6c6f", "hello");
    assert_eq!(recs[0]["payload_hex"], "");
    assert!(recs[0].get("frame_hex").is_none());
    let recs = json_lines(&run_path(
        &["read", "--json", "-XX", "-c", "1"],
        &fixture("ipv4-echo.pcap"),
    ));
    let hex = recs[0]["frame_hex"].as_str().unwrap();
    assert_eq!(hex.len(), 74 * 2);
    assert!(hex.starts_with("0000000000000000000000000800450000"));
}

// ---------------------------------------------------------------- -t

#[test]
fn t_letters_write_time_as_tcpdump() {
    let first = |args: &[&str], file: &str, n: usize| -> String {
        let mut argv = vec!["read"];
        argv.extend_from_slice(args);
        let o = run_path(&argv, &fixture(file));
        lines(&o)[n].clone()
    };
    // Read off tcpdump -r fixtures/keepalive.pcap with TZ=UTC.
    assert!(first(&["-t"], "keepalive.pcap", 0).starts_with("IP 10.99.2.1:49262 > "));
    assert!(first(&["-tt"], "keepalive.pcap", 0).starts_with("1795319009.822643 IP "));
    assert!(first(&["-ttt"], "keepalive.pcap", 1).starts_with(" 00:00:00.000059 IP "));
    assert!(first(&["-tttt"], "keepalive.pcap", 0).starts_with("2026-11-22 03:43:29.822643 IP "));
    assert!(first(&["-ttttt"], "keepalive.pcap", 2).starts_with(" 00:00:00.000079 IP "));
    // A nanosecond file shown in microseconds: the span is between the
    // microseconds shown (tcpdump -ttt: 00:00:00.000021), and in full with --nano.
    assert!(first(&["-ttt"], "nano.pcap", 1).starts_with(" 00:00:00.000021 IP "));
    assert!(first(&["-ttt", "--nano"], "nano.pcap", 1).starts_with(" 00:00:00.000020641 IP "));
    // --time keeps its own styles.
    assert!(first(&["--time", "delta"], "nano.pcap", 1).starts_with("0.000021 IP "));
}

#[test]
fn letters_that_cannot_go_together_are_refused() {
    refused(&["-tt", "--time", "utc"], &["-tt", "--time"]);
    refused(&["-tttttt"], &["-tttttt", "-ttttt"]);
    refused(&["-tt", "--json"], &["-tt", "--json"]);
    refused(&["-v", "--summary"], &["-v", "--summary"]);
    refused(&["-X", "--view", "ladder"], &["-X", "--view ladder"]);
    refused(&["-A", "--view", "mermaid"], &["-A", "--view mermaid"]);
    // live and demo refuse before capturing anything.
    for cmd in ["live", "demo"] {
        let o = run(&[cmd, "-tt", "--time", "utc"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("-tt and --time"), "{cmd}");
    }
}

// ---------------------------------------------------------------- tcpdump itself

fn tcpdump_available() -> bool {
    let ok = Command::new("tcpdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have tcpdump (.ci/run installs it)"
        );
        eprintln!("tcpdump is not installed: comparison skipped");
    }
    ok
}

fn tcpdump(args: &[&str], file: &Path) -> Vec<u8> {
    let o = Command::new("tcpdump")
        .env("TZ", "UTC")
        .arg("-n")
        .args(args)
        .arg("-r")
        .arg(file)
        .output()
        .expect("run tcpdump");
    o.stdout
}

fn synack_out(args: &[&str], file: &Path) -> Vec<u8> {
    let mut argv = vec!["read"];
    argv.extend_from_slice(args);
    run_path(&argv, file).stdout
}

/// A packet line starts with its epoch timestamp (`-tt`).
fn is_packet_line(l: &[u8]) -> bool {
    let digits = l.iter().take_while(|b| b.is_ascii_digit()).count();
    digits >= 9 && l.get(digits) == Some(&b'.')
}

/// Each frame's (first line, the lines after it) in `-tt` output; synack's
/// own event lines (`── #N …`) and closing summary are left out.
fn frames(out: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut res: Vec<(String, Vec<u8>)> = Vec::new();
    let mut skipping = false;
    for line in out.split_inclusive(|&b| b == b'\n') {
        if is_packet_line(line) {
            let text = String::from_utf8_lossy(line).trim_end().to_string();
            skipping = text.contains(" ── #");
            if !skipping {
                res.push((text, Vec::new()));
            }
        } else if line.starts_with(b"summary: ") || skipping {
            continue;
        } else if let Some(last) = res.last_mut() {
            last.1.extend_from_slice(line);
        }
    }
    // synack ends with a blank line before its summary.
    if let Some(last) = res.last_mut() {
        if last.1.ends_with(b"\n\n") || last.1 == b"\n" {
            last.1.pop();
        }
    }
    res
}

fn compared_fixtures() -> Vec<String> {
    // Tunnels: tcpdump words each layer its own way (MPLS labels in
    // parentheses, VXLAN's inner packet on a line of its own) and -v shows
    // the outer IP header; synack writes the path with `›` and -v shows the
    // innermost header. Their layers are compared with tshark's instead
    // (tests/tshark_crosscheck.rs).
    capture_fixtures()
        .into_iter()
        .filter(|n| !n.starts_with("tunnel-"))
        .collect()
}

#[test]
fn dumps_match_tcpdump_on_every_fixture() {
    if !tcpdump_available() {
        return;
    }
    let mut compared = 0;
    for name in compared_fixtures() {
        let file = fixture(&name);
        for flag in ["-X", "-XX", "-x", "-xx", "-A", "-AA"] {
            let theirs = frames(&tcpdump(&["-tt", flag], &file));
            let ours = frames(&synack_out(&["-tt", flag], &file));
            assert_eq!(theirs.len(), ours.len(), "{name} {flag}: frame count");
            for (i, ((tline, t), (_, o))) in theirs.iter().zip(&ours).enumerate() {
                // tcpdump dumps from the link header when its printer gave
                // up on a cut header ("[|tcp]"); synack keeps to -X's rule.
                if tline.contains("[|") {
                    continue;
                }
                assert_eq!(
                    String::from_utf8_lossy(o),
                    String::from_utf8_lossy(t),
                    "{name} {flag} frame {}",
                    i + 1
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "only {compared} dumps compared");
    eprintln!("{compared} dumps identical to tcpdump's");
}

fn timestamp_of(line: &str) -> &str {
    // Everything before the first protocol word.
    [
        "IP ",
        "IP6 ",
        "ARP",
        "ethertype",
        "ifindex",
        "lo ",
        "vA ",
        "vB ",
    ]
    .iter()
    .filter_map(|w| line.find(w))
    .min()
    .map_or(line, |i| &line[..i])
}

#[test]
fn timestamps_match_tcpdump_on_every_fixture() {
    if !tcpdump_available() {
        return;
    }
    let mut compared = 0;
    for name in compared_fixtures() {
        let file = fixture(&name);
        for nano in [false, true] {
            for t in ["-t", "-tt", "-ttt", "-tttt", "-ttttt"] {
                let mut args = vec![t];
                if nano {
                    args.push("--nano");
                }
                let theirs = String::from_utf8_lossy(&tcpdump(&args, &file)).into_owned();
                let ours = String::from_utf8_lossy(&synack_out(&args, &file)).into_owned();
                let ours: Vec<&str> = ours
                    .lines()
                    .filter(|l| {
                        !l.is_empty()
                            && !l.contains("── #")
                            && !l.starts_with("summary: ")
                            && !l.starts_with("pressure: ")
                    })
                    .collect();
                let theirs: Vec<&str> = theirs.lines().collect();
                assert_eq!(theirs.len(), ours.len(), "{name} {args:?}: line count");
                for (a, b) in theirs.iter().zip(&ours) {
                    assert_eq!(
                        timestamp_of(b),
                        timestamp_of(a),
                        "{name} {args:?}\n  tcpdump: {a}\n  synack:  {b}"
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 5000, "only {compared} timestamps compared");
    eprintln!("{compared} timestamps identical to tcpdump's");
}

/// The parenthesised IP header after "IP " or "IP6 ".
fn ip_part(line: &str) -> Option<&str> {
    let start = line
        .find("IP (")
        .map(|i| i + 3)
        .or_else(|| line.find("IP6 (").map(|i| i + 4))?;
    let mut depth = 0;
    for (i, c) in line[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&line[start..=start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `cksum 0x1234 (…)` after the TCP flags.
fn tcp_cksum(line: &str) -> Option<&str> {
    let at = line.find("cksum 0x")?;
    let end = line[at..].find(')')?;
    Some(&line[at..=at + end])
}

#[test]
fn v_matches_tcpdump_on_every_fixture() {
    if !tcpdump_available() {
        return;
    }
    let (mut headers, mut sums) = (0, 0);
    for name in compared_fixtures() {
        let file = fixture(&name);
        // tcpdump -v breaks the line after the IP header; synack does not.
        let theirs =
            String::from_utf8_lossy(&tcpdump(&["-tt", "-v"], &file)).replace("\n    ", " ");
        let theirs = frames(theirs.as_bytes());
        let ours = frames(&synack_out(&["-tt", "-v"], &file));
        assert_eq!(theirs.len(), ours.len(), "{name}: frame count");
        for ((t, _), (o, _)) in theirs.iter().zip(&ours) {
            assert_eq!(timestamp_of(o), timestamp_of(t), "{name}");
            if let Some(theirs_ip) = ip_part(t) {
                let ours_ip = ip_part(o).unwrap_or_else(|| panic!("{name}: no IP part: {o}"));
                // An IPv4 header checksum of 0 is offload's, not judged here.
                let theirs_ip = if ours_ip.contains(", cksum 0 (unverified: offload)") {
                    let cut = theirs_ip
                        .find(", bad cksum 0 (->")
                        .expect("tcpdump calls it bad");
                    format!("{}, cksum 0 (unverified: offload))", &theirs_ip[..cut])
                } else {
                    theirs_ip.to_string()
                };
                assert_eq!(ours_ip, theirs_ip, "{name}\n  tcpdump: {t}\n  synack:  {o}");
                headers += 1;
            }
            match (tcp_cksum(t), tcp_cksum(o)) {
                (Some(a), Some(b)) if a == b => {}
                // The offload partial sum: tcpdump says "incorrect -> …".
                (Some(a), Some(b)) if b.ends_with("(unverified: offload)") => {
                    assert_eq!(a[..12], b[..12], "{name}: same field\n  {t}\n  {o}");
                    assert!(a.contains("(incorrect -> 0x"), "{name}: {t}");
                }
                // tcpdump says nothing of a segment not all captured.
                (None, Some(b)) if b.contains("(unverified: ") => {
                    assert!(o.contains("[cut by snaplen"), "{name}: {o}");
                }
                (None, None) => continue,
                (a, b) => panic!("{name}: tcpdump {a:?}, synack {b:?}\n  {t}\n  {o}"),
            }
            sums += 1;
        }
    }
    assert!(
        headers > 500 && sums > 500,
        "only {headers} headers, {sums} checksums"
    );
    eprintln!("{headers} IP headers and {sums} TCP checksums compared with tcpdump -v");
}

#[test]
fn sll2_names_the_interface_as_tcpdump_does() {
    if !tcpdump_available() {
        return;
    }
    // tcpdump and synack both ask this machine for ifindex 1's name (lo).
    let f = fixture("any-sll2.pcap");
    for (ours, theirs) in [(&["read"][..], &[][..]), (&["read", "-e"][..], &["-e"][..])] {
        let mine = stdout(&run_path(ours, &f));
        let want = String::from_utf8_lossy(&tcpdump(theirs, &f)).into_owned();
        let (m, w) = (mine.lines().next().unwrap(), want.lines().next().unwrap());
        // The timestamp and the interface and direction columns, as tcpdump prints them.
        let upto = |l: &str, stop: &str| l[..l.find(stop).unwrap()].to_string();
        let stop = if ours.len() > 1 {
            "00:00:00:00:00:00"
        } else {
            "IP "
        };
        assert_eq!(upto(m, stop), upto(w, stop), "{m}\n{w}");
        assert!(m.contains(" lo    In  "), "{m}");
    }
}

#[test]
fn interfaces_lists_as_tcpdump_d() {
    if !tcpdump_available() {
        return;
    }
    let ours = stdout(&run(&["interfaces"]));
    let theirs = Command::new("tcpdump").arg("-D").output().unwrap();
    assert_eq!(ours, String::from_utf8_lossy(&theirs.stdout));
    assert!(ours.contains("[none]") || !ours.contains("[]"), "{ours}");
}
