//! State-machine tests, grouped by the state the transition starts from.
//! Segments are built by hand (raw IPv4 frames) and go through the real
//! analyzer, so what is checked is what every view sees: states proven by
//! later segments, shown at the segment that caused them. The fixture
//! tests check the same rules on real captures.

use std::convert::Infallible;
use std::net::SocketAddrV4;

use super::event::{Analysis, CloseVariant, ResetCause};
use super::*;
use crate::analyzer::{AnalyzerConfig, Lookahead, Packet, Sink};
use crate::decode::link::LinkKind;
use crate::decode::tcp::flag::*;
use crate::decode::Frame;
use crate::synth::{addr, ms, SegmentSpec};
use crate::Analyzer;

const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;

struct Rec {
    frame: u64,
    obs: Option<Observation>,
    events: Vec<EventKind>,
}

#[derive(Default)]
struct Collect {
    packets: Vec<Rec>,
    between: Vec<Event>,
    retired: Vec<(Connection, Facts)>,
}

impl Sink for Collect {
    type Error = Infallible;
    fn packet(&mut self, p: &Packet<'_>) -> Result<(), Infallible> {
        self.packets.push(Rec {
            frame: p.frame.number,
            obs: p.observation.copied(),
            events: p.events.iter().map(|e| e.kind).collect(),
        });
        Ok(())
    }
    fn event(&mut self, e: &Event) -> Result<(), Infallible> {
        self.between.push(*e);
        Ok(())
    }
    fn connection(&mut self, c: &Connection, f: &Facts) -> Result<(), Infallible> {
        self.retired.push((c.clone(), f.clone()));
        Ok(())
    }
}

struct Sim {
    a: Analyzer,
    out: Collect,
    client: SocketAddrV4,
    server: SocketAddrV4,
    ms: u64,
    frame: u64,
    ts_option: bool,
}

impl Sim {
    fn with(cfg: TrackerConfig) -> Sim {
        Sim {
            a: Analyzer::new(AnalyzerConfig {
                tracker: cfg,
                lookahead: Some(Lookahead::FILE),
                ..AnalyzerConfig::default()
            }),
            out: Collect::default(),
            client: addr([127, 0, 0, 1], 50000),
            server: addr([127, 0, 0, 1], 9999),
            ms: 0,
            frame: 0,
            ts_option: false,
        }
    }

    fn new() -> Sim {
        Sim::with(TrackerConfig::default())
    }

    fn seg(&mut self, from: Side, flags: u8, seq: u32, ack: u32, len: u16, win: u16) -> &mut Sim {
        self.ms += 1;
        self.frame += 1;
        let (src, dst) = match from {
            Side::Client => (self.client, self.server),
            Side::Server => (self.server, self.client),
        };
        let mut spec = SegmentSpec::new(src, dst);
        spec.flags = flags;
        spec.seq = seq;
        spec.ack = ack;
        spec.len = len;
        spec.window = win;
        if self.ts_option {
            spec.timestamps = Some((self.ms as u32, 0));
        }
        let (bytes, wire_len) = spec.bytes();
        let frame = Frame {
            number: self.frame,
            ts: ms(self.ms),
            wire_len,
            data: &bytes,
        };
        let Ok(()) = self.a.frame(&frame, LinkKind::Raw, &mut self.out);
        self
    }

    fn c(&mut self, flags: u8, seq: u32, ack: u32, len: u16) -> &mut Sim {
        self.seg(Side::Client, flags, seq, ack, len, 1000)
    }

    fn s(&mut self, flags: u8, seq: u32, ack: u32, len: u16) -> &mut Sim {
        self.seg(Side::Server, flags, seq, ack, len, 1000)
    }

    fn wait_ms(&mut self, ms: u64) -> &mut Sim {
        self.ms += ms;
        self
    }

    /// The input ends: everything held goes out, every connection retires.
    fn done(&mut self) -> &mut Sim {
        let Ok(()) = self.a.finish(&mut self.out);
        self
    }

    fn rec(&self, frame: u64) -> &Rec {
        self.out
            .packets
            .iter()
            .find(|r| r.frame == frame)
            .unwrap_or_else(|| panic!("frame {frame} not handed on"))
    }

    /// States after frame `frame`, client first.
    fn at(&self, frame: u64) -> (TcpState, TcpState) {
        let o = self.rec(frame).obs.expect("a TCP segment");
        (o.paths[0].after(), o.paths[1].after())
    }

