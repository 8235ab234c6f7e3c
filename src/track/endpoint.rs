//! One end of a connection: its state and what it has shown of itself.

use std::net::SocketAddr;

use crate::decode::{SeqNum, Timestamp};

use super::event::Analysis;
use super::state::TcpState;

/// A sequence range the capture skipped (a lost segment, in capture terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    pub start: SeqNum,
    pub end: SeqNum,
}

/// Bounded so a hostile stream of gaps cannot grow memory.
pub const MAX_HOLES: usize = 4;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Keepalive {
    pub probes: u32,
    /// Probes sent since the peer last said anything.
    pub unanswered: u32,
    pub first_probe: Option<Timestamp>,
    pub last_probe: Option<Timestamp>,
    /// Idle time before the first probe (reveals tcp_keepalive_time), ns.
    pub idle_ns: Option<i128>,
    /// Smallest gap between two probes with no answer between them
    /// (reveals tcp_keepalive_intvl), ns.
    pub interval_ns: Option<i128>,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub state: TcpState,
    /// Sequence number of this side's SYN, when seen.
    pub isn: Option<SeqNum>,
    /// Base for relative sequence numbers: the ISN, else first seq − 1.
    pub seq_base: Option<SeqNum>,
    /// Window-scale shift this side announced in its SYN.
    pub wscale: Option<u8>,
    pub syn_seen: bool,
    pub synack_sent: bool,
    /// Sequence number just past the highest byte (or SYN/FIN) this side sent.
    pub next_seq: Option<SeqNum>,
    /// When `next_seq` last advanced.
    pub next_seq_ts: Option<Timestamp>,
    /// Where this side's FIN sits in its sequence space.
    pub fin_seq: Option<SeqNum>,
    pub fin_acked: bool,
    /// Highest acknowledgment this side sent, and when.
    pub last_ack: Option<SeqNum>,
    pub last_ack_ts: Option<Timestamp>,
    /// Window this side last advertised, scaled when the scale is known.
    pub window: Option<u32>,
    pub dup_acks: u32,
    /// Analysis flags of this side's last segment (keep-alive and zero-window
    /// probes need their replies recognized).
    pub last_was_keepalive: bool,
    pub last_was_zwp: bool,
    pub holes: Vec<Hole>,
    pub packets: u64,
    /// Unique payload bytes (retransmissions not counted twice).
    pub bytes: u64,
    pub resets: u32,
    pub analysis: [u32; Analysis::ALL.len()],
    pub keepalive: Keepalive,
    /// A zero window is being advertised since this time.
    pub zero_window_since: Option<Timestamp>,
    pub zero_window_ns: i128,
    /// TIME_WAIT ends at this capture time.
    pub time_wait_until: Option<Timestamp>,
}

impl Endpoint {
    pub fn new(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            state: TcpState::Unknown,
            isn: None,
            seq_base: None,
            wscale: None,
            syn_seen: false,
            synack_sent: false,
            next_seq: None,
            next_seq_ts: None,
            fin_seq: None,
            fin_acked: false,
            last_ack: None,
            last_ack_ts: None,
            window: None,
            dup_acks: 0,
            last_was_keepalive: false,
            last_was_zwp: false,
            holes: Vec::new(),
            packets: 0,
            bytes: 0,
            resets: 0,
            analysis: [0; Analysis::ALL.len()],
            keepalive: Keepalive::default(),
            zero_window_since: None,
            zero_window_ns: 0,
            time_wait_until: None,
        }
    }

    pub fn count(&self, a: Analysis) -> u32 {
        self.analysis[a.index()]
    }

    pub fn retransmissions(&self) -> u32 {
        Analysis::ALL
            .iter()
            .filter(|a| a.is_retransmission())
            .map(|a| self.count(*a))
            .sum()
    }

    /// Record a gap in what the capture saw; the oldest goes when full.
    pub fn add_hole(&mut self, start: SeqNum, end: SeqNum) {
        if self.holes.len() == MAX_HOLES {
            self.holes.remove(0);
        }
        self.holes.push(Hole { start, end });
    }

    /// Whether `[start, end)` overlaps a recorded gap; fills what it covers.
    pub fn fill_holes(&mut self, start: SeqNum, end: SeqNum) -> bool {
        if self.holes.is_empty() {
            return false;
        }
        let mut hit = false;
        let mut kept = Vec::new();
        for h in self.holes.drain(..) {
            if start.lt(h.end) && h.start.lt(end) {
                hit = true;
                if h.start.lt(start) {
                    kept.push(Hole {
                        start: h.start,
                        end: start,
                    });
                }
                if end.lt(h.end) {
                    kept.push(Hole {
                        start: end,
                        end: h.end,
                    });
                }
            } else {
                kept.push(h);
            }
        }
        kept.truncate(MAX_HOLES);
        self.holes = kept;
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_fill_and_split() {
        let mut e = Endpoint::new("127.0.0.1:1".parse().unwrap());
        e.add_hole(SeqNum(100), SeqNum(200));
        assert!(!e.fill_holes(SeqNum(0), SeqNum(100)));
        assert!(e.fill_holes(SeqNum(120), SeqNum(150)));
        assert_eq!(
            e.holes,
            vec![
                Hole {
                    start: SeqNum(100),
                    end: SeqNum(120)
                },
                Hole {
                    start: SeqNum(150),
                    end: SeqNum(200)
                }
            ]
        );
        for i in 0..10 {
            e.add_hole(SeqNum(1000 + i * 10), SeqNum(1005 + i * 10));
        }
        assert_eq!(e.holes.len(), MAX_HOLES);
    }
}
