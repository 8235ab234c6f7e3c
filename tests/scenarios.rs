//! The TCP lifecycle on real captures: each fixture in the "TCP lifecycle
//! scenarios" table of fixtures/README.md, its events and both endpoints'
//! states, checked frame by frame. The frame numbers and facts were read off
//! the captures with tshark and the kernel's own `ss` snapshots taken during
//! each capture (fixtures/ss/).

mod common;

use common::*;
use serde_json::Value;

struct Run {
    packets: Vec<Value>,
    connections: Vec<Value>,
    /// Frameless events ({"type":"event"}).
    events: Vec<Value>,
    summary: Value,
}

fn run(name: &str) -> Run {
    let out = run_path(&["read", "--json"], &fixture(name));
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let mut r = Run {
        packets: vec![],
        connections: vec![],
        events: vec![],
        summary: Value::Null,
    };
    for v in json_lines(&out) {
        match v["type"].as_str() {
            Some("packet") => r.packets.push(v),
            Some("connection") => r.connections.push(v),
            Some("event") => r.events.push(v),
            Some("summary") => r.summary = v,
            _ => {}
        }
    }
    r.connections.sort_by_key(|c| c["conn"].as_u64());
    r
}

impl Run {
    fn frame(&self, n: u64) -> &Value {
        self.packets
            .iter()
            .find(|p| p["frame"] == n)
            .unwrap_or_else(|| panic!("no frame {n}"))
    }

    /// Event kinds of a frame, e.g. ["close:2/3", "time_wait"].
    fn kinds(&self, n: u64) -> Vec<String> {
        self.frame(n)["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let k = e["kind"].as_str().unwrap().to_string();
                match (e.get("step"), e.get("of")) {
                    (Some(s), Some(Value::Null)) => format!("{k}:{s}"),
                    (Some(s), Some(of)) => format!("{k}:{s}/{of}"),
                    (Some(s), None) => format!("{k}:{s}"),
                    _ => k,
                }
            })
            .collect()
    }

    fn has(&self, n: u64, kind: &str) -> bool {
        self.kinds(n).iter().any(|k| k == kind)
    }

    fn states(&self, n: u64) -> (String, String) {
        let s = &self.frame(n)["states"];
        (
            s["client"].as_str().unwrap().to_string(),
            s["server"].as_str().unwrap().to_string(),
        )
    }

    fn conn(&self, id: u64) -> &Value {
        self.connections
            .iter()
            .find(|c| c["conn"] == id)
            .unwrap_or_else(|| panic!("no connection {id}"))
    }

    fn event_where(&self, n: u64, kind: &str) -> &Value {
        self.frame(n)["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("frame {n} has no {kind}: {:?}", self.kinds(n)))
    }
}

fn st(c: &str, s: &str) -> (String, String) {
    (c.to_string(), s.to_string())
}

fn assert_handshake(r: &Run, first: u64) {
    assert!(r.has(first, "handshake:1"), "{:?}", r.kinds(first));
    assert_eq!(r.states(first), st("SYN_SENT", "SYN_RCVD"));
    assert!(r.has(first + 1, "handshake:2"));
    assert_eq!(r.states(first + 1), st("ESTABLISHED", "SYN_RCVD"));
    assert!(r.has(first + 2, "handshake:3"));
    assert_eq!(r.states(first + 2), st("ESTABLISHED", "ESTABLISHED"));
}

#[test]
fn client_closes_first_four_way_client_holds_time_wait() {
    let r = run("close-client-first.pcap");
    assert_handshake(&r, 1);
    assert!(r.has(8, "close:1"));
    assert_eq!(r.states(8), st("FIN_WAIT_1", "CLOSE_WAIT"));
    assert!(r.has(9, "close:2/4"));
    assert_eq!(r.states(9), st("FIN_WAIT_2", "CLOSE_WAIT"));
    assert!(r.has(10, "close:3/4") && r.has(10, "time_wait"));
    assert_eq!(r.states(10), st("TIME_WAIT", "LAST_ACK"));
    assert!(r.has(11, "close:4/4"));
    assert_eq!(r.states(11), st("TIME_WAIT", "CLOSED"));
    let c = r.conn(1);
    assert_eq!(c["close"]["type"], "four_way");
    assert_eq!(c["close"]["first_fin"], "client");
    assert_eq!(c["time_wait"], "client");
    assert_eq!(c["conn_state"], "SF");
    assert_eq!(c["handshake"]["complete"], true);
    // TIME_WAIT ends 2MSL (60 s) after the frame that started it.
    let tw = r.event_where(10, "time_wait");
    let start = chrono::DateTime::parse_from_rfc3339(r.frame(10)["ts"].as_str().unwrap()).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(tw["until"].as_str().unwrap()).unwrap();
    assert_eq!((until - start).num_seconds(), 60);
    assert!(r.events.iter().any(|e| e["kind"] == "time_wait_continues"));
}