    /// The states one side went through at frame `frame`.
    fn path(&self, frame: u64, side: Side) -> Vec<TcpState> {
        let o = self.rec(frame).obs.expect("a TCP segment");
        o.paths[side as usize].states().to_vec()
    }

    fn has(&self, frame: u64, k: EventKind) -> bool {
        self.rec(frame).events.contains(&k)
    }

    fn has_analysis(&self, frame: u64, a: Analysis) -> bool {
        self.rec(frame)
            .events
            .iter()
            .any(|e| matches!(e, EventKind::Analysis { what, .. } if *what == a))
    }

    /// The first connection, once retired (after `done`).
    fn conn(&self) -> &Connection {
        &self.out.retired.first().expect("a retired connection").0
    }

    fn facts(&self) -> &Facts {
        &self.out.retired.first().expect("a retired connection").1
    }

    /// Handshake done, 5 bytes each way: frames 1–6.
    fn established() -> Sim {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .c(ACK, C_ISN + 1, S_ISN + 1, 0)
            .c(PSH | ACK, C_ISN + 1, S_ISN + 1, 5)
            .s(PSH | ACK, S_ISN + 1, C_ISN + 6, 5)
            .c(ACK, C_ISN + 6, S_ISN + 6, 0);
        s
    }
}

use TcpState::*;

/// Every change shown is an edge of the diagram, and each packet starts
/// where the connection's previous packet left each side (or learns what
/// was unknown, or is marked as a correction).
fn assert_consistent(s: &Sim) {
    let mut last: [Option<TcpState>; 2] = [None, None];
    for r in &s.out.packets {
        let Some(o) = r.obs else { continue };
        for (i, last) in last.iter_mut().enumerate() {
            let p = o.paths[i];
            for w in p.states().windows(2) {
                assert!(
                    w[0].can_become(w[1]) || o.corrected[i],
                    "frame {}: {:?} → {:?}",
                    r.frame,
                    w[0],
                    w[1]
                );
            }
            if let Some(prev) = *last {
                assert!(
                    prev == p.before() || prev == Unknown || o.corrected[i],
                    "frame {}: side {i} was {prev:?}, now starts at {:?}",
                    r.frame,
                    p.before()
                );
            }
            *last = Some(p.after());
        }
    }
}

mod closed_and_listen {
    use super::*;

    #[test]
    fn syn_answered_shows_client_syn_sent_and_server_listen_to_syn_rcvd() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .done();
        assert_eq!(s.path(1, Side::Client), vec![Closed, SynSent]);
        assert_eq!(s.path(1, Side::Server), vec![Listen, SynRcvd]);
        assert!(s.has(
            1,
            EventKind::Handshake {
                step: 1,
                rtt_ns: None
            }
        ));
        assert_eq!(s.rec(1).obs.unwrap().rel_seq, 0);
        assert_consistent(&s);
    }

    #[test]
    fn an_unanswered_syn_leaves_the_server_unknown() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .wait_ms(1000)
            .c(SYN, C_ISN, 0, 0)
            .done();
        assert_eq!(s.at(1), (SynSent, Unknown));
        assert_eq!(s.at(2), (SynSent, Unknown));
        assert!(s.has_analysis(2, Analysis::Retransmission));
        assert_eq!(s.facts().ending, Ending::Unanswered);
        assert_eq!(s.conn().handshake().syn_count(), 2);
    }

    #[test]
    fn first_segment_without_syn_is_midstream() {
        let mut s = Sim::new();
        s.c(PSH | ACK, 7000, 9000, 10).done();
        assert_eq!(s.at(1), (Established, Established));
        assert!(s.has(1, EventKind::Midstream));
        assert!(s.rec(1).obs.unwrap().assumed);
        assert_eq!(s.rec(1).obs.unwrap().rel_seq, 1, "base is first seq − 1");
    }
}

mod syn_sent {
    use super::*;

