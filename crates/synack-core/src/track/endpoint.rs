//! One end of a connection: its state and what it has shown of itself.

use std::net::SocketAddr;

use crate::decode::{SeqNum, Timestamp};

use super::event::Analysis;
use super::receipt::{Assumed, Inbox};
use super::state::TcpState;

/// A sequence range the capture skipped (a lost segment, in capture terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hole {
    pub(crate) start: SeqNum,
    pub(crate) end: SeqNum,
    /// When the receiver first reported it (a duplicate ACK of its start,
    /// or a SACK block above it).
    pub(crate) reported: Option<Timestamp>,
}

/// A segment this side sent again, remembered so a D-SACK can name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Resend {
    pub(crate) start: SeqNum,
    pub(crate) end: SeqNum,
    pub(crate) frame: u64,
}

/// Bounded so a hostile stream of gaps cannot grow memory.
pub(crate) const MAX_HOLES: usize = 4;

/// What one side's keep-alive probes revealed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Keepalive {
    pub(crate) probes: u32,
    /// Probes sent since the peer last said anything.
    pub(crate) unanswered: u32,
    pub(crate) first_probe: Option<Timestamp>,
    pub(crate) last_probe: Option<Timestamp>,
    /// Idle time before the first probe (reveals tcp_keepalive_time), ns.
    pub(crate) idle_ns: Option<i128>,
    /// Smallest gap between two probes with no answer between them
    /// (reveals tcp_keepalive_intvl), ns.
    pub(crate) interval_ns: Option<i128>,
}

/// How long one side advertised a zero window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ZeroWindow {
    /// A zero window is being advertised since this time.
    pub(crate) since: Option<Timestamp>,
    /// Zero-window time that has ended, ns.
    pub(crate) ns: i128,
}

/// One side's TIME_WAIT: when it began, when 2MSL runs out, how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWait {
    /// When the endpoint entered TIME_WAIT (capture time).
    pub entered: Timestamp,
    /// When 2MSL runs out.
    pub until: Timestamp,
    /// How it ended; `None` while it still runs.
    pub end: Option<TimeWaitEnd>,
}

/// How a TIME_WAIT ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeWaitEnd {
    /// 2MSL passed in capture time.
    Expired,
    /// A new SYN on the same 4-tuple was accepted before 2MSL passed.
    Reused,
    /// A RST cut it short (Linux: tcp_rfc1337=0).
    Reset,
}

/// One endpoint of a connection, as the capture shows it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub(crate) addr: SocketAddr,
    /// Changed only through `Connection::move_to`, which knows the diagram.
    pub(crate) state: TcpState,
    /// Sequence number of this side's SYN, when seen.
    pub(crate) isn: Option<SeqNum>,
    /// Base for relative sequence numbers: the ISN, else first seq − 1.
    pub(crate) seq_base: Option<SeqNum>,
    /// Window-scale shift this side announced in its SYN.
    pub(crate) wscale: Option<u8>,
    pub(crate) syn_seen: bool,
    pub(crate) synack_sent: bool,
    /// Sequence number just past the highest byte (or SYN/FIN) this side sent.
    pub(crate) next_seq: Option<SeqNum>,
    /// When `next_seq` last advanced.
    pub(crate) next_seq_ts: Option<Timestamp>,
    /// Where this side's FIN sits in its sequence space.
    pub(crate) fin_seq: Option<SeqNum>,
    /// The peer acknowledged this side's FIN (on the wire).
    pub(crate) fin_acked: bool,
    /// The peer acknowledged this side's SYN (on the wire).
    pub(crate) syn_acked: bool,
    /// Highest acknowledgment this side sent, and when.
    pub(crate) last_ack: Option<SeqNum>,
    pub(crate) last_ack_ts: Option<Timestamp>,
    /// Window this side last advertised, scaled when the scale is known.
    pub(crate) window: Option<u32>,
    pub(crate) dup_acks: u32,
    /// Analysis flags of this side's last segment (keep-alive and zero-window
    /// probes need their replies recognized).
    pub(crate) last_was_keepalive: bool,
    pub(crate) last_was_zwp: bool,
    pub(crate) holes: Vec<Hole>,
    /// The last few resends (a ring, and where the next goes), for D-SACKs
    /// to point at; boxed when the first resend comes (most connections
    /// resend nothing).
    pub(crate) resends: Option<Box<([Resend; 4], u8)>>,
    pub(crate) packets: u64,
    /// Payload bytes seen at least once (whichever copy carried them).
    pub(crate) bytes: u64,
    /// IP bytes of the segments it sent (IPv4 total length, IPv6 40 + payload length).
    pub(crate) ip_bytes: u64,
    /// Bytes of its data the peer acknowledged that the capture never carried.
    pub(crate) missed_bytes: u64,
    pub(crate) resets: u32,
    /// How many of its segments each analysis rule flagged; boxed when the
    /// first is flagged (most connections have none).
    analysis: Option<Box<[u32; Analysis::ALL.len()]>>,
    /// Boxed when the first probe comes (few connections probe).
    pub(crate) keepalive: Option<Box<Keepalive>>,
    /// Zero windows advertised, boxed when the first comes.
    pub(crate) zero_window: Option<Box<ZeroWindow>>,
    pub(crate) time_wait: Option<TimeWait>,
    /// When this side last sent anything.
    pub(crate) last_sent: Option<Timestamp>,
    /// Segments sent to this endpoint whose effect on its state the capture
    /// has not yet shown (see `receipt`).
    pub(crate) inbox: Inbox,
    /// The last change applied on assumption (an ACK's), while a resend
    /// could still take it back.
    pub(crate) assumed: Option<Assumed>,
    /// Retransmissions sent since the peer last sent anything.
    pub(crate) retransmissions_unanswered: u32,
}

