//! A connection that waits packed (its exchange over, or quiet) is
//! unpacked exactly as it was: every fixture, run with every connection
//! packed after every frame, gives what it gives unpacked, down to the
//! last field of every connection and every event.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::Path;

use synack_core::analyzer::{AnalyzerConfig, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};
use synack_core::track::{Connection, Event, Facts};
use synack_core::{Analyzer, Packet};

/// Everything the analyzer hands on, written out in full.
#[derive(Default)]
struct Said(String);

impl Sink for Said {
    type Error = Infallible;
    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        let _ = writeln!(
            self.0,
            "packet {} {:?} {:?} {:?}",
            p.frame.number, p.segment, p.observation, p.events
        );
        Ok(())
    }
    fn event(&mut self, e: &Event) -> Result<(), Infallible> {
        let _ = writeln!(self.0, "event {e:?}");
        Ok(())
    }
    fn connection(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        let _ = writeln!(self.0, "connection {c:?} {f:?}");
        Ok(())
    }
    fn settled(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        let _ = writeln!(self.0, "settled {c:?} {f:?}");
        Ok(())
    }
}

/// A record: its time, length on the wire, and captured bytes.
type Record<'a> = (Timestamp, u32, &'a [u8]);

/// The link type and records of a classic pcap file (enough for the fixtures).
fn records(data: &[u8]) -> Option<(i32, Vec<Record<'_>>)> {
    let magic = u32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let (swap, nano) = match magic {
        0xa1b2c3d4 => (false, false),
        0xa1b23c4d => (false, true),
        0xd4c3b2a1 => (true, false),
        0x4d3cb2a1 => (true, true),
        _ => return None,
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if swap {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let dlt = (u32_at(20)? & 0x0fff_ffff) as i32;
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let (secs, frac, incl, orig) = (
            u32_at(at)?,
            u32_at(at + 4)?,
            u32_at(at + 8)? as usize,
            u32_at(at + 12)?,
        );
        let body = data.get(at + 16..at + 16 + incl)?;
        let nanos = if nano {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        out.push((Timestamp::new(i64::from(secs), nanos), orig, body));
        at += 16 + incl;
    }
    Some((dlt, out))
}

fn run(link: LinkKind, frames: &[Record<'_>], cfg: AnalyzerConfig, pack: bool) -> String {
    let mut a = Analyzer::new(cfg);
    let mut said = Said::default();
    for (i, (ts, wire_len, data)) in frames.iter().enumerate() {
        let f = Frame {
            number: i as u64 + 1,
            ts: *ts,
            wire_len: *wire_len,
            data,
        };
        let Ok(()) = a.frame(&f, link, &mut said);
        if pack {
            a.pack_all_connections();
        }
    }
    let Ok(()) = a.finish(&mut said);
    said.0
}

#[test]
fn every_fixture_says_the_same_with_every_connection_packed_after_every_frame() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    files.sort();
    let (mut checked, mut connections) = (0, 0);
    for path in files {
        let data = std::fs::read(&path).expect("readable fixture");
        let Some((dlt, frames)) = records(&data) else {
            continue;
        };
        let Some(link) = LinkKind::from_dlt(dlt) else {
            continue;
        };
        for settled in [false, true] {
            let cfg = AnalyzerConfig {
                settled,
                ..AnalyzerConfig::default()
            };
            let plain = run(link, &frames, cfg, false);
            let packed = run(link, &frames, cfg, true);
            connections += plain.matches("\nconnection ").count();
            if plain != packed {
                let at = plain
                    .lines()
                    .zip(packed.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{}: first difference at line {}:\n{}\n{}",
                    path.display(),
                    at + 1,
                    plain.lines().nth(at).unwrap_or(""),
                    packed.lines().nth(at).unwrap_or("")
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} fixtures read");
    assert!(connections >= 100, "only {connections} connections");
}