    #[test]
    fn syn_ack_establishes_the_client_once_its_ack_proves_it() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .c(ACK, C_ISN + 1, S_ISN + 1, 0)
            .done();
        assert_eq!(s.at(2), (Established, SynRcvd));
        assert_eq!(s.path(2, Side::Client), vec![SynSent, Established]);
        assert!(s.has(
            2,
            EventKind::Handshake {
                step: 2,
                rtt_ns: None
            }
        ));
    }

    #[test]
    fn the_syn_ack_unacknowledged_leaves_the_client_in_syn_sent() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .done();
        assert_eq!(s.at(2), (SynSent, SynRcvd));
    }

    #[test]
    fn rst_answering_the_syn_is_a_refusal_and_nothing_ever_listened() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0).s(RST | ACK, 0, C_ISN + 1, 0).done();
        assert_eq!(s.path(1, Side::Server), vec![Closed]);
        assert_eq!(s.at(2), (Closed, Closed));
        assert!(s.has(2, EventKind::Refused));
        assert!(s.has(
            2,
            EventKind::Reset {
                cause: ResetCause::Refused
            }
        ));
        assert_eq!(s.facts().ending, Ending::Refused);
        assert_eq!(s.facts().conn_state, zeek::ConnState::REJ);
        assert_consistent(&s);
    }

    #[test]
    fn crossing_syns_are_a_simultaneous_open() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN, S_ISN, 0, 0)
            .c(SYN | ACK, C_ISN, S_ISN + 1, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .c(ACK, C_ISN + 1, S_ISN + 1, 0)
            .s(ACK, S_ISN + 1, C_ISN + 1, 0)
            .done();
        assert!(s.has(2, EventKind::SimultaneousOpen));
        assert_eq!(s.path(2, Side::Server), vec![Closed, SynSent]);
        // Each SYN+ACK shows its sender had the peer's SYN; the client's ACK
        // proves it got the server's SYN+ACK, the server's ACK the client's.
        assert_eq!(s.at(4), (Established, SynRcvd));
        assert_eq!(s.path(4, Side::Server), vec![SynSent, SynRcvd]);
        assert_eq!(s.at(6), (Established, Established));
        assert!(s.conn().handshake().complete());
        assert_consistent(&s);
    }
}

mod syn_rcvd {
    use super::*;

    #[test]
    fn third_ack_establishes_the_server_with_rtt() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .c(ACK, C_ISN + 1, S_ISN + 1, 0)
            .done();
        assert_eq!(s.at(3), (Established, Established));
        assert!(s.has(
            3,
            EventKind::Handshake {
                step: 3,
                rtt_ns: Some(2_000_000)
            }
        ));
        assert!(s.conn().handshake().complete());
    }

    #[test]
    fn after_a_resent_syn_the_rtt_runs_from_the_copy_the_syn_ack_echoes() {
        let mut s = Sim::new();
        s.ts_option = true;
        s.c(SYN, C_ISN, 0, 0).wait_ms(1000).c(SYN, C_ISN, 0, 0);
        // The SYN+ACK echoes the second copy's TS value (1002 ms).
        s.ms += 1;
        s.frame += 1;
        let mut spec = SegmentSpec::new(s.server, s.client);
        spec.flags = SYN | ACK;
        spec.seq = S_ISN;
        spec.ack = C_ISN + 1;
        spec.timestamps = Some((9, 1002));
        let (bytes, wire_len) = spec.bytes();
        let f = Frame {
            number: s.frame,
            ts: ms(s.ms),
            wire_len,
            data: &bytes,
        };
        let Ok(()) = s.a.frame(&f, LinkKind::Raw, &mut s.out);
        s.c(ACK, C_ISN + 1, S_ISN + 1, 0).done();
        assert_eq!(s.conn().handshake().rtt_ns(), Some(2_000_000));
        assert_eq!(
            s.path(1, Side::Server),
            vec![Unknown],
            "the first SYN never arrived"
        );
        assert_eq!(s.path(2, Side::Server), vec![Listen, SynRcvd]);
    }

    #[test]
    fn after_a_resent_syn_without_timestamps_the_rtt_is_ambiguous() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .wait_ms(1000)
            .c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .c(ACK, C_ISN + 1, S_ISN + 1, 0)
            .done();
        assert_eq!(s.conn().handshake().rtt_ns(), None);
        assert!(s.conn().handshake().rtt_ambiguous());
    }
}

mod established {
    use super::*;

