//! Compressed captures (fixtures/compressed/: gzip, zstd, xz and lz4 copies
//! of fixtures, made by fixtures/scripts/make-compressed.sh): read by their
//! magic bytes, from files and from stdin, with output byte for byte the
//! same as for the uncompressed file; a cut or damaged one gives one line.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::*;

/// Every compressed fixture with the fixture it is a copy of.
fn compressed_fixtures() -> Vec<(PathBuf, PathBuf)> {
    let mut out: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(fixture("compressed"))
        .expect("fixtures/compressed")
        .flatten()
        .map(|e| {
            let p = e.path();
            let original = p
                .file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (p, fixture(&original))
        })
        .collect();
    out.sort();
    out
}

fn one_line_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "exit status; stderr: {err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("reading from file"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(lines[0].starts_with("synack: "), "{err}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A scratch file of this test run (removed by the caller).
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("synack-test-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).expect("write a scratch file");
    p
}

fn via_stdin(args: &[&str], file: &Path) -> Output {
    let mut child = synack()
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run synack");
    let bytes = std::fs::read(file).expect("read the fixture");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().expect("synack runs");
    writer.join().expect("writer").expect("write stdin");
    out
}

#[test]
fn every_format_reads_as_its_original() {
    let files = compressed_fixtures();
    let formats: Vec<String> = files
        .iter()
        .filter_map(|(p, _)| p.extension().map(|e| e.to_string_lossy().into_owned()))
        .collect();
    for f in ["gz", "zst", "xz", "lz4"] {
        assert!(formats.iter().any(|x| x == f), "no .{f} fixture");
    }
    for (packed, original) in &files {
        assert!(original.exists(), "{} has no original", packed.display());
        for args in [
            &["read", "-N", "--time", "epoch", "--nano"][..],
            &["read", "--json"],
            &["read", "--summary"],
        ] {
            let want = run_path(args, original);
            let got = run_path(args, packed);
            assert!(want.status.success() && got.status.success());
            assert!(!want.stdout.is_empty());
            assert!(
                want.stdout == got.stdout,
                "{} {args:?}: output differs from {}",
                packed.display(),
                original.display()
            );
            // The same through a pipe.
            let piped = via_stdin(args, packed);
            assert!(piped.status.success(), "{}", stderr(&piped));
            assert!(
                want.stdout == piped.stdout,
                "{} on stdin {args:?}",
                packed.display()
            );
        }
    }
}

#[test]
fn the_magic_bytes_decide_not_the_name() {
    let (gz, original) = compressed_fixtures()
        .into_iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "gz"))
        .expect("a .gz fixture");
    let plain_named_gz = scratch("plain.pcap.gz", &std::fs::read(&original).unwrap());
    let gz_named_plain = scratch("packed.pcap", &std::fs::read(&gz).unwrap());
    let want = run_path(&["read", "--json"], &original);
    for p in [&plain_named_gz, &gz_named_plain] {
        let got = run_path(&["read", "--json"], p);
        assert!(got.status.success(), "{}", stderr(&got));
        assert!(got.stdout == want.stdout, "{}", p.display());
    }
    let _ = std::fs::remove_file(plain_named_gz);
    let _ = std::fs::remove_file(gz_named_plain);
}

#[test]
fn cut_or_damaged_compressed_files_give_one_line() {
    for (packed, _) in compressed_fixtures() {
        let bytes = std::fs::read(&packed).unwrap();
        let name = packed.file_name().unwrap().to_string_lossy().into_owned();
        // Cut inside the compressed data: every format says so.
        for cut in [bytes.len() / 2, bytes.len() - 3] {
            let p = scratch(&format!("cut-{cut}-{name}"), &bytes[..cut]);
            let o = run_path(&["read", "--json"], &p);
            one_line_error(&o, "cut short");
            let _ = std::fs::remove_file(p);
        }
        // Damaged in the middle: the decompressor refuses it, or (gzip and
        // xz check their CRC at the end) the capture reader does.
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        for b in &mut bad[mid..mid + 8] {
            *b ^= 0x5a;
        }
        let p = scratch(&format!("bad-{name}"), &bad);
        let o = run_path(&["read", "--json"], &p);
        let err = stderr(&o);
        assert!(
            err.contains("corrupt") || err.contains("damaged") || err.contains("cut short"),
            "{name}: {err}"
        );
        one_line_error(&o, "synack: ");
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn a_compressed_file_that_is_not_a_capture_says_so() {
    for (text, needle) in [
        (
            &b"this is not a capture, whatever it is called\n"[..],
            "gzip-compressed, but what it holds is not a pcap or pcapng capture",
        ),
        (
            b"too short\n",
            "holds only 10 bytes, too few for a capture header",
        ),
    ] {
        let p = scratch("text.gz", &gzip_stored(text));
        let o = run_path(&["read"], &p);
        one_line_error(&o, needle);
        let _ = std::fs::remove_file(p);
    }
}

/// A gzip member written by hand (RFC 1952): one "stored" deflate block.
fn gzip_stored(text: &[u8]) -> Vec<u8> {
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    gz.extend((text.len() as u16).to_le_bytes());
    gz.extend((!(text.len() as u16)).to_le_bytes());
    gz.extend(text);
    let crc = crc32(text);
    gz.extend(crc.to_le_bytes());
    gz.extend((text.len() as u32).to_le_bytes());
    gz
}

/// CRC-32 (IEEE), for the hand-made gzip member.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