#[test]
fn server_closes_first_server_holds_time_wait() {
    let r = run("close-server-first.pcap");
    assert_handshake(&r, 1);
    assert!(r.has(8, "close:1"));
    assert_eq!(r.states(8), st("CLOSE_WAIT", "FIN_WAIT_1"));
    assert_eq!(r.states(9), st("CLOSE_WAIT", "FIN_WAIT_2"));
    assert_eq!(r.states(10), st("LAST_ACK", "TIME_WAIT"));
    assert_eq!(r.states(11), st("CLOSED", "TIME_WAIT"));
    let c = r.conn(1);
    assert_eq!(c["close"]["first_fin"], "server");
    assert_eq!(c["time_wait"], "server");
}

#[test]
fn three_packet_close() {
    let r = run("close-three-way.pcap");
    assert!(r.has(8, "close:1"));
    assert!(r.has(9, "close:2/3"), "{:?}", r.kinds(9));
    assert_eq!(r.states(9), st("TIME_WAIT", "LAST_ACK"));
    assert!(r.has(10, "close:3/3"));
    assert_eq!(r.states(10), st("TIME_WAIT", "CLOSED"));
    assert_eq!(r.conn(1)["close"]["type"], "three_way");
}

#[test]
fn half_close_counts_the_bytes_sent_after_the_fin() {
    let r = run("half-close.pcap");
    assert!(r.has(6, "close:1"));
    assert!(r.has(7, "half_close"), "{:?}", r.kinds(7));
    assert_eq!(r.states(9), st("FIN_WAIT_2", "CLOSE_WAIT"));
    let c = r.conn(1);
    assert_eq!(c["close"]["half_close"], true);
    assert_eq!(c["close"]["half_close_bytes"], 300);
    assert_eq!(c["close"]["type"], "four_way");
    assert_eq!(c["time_wait"], "client");
}

/// The states one side went through at a frame (JSON `transitions`), or
/// just where it stood when it did not change.
fn path(r: &Run, frame: u64, side: &str) -> Vec<String> {
    let p = r.frame(frame);
    match p["transitions"][side].as_array() {
        Some(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        None => vec![p["states"][side].as_str().unwrap().to_string()],
    }
}

#[test]
fn crossed_fins_take_both_sides_through_closing_to_time_wait() {
    // Checked by hand against fixtures/ss/simultaneous-close.txt: each side
    // FIN-WAIT-1, then CLOSING (holding the peer's FIN, its own not yet
    // acknowledged), then TIME-WAIT.
    let r = run("simultaneous-close.pcap");
    assert!(r.has(10, "close:1"));
    // Frame 11, the server's FIN, acknowledges only up to before the
    // client's FIN (ack 6 < 7): the server had not got it when it sent this.
    assert_eq!(r.frame(11)["events"][0]["variant"], "simultaneous");
    assert_eq!(path(&r, 10, "server"), ["ESTABLISHED"]);
    assert_eq!(path(&r, 11, "client"), ["FIN_WAIT_1", "CLOSING"]);
    assert_eq!(path(&r, 11, "server"), ["ESTABLISHED", "FIN_WAIT_1"]);
    // Frame 13, the server's ACK of the client's FIN, proves it got it (after
    // sending its own FIN), then the client's ACK of its FIN (frame 12).
    assert_eq!(
        path(&r, 13, "server"),
        ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]
    );
    assert_eq!(path(&r, 13, "client"), ["CLOSING", "TIME_WAIT"]);
    let c = r.conn(1);
    assert_eq!(c["close"]["type"], "simultaneous");
    assert_eq!(c["time_wait"], "both");
    assert_eq!(c["states"]["client"], "TIME_WAIT");
    assert_eq!(c["states"]["server"], "TIME_WAIT");
}

