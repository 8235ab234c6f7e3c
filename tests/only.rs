//! `--only EXPR`: packets (or connections) chosen by what synack found.
//! Every choice is checked against the JSON records of the same capture,
//! so `--only` and the annotations cannot drift apart.

mod common;

use std::collections::BTreeSet;

use common::*;

/// Frames whose JSON events have one of `kinds`.
fn frames_with(fixture_name: &str, kinds: &[&str]) -> BTreeSet<u64> {
    let o = run(&["read", "--json", fixture(fixture_name).to_str().unwrap()]);
    json_lines(&o)
        .iter()
        .filter(|v| v["type"] == "packet")
        .filter(|v| {
            v["events"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| kinds.contains(&e["kind"].as_str().unwrap_or("")))
        })
        .map(|v| v["frame"].as_u64().unwrap())
        .collect()
}

/// Frame numbers of the lines `--only expr -N` prints.
fn lines_chosen(fixture_name: &str, expr: &str) -> BTreeSet<u64> {
    let o = run(&[
        "read",
        "-N",
        "--only",
        expr,
        fixture(fixture_name).to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn lines_are_the_frames_whose_events_have_the_name() {
    for (fixture_name, expr, kinds) in [
        (
            "retransmission.pcap",
            "retransmission",
            &[
                "retransmission",
                "fast_retransmission",
                "spurious_retransmission",
            ][..],
        ),
        ("zero-window.pcap", "zero_window", &["zero_window"][..]),
        (
            "keepalive.pcap",
            "tcp.analysis.keep_alive",
            &["keep_alive"][..],
        ),
        ("refused.pcap", "rst", &["reset", "refused"][..]),
        ("rst-abort.pcap", "rst", &["reset", "refused"][..]),
        ("close-client-first.pcap", "handshake", &["handshake"][..]),
        (
            "zero-window.pcap",
            "zero_window_probe, zero_window_probe_ack",
            &["zero_window_probe", "zero_window_probe_ack"][..],
        ),
    ] {
        let want = frames_with(fixture_name, kinds);
        assert!(
            !want.is_empty(),
            "{fixture_name} has no {kinds:?}: a useless case"
        );
        assert_eq!(
            lines_chosen(fixture_name, expr),
            want,
            "{fixture_name} --only {expr}"
        );
    }
}

#[test]
fn and_not_narrow_the_choice() {
    // zero-window.pcap: zero windows, but none of them is also a retransmission.
    let zw = frames_with("zero-window.pcap", &["zero_window"]);
    assert_eq!(
        lines_chosen("zero-window.pcap", "zero_window and not handshake"),
        zw
    );
    assert!(lines_chosen("zero-window.pcap", "zero_window and handshake").is_empty());
    let everything_but = lines_chosen("close-client-first.pcap", "not handshake");
    let hs = frames_with("close-client-first.pcap", &["handshake"]);
    assert!(everything_but.is_disjoint(&hs));
    assert!(!everything_but.is_empty());
}

#[test]
fn the_summary_lists_the_connections_that_had_one() {
    // Connections of many kinds, read as one run: only those with a RST stay.
    let files: Vec<String> = [
        "close-client-first.pcap",
        "refused.pcap",
        "rst-abort.pcap",
        "keepalive-dead.pcap",
        "port-reuse.pcap",
    ]
    .iter()
    .map(|f| fixture(f).to_string_lossy().into_owned())
    .collect();
    let read = |extra: &[&str]| {
        let mut argv = vec!["read", "--json", "--summary"];
        argv.extend(extra);
        argv.extend(files.iter().map(String::as_str));
        run(&argv)
    };
    let with_rst: BTreeSet<u64> = json_lines(&read(&[]))
        .iter()
        .filter(|v| v["type"] == "connection")
        .filter(|v| {
            v["refused"] == true
                || v["resets"]["client"].as_u64() > Some(0)
                || v["resets"]["server"].as_u64() > Some(0)
        })
        .map(|v| v["conn"].as_u64().unwrap())
        .collect();
    let o = read(&["--only", "rst"]);
    let chosen: BTreeSet<u64> = json_lines(&o)
        .iter()
        .filter(|v| v["type"] == "connection")
        .map(|v| v["conn"].as_u64().unwrap())
        .collect();
    assert!(with_rst.len() >= 3, "{with_rst:?}");
    assert_eq!(chosen, with_rst);
}

#[test]
fn ladders_draw_only_the_connections_chosen_whole() {
    let f = fixture("port-reuse.pcap");
    let o = run(&[
        "read",
        "--view",
        "ladder",
        "--only",
        "port_reuse",
        f.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    // Only the second connection reused the ports; it is drawn whole, from its SYN.
    assert!(!text.contains("#1  client"), "{text}");
    assert!(text.contains("#2  client"), "{text}");
    assert!(
        text.contains("SYN") && text.contains("FIN,ACK") && text.contains("close 3/3"),
        "{text}"
    );
}

#[test]
fn pictures_draw_only_the_connections_chosen_whole() {
    let f = fixture("port-reuse.pcap");
    for view in ["svg", "graph"] {
        let o = run(&[
            "read",
            "--view",
            view,
            "--only",
            "port_reuse",
            f.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let svg = stdout(&o);
        // Only the second connection, drawn from its SYN.
        assert!(!svg.contains(r#"data-conn="1""#), "{view}: {svg}");
        assert!(svg.contains(r#"data-conn="2""#), "{view}: {svg}");
        if view == "svg" {
            assert!(svg.contains(">SYN seq=0<"), "{svg}");
        }
    }
}

#[test]
fn a_misspelt_name_lists_the_names() {
    let o = run(&[
        "read",
        "--only",
        "retransmision",
        "fixtures/port-reuse.pcap",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no such name 'retransmision'") && err.contains("zero_window"),
        "{err}"
    );
}