    #[test]
    fn fin_moves_the_sender_and_the_receiver_once_it_acknowledges() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .done();
        assert_eq!(s.at(7), (FinWait1, CloseWait));
        assert!(s.has(
            7,
            EventKind::Close {
                step: 1,
                of: None,
                variant: CloseVariant::FourWay
            }
        ));
        assert_consistent(&s);
    }

    #[test]
    fn a_fin_never_acknowledged_leaves_the_receiver_where_it_was() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0).done();
        assert_eq!(s.at(7), (FinWait1, Established));
        assert_eq!(s.facts().ending, Ending::FinOneWay { by: Side::Client });
    }

    #[test]
    fn rst_is_an_abort_and_ends_both() {
        let mut s = Sim::established();
        s.c(RST | ACK, C_ISN + 6, S_ISN + 6, 0).done();
        assert_eq!(s.at(7), (Closed, Closed));
        assert!(s.has(
            7,
            EventKind::Reset {
                cause: ResetCause::Abort
            }
        ));
        assert_eq!(
            s.facts().ending,
            Ending::Reset {
                by: Side::Client,
                cause: ResetCause::Abort
            }
        );
        assert_eq!(s.facts().conn_state, zeek::ConnState::RSTO);
    }

    #[test]
    fn keepalive_probe_and_its_ack() {
        let mut s = Sim::established();
        s.wait_ms(1000).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.s(ACK, S_ISN + 6, C_ISN + 6, 0).done();
        assert!(s.has_analysis(7, Analysis::KeepAlive));
        assert!(s.has_analysis(8, Analysis::KeepAliveAck));
        assert!(!s.has_analysis(8, Analysis::DuplicateAck));
        let k = s.facts().keepalive.unwrap();
        assert_eq!((k.by, k.probes), (Side::Client, 1));
        assert_eq!(k.idle_ns, Some(1_001_000_000));
    }

    #[test]
    fn unanswered_probes_end_in_a_keepalive_reset_and_the_silent_peer_is_unknown() {
        let mut s = Sim::established();
        s.wait_ms(2000).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.wait_ms(999).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.wait_ms(999).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.c(RST | ACK, C_ISN + 6, S_ISN + 6, 0).done();
        assert!(s.has(
            10,
            EventKind::Reset {
                cause: ResetCause::KeepaliveTimeout
            }
        ));
        assert_eq!(
            s.at(10),
            (Closed, Unknown),
            "nothing shows the server got the RST"
        );
        let k = s.facts().keepalive.unwrap();
        assert_eq!(k.probes, 3);
        assert_eq!(k.interval_ns, Some(1_000_000_000));
    }

    #[test]
    fn zero_window_and_a_linux_zero_window_probe() {
        let mut s = Sim::established();
        s.seg(Side::Server, ACK, S_ISN + 6, C_ISN + 6, 0, 0);
        // Linux: 0 bytes at SND.UNA − 1 — shaped like a keep-alive, but the window is zero.
        s.wait_ms(200).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.seg(Side::Server, ACK, S_ISN + 6, C_ISN + 6, 0, 0);
        s.seg(Side::Server, ACK, S_ISN + 6, C_ISN + 6, 0, 500);
        s.done();
        assert!(s.has_analysis(7, Analysis::ZeroWindow));
        assert!(s.has_analysis(8, Analysis::ZeroWindowProbe));
        assert!(!s.has_analysis(8, Analysis::KeepAlive));
        assert!(s.has_analysis(9, Analysis::ZeroWindowProbeAck));
        assert!(s.has_analysis(10, Analysis::WindowUpdate));
    }

    #[test]
    fn resent_data_whose_original_was_captured_is_a_retransmission_even_quickly() {
        let mut s = Sim::established();
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .c(ACK, C_ISN + 106, S_ISN + 6, 100)
            .c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .done();
        assert!(s.has_analysis(9, Analysis::Retransmission));
        assert!(!s.has_analysis(9, Analysis::OutOfOrder));
        assert_eq!(
            s.conn().client().bytes(),
            205,
            "the resent bytes count once"
        );
    }

    #[test]
    fn a_gap_filled_soon_after_is_out_of_order_and_its_bytes_count() {
        let mut s = Sim::established();
        s.c(ACK, C_ISN + 106, S_ISN + 6, 100)
            .c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .done();
        assert!(s.has_analysis(7, Analysis::LostSegment));
        assert!(s.has_analysis(8, Analysis::OutOfOrder));
        assert_eq!(s.conn().client().bytes(), 205);
    }

    #[test]
    fn duplicate_acks_then_fast_retransmission() {
        let mut s = Sim::established();
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .c(ACK, C_ISN + 106, S_ISN + 6, 100)
            .s(ACK, S_ISN + 6, C_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 6, 0)
            .c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .done();
        assert!(s.has_analysis(9, Analysis::DuplicateAck));
        assert!(s.has_analysis(11, Analysis::FastRetransmission));
    }
}

mod fin_wait_1 {
    use super::*;

