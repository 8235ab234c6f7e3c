//! The two directions of one connection in two tunnels. A connection's key
//! holds its tunnel, so the same addresses and ports in two VXLAN segments
//! are two connections. But some tunnels are not symmetric: Geneve under
//! OVN can carry each direction with its own VNI, SRv6 sends each direction
//! to its own segment ID, a load balancer's IP-in-IP may carry only the
//! requests. So a segment whose (4-tuple, tunnel) has no connection joins
//! the connection of the same 4-tuple in another tunnel (or in none) when
//! that connection has heard only from the other side and the segment's
//! sequence numbers answer it: its ACK acknowledges what that side sent,
//! and its sequence number is where that side's ACKs point. Two unrelated
//! connections agree on both by chance about once in 2³² or more.

use rustc_hash::FxHashMap;

use crate::decode::tcp::flag;
use crate::decode::Segment;

use super::connection::Connection;
use super::key::ConnKey;
use super::store::Store;

/// How far a joining segment's sequence number may be from where the
/// other side's ACKs point (a window of retransmissions and reordering).
const SEQ_SLACK: u32 = 1 << 24;
/// How far below the first byte seen an ACK may point when the capture
/// started mid-connection (acknowledging data sent before it).
const ACK_SLACK: u32 = 1 << 20;

/// The 4-tuples that live connections in tunnels use, and which keys were
/// joined to which connection. Empty, and never consulted beyond one
/// check, for a capture without tunnels.
#[derive(Default)]
pub(crate) struct TunnelPairs {
    /// (lo, hi) → the tunnels (never 0) of live connections on that 4-tuple.
    tuples: FxHashMap<(std::net::SocketAddr, std::net::SocketAddr), Vec<u64>>,
    /// A joined direction's key → the connection's key.
    joined: FxHashMap<ConnKey, ConnKey>,
    /// A connection's key → the key joined to it.
    joined_by: FxHashMap<ConnKey, ConnKey>,
}

impl TunnelPairs {
    /// The key of the live connection `seg` belongs to: `key` itself, a
    /// connection it was joined to before, or one it answers now.
    pub(crate) fn resolve(&mut self, store: &mut Store, key: ConnKey, seg: &Segment) -> ConnKey {
        // Most captures have no tunnel: no lookup beyond the caller's.
        if (key.tunnel == 0 && self.tuples.is_empty()) || store.find(&key).is_some() {
            return key;
        }
        if let Some(real) = self.joined.get(&key) {
            return *real;
        }
        // A SYN opens a connection of its own.
        if seg.has(flag::SYN) && !seg.has(flag::ACK) {
            return key;
        }
        let others = self.tuples.get(&(key.lo, key.hi));
        let candidates = others
            .into_iter()
            .flatten()
            .copied()
            .chain((key.tunnel != 0).then_some(0))
            .filter(|t| *t != key.tunnel);
        for t in candidates {
            let k = key.in_tunnel(t);
            let Some(slot) = store.find(&k) else {
                continue;
            };
            if !self.joined_by.contains_key(&k) && answers(store.get_mut(slot), seg) {
                self.joined.insert(key, k);
                self.joined_by.insert(k, key);
                return k;
            }
        }
        key
    }

    /// A connection was created under `key`.
    pub(crate) fn added(&mut self, key: ConnKey) {
        if key.tunnel != 0 {
            self.tuples
                .entry((key.lo, key.hi))
                .or_default()
                .push(key.tunnel);
        }
    }

    /// The connection under `key` left the tracker.
    pub(crate) fn removed(&mut self, key: ConnKey) {
        if key.tunnel != 0 {
            if let Some(ts) = self.tuples.get_mut(&(key.lo, key.hi)) {
                ts.retain(|t| *t != key.tunnel);
                if ts.is_empty() {
                    self.tuples.remove(&(key.lo, key.hi));
                }
            }
        }
        if let Some(alias) = self.joined_by.remove(&key) {
            self.joined.remove(&alias);
        }
    }

    /// The connection a joined key belongs to.
    pub(crate) fn joined(&self, key: &ConnKey) -> Option<ConnKey> {
        self.joined.get(key).copied()
    }

    /// The key joined to the connection under `key`, if any.
    pub(crate) fn joined_to(&self, key: &ConnKey) -> Option<ConnKey> {
        self.joined_by.get(key).copied()
    }
}

