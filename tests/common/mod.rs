//! Helpers shared by the integration tests: run the built binary, find fixtures.
#![allow(dead_code)]

pub mod english;
pub mod ui;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join(name)
}

/// The public captures beside the repository (../shared/captures), when present.
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    let p = root().join("..").join("shared").join("captures").join(name);
    p.exists().then_some(p)
}

pub fn synack() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_synack"));
    // Deterministic output: UTC timestamps, no colour, a UTF-8 locale
    // whatever the machine's (without one, synack writes ASCII).
    c.env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env("LC_ALL", "C.UTF-8");
    c.stdin(Stdio::null());
    // English, whatever the machine's locale says (tests/zh.rs asks for Chinese).
    c.env("SYNACK_LANG", "en");
    c
}

pub fn run(args: &[&str]) -> Output {
    synack().args(args).output().expect("run synack")
}

pub fn run_path(args: &[&str], file: &Path) -> Output {
    synack().args(args).arg(file).output().expect("run synack")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse JSON Lines output into values, failing on any line that is not JSON.
pub fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Every capture fixture in fixtures/ (not the deliberately broken ones).
pub fn capture_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .expect("fixtures dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .filter(|n| {
            !["cut-", "not-a-capture", "unsupported-"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    names.sort();
    names
}

pub mod traffic;

/// The generated capture of `traffic` (3,000 connections over 150 s),
/// written once into the test target's scratch directory.
pub fn generated_capture() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("split-traffic-v1.pcap");
    traffic::write(&p, 0x5eed, 3_000, 150);
    p
}

/// Write a classic pcap (LINKTYPE_RAW, µs) of frames built by synack-core's
/// `synth`: (microseconds since the epoch, segment) each.
pub fn write_raw_pcap(
    path: &Path,
    frames: impl IntoIterator<Item = (u64, synack_core::synth::SegmentSpec)>,
) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create pcap"));
    let mut put = |b: &[u8]| f.write_all(b).expect("write pcap");
    put(&0xa1b2_c3d4u32.to_le_bytes());
    put(&2u16.to_le_bytes());
    put(&4u16.to_le_bytes());
    put(&[0; 8]);
    put(&65535u32.to_le_bytes());
    put(&101u32.to_le_bytes());
    for (us, s) in frames {
        let (bytes, wire) = s.bytes();
        put(&((us / 1_000_000) as u32).to_le_bytes());
        put(&((us % 1_000_000) as u32).to_le_bytes());
        put(&(bytes.len() as u32).to_le_bytes());
        put(&wire.to_le_bytes());
        put(&bytes);
    }
}
