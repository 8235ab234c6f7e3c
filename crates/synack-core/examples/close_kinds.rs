//! Read a classic pcap with synack-core alone and print, for every TCP
//! connection, how it closed and who held TIME_WAIT.
//!
//! ```text
//! cargo run -p synack-core --example close_kinds -- fixtures/close-three-way.pcap
//! ```
//!
//! The pcap reading is the few lines below (classic pcap, micro- or
//! nanosecond, either byte order); synack-core does no I/O of its own.

use std::convert::Infallible;
use std::io::{BufReader, Read};

use synack_core::analyzer::{AnalyzerConfig, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};
use synack_core::track::{Connection, Ending, Facts, Side};
use synack_core::Analyzer;

/// Prints one line per connection as it retires.
struct Closes;

impl Sink for Closes {
    type Error = Infallible;

    fn connection(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        let how = match f.ending {
            Ending::Closed { variant, first } => format!(
                "closed {}, {} first",
                variant.map_or("(order unclear)", |v| v.name()),
                first.name()
            ),
            Ending::Reset { by, cause } => format!("reset by the {} ({})", by.name(), cause.name()),
            Ending::Refused => "refused".into(),
            Ending::FinOneWay { by } => format!("only the {} sent a FIN", by.name()),
            Ending::Unanswered => "SYN unanswered".into(),
            _ => "still open".into(),
        };
        let holders: Vec<&str> = [Side::Client, Side::Server]
            .into_iter()
            .zip(f.time_wait)
            .filter(|(_, tw)| tw.is_some())
            .map(|(s, _)| s.name())
            .collect();
        println!(
            "#{} {} -> {}: {how}; TIME_WAIT: {}",
            c.id(),
            c.client().addr(),
            c.server().addr(),
            if holders.is_empty() {
                "nobody".to_string()
            } else {
                holders.join(" and ")
            }
        );
        Ok(())
    }
}

fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: close_kinds FILE.pcap")?;
    let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut input = BufReader::new(file);
    let mut header = [0u8; 24];
    input
        .read_exact(&mut header)
        .map_err(|e| format!("{path}: {e}"))?;
    let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let (little, nanos) = match magic {
        0xa1b2c3d4 => (true, false),
        0xa1b23c4d => (true, true),
        0xd4c3b2a1 => (false, false),
        0x4d3cb2a1 => (false, true),
        _ => return Err(format!("{path}: not a classic pcap file")),
    };
    let word = |b: &[u8]| {
        let w = [b[0], b[1], b[2], b[3]];
        if little {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let link = LinkKind::from_dlt(word(&header[20..24]) as i32)
        .ok_or_else(|| format!("{path}: a link type synack-core does not decode"))?;
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        // Only connection facts are wanted: nothing needs holding back.
        lookahead: None,
        ..AnalyzerConfig::default()
    });
    let mut data = Vec::new();
    let mut number = 0;
    let mut rec = [0u8; 16];
    while input.read_exact(&mut rec).is_ok() {
        let caplen = word(&rec[8..12]) as usize;
        data.resize(caplen, 0);
        input
            .read_exact(&mut data)
            .map_err(|e| format!("{path}: record {}: {e}", number + 1))?;
        number += 1;
        let frac = word(&rec[4..8]);
        let frame = Frame {
            number,
            ts: Timestamp::new(
                i64::from(word(&rec[0..4])),
                if nanos {
                    frac
                } else {
                    frac.saturating_mul(1000)
                },
            ),
            wire_len: word(&rec[12..16]),
            data: &data,
        };
        let Ok(()) = analyzer.frame(&frame, link, &mut Closes);
    }
    let Ok(()) = analyzer.finish(&mut Closes);
    Ok(())
}