/// Could `seg` be the first segment of `c`'s other direction?
fn answers(c: &Connection, seg: &Segment) -> bool {
    let side = c.side_of(seg.src);
    let (me, peer) = (c.endpoint(side), c.endpoint(side.other()));
    if me.packets > 0 || peer.packets == 0 {
        return false;
    }
    let mut evidence = false;
    if let Some(ack) = seg.ack {
        let (Some(base), Some(next)) = (peer.seq_base, peer.next_seq) else {
            return false;
        };
        // With the peer's SYN seen, the ACK must fall in what it sent;
        // joined mid-stream, it may point a little before the first byte seen.
        let slack = if peer.isn.is_some() { 0 } else { ACK_SLACK };
        let at = ack.since(base.minus(slack));
        if at == 0 || at > next.since(base).saturating_add(slack) {
            return false;
        }
        evidence = true;
    }
    if let Some(expected) = peer.last_ack {
        let d = seg.seq.since(expected);
        if d > SEQ_SLACK && d < SEQ_SLACK.wrapping_neg() {
            return false;
        }
        evidence = true;
    }
    evidence
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::super::{Tracker, TrackerConfig};
    use crate::decode::net::Ecn;
    use crate::decode::tcp::flag::{ACK, PSH, SYN};
    use crate::decode::tcp::OptionSummary;
    use crate::decode::{Segment, SeqNum, Timestamp};

    const A: u64 = 0x0a; // two tunnel ids, as two VNIs would give
    const B: u64 = 0x0b;

    fn client() -> SocketAddr {
        "10.0.0.1:40000".parse().unwrap()
    }
    fn server() -> SocketAddr {
        "10.0.0.2:22".parse().unwrap()
    }

    fn seg(
        frame: u64,
        from_client: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        len: u32,
        tunnel: u64,
    ) -> Segment {
        let (src, dst) = if from_client {
            (client(), server())
        } else {
            (server(), client())
        };
        Segment {
            frame,
            ts: Timestamp::new(1_700_000_000, frame as u32 * 1000),
            src_mac: None,
            dst_mac: None,
            src,
            dst,
            flags,
            seq: SeqNum(seq),
            ack: (flags & ACK != 0).then_some(SeqNum(ack)),
            window: 1000,
            urgent_ptr: 0,
            payload_len: len,
            ip_len: 40 + len,
            options: OptionSummary::default(),
            truncated: false,
            ae: false,
            ecn: Ecn::NotEct,
            tunnel,
        }
    }

    fn conn_ids(t: &mut Tracker, segs: &[Segment]) -> Vec<u64> {
        segs.iter().map(|s| t.observe(s).conn).collect()
    }

    #[test]
    fn the_same_four_tuple_in_two_tunnels_is_two_connections() {
        let mut t = Tracker::new(TrackerConfig::default());
        // Interleaved handshakes with different ISNs, each in its own tunnel.
        let ids = conn_ids(
            &mut t,
            &[
                seg(1, true, SYN, 100, 0, 0, A),
                seg(2, true, SYN, 9000, 0, 0, B),
                seg(3, false, SYN | ACK, 500, 101, 0, A),
                seg(4, false, SYN | ACK, 7000, 9001, 0, B),
                seg(5, true, ACK, 101, 501, 0, A),
                seg(6, true, ACK, 9001, 7001, 0, B),
            ],
        );
        assert_eq!(ids, vec![1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn a_tunnel_per_direction_is_one_connection_when_the_numbers_answer() {
        let mut t = Tracker::new(TrackerConfig::default());
        let ids = conn_ids(
            &mut t,
            &[
                seg(1, true, SYN, 100, 0, 0, A),
                seg(2, false, SYN | ACK, 500, 101, 0, B),
                seg(3, true, ACK, 101, 501, 0, A),
                seg(4, true, PSH | ACK, 101, 501, 10, A),
                seg(5, false, PSH | ACK, 501, 111, 20, B),
            ],
        );
        assert_eq!(ids, vec![1; 5]);
        assert_eq!(t.len(), 1);
        // A SYN+ACK that acknowledges another ISN is another connection.
        let mut t = Tracker::new(TrackerConfig::default());
        let ids = conn_ids(
            &mut t,
            &[
                seg(1, true, SYN, 100, 0, 0, A),
                seg(2, false, SYN | ACK, 500, 4242, 0, B),
            ],
        );
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn mid_stream_directions_join_by_their_numbers() {
        let mut t = Tracker::new(TrackerConfig::default());
        let ids = conn_ids(
            &mut t,
            &[
                seg(1, true, PSH | ACK, 1000, 5000, 100, A),
                // Acknowledges the 100 bytes; its seq is where the client's ack points.
                seg(2, false, ACK, 5000, 1100, 0, B),
                // The untunnelled copy of a segment is not joined: its sender
                // already spoke in connection 1.
                seg(3, true, PSH | ACK, 1100, 5000, 50, 0),
            ],
        );
        assert_eq!(ids, vec![1, 1, 2]);
        // Numbers that answer nothing: another connection.
        let mut t = Tracker::new(TrackerConfig::default());
        let ids = conn_ids(
            &mut t,
            &[
                seg(1, true, PSH | ACK, 1000, 5000, 100, A),
                seg(2, false, ACK, 0x8000_0000, 0x4000_0000, 0, B),
            ],
        );
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn leaving_connections_clear_the_index() {
        let mut t = Tracker::new(TrackerConfig::default());
        conn_ids(
            &mut t,
            &[
                seg(1, true, SYN, 100, 0, 0, A),
                seg(2, false, SYN | ACK, 500, 101, 0, B),
            ],
        );
        assert_eq!(t.tunnels.joined.len(), 1);
        t.finish();
        while t.next_retired().is_some() {}
        assert!(t.tunnels.tuples.is_empty());
        assert!(t.tunnels.joined.is_empty() && t.tunnels.joined_by.is_empty());
    }
}
