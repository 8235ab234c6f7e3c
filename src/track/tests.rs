//! State-machine tests, grouped by the state the transition starts from.
//! Segments are built by hand here so each rule is tested in isolation;
//! the fixture tests check the same rules on real captures.

use std::net::SocketAddr;

use super::event::{Analysis, CloseVariant, ResetCause};
use super::*;
use crate::decode::tcp::{flag::*, OptionSummary};
use crate::decode::{Segment, SeqNum, Timestamp};

const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;

struct Sim {
    t: Tracker,
    client: SocketAddr,
    server: SocketAddr,
    ms: u64,
    frame: u64,
    events: Vec<EventKind>,
    obs: Option<Observation>,
}

impl Sim {
    fn new() -> Sim {
        Sim {
            t: Tracker::new(TrackerConfig {
                time_wait_ns: 60 * SECOND,
                ..Default::default()
            }),
            client: "127.0.0.1:50000".parse().unwrap(),
            server: "127.0.0.1:9999".parse().unwrap(),
            ms: 0,
            frame: 0,
            events: Vec::new(),
            obs: None,
        }
    }

    fn seg(&mut self, from: Side, flags: u8, seq: u32, ack: u32, len: u32, win: u16) -> &mut Sim {
        self.ms += 1;
        self.frame += 1;
        let (src, dst) = match from {
            Side::Client => (self.client, self.server),
            Side::Server => (self.server, self.client),
        };
        let seg = Segment {
            frame: self.frame,
            ts: Timestamp::new(
                (self.ms / 1000) as i64,
                ((self.ms % 1000) * 1_000_000) as u32,
            ),
            src_mac: None,
            dst_mac: None,
            src,
            dst,
            flags,
            seq: SeqNum(seq),
            ack: (flags & ACK != 0).then_some(SeqNum(ack)),
            window: win,
            urgent_ptr: 0,
            payload_len: len,
            options: OptionSummary::default(),
            truncated: false,
        };
        self.obs = Some(self.t.observe(&seg));
        self.events = self.t.events().iter().map(|e| e.kind).collect();
        self
    }

    fn c(&mut self, flags: u8, seq: u32, ack: u32, len: u32) -> &mut Sim {
        self.seg(Side::Client, flags, seq, ack, len, 1000)
    }

    fn s(&mut self, flags: u8, seq: u32, ack: u32, len: u32) -> &mut Sim {
        self.seg(Side::Server, flags, seq, ack, len, 1000)
    }

    fn wait_ms(&mut self, ms: u64) -> &mut Sim {
        self.ms += ms;
        self
    }

    fn states(&self) -> (TcpState, TcpState) {
        let o = self.obs.unwrap();
        (o.after[0], o.after[1])
    }

    fn has(&self, k: EventKind) -> bool {
        self.events.contains(&k)
    }

    fn has_analysis(&self, a: Analysis) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, EventKind::Analysis { what, .. } if *what == a))
    }

    fn conn(&self) -> &Connection {
        self.t
            .connection(&ConnKey::of(self.client, self.server))
            .unwrap()
    }

    /// Handshake done, 5 bytes each way.
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

mod closed_and_listen {
    use super::*;

    #[test]
    fn syn_opens_client_syn_sent_server_syn_rcvd() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0);
        let o = s.obs.unwrap();
        assert_eq!(o.before, [Closed, Listen]);
        assert_eq!(s.states(), (SynSent, SynRcvd));
        assert!(s.has(EventKind::Handshake {
            step: 1,
            rtt_ns: None
        }));
        assert_eq!(o.rel_seq, 0);
    }

    #[test]
    fn first_segment_without_syn_is_midstream() {
        let mut s = Sim::new();
        s.c(PSH | ACK, 7000, 9000, 10);
        assert_eq!(s.states(), (Established, Established));
        assert!(s.has(EventKind::Midstream));
        assert!(s.obs.unwrap().assumed);
        assert_eq!(s.obs.unwrap().rel_seq, 1, "base is first seq − 1");
    }
}

mod syn_sent {
    use super::*;