#[test]
fn a_fin_lost_after_the_capture_point_never_moves_its_receiver() {
    // fixtures/ss/simultaneous-close-fin-lost.txt: the server stays ESTAB
    // (it never saw frame 8), is FIN-WAIT-2 after 10, TIME-WAIT on 11; only
    // the client goes through CLOSING.
    let r = run("simultaneous-close-fin-lost.pcap");
    assert_eq!(path(&r, 8, "server"), ["ESTABLISHED"]);
    assert_eq!(path(&r, 9, "client"), ["FIN_WAIT_1", "CLOSING"]);
    assert_eq!(path(&r, 9, "server"), ["ESTABLISHED", "FIN_WAIT_1"]);
    assert_eq!(path(&r, 10, "server"), ["FIN_WAIT_1", "FIN_WAIT_2"]);
    assert!(r.has(11, "retransmission"));
    assert_eq!(path(&r, 11, "server"), ["FIN_WAIT_2", "TIME_WAIT"]);
    assert_eq!(path(&r, 12, "client"), ["CLOSING", "TIME_WAIT"]);
    let c = r.conn(1);
    assert_eq!(c["time_wait"], "both");
}

#[test]
fn rst_abort_by_the_client() {
    let r = run("rst-abort.pcap");
    let e = r.event_where(8, "reset");
    assert_eq!(
        (e["side"].as_str(), e["cause"].as_str()),
        (Some("client"), Some("abort"))
    );
    assert_eq!(r.states(8), st("CLOSED", "CLOSED"));
    let c = r.conn(1);
    assert_eq!(c["aborted_by"], "client");
    assert_eq!(c["resets"]["client"], 1);
    assert_eq!(c["conn_state"], "RSTO");
    assert_eq!(c["time_wait"], Value::Null, "an abort leaves no TIME_WAIT");
}

#[test]
fn close_with_unread_data_resets_from_the_server() {
    let r = run("rst-unread.pcap");
    // The client's 100 bytes (frame 8) are ACKed by the kernel (9) but never read.
    assert_eq!(r.frame(8)["len"], 100);
    let e = r.event_where(10, "reset");
    assert_eq!(
        (e["side"].as_str(), e["cause"].as_str()),
        (Some("server"), Some("abort"))
    );
    assert_eq!(r.conn(1)["conn_state"], "RSTR");
}

#[test]
fn refused_over_ipv4_and_ipv6() {
    let r = run("refused.pcap");
    for (syn, rst, conn) in [(1, 2, 1), (3, 4, 2)] {
        assert!(r.has(syn, "handshake:1"));
        assert!(r.has(rst, "refused"));
        assert_eq!(r.event_where(rst, "reset")["cause"], "refused");
        assert_eq!(r.states(rst), st("CLOSED", "CLOSED"));
        let c = r.conn(conn);
        assert_eq!(c["refused"], true);
        assert_eq!(c["conn_state"], "REJ");
    }
    assert_eq!(r.frame(3)["ip_version"], 6);
}

#[test]
fn keepalive_probes_and_their_acks() {
    let r = run("keepalive.pcap");
    for (probe, ack) in [(8, 9), (10, 11), (12, 13)] {
        assert!(
            r.has(probe, "keep_alive"),
            "frame {probe}: {:?}",
            r.kinds(probe)
        );
        assert_eq!(r.frame(probe)["len"], 0);
        assert!(
            r.has(ack, "keep_alive_ack"),
            "frame {ack}: {:?}",
            r.kinds(ack)
        );
    }
    let k = &r.conn(1)["keepalive"];
    assert_eq!(k["probes"], 3);
    assert_eq!(k["by"], "client");
    // TCP_KEEPIDLE=1: the first probe comes about 1 s after the last data.
    let idle = k["idle_s"].as_f64().unwrap();
    assert!((0.9..1.5).contains(&idle), "idle {idle}");
    // Every probe was answered, so the interval (tcp_keepalive_intvl) is not revealed.
    assert_eq!(k["interval_s"], Value::Null);
}

#[test]
fn keepalive_to_a_dead_peer_ends_in_a_reset() {
    let r = run("keepalive-dead.pcap");
    for probe in [8, 9, 10] {
        assert!(r.has(probe, "keep_alive"));
    }
    let e = r.event_where(11, "reset");
    assert_eq!(
        (e["side"].as_str(), e["cause"].as_str()),
        (Some("client"), Some("keepalive_timeout"))
    );
    let k = &r.conn(1)["keepalive"];
    assert_eq!(k["probes"], 3);
    // TCP_KEEPINTVL=1: unanswered probes one second apart.
    let iv = k["interval_s"].as_f64().unwrap();
    assert!((0.9..1.5).contains(&iv), "interval {iv}");
}