impl Endpoint {
    pub(crate) fn new(addr: SocketAddr) -> Endpoint {
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
            syn_acked: false,
            last_ack: None,
            last_ack_ts: None,
            window: None,
            dup_acks: 0,
            last_was_keepalive: false,
            last_was_zwp: false,
            holes: Vec::new(),
            resends: None,
            packets: 0,
            bytes: 0,
            ip_bytes: 0,
            missed_bytes: 0,
            resets: 0,
            analysis: None,
            keepalive: None,
            zero_window: None,
            time_wait: None,
            last_sent: None,
            inbox: Inbox::default(),
            assumed: None,
            retransmissions_unanswered: 0,
        }
    }

    /// This endpoint's address and port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its state as far as the capture shows it so far.
    pub fn state(&self) -> TcpState {
        self.state
    }

    /// Its initial sequence number, when its SYN was seen.
    pub fn isn(&self) -> Option<SeqNum> {
        self.isn
    }

    /// The base of its relative sequence numbers.
    pub fn seq_base(&self) -> Option<SeqNum> {
        self.seq_base
    }

    /// It sent a SYN (or SYN+ACK) that the capture saw.
    pub fn sent_syn(&self) -> bool {
        self.syn_seen
    }

    /// It sent a FIN that the capture saw.
    pub fn sent_fin(&self) -> bool {
        self.fin_seq.is_some()
    }

    /// Segments it sent.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Payload bytes it sent, each counted once, whichever copy carried it.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// IP bytes of the packets it sent, headers included (Zeek's `orig_ip_bytes`).
    pub fn ip_bytes(&self) -> u64 {
        self.ip_bytes
    }

    /// Bytes of its data that the peer acknowledged but the capture never
    /// carried (lost before the capture point or not captured): Zeek's
    /// `missed_bytes`, counted as Zeek does, only while both ends are
    /// established or closing cleanly.
    pub fn missed_bytes(&self) -> u64 {
        self.missed_bytes
    }

    /// RSTs it sent.
    pub fn resets(&self) -> u32 {
        self.resets
    }

    /// How many of its segments the analysis rule `a` flagged.
    pub fn count(&self, a: Analysis) -> u32 {
        self.analysis.as_ref().map_or(0, |n| n[a.index()])
    }

    /// One more of its segments flagged by `a`.
    pub(crate) fn flag(&mut self, a: Analysis) {
        self.analysis
            .get_or_insert_with(|| Box::new([0; Analysis::ALL.len()]))[a.index()] += 1;
    }

    /// Retransmissions of every kind it sent.
    pub fn retransmissions(&self) -> u32 {
        Analysis::ALL
            .iter()
            .filter(|a| a.is_retransmission())
            .map(|a| self.count(*a))
            .sum()
    }

    /// Its TIME_WAIT, if it entered one.
    pub fn time_wait(&self) -> Option<TimeWait> {
        self.time_wait
    }

    /// Record a gap in what the capture saw; the oldest goes when full.
    pub(crate) fn add_hole(&mut self, start: SeqNum, end: SeqNum) {
        if self.holes.len() == MAX_HOLES {
            self.holes.remove(0);
        }
        self.holes.push(Hole {
            start,
            end,
            reported: None,
        });
    }

    /// Remember a resend of `[start, end)` in `frame`.
    pub(crate) fn note_resend(&mut self, start: SeqNum, end: SeqNum, frame: u64) {
        let (ring, next) = &mut **self
            .resends
            .get_or_insert_with(|| Box::new(([Resend::default(); 4], 0)));
        let i = usize::from(*next) % ring.len();
        ring[i] = Resend { start, end, frame };
        *next = next.wrapping_add(1);
    }

    /// The latest resend that covers `[start, end)`.
    pub(crate) fn resend_covering(&self, start: SeqNum, end: SeqNum) -> Option<Resend> {
        let (ring, next) = &**self.resends.as_ref()?;
        let n = ring.len();
        (1..=n)
            .map(|k| ring[(usize::from(*next) + n - k) % n])
            .find(|r| r.frame != 0 && r.start.le(start) && end.le(r.end))
    }

    /// Keep-alive probes it sent (0 when none).
    pub(crate) fn keepalive_probes(&self) -> u32 {
        self.keepalive.as_ref().map_or(0, |k| k.probes)
    }

    /// Keep-alive probes sent since the peer last said anything.
    pub(crate) fn keepalive_unanswered(&self) -> u32 {
        self.keepalive.as_ref().map_or(0, |k| k.unanswered)
    }

    /// How many bytes of `[start, end)` fall in recorded gaps, and when the
    /// first of those gaps was reported; fills them.
    pub(crate) fn fill_holes(&mut self, start: SeqNum, end: SeqNum) -> (u32, Option<Timestamp>) {
        if self.holes.is_empty() {
            return (0, None);
        }
        let mut filled = 0;
        let mut reported: Option<Timestamp> = None;
        let mut kept = Vec::new();
        for h in self.holes.drain(..) {
            if start.lt(h.end) && h.start.lt(end) {
                let lo = if h.start.lt(start) { start } else { h.start };
                let hi = if end.lt(h.end) { end } else { h.end };
                filled += hi.since(lo);
                if let Some(t) = h.reported {
                    reported = Some(reported.map_or(t, |r| r.min(t)));
                }
                if h.start.lt(start) {
                    kept.push(Hole {
                        start: h.start,
                        end: start,
                        reported: h.reported,
                    });
                }
                if end.lt(h.end) {
                    kept.push(Hole {
                        start: end,
                        end: h.end,
                        reported: h.reported,
                    });
                }
            } else {
                kept.push(h);
            }
        }
        kept.truncate(MAX_HOLES);
        self.holes = kept;
        (filled, reported)
    }
}