    #[test]
    fn syn_ack_establishes_the_client() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0).s(SYN | ACK, S_ISN, C_ISN + 1, 0);
        assert_eq!(s.states(), (Established, SynRcvd));
        assert!(s.has(EventKind::Handshake {
            step: 2,
            rtt_ns: None
        }));
    }

    #[test]
    fn rst_answering_the_syn_is_a_refusal() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0).s(RST | ACK, 0, C_ISN + 1, 0);
        assert_eq!(s.states(), (Closed, Closed));
        assert!(s.has(EventKind::Refused));
        assert!(s.has(EventKind::Reset {
            cause: ResetCause::Refused
        }));
        assert!(s.conn().refused);
        assert_eq!(zeek::conn_state(s.conn()), "REJ");
    }

    #[test]
    fn same_syn_again_is_a_retransmission_not_a_new_connection() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0).wait_ms(1000).c(SYN, C_ISN, 0, 0);
        assert_eq!(s.obs.unwrap().conn, 1);
        assert!(s.has_analysis(Analysis::Retransmission));
        assert_eq!(s.conn().handshake.syn_count, 2);
        assert_eq!(s.states(), (SynSent, SynRcvd));
    }

    #[test]
    fn crossing_syns_are_a_simultaneous_open() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0).s(SYN, S_ISN, 0, 0);
        assert!(s.has(EventKind::SimultaneousOpen));
        assert_eq!(s.states(), (SynRcvd, SynRcvd));
        s.c(SYN | ACK, C_ISN, S_ISN + 1, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0);
        assert_eq!(s.states(), (Established, Established));
        assert!(s.conn().handshake.complete);
    }
}

mod syn_rcvd {
    use super::*;

    #[test]
    fn third_ack_establishes_the_server_with_rtt() {
        let mut s = Sim::new();
        s.c(SYN, C_ISN, 0, 0)
            .s(SYN | ACK, S_ISN, C_ISN + 1, 0)
            .c(ACK, C_ISN + 1, S_ISN + 1, 0);
        assert_eq!(s.states(), (Established, Established));
        assert!(s.has(EventKind::Handshake {
            step: 3,
            rtt_ns: Some(2_000_000)
        }));
        assert!(s.conn().handshake.complete);
    }
}

mod established {
    use super::*;

    #[test]
    fn fin_moves_sender_to_fin_wait_1_and_receiver_to_close_wait() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0);
        assert_eq!(s.states(), (FinWait1, CloseWait));
        assert!(s.has(EventKind::Close {
            step: 1,
            of: None,
            variant: CloseVariant::FourWay
        }));
    }

    #[test]
    fn rst_is_an_abort() {
        let mut s = Sim::established();
        s.c(RST | ACK, C_ISN + 6, S_ISN + 6, 0);
        assert_eq!(s.states(), (Closed, Closed));
        assert!(s.has(EventKind::Reset {
            cause: ResetCause::Abort
        }));
        assert_eq!(s.conn().aborted_by, Some(Side::Client));
        assert_eq!(zeek::conn_state(s.conn()), "RSTO");
    }

    #[test]
    fn keepalive_probe_and_its_ack() {
        let mut s = Sim::established();
        s.wait_ms(1000).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        assert!(s.has_analysis(Analysis::KeepAlive));
        s.s(ACK, S_ISN + 6, C_ISN + 6, 0);
        assert!(s.has_analysis(Analysis::KeepAliveAck));
        assert!(!s.has_analysis(Analysis::DuplicateAck));
        let k = &s.conn().client.keepalive;
        assert_eq!(k.probes, 1);
        assert_eq!(k.idle_ns, Some(1_001_000_000));
    }

    #[test]
    fn unanswered_probes_reveal_the_interval_and_end_in_a_keepalive_reset() {
        let mut s = Sim::established();
        s.wait_ms(2000).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.wait_ms(999).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.wait_ms(999).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        s.c(RST | ACK, C_ISN + 6, S_ISN + 6, 0);
        assert!(s.has(EventKind::Reset {
            cause: ResetCause::KeepaliveTimeout
        }));
        let k = &s.conn().client.keepalive;
        assert_eq!(k.probes, 3);
        assert_eq!(k.interval_ns, Some(1_000_000_000));
    }

    #[test]
    fn zero_window_and_a_linux_zero_window_probe() {
        let mut s = Sim::established();
        s.seg(Side::Server, ACK, S_ISN + 6, C_ISN + 6, 0, 0);
        assert!(s.has_analysis(Analysis::ZeroWindow));
        // Linux: 0 bytes at SND.UNA − 1 — shaped like a keep-alive, but the window is zero.
        s.wait_ms(200).c(ACK, C_ISN + 5, S_ISN + 6, 0);
        assert!(s.has_analysis(Analysis::ZeroWindowProbe));
        assert!(!s.has_analysis(Analysis::KeepAlive));
        s.seg(Side::Server, ACK, S_ISN + 6, C_ISN + 6, 0, 0);
        assert!(s.has_analysis(Analysis::ZeroWindowProbeAck));
        s.seg(Side::Server, ACK, S_ISN + 6, C_ISN + 6, 0, 500);
        assert!(s.has_analysis(Analysis::WindowUpdate));
    }

    #[test]
    fn resent_data_whose_original_was_captured_is_a_retransmission_even_quickly() {
        let mut s = Sim::established();
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .c(ACK, C_ISN + 106, S_ISN + 6, 100);
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100);
        assert!(s.has_analysis(Analysis::Retransmission));
        assert!(!s.has_analysis(Analysis::OutOfOrder));
    }

    #[test]
    fn a_gap_filled_soon_after_is_out_of_order() {
        let mut s = Sim::established();
        s.c(ACK, C_ISN + 106, S_ISN + 6, 100);
        assert!(s.has_analysis(Analysis::LostSegment));
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100);
        assert!(s.has_analysis(Analysis::OutOfOrder));
    }

    #[test]
    fn duplicate_acks_then_fast_retransmission() {
        let mut s = Sim::established();
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100)
            .c(ACK, C_ISN + 106, S_ISN + 6, 100);
        s.s(ACK, S_ISN + 6, C_ISN + 6, 0);
        assert!(s.has_analysis(Analysis::DuplicateAck));
        s.s(ACK, S_ISN + 6, C_ISN + 6, 0);
        s.c(ACK, C_ISN + 6, S_ISN + 6, 100);
        assert!(s.has_analysis(Analysis::FastRetransmission));
    }
}

