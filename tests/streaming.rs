//! Reading a stream (`tcpdump -U -w - | synack read -`): each frame is shown
//! while the writer pauses, not at the end. A writer here feeds a real
//! capture's records one at a time, slowly, and the test reads synack's
//! lines as they come.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// A classic pcap split into its header and records (little-endian, as the fixtures are).
fn records(bytes: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(bytes[at..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    (bytes[..24].to_vec(), out)
}

#[test]
fn each_frame_shows_while_the_writer_pauses() {
    let bytes = std::fs::read(fixture("close-client-first.pcap")).unwrap();
    let (header, recs) = records(&bytes);
    assert_eq!(recs.len(), 11, "the fixture's 11 frames");
    let mut child = synack()
        .args(["read", "-N", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    stdin.write_all(&header).unwrap();
    let mut late = Vec::new();
    for (i, rec) in recs.iter().enumerate() {
        stdin.write_all(rec).unwrap();
        stdin.flush().unwrap();
        let sent = Instant::now();
        // The line for this frame must come before the next record is written.
        match lines.recv_timeout(Duration::from_secs(3)) {
            Ok(line) => {
                let number: u64 = line
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or_else(|| panic!("not a numbered packet line: {line}"));
                assert_eq!(number, i as u64 + 1, "{line}");
                late.push(sent.elapsed());
            }
            Err(_) => panic!("frame {} not shown 3 s after its record was written", i + 1),
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    drop(stdin);
    let rest: Vec<String> = lines.iter().collect();
    reader.join().unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        rest.iter().any(|l| l.starts_with("summary: 11 frames")),
        "{rest:?}"
    );
    let slowest = late.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_secs(1),
        "a frame waited {slowest:?} for its line"
    );
}

#[test]
fn a_stream_that_never_pauses_reads_as_the_file_does() {
    // Held lines wait for their proof as in a file: the same output, byte for byte.
    for name in [
        "port-reuse.pcap",
        "keepalive-dead.pcap",
        "downstream-loss-sack.pcap",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let mut child = synack()
            .args(["read", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let o = child.wait_with_output().unwrap();
        let from_file = run_path(&["read"], &fixture(name));
        assert_eq!(stdout(&o), stdout(&from_file), "{name}");
    }
}