    #[test]
    fn ack_of_the_fin_moves_to_fin_wait_2() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .done();
        assert_eq!(s.at(8), (FinWait2, CloseWait));
        assert!(s.has(
            8,
            EventKind::Close {
                step: 2,
                of: Some(4),
                variant: CloseVariant::FourWay
            }
        ));
    }

    #[test]
    fn an_ack_below_fin_plus_one_does_not_acknowledge_the_fin() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 6, 0)
            .done();
        assert_eq!(s.at(8), (FinWait1, Established));
    }

    #[test]
    fn fin_ack_piggybacked_is_the_three_packet_close() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0)
            .c(ACK, C_ISN + 7, S_ISN + 7, 0)
            .done();
        assert_eq!(s.path(7, Side::Server), vec![Established, CloseWait]);
        assert_eq!(s.path(8, Side::Client), vec![FinWait1, FinWait2, TimeWait]);
        assert_eq!(s.at(8), (TimeWait, LastAck));
        assert!(s.has(
            8,
            EventKind::Close {
                step: 2,
                of: Some(3),
                variant: CloseVariant::ThreeWay
            }
        ));
        assert_eq!(s.at(9), (TimeWait, Closed));
        assert!(s.has(
            9,
            EventKind::Close {
                step: 3,
                of: Some(3),
                variant: CloseVariant::ThreeWay
            }
        ));
        assert_consistent(&s);
    }

    #[test]
    fn crossing_fins_go_fin_wait_1_closing_time_wait_on_both_sides() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 6, 0)
            .c(ACK, C_ISN + 7, S_ISN + 7, 0)
            .s(ACK, S_ISN + 7, C_ISN + 7, 0)
            .done();
        // The server's FIN does not acknowledge the client's: it had not got it.
        assert_eq!(s.at(7), (FinWait1, Established));
        assert_eq!(s.path(8, Side::Client), vec![FinWait1, Closing]);
        assert_eq!(s.path(8, Side::Server), vec![Established, FinWait1]);
        assert_eq!(s.path(10, Side::Client), vec![Closing, TimeWait]);
        assert_eq!(s.path(10, Side::Server), vec![FinWait1, Closing, TimeWait]);
        assert_eq!(
            s.facts().ending.close_variant(),
            Some(CloseVariant::Simultaneous)
        );
        assert_eq!(s.facts().time_wait_holders(), (true, true));
        assert_consistent(&s);
    }
}

mod fin_wait_2 {
    use super::*;

    #[test]
    fn peer_fin_starts_time_wait_with_its_expiry() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0)
            .c(ACK, C_ISN + 7, S_ISN + 7, 0)
            .done();
        assert_eq!(s.at(9), (TimeWait, LastAck));
        let tw = s.facts().time_wait[0].unwrap();
        assert!(s.has(9, EventKind::TimeWait { until: tw.until }));
        assert_eq!(tw.until.nanos_since(tw.entered), 60 * SECOND);
        assert_eq!(tw.entered, ms(9));
    }

    #[test]
    fn data_after_receiving_the_peer_fin_is_a_half_close() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .s(PSH | ACK, S_ISN + 6, C_ISN + 7, 100)
            .s(PSH | ACK, S_ISN + 106, C_ISN + 7, 50)
            .done();
        assert!(s.has(9, EventKind::HalfClose { bytes: 100 }));
        assert_eq!(s.conn().close().half_close_bytes(), 150);
    }
}

mod close_wait_and_last_ack {
    use super::*;

    fn four_way_to_last_ack() -> Sim {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0);
        s
    }

    #[test]
    fn final_ack_closes_the_last_ack_side() {
        let mut s = four_way_to_last_ack();
        s.c(ACK, C_ISN + 7, S_ISN + 7, 0).done();
        assert_eq!(s.at(10), (TimeWait, Closed));
        assert!(s.has(
            10,
            EventKind::Close {
                step: 4,
                of: Some(4),
                variant: CloseVariant::FourWay
            }
        ));
        assert_eq!(s.facts().conn_state, zeek::ConnState::SF);
        assert_eq!(s.conn().history(), "ShADdFaf");
        assert_consistent(&s);
    }

    #[test]
    fn a_repeated_fin_takes_back_the_final_ack_that_was_lost() {
        let mut s = four_way_to_last_ack();
        s.c(ACK, C_ISN + 7, S_ISN + 7, 0);
        s.wait_ms(200).s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0);
        s.c(ACK, C_ISN + 7, S_ISN + 7, 0).done();
        assert!(s.has(11, EventKind::LastAckLost));
        assert!(s.has_analysis(11, Analysis::Retransmission));
        // Frame 10 went out before anything disproved it (nothing waited on
        // it), so the resent FIN corrects it: the server never left LAST_ACK.
        assert_eq!(s.at(10), (TimeWait, Closed));
        assert_eq!(s.at(11), (TimeWait, LastAck));
        assert!(s.rec(11).obs.unwrap().corrected[1]);
        assert_eq!(s.at(12), (TimeWait, Closed));
        assert_consistent(&s);
    }

    #[test]
    fn rst_after_own_fin_is_after_close() {
        let mut s = four_way_to_last_ack();
        s.s(RST, S_ISN + 7, 0, 0).done();
        assert!(s.has(
            10,
            EventKind::Reset {
                cause: ResetCause::AfterClose
            }
        ));
    }
}

