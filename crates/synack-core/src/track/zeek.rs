//! Zeek's view of a TCP connection, so synack's records line up with
//! conn.log: the `history` letters, `conn_state`, the payload sizes taken
//! from sequence numbers, and the duration.
//!
//! Zeek decides these from its own per-endpoint states (INACTIVE, SYN_SENT,
//! SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET), not from RFC 9293's.
//! This module keeps those states by Zeek's rules (zeek/zeek,
//! `src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`: `update_history`,
//! `update_window`, `update_last_seq`, the `Update*State` functions;
//! `scripts/base/protocols/conn/main.zeek`: `conn_state`), fed the same
//! segments, with synack's client as Zeek's originator. Where synack cannot
//! follow Zeek, the difference is named in the README:
//!
//! - Roles: Zeek's originator is the first packet's sender, flipped by its
//!   list of likely server ports; synack's is the SYN's sender (mid-stream:
//!   the higher port), and `^` marks a first packet from the responder.
//! - Zeek skips packets with bad checksums (loopback captures have them all
//!   "bad" unless Zeek runs with `-C`); synack checks none.
//! - A close Zeek defers while reassembled data is pending is not deferred.

use std::net::SocketAddr;

use sha1::{Digest, Sha1};

use crate::decode::tcp::flag;
use crate::decode::{Segment, SeqNum, Timestamp};

use super::community_id::{CommunityId, PROTO_TCP};
use super::connection::Connection;
use super::key::Side;

/// Zeek's `TOO_LARGE_SEQ_DELTA`: a SYN or RST jumping further is not believed.
const TOO_LARGE_SEQ_DELTA: i64 = 1_048_576;

/// Zeek's per-endpoint TCP states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ZState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// One endpoint as Zeek keeps it. Sequence numbers are relative to the
/// endpoint's start (its SYN, or the first seq − 1), in 64 bits, moved by
/// 32-bit deltas so they survive wrapping as Zeek's do.
#[derive(Clone, Copy, Debug, Default)]
struct ZEnd {
    state: ZState,
    prev: ZState,
    start: SeqNum,
    /// One past the highest sequence number sent, absolute and relative.
    last: SeqNum,
    last_rel: i64,
    /// The highest ACK received for this side's data, absolute and relative.
    ack: SeqNum,
    ack_rel: i64,
    fin_cnt: u32,
    did_close: bool,
    hist_last_syn: i64,
    hist_last_fin: i64,
    hist_last_rst: i64,
    rxmt: u32,
    win0: u32,
    gaps: u32,
}

impl ZEnd {
    fn set(&mut self, s: ZState) {
        if self.state != s {
            self.prev = self.state;
            self.state = s;
        }
    }

    fn init(&mut self, start: SeqNum, ack: SeqNum, last: SeqNum) {
        self.start = start;
        self.ack = ack;
        self.ack_rel = i64::from(ack.since(start));
        self.last = last;
        self.last_rel = i64::from(last.since(start));
    }

    /// `seq` relative to the start, near the last sequence number seen.
    fn rel(&self, seq: SeqNum) -> i64 {
        self.last_rel + delta(seq, self.last)
    }

    /// Zeek's `Size()`: payload bytes from sequence numbers (or ACKs, when
    /// they reach further), without the SYN and FIN octets.
    fn size(&self, peer: &ZEnd) -> u64 {
        if self.prev == ZState::SynSent
            && self.state == ZState::Reset
            && peer.state == ZState::Inactive
            && !(self.ack_rel == 0 || self.ack_rel == 1)
        {
            return 0;
        }
        let mut size = self.last_rel.max(self.ack_rel).max(0) as u64;
        size = size.saturating_sub(1);
        if self.fin_cnt > 0 {
            size = size.saturating_sub(1);
        }
        size
    }

    fn clean(&self) -> bool {
        self.state == ZState::Established
            || (self.state == ZState::Closed && self.prev == ZState::Established)
    }
}

