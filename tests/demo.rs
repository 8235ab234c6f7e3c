//! Every demo scenario, run for real: a live capture on loopback while the
//! bundled echo server and client play the scenario. Needs capture
//! privileges: CI runs as root and these tests must run there; elsewhere
//! (not root, CI unset) they are skipped with a loud message.

mod common;

use std::sync::Mutex;

use common::*;
use serde_json::Value;

/// One capture at a time: parallel scenarios would compete for the CPU and
/// blur the timing some of them show (keep-alive intervals, zero windows).
static SERIAL: Mutex<()> = Mutex::new(());

pub fn may_capture() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run these live-capture tests as root"
        );
        eprintln!("SKIPPED: live capture needs root (run the tests as root to include them)");
    }
    root
}

struct Demo {
    packets: Vec<Value>,
    connections: Vec<Value>,
    summary: Value,
}

fn demo(scenario: &str, port: u16) -> Option<Demo> {
    if !may_capture() {
        return None;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = run(&["demo", scenario, "--port", &port.to_string(), "--json"]);
    assert!(out.status.success(), "demo {scenario}: {}", stderr(&out));
    let mut d = Demo {
        packets: vec![],
        connections: vec![],
        summary: Value::Null,
    };
    for v in json_lines(&out) {
        match v["type"].as_str() {
            Some("packet") => d.packets.push(v),
            Some("connection") => d.connections.push(v),
            Some("summary") => d.summary = v,
            _ => {}
        }
    }
    d.connections.sort_by_key(|c| c["conn"].as_u64());
    // Every scenario: nothing dropped, and the kernel agrees with every inferred state.
    assert_eq!(
        d.summary["kernel"]["dropped"], 0,
        "{scenario}: kernel drops"
    );
    let kc = &d.summary["kernel_check"];
    assert!(kc["compared"].as_u64().unwrap() >= 2, "{scenario}: {kc}");
    assert_eq!(
        kc["agree"], kc["compared"],
        "{scenario}: synack vs kernel: {kc}"
    );
    Some(d)
}

impl Demo {
    fn events(&self) -> Vec<&Value> {
        self.packets
            .iter()
            .flat_map(|p| p["events"].as_array().into_iter().flatten())
            .collect()
    }

    fn reset_causes(&self) -> Vec<(String, String)> {
        self.events()
            .iter()
            .filter(|e| e["kind"] == "reset")
            .map(|e| {
                (
                    e["side"].as_str().unwrap().into(),
                    e["cause"].as_str().unwrap().into(),
                )
            })
            .collect()
    }

    fn app_errors(&self) -> String {
        self.summary["app_errors"].to_string()
    }
}

#[test]
fn basic_client_closes_first_and_holds_time_wait() {
    let Some(d) = demo("basic", 19101) else {
        return;
    };
    assert_eq!(d.connections.len(), 1);
    let c = &d.connections[0];
    assert_eq!(c["handshake"]["complete"], true);
    assert_eq!(c["close"]["first_fin"], "client");
    assert_eq!(c["time_wait"], "client");
    assert_eq!(c["bytes"]["client"], 10, "hello + world");
    assert_eq!(c["bytes"]["server"], 10);
}

#[test]
fn server_close_puts_the_server_in_time_wait() {
    let Some(d) = demo("server-close", 19102) else {
        return;
    };
    let c = &d.connections[0];
    assert_eq!(c["close"]["first_fin"], "server");
    assert_eq!(c["time_wait"], "server");
}

#[test]
fn half_close_data_flows_after_the_fin() {
    let Some(d) = demo("half-close", 19103) else {
        return;
    };
    let c = &d.connections[0];
    assert_eq!(c["close"]["first_fin"], "client");
    assert_eq!(c["close"]["half_close"], true, "{c}");
    assert!(c["close"]["half_close_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn abort_is_a_client_reset_with_no_time_wait() {
    let Some(d) = demo("abort", 19104) else {
        return;
    };
    assert_eq!(d.reset_causes(), vec![("client".into(), "abort".into())]);
    let c = &d.connections[0];
    assert_eq!(c["aborted_by"], "client");
    assert_eq!(c["time_wait"], Value::Null);
}

#[test]
fn unread_close_resets_the_client() {
    let Some(d) = demo("unread-close", 19105) else {
        return;
    };
    assert_eq!(d.reset_causes(), vec![("server".into(), "abort".into())]);
    assert!(d.app_errors().contains("reset"), "{}", d.app_errors());
}

#[test]
fn refused_is_answered_by_rst() {
    let Some(d) = demo("refused", 19106) else {
        return;
    };
    let c = &d.connections[0];
    assert_eq!(c["refused"], true);
    assert_eq!(c["conn_state"], "REJ");
    assert!(d.app_errors().contains("refused"), "{}", d.app_errors());
}

#[test]
fn keepalive_probes_are_answered() {
    let Some(d) = demo("keepalive", 19107) else {
        return;
    };
    let k = &d.connections[0]["keepalive"];
    // 1 s idle, 3.5 s of silence: three probes, each answered.
    assert_eq!(k["probes"], 3, "{k}");
    assert_eq!(k["by"], "client");
    let idle = k["idle_s"].as_f64().unwrap();
    assert!((0.9..1.6).contains(&idle), "idle {idle}");
    let acks = d
        .events()
        .iter()
        .filter(|e| e["kind"] == "keep_alive_ack")
        .count();
    assert_eq!(acks, 3);
}

#[test]
fn zero_window_and_probes() {
    let Some(d) = demo("zero-window", 19108) else {
        return;
    };
    let a = &d.connections[0]["analysis"];
    assert!(a["server"]["zero_window"].as_u64().unwrap() >= 1, "{a}");
    assert!(a["server"]["window_update"].as_u64().unwrap() >= 1, "{a}");
    // Linux probes the closed window (0 bytes at SND.UNA − 1), and the
    // reader answers each probe with its still-zero window.
    assert!(
        a["client"]["zero_window_probe"].as_u64().unwrap() >= 1,
        "{a}"
    );
    assert!(
        a["server"]["zero_window_probe_ack"].as_u64().unwrap() >= 1,
        "{a}"
    );
    assert!(
        d.connections[0]["zero_window_s"]["server"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn simultaneous_close_best_effort_still_matches_the_kernel() {
    let Some(d) = demo("simultaneous-close", 19109) else {
        return;
    };
    assert_eq!(d.connections.len(), 5);
    // Whether the FINs crossed is a race; every close is one of the known kinds.
    for c in &d.connections {
        let t = c["close"]["type"].as_str().unwrap_or("none");
        assert!(
            ["four_way", "three_way", "simultaneous"].contains(&t),
            "{t}"
        );
    }
}

#[test]
fn many_clients_all_complete() {
    let Some(d) = demo("many-clients", 19110) else {
        return;
    };
    assert_eq!(d.connections.len(), 20);
    for c in &d.connections {
        assert_eq!(c["handshake"]["complete"], true);
        assert_eq!(c["time_wait"], "client");
    }
}

#[test]
fn port_reuse_reconnects_over_time_wait() {
    let Some(d) = demo("port-reuse", 19111) else {
        return;
    };
    assert_eq!(d.connections.len(), 2, "{}", d.app_errors());
    assert_eq!(d.connections[0]["client"], d.connections[1]["client"]);
    assert_eq!(d.connections[0]["ended_by"], "port_reuse");
    assert_eq!(d.connections[1]["port_reuse"], true);
    assert!(d
        .events()
        .iter()
        .any(|e| e["kind"] == "port_reuse" && e["previous_in_time_wait"] == true));
}

#[test]
fn short_vs_long_connections() {
    let Some(d) = demo("short-vs-long", 19112) else {
        return;
    };
    assert_eq!(d.connections.len(), 6);
    let handshakes = d
        .events()
        .iter()
        .filter(|e| e["kind"] == "handshake" && e["step"] == 1)
        .count();
    assert_eq!(handshakes, 6);
    let long = d
        .connections
        .iter()
        .filter(|c| c["bytes"]["client"] == 20)
        .count();
    assert_eq!(long, 1, "one connection carried five 4-byte echoes");
}

#[test]
fn a_taken_port_fails_fast_with_one_clear_line() {
    if !may_capture() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let taken = std::net::TcpListener::bind("127.0.0.1:19113").unwrap();
    let started = std::time::Instant::now();
    let o = run(&["demo", "basic", "--port", "19113"]);
    drop(taken);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the demo must not wait forever"
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("address already in use") && last.contains("--port"),
        "{err}"
    );
}

#[test]
fn unknown_scenario_is_a_usage_error_and_list_teaches() {
    let o = run(&["demo", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("synack demo --list"));
    let l = run(&["demo", "--list"]);
    let text = stdout(&l);
    for name in [
        "basic",
        "server-close",
        "keepalive",
        "port-reuse",
        "short-vs-long",
    ] {
        assert!(text.contains(name), "--list lacks {name}");
    }
}

#[test]
fn a_demo_draws_its_ladder_as_svg() {
    if !may_capture() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let file = std::env::temp_dir().join(format!("synack-demo-{}.svg", std::process::id()));
    let out = run(&[
        "demo",
        "basic",
        "--port",
        "19114",
        "--view",
        "svg",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).ok();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    // The basic scenario's one connection: the client ends in TIME_WAIT.
    assert_eq!(svg.matches(r#"class="ladder""#).count(), 1, "{svg}");
    assert!(svg.contains(r#"data-side="client" data-state="TIME_WAIT""#));
    assert!(svg.contains("handshake 3/3"));
}