#[test]
fn zero_window_with_linux_probes() {
    let r = run("zero-window.pcap");
    assert!(r.has(9, "zero_window"));
    // Linux's zero-window probes: 0 bytes at SND.UNA − 1 (tshark says keep-alive).
    for probe in [10, 12, 13] {
        assert!(
            r.has(probe, "zero_window_probe"),
            "frame {probe}: {:?}",
            r.kinds(probe)
        );
        assert!(!r.has(probe, "keep_alive"));
        assert_eq!(r.frame(probe)["len"], 0);
    }
    assert!(r.has(11, "zero_window_probe_ack"));
    assert!(r.has(15, "window_update"));
    assert!(r.has(7, "window_full"));
    let c = r.conn(1);
    assert!(c["analysis"]["server"]["zero_window"].as_u64().unwrap() >= 3);
    assert!(c["zero_window_s"]["server"].as_f64().unwrap() > 0.1);
}

#[test]
fn retransmissions_fast_and_by_timeout() {
    let r = run("retransmission.pcap");
    assert!(r.has(36, "fast_retransmission"), "{:?}", r.kinds(36));
    for f in [41, 45, 46] {
        assert!(r.has(f, "retransmission"), "frame {f}: {:?}", r.kinds(f));
    }
    for (f, n) in [(20, 1), (21, 2), (22, 3), (23, 4)] {
        assert_eq!(r.event_where(f, "duplicate_ack")["count"], n);
    }
    let c = r.conn(1);
    assert!(c["analysis"]["client"]["retransmission"].as_u64().unwrap() >= 3);
    assert!(
        c["history"].as_str().unwrap().contains('T'),
        "Zeek's retransmission letter"
    );
}

#[test]
fn syn_retransmission_is_counted_and_the_rtt_runs_from_the_answered_copy() {
    let r = run("syn-retransmission.pcap");
    // The first SYN was dropped after the capture point: nothing shows the
    // server got it. The SYN+ACK answers the second (its TS ecr echoes it).
    assert_eq!(path(&r, 1, "server"), ["UNKNOWN"]);
    assert!(r.has(2, "retransmission"));
    assert_eq!(path(&r, 2, "server"), ["LISTEN", "SYN_RCVD"]);
    let h = &r.conn(1)["handshake"];
    assert_eq!(h["syn_count"], 2);
    assert_eq!(h["complete"], true);
    // Not the 1 s retransmission timer: the round trip (tshark's
    // tcp.analysis.initial_rtt for this file is 0.000138 s).
    let rtt = h["rtt_us"].as_u64().unwrap();
    assert!((100..200).contains(&rtt), "rtt {rtt} µs");
}

#[test]
fn port_reuse_within_time_wait_starts_a_second_connection() {
    let r = run("port-reuse.pcap");
    assert_eq!(r.frame(10)["conn"], 1);
    assert_eq!(r.states(10), st("TIME_WAIT", "CLOSED"));
    assert_eq!(r.frame(11)["conn"], 2);
    let e = r.event_where(11, "port_reuse");
    assert_eq!(e["previous_conn"], 1);
    assert_eq!(e["previous_in_time_wait"], true);
    assert!(r.has(11, "handshake:1"));
    assert!(!r.has(11, "reused_ports"), "said once, as port_reuse");
    assert_eq!(r.conn(2)["analysis"]["client"]["reused_ports"], 1);
    assert_eq!(r.connections.len(), 2);
    assert_eq!(r.conn(1)["ended_by"], "port_reuse");
    assert_eq!(r.conn(2)["port_reuse"], true);
    assert_eq!(r.conn(1)["client"], r.conn(2)["client"]);
}

#[test]
fn midstream_pickup_assumes_established() {
    let r = run("midstream.pcap");
    assert!(r.has(1, "midstream"));
    assert_eq!(r.frame(1)["states_assumed"], true);
    assert_eq!(r.states(1), st("ESTABLISHED", "ESTABLISHED"));
    assert_eq!(r.frame(1)["rel_seq"], 1);
    let c = r.conn(1);
    assert_eq!(c["midstream"], true);
    // Zeek closes an endpoint on its FIN from PARTIAL as from ESTABLISHED,
    // and calls both sides CLOSED "SF", SYN or no SYN (main.zeek, conn_state).
    assert_eq!(c["conn_state"], "SF");
    assert_eq!(c["history"], "DdAFf");
    assert_eq!(c["time_wait"], "client");
}

#[test]
fn ipv6_lifecycle() {
    let r = run("ipv6-lifecycle.pcap");
    assert_handshake(&r, 1);
    let c = r.conn(1);
    assert!(c["client"].as_str().unwrap().starts_with("[fd00:99::"));
    assert_eq!(c["close"]["first_fin"], "client");
    assert_eq!(c["time_wait"], "client");
    assert_eq!(c["conn_state"], "SF");
}