use super::pack::{pack_enum, pack_struct};
// The address is packed with the connection's key (`Connection`'s `Pack`).
pack_struct!(Endpoint {
    state,
    isn,
    seq_base,
    wscale,
    syn_seen,
    synack_sent,
    next_seq,
    next_seq_ts,
    fin_seq,
    fin_acked,
    syn_acked,
    last_ack,
    last_ack_ts,
    window,
    dup_acks,
    last_was_keepalive,
    last_was_zwp,
    holes,
    resends,
    packets,
    bytes,
    ip_bytes,
    missed_bytes,
    resets,
    analysis,
    keepalive,
    zero_window,
    time_wait,
    last_sent,
    inbox,
    assumed,
    retransmissions_unanswered,
} skip {
    addr = SocketAddr::from(([0, 0, 0, 0], 0))
});
pack_struct!(Hole {
    start,
    end,
    reported
});
pack_struct!(Resend { start, end, frame });
pack_struct!(Keepalive {
    probes,
    unanswered,
    first_probe,
    last_probe,
    idle_ns,
    interval_ns,
});
pack_struct!(ZeroWindow { since, ns });
pack_struct!(TimeWait {
    entered,
    until,
    end
});
pack_enum!(TimeWaitEnd {
    Expired,
    Reused,
    Reset
});
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_fill_and_split() {
        let mut e = Endpoint::new("127.0.0.1:1".parse().unwrap());
        e.add_hole(SeqNum(100), SeqNum(200));
        assert_eq!(e.fill_holes(SeqNum(0), SeqNum(100)).0, 0);
        assert_eq!(e.fill_holes(SeqNum(120), SeqNum(150)).0, 30);
        assert_eq!(
            e.holes,
            vec![
                Hole {
                    start: SeqNum(100),
                    end: SeqNum(120),
                    reported: None
                },
                Hole {
                    start: SeqNum(150),
                    end: SeqNum(200),
                    reported: None
                }
            ]
        );
        assert_eq!(e.fill_holes(SeqNum(90), SeqNum(300)).0, 70);
        assert!(e.holes.is_empty());
        for i in 0..10 {
            e.add_hole(SeqNum(1000 + i * 10), SeqNum(1005 + i * 10));
        }
        assert_eq!(e.holes.len(), MAX_HOLES);
    }
}