mod time_wait {
    use super::*;

    fn closed_by_client() -> Sim {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0)
            .c(ACK, C_ISN + 7, S_ISN + 7, 0);
        s
    }

    fn tick(s: &mut Sim, ms_: u64) {
        let Ok(()) = s.a.tick(ms(ms_), &mut s.out);
    }

    #[test]
    fn expires_after_2msl_of_capture_time_and_the_connection_retires() {
        let mut s = closed_by_client();
        tick(&mut s, 30_000);
        assert!(s.out.between.is_empty());
        tick(&mut s, 61_000);
        let kinds: Vec<_> = s.out.between.iter().map(|e| (e.side, e.kind)).collect();
        assert_eq!(kinds, vec![(Side::Client, EventKind::TimeWaitExpired)]);
        assert_eq!(s.out.retired.len(), 1);
        assert_eq!(s.facts().retired, Retired::Finished);
        assert_eq!(
            s.facts().time_wait[0].unwrap().end,
            Some(TimeWaitEnd::Expired)
        );
        assert!(s.a.tracker().is_empty());
    }

    #[test]
    fn new_syn_on_the_same_four_tuple_is_port_reuse() {
        let mut s = closed_by_client();
        s.wait_ms(500).c(SYN, C_ISN + 100_000, 0, 0);
        s.s(SYN | ACK, S_ISN + 100_000, C_ISN + 100_001, 0).done();
        assert_eq!(s.rec(10).obs.unwrap().conn, 2);
        assert!(s.has(
            10,
            EventKind::PortReuse {
                previous: 1,
                previous_in_time_wait: true
            }
        ));
        assert_eq!(s.facts().retired, Retired::Reused);
        let tw = s.facts().time_wait[0].unwrap();
        assert_eq!(tw.end, Some(TimeWaitEnd::Reused));
        let second = &s.out.retired[1].0;
        assert_eq!(second.client().count(Analysis::ReusedPorts), 1);
        assert!(second.port_reuse());
        assert_eq!(s.at(10), (SynSent, SynRcvd));
    }

    #[test]
    fn still_running_at_the_end_is_said_at_the_capture_s_last_time() {
        let mut s = closed_by_client();
        s.done();
        let e = s
            .out
            .between
            .iter()
            .find(|e| matches!(e.kind, EventKind::TimeWaitContinues { .. }))
            .unwrap();
        assert_eq!(e.ts, ms(9));
        assert_eq!(s.facts().time_wait[0].unwrap().end, None);
    }
}

mod limits {
    use super::*;