/// The capture point sat downstream of the loss: segment 5793–7241 never
/// reached it, so its bytes are seen only in the resend (frame 26), and
/// each byte counts once: 28,960 sent, as the application log says.
#[test]
fn bytes_lost_before_the_capture_point_count_once_from_the_resend() {
    for name in ["downstream-loss-sack.pcap", "downstream-loss-nosack.pcap"] {
        let r = run(name);
        assert!(r.has(12, "lost_segment"), "{name}");
        assert!(
            r.has(26, "fast_retransmission"),
            "{name}: {:?}",
            r.kinds(26)
        );
        let e = r.event_where(26, "fast_retransmission");
        assert_eq!(
            e["original_seen"], false,
            "{name}: the original never passed here"
        );
        // The gap was reported (SACK or duplicate ACK) 10.7 ms before, about one RTT.
        let rep = e["reported_us"].as_u64().unwrap();
        assert!(
            (10_000..11_500).contains(&rep),
            "{name}: reported {rep} µs before"
        );
        assert_eq!(r.conn(1)["bytes"]["client"], 28_960, "{name}");
        assert_eq!(r.conn(1)["bytes"]["server"], 9, "{name}");
    }
}

#[test]
fn a_d_sack_names_the_spurious_resend() {
    let r = run("spurious-retransmission-dsack.pcap");
    assert!(r.has(5, "retransmission"));
    let e = r.event_where(6, "dsack");
    assert_eq!(e["side"], "server");
    assert_eq!(e["dsack_len"], 7);
    assert_eq!(e["spurious_frame"], 5);
    let c = r.conn(1);
    assert_eq!(c["analysis"]["client"]["spurious_retransmission"], 1);
    assert_eq!(c["bytes"]["client"], 7, "the resent request counts once");
    // zero-window.pcap frame 9 carries one too (sack 2897:4345 below ack 4345).
    let z = run("zero-window.pcap");
    assert_eq!(z.event_where(9, "dsack")["spurious_frame"], 8);
}

#[test]
fn the_rtt_runs_from_the_syn_copy_the_syn_ack_answers() {
    // With timestamps the SYN+ACK's TS ecr names the second copy: 10.5 ms
    // (tshark's tcp.analysis.initial_rtt: 0.010493 s).
    let r = run("syn-retransmission-ts.pcap");
    let rtt = r.conn(1)["handshake"]["rtt_us"].as_u64().unwrap();
    assert!((10_300..10_700).contains(&rtt), "{rtt}");
    // Without, nothing tells which copy was answered (Karn): no RTT.
    let r = run("syn-retransmission-nots.pcap");
    let h = &r.conn(1)["handshake"];
    assert!(h["rtt_us"].is_null(), "{h}");
    assert_eq!(h["rtt_ambiguous"], true);
    assert_eq!(h["syn_count"], 2);
}

#[test]
fn classic_ecn_is_agreed_marked_echoed_and_answered() {
    let r = run("ecn.pcap");
    assert_eq!(
        r.frame(1)["flags"],
        serde_json::json!(["SYN", "ECE", "CWR"])
    );
    assert_eq!(r.event_where(2, "ecn_setup")["mode"], "classic");
    assert_eq!(r.frame(4)["ecn"], "ECT(0)");
    assert_eq!(
        r.frame(5)["ecn"],
        "Not-ECT",
        "pure ACKs are not ECN-capable"
    );
    assert_eq!(r.frame(8)["ecn"], "CE");
    assert!(r.has(8, "ce"));
    assert!(r.has(9, "ece"), "{:?}", r.kinds(9));
    assert!(!r.has(11, "ece"), "one event per run of ECEs");
    assert!(r.has(28, "cwr"));
    let e = &r.conn(1)["ecn"];
    assert_eq!(e["mode"], "classic");
    assert_eq!(e["ce"]["client"], 1);
    assert_eq!(e["ece"]["server"], 10);
    assert_eq!(e["cwr"]["client"], 1);
}

#[test]
fn time_going_back_is_said_and_never_makes_a_duration_negative() {
    let r = run("time-back.pcap");
    let e = r.event_where(4, "time_went_back");
    assert_eq!(e["back_ns"], 2_499_741_000u64, "{e}");
    let c = r.conn(1);
    assert!(
        c["start"].as_str().unwrap() <= c["end"].as_str().unwrap(),
        "{c}"
    );
    assert!(c["handshake"]["rtt_us"].as_u64().unwrap() < 1000);
    assert_eq!(r.summary["time_went_back"], 1);
}
