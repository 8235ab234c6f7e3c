//! `Sink::settled`: told once a connection's exchange is over (after its
//! last packet), long before it retires at the end of TIME_WAIT; and only
//! when asked for.

use std::convert::Infallible;

use synack_core::analyzer::{AnalyzerConfig, Lookahead, Sink};
use synack_core::decode::link::LinkKind;
use synack_core::decode::tcp::flag::{ACK, FIN, SYN};
use synack_core::decode::Frame;
use synack_core::synth::{addr, ms, SegmentSpec};
use synack_core::track::{Connection, Facts, TcpState};
use synack_core::{Analyzer, Packet};

/// What the sink was told, in order.
#[derive(Debug, PartialEq, Eq)]
enum Told {
    Packet(u64),
    Settled(u64, [TcpState; 2]),
    Retired(u64),
}

#[derive(Default)]
struct Log(Vec<Told>);

impl Sink for Log {
    type Error = Infallible;
    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        self.0.push(Told::Packet(p.frame.number));
        Ok(())
    }
    fn settled(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        self.0.push(Told::Settled(c.id(), f.states));
        Ok(())
    }
    fn connection(&mut self, c: &Connection, _f: &Facts) -> Result<(), Infallible> {
        self.0.push(Told::Retired(c.id()));
        Ok(())
    }
}

/// Handshake, then the client closes (four packets: FIN, ACK, FIN, ACK),
/// 10 ms apart, then 5 s of an unrelated connection's SYNs so time passes.
fn run(settled: bool, lookahead: Option<Lookahead>) -> Vec<Told> {
    let mut a = Analyzer::new(AnalyzerConfig {
        settled,
        lookahead,
        ..AnalyzerConfig::default()
    });
    let mut log = Log::default();
    let (client, server) = (addr([10, 0, 0, 1], 40000), addr([10, 0, 0, 2], 80));
    let (c, s) = (1000u32, 5000u32);
    let mut specs = vec![];
    for (from_client, flags, seq, ack) in [
        (true, SYN, c, 0),
        (false, SYN | ACK, s, c + 1),
        (true, ACK, c + 1, s + 1),
        (true, FIN | ACK, c + 1, s + 1),
        (false, ACK, s + 1, c + 2),
        (false, FIN | ACK, s + 1, c + 2),
        (true, ACK, c + 2, s + 2),
    ] {
        let mut spec = if from_client {
            SegmentSpec::new(client, server)
        } else {
            SegmentSpec::new(server, client)
        };
        spec.flags = flags;
        spec.seq = seq;
        spec.ack = ack;
        specs.push(spec);
    }
    for k in 0..50u16 {
        let mut spec = SegmentSpec::new(addr([10, 0, 0, 9], 50000 + k), server);
        spec.flags = SYN;
        spec.seq = 7;
        specs.push(spec);
    }
    for (i, spec) in specs.iter().enumerate() {
        let (bytes, wire_len) = spec.bytes();
        let t = if i < 7 { 10 * i as u64 } else { 100 * i as u64 };
        let f = Frame {
            number: i as u64 + 1,
            ts: ms(t),
            wire_len,
            data: &bytes,
        };
        let Ok(()) = a.frame(&f, LinkKind::Raw, &mut log);
    }
    let Ok(()) = a.finish(&mut log);
    log.0
}

#[test]
fn settled_comes_right_after_the_last_ack_of_the_close() {
    for lookahead in [None, Some(Lookahead::LIVE), Some(Lookahead::FILE)] {
        let told = run(true, lookahead);
        let at = told
            .iter()
            .position(|t| matches!(t, Told::Settled(1, _)))
            .unwrap_or_else(|| panic!("never settled: {told:?}"));
        assert_eq!(
            told[at],
            Told::Settled(1, [TcpState::TimeWait, TcpState::Closed]),
            "{lookahead:?}"
        );
        if lookahead.is_some() {
            // Packets come in order: the close's last ACK (frame 7) is just before.
            assert_eq!(told[at - 1], Told::Packet(7), "{lookahead:?}: {told:?}");
        }
        assert_eq!(
            told.iter()
                .filter(|t| matches!(t, Told::Settled(..)))
                .count(),
            1,
            "one connection settles: {told:?}"
        );
        // Retirement comes much later (the end of the input, TIME_WAIT still on).
        let retired = told.iter().position(|t| *t == Told::Retired(1)).unwrap();
        assert!(retired > at + 40, "{lookahead:?}: {told:?}");
    }
}

#[test]
fn not_asked_not_told() {
    assert!(!run(false, Some(Lookahead::LIVE))
        .iter()
        .any(|t| matches!(t, Told::Settled(..))));
}
