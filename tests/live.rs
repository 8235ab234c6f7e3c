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
fn live_writes_annotated_pcapng_when_the_name_says_so() {
    if !may_capture() {
        return;
    }
    let port = 19204;
    let file = std::env::temp_dir().join(format!("synack-live-{}.pcapng", std::process::id()));
    let mut child = synack()
        .args(["live", "-N", "--time", "epoch", "--nano", "-w"])
        .arg(&file)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner = wait_for_start(&mut child);
    assert!(banner.starts_with("listening on lo"), "{banner}");
    traffic(port);
    std::thread::sleep(Duration::from_millis(800));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let live = stdout(&out);
    // The annotations of the live lines are the packets' comments: in
    // pcapng (magic 0x0A0D0D0A), read back by synack as the same lines.
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
    let back = run_path(&["read", "-N", "--time", "epoch", "--nano"], &file);
    assert!(back.status.success(), "{}", stderr(&back));
    let packet_lines = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.contains(" | #"))
            .map(String::from)
            .collect()
    };
    let live_lines = packet_lines(&live);
    assert!(live_lines.len() >= 9, "{live}");
    assert!(live_lines.iter().any(|l| l.contains("handshake 3/3")));
    let comments = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-T", "fields", "-e", "frame.comment"])
        .output();
    if let Ok(c) = comments {
        let c = String::from_utf8_lossy(&c.stdout);
        let want: Vec<&str> = live_lines
            .iter()
            .map(|l| l.split_once(" | ").unwrap().1)
            .collect();
        assert_eq!(c.lines().collect::<Vec<_>>(), want);
    }
    assert_eq!(packet_lines(&stdout(&back)).len(), live_lines.len());
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
fn tcpdump_letters_work_live() {
    if !may_capture() {
        return;
    }
    let port = 19221;
    let mut child = synack()
        .args(["live", "-v", "-X", "-tt", "-c", "4", "tcp", "port"])
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    traffic(port);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let packets: Vec<&str> = text.lines().filter(|l| l.contains(" IP (tos ")).collect();
    assert_eq!(packets.len(), 4, "{text}");
    for l in &packets {
        // -tt: seconds since 1970; -v: loopback's TCP checksums are offload's partial sums.
        assert!(l.split('.').next().unwrap().len() >= 10, "{l}");
        assert!(l.contains(", ttl 64, id "), "{l}");
        assert!(l.contains("(unverified: offload)"), "{l}");
    }
    // -X: the 4th frame carries "hello", shown in the ASCII column.
    assert!(
        text.lines()
            .any(|l| l.starts_with("\t0x0030:  ") && l.ends_with("hello")),
        "{text}"
    );
}