mod fin_wait_1 {
    use super::*;

    #[test]
    fn ack_of_the_fin_moves_to_fin_wait_2() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0);
        assert_eq!(s.states(), (FinWait2, CloseWait));
        assert!(s.has(EventKind::Close {
            step: 2,
            of: Some(4),
            variant: CloseVariant::FourWay
        }));
    }

    #[test]
    fn an_ack_below_fin_plus_one_does_not_acknowledge_the_fin() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 6, 0);
        assert_eq!(s.states(), (FinWait1, CloseWait));
    }

    #[test]
    fn fin_ack_piggybacked_is_the_three_packet_close() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0);
        assert_eq!(s.states(), (TimeWait, LastAck));
        assert!(s.has(EventKind::Close {
            step: 2,
            of: Some(3),
            variant: CloseVariant::ThreeWay
        }));
        s.c(ACK, C_ISN + 7, S_ISN + 7, 0);
        assert_eq!(s.states(), (TimeWait, Closed));
        assert!(s.has(EventKind::Close {
            step: 3,
            of: Some(3),
            variant: CloseVariant::ThreeWay
        }));
    }

    #[test]
    fn crossing_fins_are_a_simultaneous_close_ending_in_two_time_waits() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 6, 0);
        assert_eq!(s.states(), (Closing, Closing));
        s.c(ACK, C_ISN + 7, S_ISN + 7, 0);
        assert_eq!(s.states(), (Closing, TimeWait));
        s.s(ACK, S_ISN + 7, C_ISN + 7, 0);
        assert_eq!(s.states(), (TimeWait, TimeWait));
        assert_eq!(s.conn().close.variant, Some(CloseVariant::Simultaneous));
    }
}

mod fin_wait_2 {
    use super::*;