    #[test]
    fn max_connections_evicts_the_least_recent() {
        let mut s = Sim::with(TrackerConfig {
            max_connections: 4,
            ..Default::default()
        });
        for i in 0..10u16 {
            s.client = addr([10, 0, 0, 1], 40000 + i);
            s.c(SYN, 1, 0, 0);
            assert!(s.a.tracker().len() <= 4);
        }
        s.done();
        assert_eq!(s.a.counts().evicted_cap, 6);
        let evicted: Vec<u64> = s
            .out
            .retired
            .iter()
            .filter(|(_, f)| f.retired == Retired::Evicted)
            .map(|(c, _)| c.id())
            .collect();
        assert_eq!(evicted, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn time_going_back_is_counted_and_never_makes_a_duration_negative() {
        let mut s = Sim::established();
        s.ms = 1;
        s.c(ACK, C_ISN + 6, S_ISN + 6, 0).done();
        assert_eq!(s.a.counts().time_went_back, 1);
        assert!(s.facts().duration_ns >= 0);
    }
}

mod downstream_of_a_loss {
    use super::*;

    /// Handshake with a 10 ms round trip at the capture point (the capture
    /// sits by the server: the client's ACK comes 10 ms after the SYN+ACK).
    fn slow_start() -> Sim {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0).s(SYN | ACK, S_ISN, C_ISN + 1, 0);
        s.wait_ms(10).c(ACK, C_ISN + 1, S_ISN + 1, 0);
        s
    }

    /// A SACK option's first block, as a receiver sends it.
    fn sack(s: &mut Sim, ack: u32, left: u32, right: u32) {
        s.ms += 1;
        s.frame += 1;
        let mut spec = SegmentSpec::new(s.server, s.client);
        spec.flags = ACK;
        spec.seq = S_ISN + 1;
        spec.ack = ack;
        spec.sack = Some((left, right));
        let (bytes, wire_len) = spec.bytes();
        let f = Frame {
            number: s.frame,
            ts: ms(s.ms),
            wire_len,
            data: &bytes,
        };
        let Ok(()) = s.a.frame(&f, LinkKind::Raw, &mut s.out);
    }

    #[test]
    fn a_gap_filled_a_round_trip_after_the_sack_that_reported_it_is_a_retransmission() {
        let mut s = slow_start();
        // Segment 1001..2001 is lost before the capture point.
        s.c(ACK, C_ISN + 1, S_ISN + 1, 1000); // frame 4
        s.c(ACK, C_ISN + 2001, S_ISN + 1, 1000); // frame 5: a gap
        sack(&mut s, C_ISN + 1001, C_ISN + 2001, C_ISN + 3001); // frame 6: reports it
                                                                // RACK resends on that first SACK: one round trip later, right
                                                                // behind a new segment (within 3 ms of the highest one).
        s.wait_ms(9).c(ACK, C_ISN + 3001, S_ISN + 1, 1000); // frame 7
        s.c(ACK, C_ISN + 1001, S_ISN + 1, 1000); // frame 8: fills the gap
        s.done();
        assert!(s.has_analysis(5, Analysis::LostSegment));
        assert!(s.has_analysis(8, Analysis::Retransmission));
        assert!(!s.has_analysis(8, Analysis::OutOfOrder));
        assert_eq!(s.conn().client().bytes(), 4000, "the lost bytes count once");
    }

    #[test]
    fn a_gap_filled_right_after_the_report_is_reordering() {
        let mut s = slow_start();
        s.c(ACK, C_ISN + 1, S_ISN + 1, 1000);
        s.c(ACK, C_ISN + 2001, S_ISN + 1, 1000);
        sack(&mut s, C_ISN + 1001, C_ISN + 2001, C_ISN + 3001);
        s.c(ACK, C_ISN + 1001, S_ISN + 1, 1000); // 1 ms later: it was only late
        s.done();
        assert!(s.has_analysis(7, Analysis::OutOfOrder));
    }
}

mod ecn {
    use super::*;

    fn with(s: &mut Sim, from: Side, flags: u8, seq: u32, ack: u32, ae: bool, ecn: u8) {
        s.ms += 1;
        s.frame += 1;
        let (src, dst) = match from {
            Side::Client => (s.client, s.server),
            Side::Server => (s.server, s.client),
        };
        let mut spec = SegmentSpec::new(src, dst);
        spec.flags = flags;
        spec.seq = seq;
        spec.ack = ack;
        spec.ae = ae;
        spec.ecn = ecn;
        spec.len = if flags & SYN == 0 { 100 } else { 0 };
        let (bytes, wire_len) = spec.bytes();
        let f = Frame {
            number: s.frame,
            ts: ms(s.ms),
            wire_len,
            data: &bytes,
        };
        let Ok(()) = s.a.frame(&f, LinkKind::Raw, &mut s.out);
    }

    #[test]
    fn an_accurate_ecn_handshake_is_told_from_a_classic_one() {
        let mut s = Sim::new();
        with(&mut s, Side::Client, SYN | ECE | CWR, C_ISN, 0, true, 0);
        // AccECN SYN+ACK codepoint (AE,CWR,ECE) = (0,1,0).
        with(
            &mut s,
            Side::Server,
            SYN | ACK | CWR,
            S_ISN,
            C_ISN + 1,
            false,
            0,
        );
        s.done();
        assert!(s.has(
            2,
            EventKind::EcnSetup {
                mode: EcnMode::Accurate
            }
        ));
        assert_eq!(s.conn().ecn().mode(), Some(EcnMode::Accurate));
    }