#[test]
fn live_writes_a_whole_svg_document_to_a_file() {
    if !may_capture() {
        return;
    }
    let port = 19222;
    let file = std::env::temp_dir().join(format!("synack-live-{}.svg", std::process::id()));
    let mut child = synack()
        .args(["live", "--view", "svg", "-c", "3", "-o"])
        .arg(&file)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    traffic(port);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    let svg = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).ok();
    // Drawn when the capture ends: the handshake's three segments, one ladder.
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches(r#"class="ladder""#).count(), 1, "{svg}");
    assert_eq!(svg.matches(r#"class="arrow""#).count(), 3, "{svg}");
    assert!(svg.contains("handshake 3/3"), "{svg}");
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
    // Away from the repository, the hint names a capture that exists from there.
    let o = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(env!("CARGO_BIN_EXE_synack"))
        .args(["demo", "basic", "--port", "19203"])
        .current_dir("/")
        .output()
        .unwrap();
    let err = stderr(&o);
    let named = err
        .split("synack read ")
        .nth(1)
        .map(str::trim)
        .unwrap_or_default();
    assert!(
        named.starts_with('/') && std::path::Path::new(named).exists(),
        "the hint names '{named}': {err}"
    );
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

/// Send about `bytes` through an echo connection on `port` (bounded; loopback).
fn bulk(port: u16, bytes: usize) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let chunk = vec![b'x'; 1400];
    let mut sent = 0;
    while sent < bytes {
        // Small writes: many packets, so the savefile fills record by record.
        std::io::Write::write_all(&mut c, &chunk).unwrap();
        sent += chunk.len();
    }
    drop(c);
    server.join().unwrap();
}

/// A full disk: the error is said at once with how many packets were
/// written, the exit status is non-zero, and the file holds only whole records.
#[test]
fn a_full_disk_is_reported_and_the_savefile_stays_whole() {
    if !may_capture() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("synack-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here");
        return;
    }
    let file = dir.join("full.pcap");
    let port = 19211;
    let mut child = synack()
        .args(["live", "-w"])
        .arg(&file)
        .args(["--summary", "tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    bulk(port, 4 << 20);
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    // Read the file back before the tmpfs goes: every record whole.
    let back = run_path(&["read", "--json"], &file);
    let _ = std::process::Command::new("umount").arg(&dir).status();
    assert!(!out.status.success(), "a full disk must not exit 0: {err}");
    let line = err
        .lines()
        .find(|l| l.contains("failed after"))
        .unwrap_or_else(|| panic!("no write error said: {err}"));
    assert!(line.contains("No space left on device"), "{line}");
    assert!(line.contains("whole packets"), "{line}");
    assert!(
        back.status.success(),
        "the savefile is cut: {}",
        stderr(&back)
    );
    let n: u64 = line
        .split("failed after ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let read = json_lines(&back)
        .iter()
        .filter(|v| v["type"] == "packet")
        .count() as u64;
    assert_eq!(read, n, "the file holds exactly the packets said written");
    // Loopback frames are up to 64 KiB: a 1 MB disk holds a few dozen.
    assert!(n > 10, "{n}");
}

/// `synack live | head -1`: once the reader is gone, the capture ends
/// quietly with status 0, as tcpdump does.
#[test]
fn a_closed_pipe_ends_the_capture_quietly() {
    if !may_capture() {
        return;
    }
    let port = 19212;
    let mut child = synack()
        .args(["live", "tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    // Read one line, then close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {}
        drop(stdout);
    });
    traffic(port);
    reader.join().unwrap();
    let start = Instant::now();
    // More packets come; the next write finds the pipe closed.
    for _ in 0..3 {
        traffic(port);
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// Ctrl-C while nobody reads stdout: the capture stops at once, and the
/// savefile holds every frame the kernel handed over.
#[test]
fn ctrl_c_stops_at_once_while_stdout_is_not_read() {
    if !may_capture() {
        return;
    }
    let port = 19213;
    let file = std::env::temp_dir().join(format!("synack-stuck-{}.pcap", std::process::id()));
    let mut child = synack()
        .args(["live", "-w"])
        .arg(&file)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    // stdout is never read: its pipe fills after 64 KiB of lines.
    bulk(port, 64 << 20);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "Ctrl-C ignored while stdout is blocked"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let captured: u64 = err
        .lines()
        .find_map(|l| l.strip_suffix(" packets captured"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    let back = run_path(&["read", "--summary"], &file);
    let frames: u64 = stdout(&back)
        .lines()
        .find_map(|l| l.strip_prefix("summary: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let _ = std::fs::remove_file(&file);
    // The capture went on while stdout was stuck (it used to stop at the
    // first full pipe, about 600 frames), and the file holds every frame read.
    assert!(captured > 1000, "{err}");
    assert_eq!(frames, captured, "{err}");
}

/// The interface goes away mid-capture: one line says so, and the closing
/// summary and counters are still printed (exit status 1).
#[test]
fn a_vanishing_interface_still_gets_its_summary() {
    if !may_capture() {
        return;
    }
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    let name = format!("sy{}", std::process::id() % 100_000);
    if !ip(&[
        "link",
        "add",
        &name,
        "type",
        "veth",
        "peer",
        "name",
        &format!("{name}p"),
    ]) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to add a veth pair"
        );
        eprintln!("SKIPPED: cannot add a veth pair here");
        return;
    }
    ip(&["link", "set", &name, "up"]);
    let mut child = synack()
        .args(["live", "-i", &name])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    ip(&["link", "del", &name]);
    let start = Instant::now();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(5), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("disappeared") || err.contains("went down"),
        "{err}"
    );
    assert!(err.contains("packets captured"), "{err}");
    assert!(stdout(&out).contains("summary: "), "{}", stdout(&out));
}

/// `-C 1 -W 2`: a ring of two files of at most 1,000,000 bytes, each whole.
#[test]
fn savefiles_rotate_in_a_ring() {
    if !may_capture() {
        return;
    }
    let port = 19214;
    let base = std::env::temp_dir().join(format!("synack-ring-{}.pcap", std::process::id()));
    let base_s = base.display().to_string();
    let mut child = synack()
        .args(["live", "-C", "1", "-W", "2", "-w", &base_s, "--summary"])
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_start(&mut child);
    bulk(port, 6 << 20);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    for i in 0..2 {
        let f = format!("{base_s}{i}");
        let len = std::fs::metadata(&f)
            .unwrap_or_else(|_| panic!("{f} missing"))
            .len();
        assert!(len <= 1_000_000, "{f}: {len} bytes");
        let back = run(&["read", "--summary", &f]);
        assert!(back.status.success(), "{f}: {}", stderr(&back));
        let _ = std::fs::remove_file(&f);
    }
    assert!(
        std::fs::metadata(format!("{base_s}2")).is_err(),
        "a ring of two"
    );
}

/// Run `synack live ARGS 'tcp port PORT'`, make one echo connection that the
/// client closes first, wait `linger`, stop with SIGINT; every stdout line
/// with the wall-clock second it arrived, and when the client closed.
fn live_lines_around_a_close(
    args: &[&str],
    port: u16,
    linger: Duration,
) -> (Vec<(f64, String)>, f64) {
    use std::io::BufRead;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let mut child = synack()
        .arg("live")
        .args(args)
        .args(["tcp", "port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner = wait_for_start(&mut child);
    assert!(banner.starts_with("listening on lo"), "{banner}");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            seen.push((now(), line));
        }
        seen
    });
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    std::io::Write::write_all(&mut client, b"hello").unwrap();
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).unwrap();
    let closed_at = now();
    drop(client);
    // The server reads the FIN and closes too: the client holds TIME_WAIT.
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    drop((server, listener));
    std::thread::sleep(linger);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    (reader.join().unwrap(), closed_at)
}

#[test]
fn live_ladders_come_when_the_exchange_ends_and_time_wait_runs_on_the_wall_clock() {
    if !may_capture() {
        return;
    }
    let (seen, closed_at) = live_lines_around_a_close(
        &["--view", "ladder", "--time-wait", "1"],
        19208,
        Duration::from_millis(2500),
    );
    let at = |needle: &str| {
        seen.iter()
            .find(|(_, l)| l.contains(needle))
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("no line with '{needle}' in {seen:#?}"))
    };
    // The ladder is drawn once the FINs are answered, not 2MSL later.
    let ladder = at("#1  client 127.0.0.1:");
    assert!(
        ladder - closed_at < 0.8,
        "ladder {:.3} s after the close",
        ladder - closed_at
    );
    let story = at("client holds");
    assert!(story - closed_at < 0.8, "{seen:#?}");
    // TIME_WAIT's end: a continuation, one second (the --time-wait) later,
    // while the capture still runs.
    let expired = at("client TIME_WAIT expired");
    let gap = expired - closed_at;
    assert!(
        (0.9..1.8).contains(&gap),
        "TIME_WAIT expired {gap:.3} s after the close"
    );
    assert!(at("#1 (continued)") <= expired);
}

#[test]
fn live_lines_say_time_wait_expired_on_the_wall_clock() {
    if !may_capture() {
        return;
    }
    let (seen, closed_at) =
        live_lines_around_a_close(&["--time-wait", "1"], 19209, Duration::from_millis(2500));
    let (expired, _) = seen
        .iter()
        .find(|(_, l)| l.contains("TIME_WAIT expired"))
        .unwrap_or_else(|| panic!("no TIME_WAIT expired line in {seen:#?}"));
    let gap = expired - closed_at;
    assert!(
        (0.9..1.8).contains(&gap),
        "TIME_WAIT expired {gap:.3} s after the close"
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