    #[test]
    fn peer_fin_starts_time_wait_with_its_expiry() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0);
        assert_eq!(s.states(), (TimeWait, LastAck));
        let until = s.conn().client.time_wait_until.unwrap();
        assert!(s.has(EventKind::TimeWait { until }));
        assert_eq!(until.secs, 60);
    }

    #[test]
    fn data_to_a_half_closed_peer_is_a_half_close() {
        let mut s = Sim::established();
        s.c(FIN | ACK, C_ISN + 6, S_ISN + 6, 0)
            .s(ACK, S_ISN + 6, C_ISN + 7, 0)
            .s(PSH | ACK, S_ISN + 6, C_ISN + 7, 100);
        assert!(s.has(EventKind::HalfClose { bytes: 100 }));
        s.s(PSH | ACK, S_ISN + 106, C_ISN + 7, 50);
        assert_eq!(s.conn().close.half_close_bytes, 150);
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
        s.c(ACK, C_ISN + 7, S_ISN + 7, 0);
        assert_eq!(s.states(), (TimeWait, Closed));
        assert!(s.has(EventKind::Close {
            step: 4,
            of: Some(4),
            variant: CloseVariant::FourWay
        }));
        assert_eq!(zeek::conn_state(s.conn()), "SF");
        assert_eq!(s.conn().history.as_str(), "ShADdFaf");
    }

    #[test]
    fn a_repeated_fin_in_last_ack_means_the_final_ack_was_lost() {
        let mut s = four_way_to_last_ack();
        s.wait_ms(200).s(FIN | ACK, S_ISN + 6, C_ISN + 7, 0);
        assert!(s.has(EventKind::LastAckLost));
        assert!(s.has_analysis(Analysis::Retransmission));
    }

    #[test]
    fn rst_after_own_fin_is_after_close() {
        let mut s = four_way_to_last_ack();
        s.s(RST, S_ISN + 7, 0, 0);
        assert!(s.has(EventKind::Reset {
            cause: ResetCause::AfterClose
        }));
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

    #[test]
    fn expires_after_2msl_of_capture_time_and_the_connection_retires() {
        let mut s = closed_by_client();
        s.t.tick(Timestamp::new(30, 0));
        assert!(s.t.events().is_empty());
        s.t.tick(Timestamp::new(61, 0));
        let kinds: Vec<_> = s.t.events().iter().map(|e| (e.side, e.kind)).collect();
        assert_eq!(kinds, vec![(Side::Client, EventKind::TimeWaitExpired)]);
        let retired: Vec<_> = s.t.drain_retired().collect();
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].1, Retired::Finished);
        assert!(s.t.is_empty());
    }

    #[test]
    fn new_syn_on_the_same_four_tuple_is_port_reuse() {
        let mut s = closed_by_client();
        s.wait_ms(500).c(SYN, C_ISN + 100_000, 0, 0);
        assert_eq!(s.obs.unwrap().conn, 2);
        assert!(s.has(EventKind::PortReuse {
            previous: 1,
            previous_in_time_wait: true
        }));
        assert!(s.has_analysis(Analysis::ReusedPorts));
        let retired: Vec<_> = s.t.drain_retired().collect();
        assert_eq!(retired[0].1, Retired::Reused);
        assert_eq!(
            retired[0].0.client.time_wait_until.map(|t| t.secs),
            Some(60)
        );
        assert_eq!(s.states(), (SynSent, SynRcvd));
    }

    #[test]
    fn still_running_at_the_end_is_said() {
        let mut s = closed_by_client();
        s.t.finish();
        let until = s.t.events().iter().find_map(|e| match e.kind {
            EventKind::TimeWaitContinues { until } => Some(until),
            _ => None,
        });
        assert_eq!(until.map(|u| u.secs), Some(60));
    }
}

mod limits {
    use super::*;

    #[test]
    fn max_connections_evicts_the_least_recent() {
        let mut t = Tracker::new(TrackerConfig {
            max_connections: 4,
            ..Default::default()
        });
        for i in 0..10u16 {
            let seg = Segment {
                frame: u64::from(i) + 1,
                ts: Timestamp::new(i64::from(i), 0),
                src_mac: None,
                dst_mac: None,
                src: format!("10.0.0.1:{}", 40000 + i).parse().unwrap(),
                dst: "10.0.0.2:80".parse().unwrap(),
                flags: SYN,
                seq: SeqNum(1),
                ack: None,
                window: 100,
                urgent_ptr: 0,
                payload_len: 0,
                options: OptionSummary::default(),
                truncated: false,
            };
            t.observe(&seg);
            assert!(t.len() <= 4);
        }
        assert_eq!(t.evicted_cap, 6);
        let evicted: Vec<u64> = t.drain_retired().map(|(c, _)| c.id).collect();
        assert_eq!(evicted, vec![1, 2, 3, 4, 5, 6]);
    }
}
