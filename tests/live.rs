//! `synack live` for real on loopback: a savefile that tcpdump and synack can
//! read back, and a clean stop on SIGINT. Root only (CI runs as root).

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn may_capture() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run live tests as root"
        );
        eprintln!("SKIPPED: live capture needs root");
    }
    root
}

/// A tiny bounded exchange on loopback: connect, send, read, close.
fn traffic(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap();
        std::io::Write::write_all(&mut s, &buf[..n].to_ascii_uppercase()).unwrap();
    });
    let mut c = TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut c, b"hello").unwrap();
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HELLO");
    drop(c);
    server.join().unwrap();
}

fn wait_for_start(child: &mut std::process::Child) -> String {
    // The "listening on" line comes once the capture is open.
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut byte = [0u8; 1];
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains('\n') {
        if err.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        seen.push(byte[0]);
    }
    child.stderr = Some(err);
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn sigint_stops_cleanly_and_the_savefile_reads_back() {
    if !may_capture() {
        return;
    }
    let port = 19201;
    let file = std::env::temp_dir().join(format!("synack-live-{}.pcap", std::process::id()));
    let mut child = synack()
        .args(["live", "-w"])
        .arg(&file)
        .args(["--json", "tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner = wait_for_start(&mut child);
    assert!(banner.starts_with("listening on lo"), "{banner}");
    traffic(port);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    let live = json_lines(&out);
    let live_packets: Vec<_> = live.iter().filter(|v| v["type"] == "packet").collect();
    assert!(
        live_packets.len() >= 9,
        "handshake, data, close: {}",
        live_packets.len()
    );
    let summary = live.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert!(summary["kernel"]["received"].as_u64().unwrap() >= live_packets.len() as u64);
    assert_eq!(
        live.iter().filter(|v| v["type"] == "connection").count(),
        1,
        "the connection record is printed at the stop"
    );

    // The savefile holds the same frames, with the same decoding.
    let back = run_path(&["read", "--json"], &file);
    assert!(back.status.success(), "{}", stderr(&back));
    let read: Vec<_> = json_lines(&back)
        .into_iter()
        .filter(|v| v["type"] == "packet")
        .collect();
    assert_eq!(read.len(), live_packets.len());
    for (a, b) in read.iter().zip(&live_packets) {
        for k in [
            "ts", "src_port", "dst_port", "flags", "seq", "ack", "len", "states",
        ] {
            assert_eq!(a[k], b[k], "field {k}");
        }
    }
    // …and tcpdump reads it too, when it is installed.
    if let Ok(t) = std::process::Command::new("tcpdump")
        .arg("-r")
        .arg(&file)
        .output()
    {
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        assert_eq!(
            String::from_utf8_lossy(&t.stdout).lines().count(),
            read.len()
        );
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn count_stops_a_live_capture_and_prints_the_banner() {
    if !may_capture() {
        return;
    }
    let port = 19202;
    let mut child = synack()
        .args(["live", "-c", "3", "tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner = wait_for_start(&mut child);
    assert!(
        banner.starts_with("listening on lo, link-type EN10MB"),
        "{banner}"
    );
    traffic(port);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.contains("127.0.0.1:")).count(),
        3,
        "{text}"
    );
    assert!(text.contains("handshake 1/3"));
}

#[test]
fn interfaces_lists_loopback() {
    let o = run(&["interfaces"]);
    assert!(o.status.success());
    assert!(stdout(&o)
        .lines()
        .any(|l| l.contains(".lo ") && l.contains("Loopback")));
}

#[test]
fn a_missing_interface_is_one_clear_line() {
    if !may_capture() {
        return;
    }
    let o = run(&["live", "-i", "no-such-if0"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no-such-if0") && err.contains("synack interfaces"),
        "{err}"
    );
}

#[test]
fn without_privileges_one_line_says_how_to_get_them() {
    if !may_capture() {
        return;
    }
    // Drop to nobody with runuser (util-linux) to meet the error as a user would.
    let o = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(env!("CARGO_BIN_EXE_synack"))
        .args(["demo", "basic", "--port", "19203"])
        .output();
    let Ok(o) = o else {
        eprintln!("SKIPPED: runuser is not installed");
        return;
    };
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    for needle in [
        "cannot capture on lo",
        "permission denied",
        "setcap cap_net_raw,cap_net_admin+eip",
        "synack read fixtures/",
    ] {
        assert!(err.contains(needle), "'{needle}' missing: {err}");
    }
}

#[test]
fn started_through_sudo_it_drops_to_the_invoking_user() {
    if !may_capture() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let port = 19204;
    let file = std::env::temp_dir().join(format!("synack-drop-{}.pcap", std::process::id()));
    let _ = std::fs::remove_file(&file);
    // As sudo would set them: the savefile is opened after the drop, so it
    // belongs to that user (65534, nobody), like tcpdump -Z.
    let mut child = synack()
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .args(["live", "-c", "2", "-w"])
        .arg(&file)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    traffic(port);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    let _ = std::fs::remove_file(&file);
}

/// Live, a receiver's change waits for its proof (the peer's reply) for at
/// most about half a second: the SYN's line shows the server LISTEN→SYN_RCVD
/// (proven by the SYN+ACK that follows) and is printed well within that.
#[test]
fn lines_come_within_half_a_second_with_proven_states() {
    if !may_capture() {
        return;
    }
    use std::io::BufRead;
    let port = 19207;
    let mut child = synack()
        .args(["live", "--time", "epoch", "tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner = wait_for_start(&mut child);
    assert!(banner.starts_with("listening on lo"), "{banner}");
    let stdout = child.stdout.take().unwrap();
    // Read lines as they come, noting when each arrived.
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            seen.push((now, line));
        }
        seen
    });
    // A connection that stays open: nothing else will push its lines out.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (server, _) = listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop((client, server, listener));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success());
    let seen = reader.join().unwrap();
    let (arrived, syn) = seen
        .iter()
        .find(|(_, l)| l.contains("Flags [S]"))
        .unwrap_or_else(|| panic!("no SYN line in {seen:?}"));
    let sent: f64 = syn.split_whitespace().next().unwrap().parse().unwrap();
    let delay = arrived - sent;
    assert!(
        delay < 0.6,
        "the SYN's line came {delay:.3} s after the SYN: {syn}"
    );
    assert!(
        syn.contains("client CLOSED→SYN_SENT · server LISTEN→SYN_RCVD"),
        "{syn}"
    );
}

/// Deletes the network namespace when the test ends, however it ends.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

/// `synack live -i nflog:N`: an nftables log group in a private network
/// namespace (its loopback only), a refused connection logged in the
/// output hook, read live as LINKTYPE_NFLOG (libpcap's nonblocking NFLOG
/// reader says EAGAIN where others say "no packet yet").
#[test]
fn live_nflog_in_a_network_namespace() {
    if !may_capture() {
        return;
    }
    let ns = Netns(format!("syn-t14-{}", std::process::id()));
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ip(&["netns", "add", &ns.0]) || !ip(&["-n", &ns.0, "link", "set", "lo", "up"]) {
        eprintln!("SKIPPED: cannot make a network namespace");
        return;
    }
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "CI must have nftables");
        eprintln!("SKIPPED: nft is not installed");
        return;
    }
    let mut nft = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run nft");
    std::io::Write::write_all(
        nft.stdin.as_mut().unwrap(),
        b"table inet t {\n chain out {\n  type filter hook output priority 0;\n  tcp dport 9 log group 14 prefix \"t14\"\n  tcp sport 9 log group 14 prefix \"t14\"\n }\n}\n",
    )
    .unwrap();
    drop(nft.stdin.take());
    assert!(nft.wait().is_ok_and(|s| s.success()), "nft rules");
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(env!("CARGO_BIN_EXE_synack"))
        .args(["live", "-i", "nflog:14", "--json", "-c", "2"])
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner = wait_for_start(&mut child);
    assert!(
        banner.starts_with("listening on nflog:14, link-type NFLOG"),
        "{banner}"
    );
    // Nothing listens on port 9: a SYN, and the kernel's RST, both output.
    let refused = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0, "python3", "-c"])
        .arg("import socket\ntry: socket.create_connection(('127.0.0.1', 9), 2)\nexcept ConnectionRefusedError: print('refused')")
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8_lossy(&refused.stdout).trim(), "refused");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let records = json_lines(&out);
    let packets: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["type"] == "packet").collect();
    assert_eq!(packets.len(), 2, "{}", stdout(&out));
    assert!(packets.iter().all(|p| p["link"] == "nflog"));
    assert_eq!(packets[0]["flags"], serde_json::json!(["SYN"]));
    assert_eq!(packets[1]["dst_port"], packets[0]["src_port"]);
    let conn = records
        .iter()
        .find(|r| r["type"] == "connection")
        .expect("a connection record");
    assert_eq!(conn["refused"], true);
}