    #[test]
    fn classic_ecn_marks_echo_and_reduce() {
        let mut s = Sim::new();
        with(&mut s, Side::Client, SYN | ECE | CWR, C_ISN, 0, false, 0);
        with(
            &mut s,
            Side::Server,
            SYN | ACK | ECE,
            S_ISN,
            C_ISN + 1,
            false,
            0,
        );
        with(&mut s, Side::Client, ACK, C_ISN + 1, S_ISN + 1, false, 3); // CE
        with(
            &mut s,
            Side::Server,
            ACK | ECE,
            S_ISN + 1,
            C_ISN + 101,
            false,
            0,
        );
        with(
            &mut s,
            Side::Server,
            ACK | ECE,
            S_ISN + 101,
            C_ISN + 101,
            false,
            0,
        );
        with(
            &mut s,
            Side::Client,
            ACK | CWR,
            C_ISN + 101,
            S_ISN + 201,
            false,
            2,
        );
        s.done();
        assert!(s.has(
            2,
            EventKind::EcnSetup {
                mode: EcnMode::Classic
            }
        ));
        assert!(s.has(3, EventKind::CongestionExperienced));
        assert!(s.has(4, EventKind::EcnEcho));
        assert!(!s.has(5, EventKind::EcnEcho), "one echo event per run");
        assert!(s.has(6, EventKind::WindowReduced));
        let e = s.conn().ecn();
        assert_eq!((e.ce(), e.ece(), e.cwr()), ([1, 0], [0, 2], [1, 0]));
    }
}

/// Zeek's counts of a connection (conn.log), by Zeek's rules: each expected
/// value is worked out by hand from TCPSessionAdapter.cc and main.zeek.
mod zeek_counts {
    use super::*;

    #[test]
    fn acked_bytes_the_capture_never_carried_are_missed() {
        let mut s = Sim::established();
        s.c(PSH | ACK, C_ISN + 6, S_ISN + 6, 100)
            // [C+106, C+206) is never captured.
            .c(PSH | ACK, C_ISN + 206, S_ISN + 6, 100)
            .s(ACK, S_ISN + 6, C_ISN + 306, 0)
            // Acknowledges 100 bytes past anything the client was seen to send.
            .s(ACK, S_ISN + 6, C_ISN + 406, 0)
            .done();
        let c = s.conn();
        assert_eq!(c.client().missed_bytes(), 200);
        assert_eq!(c.server().missed_bytes(), 0);
        assert_eq!(c.client().bytes(), 205);
        // Zeek's orig_bytes come from sequence numbers (the ACK reaching
        // C+406): missed bytes are in.
        assert_eq!(c.zeek().payload_bytes(Side::Client), 405);
        assert_eq!(c.zeek().payload_bytes(Side::Server), 5);
        // One content gap letter (the second gap is the 2nd, not the 10th).
        assert_eq!(c.history(), "ShADdaG");
        assert_eq!(s.facts().conn_state, zeek::ConnState::S1);
    }

    #[test]
    fn a_gap_filled_before_it_is_acked_is_not_missed() {
        let mut s = Sim::established();
        s.c(PSH | ACK, C_ISN + 106, S_ISN + 6, 100)
            .c(PSH | ACK, C_ISN + 6, S_ISN + 6, 100)
            .s(ACK, S_ISN + 6, C_ISN + 206, 0)
            .done();
        let c = s.conn();
        assert_eq!(c.client().missed_bytes(), 0);
        assert_eq!(c.client().bytes(), 205);
        // Zeek: the filling segment did not advance the highest seq: 'T'.
        assert_eq!(c.history(), "ShADdTa");
    }

    #[test]
    fn a_fin_carrying_data_is_an_f_only_and_the_final_ack_is_not_timed() {
        let mut s = Sim::established();
        s.wait_ms(10)
            .c(FIN | PSH | ACK, C_ISN + 6, S_ISN + 6, 5)
            .wait_ms(10)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 12, 0)
            .wait_ms(10)
            .c(ACK, C_ISN + 12, S_ISN + 7, 0)
            .done();
        let c = s.conn();
        assert_eq!(c.history(), "ShADdFf");
        assert_eq!(s.facts().conn_state, zeek::ConnState::SF);
        assert_eq!(c.zeek().payload_bytes(Side::Client), 10);
        // Zeek stops the clock once both sides closed: not the last ACK.
        let full = c.last_ts().nanos_since(c.first_ts());
        assert_eq!(c.zeek().duration_ns(c.first_ts()), full - 1_000_000 * 11);
    }

    #[test]
    fn when_both_reset_zeek_names_the_responder() {
        let mut s = Sim::established();
        s.c(RST | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(RST, S_ISN + 6, 0, 0)
            .done();
        assert_eq!(s.facts().conn_state, zeek::ConnState::RSTR);
        assert_eq!(s.conn().history(), "ShADdRr");
    }

    #[test]
    fn a_syn_answered_by_nothing_then_reset_is_rstos0() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .wait_ms(1000)
            .c(RST, C_ISN + 1, 0, 0)
            .done();
        assert_eq!(s.facts().conn_state, zeek::ConnState::RSTOS0);
        assert_eq!(s.conn().history(), "SR");
    }
}