fn delta(a: SeqNum, b: SeqNum) -> i64 {
    i64::from(a.0.wrapping_sub(b.0) as i32)
}

fn inactive(s: ZState) -> bool {
    matches!(s, ZState::Inactive | ZState::Partial)
}

const S: u32 = 1;
const F: u32 = 2;
const R: u32 = 4;
const I: u32 = 8;
const D: u32 = 16;
const A: u32 = 32;
const Q: u32 = 64;

fn idx(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

/// Zeek's bookkeeping of one connection (originator = synack's client).
#[derive(Clone, Debug, Default)]
pub struct ZeekTrack {
    history: String,
    seen: [u32; 2],
    ends: [ZEnd; 2],
    /// The last packet that counted for the duration: Zeek stops the clock
    /// once both sides have closed (the final ACK of a close is not counted).
    last_time: Option<Timestamp>,
}

impl ZeekTrack {
    /// Zeek's history letters.
    pub fn history(&self) -> &str {
        &self.history
    }

    /// Payload bytes `side` sent, as Zeek's `orig_bytes`/`resp_bytes` count
    /// them: from sequence numbers, so bytes the capture missed are in.
    pub fn payload_bytes(&self, side: Side) -> u64 {
        let i = idx(side);
        self.ends[i].size(&self.ends[1 - i])
    }

    /// Zeek's `duration`: first packet to the last one before both sides closed.
    pub fn duration_ns(&self, first: Timestamp) -> i128 {
        self.last_time.map_or(0, |t| t.nanos_since(first).max(0))
    }

    fn push(&mut self, side: Side, letter: char) {
        self.history.push(match side {
            Side::Client => letter.to_ascii_uppercase(),
            Side::Server => letter,
        });
    }

    /// Zeek's `CheckHistory`: the letter once per side.
    fn once(&mut self, side: Side, bit: u32, letter: char) -> bool {
        let seen = &mut self.seen[idx(side)];
        if *seen & bit == 0 {
            *seen |= bit;
            self.push(side, letter);
            false
        } else {
            true
        }
    }

    /// Zeek's `ScaledHistoryEntry`: the letter at the 1st, 10th, 100th… time.
    fn scaled(&mut self, side: Side, letter: char, count: fn(&mut ZEnd) -> &mut u32) {
        let n = count(&mut self.ends[idx(side)]);
        *n += 1;
        if is_power_of_ten(*n) {
            self.push(side, letter);
        }
    }

    /// The receiver acknowledged `bytes` of `side`'s data that the capture
    /// never carried. Zeek counts such a content gap (`g`, `missed_bytes`)
    /// only while both ends are cleanly established or closing; returns
    /// whether it counts.
    pub(crate) fn gap(&mut self, side: Side) -> bool {
        if !(self.ends[0].clean() && self.ends[1].clean()) {
            return false;
        }
        self.scaled(side, 'g', |e| &mut e.gaps);
        true
    }

    /// One segment sent by `side`, in Zeek's order: endpoint set-up,
    /// history, window, the clock, ACK, last sequence number, state.
    pub(crate) fn segment(&mut self, side: Side, seg: &Segment) {
        let i = idx(side);
        let is_orig = side == Side::Client;
        if self.history.is_empty() && self.seen == [0, 0] && !is_orig {
            // Zeek's "^": the first packet came from the responder.
            self.history.push('^');
        }
        let syn = seg.has(flag::SYN);
        let fin = seg.has(flag::FIN);
        let rst = seg.has(flag::RST);
        let ack = seg.ack.filter(|_| seg.has(flag::ACK));
        let len = seg.payload_len;
        let mut seg_len = len + u32::from(syn) + u32::from(fin);
        if rst {
            seg_len -= len;
        }
        let end = seg.seq.plus(seg_len);

        // init_endpoint
        let me = &mut self.ends[i];
        match me.state {
            ZState::Inactive => {
                if syn {
                    me.init(seg.seq, seg.seq, end);
                } else {
                    me.init(seg.seq.minus(1), seg.seq.minus(1), seg.seq);
                }
            }
            ZState::SynSent | ZState::SynAckSent if syn && seg.seq != me.start => {
                me.init(seg.seq, seg.seq, end);
            }
            ZState::Established | ZState::Partial if syn => me.init(seg.seq, seg.seq, end),
            ZState::Reset if syn && me.prev == ZState::Inactive => {
                me.init(seg.seq, seg.seq, end);
            }
            _ => {}
        }
        let rel_seq = me.rel(seg.seq);

        self.update_history(side, seg, rel_seq);
        // update_window: a zero window, unless with or after a RST, or after
        // the peer's FIN.
        if seg.window == 0
            && !rst
            && self.ends[1 - i].state != ZState::Closed
            && self.ends[i].state != ZState::Reset
        {
            self.scaled(side, 'w', |e| &mut e.win0);
        }
        if !(self.ends[0].did_close && self.ends[1].did_close) {
            self.last_time = Some(seg.ts);
        }
        if fin {
            self.ends[i].fin_cnt += 1;
        }
        if let Some(a) = ack {
            let peer = &mut self.ends[1 - i];
            if peer.state == ZState::Inactive {
                peer.init(a.minus(1), a.minus(1), a.minus(1));
            } else if !rst {
                let d = delta(a, peer.ack);
                if d > 0 && !(a.0 == 0 && d > TOO_LARGE_SEQ_DELTA) {
                    peer.ack = a;
                    peer.ack_rel += d;
                }
            }
        }
        // update_last_seq
        let me = &mut self.ends[i];
        let d = delta(end, me.last);
        let rxmit = if (syn || rst) && d.abs() > TOO_LARGE_SEQ_DELTA {
            false
        } else if fin && me.last == me.start.plus(1) {
            me.last = end;
            me.last_rel += d;
            false
        } else if me.state == ZState::Reset {
            false
        } else if d > 0 {
            me.last = end;
            me.last_rel += d;
            false
        } else {
            len > 0
        };
        if rxmit {
            self.scaled(side, 't', |e| &mut e.rxmt);
        }
        let closed = self.state_machine(i, is_orig, seg, syn, fin, rst);
        if closed {
            self.ends[i].did_close = true;
        }
    }

    /// Zeek's `update_history`: a SYN, FIN or RST gives its letter (again
    /// when its sequence number moved), two of them `i` or `q`; otherwise
    /// data `d`, else a pure ACK `a`.
    fn update_history(&mut self, side: Side, seg: &Segment, rel_seq: i64) {
        let (syn, fin, rst) = (seg.has(flag::SYN), seg.has(flag::FIN), seg.has(flag::RST));
        let (ack, len) = (seg.has(flag::ACK), seg.payload_len);
        let i = idx(side);
        let bits = u32::from(syn) + u32::from(fin) + u32::from(rst);
        if bits > 1 {
            if fin && rst {
                self.once(side, I, 'i');
            } else {
                self.once(side, Q, 'q');
            }
        } else if syn {
            let letter = if ack { 'h' } else { 's' };
            if self.once(side, S, letter) && rel_seq != self.ends[i].hist_last_syn {
                self.push(side, letter);
            }
            self.ends[i].hist_last_syn = rel_seq;
        } else if fin {
            let at = rel_seq + i64::from(len);
            if self.once(side, F, 'f') && at != self.ends[i].hist_last_fin {
                self.push(side, 'f');
            }
            self.ends[i].hist_last_fin = at;
        } else if rst {
            if self.once(side, R, 'r') && rel_seq != self.ends[i].hist_last_rst {
                self.push(side, 'r');
            }
            self.ends[i].hist_last_rst = rel_seq;
        } else if len > 0 {
            self.once(side, D, 'd');
        } else if ack {
            self.once(side, A, 'a');
        }
    }

    /// Zeek's `UpdateStateMachine`; returns whether the segment closed its
    /// sender's side (a FIN or RST that Zeek reports as a close).
    fn state_machine(
        &mut self,
        i: usize,
        is_orig: bool,
        seg: &Segment,
        syn: bool,
        fin: bool,
        rst: bool,
    ) -> bool {
        let ack = seg.has(flag::ACK);
        let (me_state, peer_state, peer_prev) = {
            let p = &self.ends[1 - i];
            (self.ends[i].state, p.state, p.prev)
        };
        let mut close = false;
        match me_state {
            ZState::Inactive => {
                if syn {
                    if is_orig {
                        self.ends[i].set(if ack {
                            ZState::SynAckSent
                        } else {
                            ZState::SynSent
                        });
                    } else {
                        if !ack && peer_state == ZState::SynAckSent && seg.seq == self.ends[i].start
                        {
                            // SYN/SYN-ACK reversal: Zeek flips and establishes.
                            self.ends[1 - i].set(ZState::Established);
                        }
                        if self.ends[1 - i].state == ZState::SynSent {
                            self.ends[1 - i].set(ZState::Established);
                        }
                        self.ends[i].set(ZState::Established);
                    }
                }
                if fin {
                    self.ends[i].set(ZState::Closed);
                    close = true;
                }
                if rst {
                    self.ends[i].set(ZState::Reset);
                    close = true;
                }
                if self.ends[i].state == ZState::Inactive {
                    let orig = self.ends[0].state;
                    if !is_orig && seg.payload_len == 0 && orig == ZState::SynSent {
                        // An ACK of the SYN before the SYN+ACK: not partial.
                    } else if ack && self.ends[1 - i].state == ZState::Established {
                        self.ends[i].set(ZState::Established);
                    } else {
                        self.ends[i].set(ZState::Partial);
                    }
                }
            }
            ZState::SynSent | ZState::SynAckSent => {
                if fin {
                    self.ends[i].set(ZState::Closed);
                    close = true;
                }
                if rst {
                    self.ends[i].set(ZState::Reset);
                    close = true;
                }
            }
            ZState::Established | ZState::Partial => {
                if syn && me_state == ZState::Partial && peer_state == ZState::Inactive && !ack {
                    self.ends[i].set(ZState::SynSent);
                }
                if fin && !rst {
                    self.ends[i].set(ZState::Closed);
                    if peer_state == ZState::Reset && peer_prev == ZState::Closed {
                        // The peer's FIN then RST: a normal close after all.
                        self.ends[1 - i].set(ZState::Closed);
                    }
                    close = true;
                }
                if rst {
                    self.ends[i].set(ZState::Reset);
                    close = true;
                }
            }
            ZState::Closed => {
                if rst && peer_state != ZState::Closed {
                    self.ends[i].set(ZState::Reset);
                    close = true;
                }
            }
            ZState::Reset => {}
        }
        close
    }

    /// Zeek's conn_state (`scripts/base/protocols/conn/main.zeek`).
    fn conn_state(&self) -> ConnState {
        use ConnState::*;
        let (o, r) = (&self.ends[0], &self.ends[1]);
        let (os, rs) = (o.state, r.state);
        let (o_inactive, r_inactive) = (inactive(os), inactive(rs));
        if rs == ZState::Reset {
            let sizes_zero = o.size(r) == 0 && r.size(o) == 0;
            if matches!(os, ZState::SynSent | ZState::SynAckSent)
                || (os == ZState::Reset && sizes_zero)
            {
                REJ
            } else if o_inactive {
                RSTRH
            } else {
                RSTR
            }
        } else if os == ZState::Reset {
            if r_inactive {
                if syn_then_rst(&self.history) {
                    RSTOS0
                } else {
                    OTH
                }
            } else {
                RSTO
            }
        } else if rs == ZState::Closed && os == ZState::Closed {
            SF
        } else if os == ZState::Closed {
            if r_inactive {
                SH
            } else {
                S2
            }
        } else if rs == ZState::Closed {
            if o_inactive {
                SHR
            } else {
                S3
            }
        } else if os == ZState::SynSent && rs == ZState::Inactive {
            S0
        } else if os == ZState::Established && rs == ZState::Established {
            S1
        } else {
            OTH
        }
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` on the whole history: the originator's SYN,
/// then its RST with no handshake, ACK, FIN, gap or odd flags between.
fn syn_then_rst(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

fn is_power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

/// Zeek's connection states (conn.log's `conn_state`), with Zeek's names.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    REJ,
    /// Established, close attempt by the originator seen (no reply).
    S2,
    /// Established, close attempt by the responder seen (no reply).
    S3,
    /// Established, the originator aborted (sent a RST).
    RSTO,
    /// Established, the responder aborted.
    RSTR,
    /// The originator sent a SYN then a RST; no SYN+ACK seen.
    RSTOS0,
    /// The responder sent a SYN+ACK then a RST; no SYN seen.
    RSTRH,
    /// The originator sent a SYN then a FIN; no SYN+ACK seen.
    SH,
    /// The responder sent a SYN+ACK then a FIN; no SYN seen.
    SHR,
    /// No SYN seen, just midstream traffic.
    OTH,
}

impl ConnState {
    /// Zeek's code, e.g. `SF`.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

/// Zeek's conn_state of `c`, by Zeek's endpoint states.
pub fn conn_state(c: &Connection) -> ConnState {
    c.zeek().conn_state()
}

/// A conn.log `uid` for `c`: Zeek's shape (`C` and base-62 digits of 96
/// bits), but derived from the Community ID and the first packet's time, so
/// the same connection gets the same uid in every run and every shard.
pub fn uid(c: &Connection) -> String {
    let id = c.community_id();
    let ts = c.first_ts();
    let mut h = Sha1::new();
    h.update(id.0);
    h.update(ts.secs.to_be_bytes());
    h.update(ts.nanos.to_be_bytes());
    let d: [u8; 20] = h.finalize().into();
    // As Zeek's UID::Base62: 32 bits, then 64, each least significant digit first.
    let hi = u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]));
    let lo = u64::from_be_bytes([d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11]]);
    let mut s = String::with_capacity(20);
    s.push('C');
    base62(&mut s, hi);
    base62(&mut s, lo);
    s
}

fn base62(out: &mut String, mut v: u64) {
    const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    loop {
        out.push(char::from(DIGITS[(v % 62) as usize]));
        v /= 62;
        if v == 0 {
            break;
        }
    }
}

/// The Community ID of a TCP flow between `a` and `b` (seed 0).
pub(crate) fn community_id(a: SocketAddr, b: SocketAddr) -> CommunityId {
    CommunityId::v1(0, a, b, PROTO_TCP)
}

use super::pack::{pack_enum, pack_struct};
pack_struct!(ZeekTrack {
    history,
    seen,
    ends,
    last_time
});
pack_struct!(ZEnd {
    state,
    prev,
    start,
    last,
    last_rel,
    ack,
    ack_rel,
    fin_cnt,
    did_close,
    hist_last_syn,
    hist_last_fin,
    hist_last_rst,
    rxmt,
    win0,
    gaps,
});
pack_enum!(ZState {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
});
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten() {
        let hits: Vec<u32> = (1..=1000).filter(|n| is_power_of_ten(*n)).collect();
        assert_eq!(hits, vec![1, 10, 100, 1000]);
    }

    #[test]
    fn rstos0_pattern() {
        assert!(syn_then_rst("SR"));
        assert!(syn_then_rst("^SsR"));
        assert!(syn_then_rst("STR"));
        // Zeek's pattern is case-sensitive: the responder's letters pass.
        assert!(syn_then_rst("ShR"));
        assert!(!syn_then_rst("SHR"));
        assert!(!syn_then_rst("SAR"));
        assert!(!syn_then_rst("R"));
    }

    #[test]
    fn base62_is_zeeks_digit_order() {
        let mut s = String::new();
        base62(&mut s, 62 * 3 + 10);
        assert_eq!(s, "a3");
        s.clear();
        base62(&mut s, 0);
        assert_eq!(s, "0");
    }
}
