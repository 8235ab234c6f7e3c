//! Sequence analysis: Wireshark's `tcp.analysis` rules (packet-tcp.c,
//! `tcp_analyze_sequence_number`), in Wireshark's order, with two places
//! where synack knows better:
//!
//! - Linux probes a zero window with a 0-byte segment at SND.UNA − 1
//!   (`tcp_xmit_probe_skb`), which has the shape of a keep-alive. While the
//!   peer advertises a zero window it is a zero-window probe.
//! - Wireshark calls a retransmission "out-of-order" when it follows the
//!   highest segment within 3 ms. synack remembers the gaps the capture
//!   skipped: a segment whose original *was* captured is a retransmission,
//!   however soon it comes (a SACK-triggered resend is typically < 3 ms on a LAN).
//! - A segment that fills a gap at least half a round trip after the
//!   receiver reported that gap (a SACK block above it, or a duplicate ACK
//!   of its start) is the sender answering the report: a retransmission of
//!   a segment lost before the capture point, not reordering (Linux RACK
//!   resends on the first SACK, so no duplicate-ACK count shows it).
//! - A SACK block below the cumulative ACK is a D-SACK (RFC 2883): data
//!   that arrived twice; the resend that carried it was spurious.

use crate::decode::tcp::flag;
use crate::decode::{Segment, SeqNum, Timestamp};

use super::endpoint::Endpoint;
use super::event::{Analysis, Evidence};

/// Wireshark's default out-of-order threshold when no RTT is known.
const OOO_THRESHOLD_NS: i128 = 3_000_000;
/// Wireshark's window for a fast retransmission after the duplicate ACKs.
const FAST_RETRANSMISSION_NS: i128 = 20_000_000;

fn since_us(now: Timestamp, then: Option<Timestamp>) -> Option<u64> {
    then.map(|t| u64::try_from(now.nanos_since(t) / 1000).unwrap_or(0))
}

/// Analyse one segment from `fwd` to `rev`, emitting each matching rule,
/// then update `fwd`'s sequence bookkeeping. `window` is the segment's
/// window, scaled when the scale is known. Returns how many of its payload
/// bytes the capture had not seen before (beyond the highest sequence
/// number, or in a gap the capture skipped), and how many bytes of `rev`'s
/// its ACK newly acknowledged that the capture never carried (see
/// [`acked_unseen`]).
pub(crate) fn analyze(
    fwd: &mut Endpoint,
    rev: &mut Endpoint,
    seg: &Segment,
    window: u32,
    rtt_ns: Option<u64>,
    emit: &mut impl FnMut(Analysis, Evidence),
) -> (u32, u64) {
    let seq = seg.seq;
    let len = seg.payload_len;
    let ts = seg.ts;
    let control = seg.has(flag::SYN | flag::FIN | flag::RST);
    let next = fwd.next_seq;
    let mut ev = Evidence {
        seq,
        len,
        next_seq: next,
        ack: seg.ack,
        last_ack: fwd.last_ack,
        window,
        last_window: fwd.window,
        peer_window: rev.window,
        peer_ack: rev.last_ack,
        since_us: None,
        dup_acks: 0,
        original_seen: false,
        rtt_us: rtt_ns.map(|r| r / 1000),
        reported_us: None,
        other_frame: None,
    };

    // ZERO WINDOW PROBE: 1 byte at the next seq (Wireshark), or Linux's
    // 0 bytes at next − 1, while the receiver's window is zero.
    let mut zwp = false;
    if let Some(n) = next {
        if !control
            && rev.window == Some(0)
            && ((len == 1 && seq == n) || (len == 0 && seq == n.minus(1)))
        {
            zwp = true;
            emit(Analysis::ZeroWindowProbe, ev);
        }
    }
    // ZERO WINDOW: the sender advertises no room (SYN/FIN/RST excepted).
    if window == 0 && !control {
        emit(Analysis::ZeroWindow, ev);
    }
    // LOST SEGMENT ("previous segment not captured"): seq beyond what was seen.
    if let Some(n) = next {
        if seq.gt(n) && !seg.has(flag::RST) {
            emit(Analysis::LostSegment, ev);
            fwd.add_hole(n, seq);
        }
    }
    // KEEP ALIVE: 0 or 1 byte at next − 1, no SYN/FIN/RST.
    let mut keepalive = false;
    if let Some(n) = next {
        if !zwp && !control && len <= 1 && seq == n.minus(1) {
            keepalive = true;
            emit(Analysis::KeepAlive, ev);
        }
    }
    // WINDOW UPDATE: a pure ACK that only changes the window.
    if len == 0
        && !control
        && window != 0
        && fwd.window.is_some_and(|w| w != window)
        && Some(seq) == next
        && seg.ack.is_some()
        && seg.ack == fwd.last_ack
    {
        emit(Analysis::WindowUpdate, ev);
    }
    // WINDOW FULL: this segment fills the receiver's advertised window.
    if let (Some(pw), Some(pa)) = (rev.window, rev.last_ack) {
        if len > 0 && !control && pw != 0 && seq.plus(len) == pa.plus(pw) {
            emit(Analysis::WindowFull, ev);
        }
    }
    // A pure ACK repeating the last one: a keep-alive ACK, a zero-window-probe
    // ACK, or a duplicate ACK, depending on what the peer last sent.
    let repeats = len == 0
        && !control
        && Some(seq) == next
        && seg.ack.is_some()
        && seg.ack == fwd.last_ack
        && Some(window) == fwd.window;
    let mut dup_ack = false;
    if repeats && rev.last_was_keepalive {
        emit(Analysis::KeepAliveAck, ev);
    } else if repeats && window == 0 && rev.last_was_zwp {
        emit(Analysis::ZeroWindowProbeAck, ev);
    } else if repeats && window != 0 && !keepalive {
        dup_ack = true;
        ev.dup_acks = fwd.dup_acks + 1;
        emit(Analysis::DuplicateAck, ev);
    }
    // The receiver reports gaps in what it got: a duplicate ACK of a gap's
    // start, or a SACK block above a gap. Remember when, for the resend.
    if let Some(a) = seg.ack {
        let sack_above = seg.options.first_sack.map(|(l, _)| l);
        for h in rev.holes.iter_mut().filter(|h| h.reported.is_none()) {
            let dup = a == h.start && len == 0;
            let sacked = a.le(h.start) && sack_above.is_some_and(|l| h.end.le(l));
            if dup || sacked {
                h.reported = Some(ts);
            }
        }
        // D-SACK (RFC 2883 §4): the first SACK block lies below the
        // cumulative ACK: those bytes arrived twice.
        if let Some((l, r)) = seg.options.first_sack {
            if l.lt(a) && l.lt(r) && r.le(a) {
                let mut d = ev;
                d.seq = l;
                d.len = r.since(l);
                d.other_frame = rev.resend_covering(l, r).map(|x| x.frame);
                if d.other_frame.is_some() {
                    rev.flag(Analysis::SpuriousRetransmission);
                }
                emit(Analysis::Dsack, d);
            }
        }
    }
    // ACKED LOST SEGMENT: acknowledges data the capture never saw.
    if let (Some(a), Some(rn)) = (seg.ack, rev.next_seq) {
        if a.gt(rn) && !seg.has(flag::RST) {
            emit(Analysis::AckLostSegment, ev);
        }
    }
    // RETRANSMISSION family: data (or SYN/FIN) below the next expected seq.
    let mut filled = 0;
    let mut resent = false;
    if let Some(n) = next {
        let occupies = len > 0 || seg.has(flag::SYN | flag::FIN);
        if occupies && !keepalive && !zwp && seq.lt(n) {
            resent = true;
            let end = seg.next_seq();
            let reported;
            (filled, reported) = fwd.fill_holes(seq, end);
            let filled_gap = filled > 0;
            ev.original_seen = !filled_gap;
            fwd.note_resend(seq, end, seg.frame);
            let since_report = reported.map(|t| ts.nanos_since(t).max(0));
            ev.reported_us = since_report.map(|ns| (ns / 1000) as u64);
            // Half a round trip (3 ms when the RTT is unknown) separates a
            // resend answering the report from a segment merely reordered.
            let answer_after = rtt_ns.map_or(OOO_THRESHOLD_NS, |r| i128::from(r) / 2);
            let dup_ack_age = since_us(ts, rev.last_ack_ts);
            if rev.dup_acks >= 2
                && rev.last_ack == Some(seq)
                && rev
                    .last_ack_ts
                    .is_some_and(|t| ts.nanos_since(t) < FAST_RETRANSMISSION_NS)
            {
                ev.since_us = dup_ack_age;
                ev.dup_acks = rev.dup_acks;
                emit(Analysis::FastRetransmission, ev);
            } else if filled_gap && since_report.is_some_and(|s| s >= answer_after) {
                // Lost before the capture point, resent on the receiver's report.
                emit(Analysis::Retransmission, ev);
            } else if filled_gap
                && fwd
                    .next_seq_ts
                    .is_some_and(|t| ts.nanos_since(t) < OOO_THRESHOLD_NS)
                && n != end
            {
                ev.since_us = since_us(ts, fwd.next_seq_ts);
                emit(Analysis::OutOfOrder, ev);
            } else if len > 0 && rev.last_ack.is_some_and(|a| end.le(a)) {
                emit(Analysis::SpuriousRetransmission, ev);
            } else {
                emit(Analysis::Retransmission, ev);
            }
        }
    }

    // Bookkeeping for the next segment.
    let seg_end = seg.next_seq();
    // Payload bytes seen for the first time: past the highest seq, or in a gap.
    let data_end = seq.plus(len);
    let fresh = if keepalive || zwp || len == 0 {
        0
    } else {
        match next {
            Some(n) if data_end.gt(n) => {
                let from = if seq.gt(n) { seq } else { n };
                data_end.since(from) + filled
            }
            Some(_) => filled,
            None => len,
        }
    };
    if resent {
        fwd.retransmissions_unanswered += 1;
    }
    if !zwp && next.is_none_or(|n| seg_end.gt(n)) {
        fwd.next_seq = Some(seg_end);
        fwd.next_seq_ts = Some(ts);
    }
    let mut missed = 0;
    if let Some(a) = seg.ack {
        if !seg.has(flag::RST) {
            missed = acked_unseen(rev, fwd.last_ack, a);
        }
        if fwd.last_ack != Some(a) {
            fwd.dup_acks = 0;
        }
        if dup_ack {
            fwd.dup_acks += 1;
        }
        if fwd.last_ack.is_none_or(|l| a.ge(l)) {
            fwd.last_ack = Some(a);
        }
        fwd.last_ack_ts = Some(ts);
    }
    fwd.window = Some(window);
    fwd.last_was_keepalive = keepalive;
    fwd.last_was_zwp = zwp;
    (fresh, missed)
}

/// Bytes of `rev`'s sequence space that an ACK moving from `last_ack` to
/// `ack` acknowledged although the capture never carried them: the part of
/// each recorded gap below it, and what lies beyond the highest sequence
/// number `rev` was seen to send. Each byte is counted once, when the
/// cumulative ACK first passes it (Zeek's content gaps, `missed_bytes`);
/// the first ACK of a direction only sets the mark.
pub(crate) fn acked_unseen(rev: &Endpoint, last_ack: Option<SeqNum>, ack: SeqNum) -> u64 {
    let (Some(from), Some(next)) = (last_ack, rev.next_seq) else {
        return 0;
    };
    if !from.lt(ack) {
        return 0;
    }
    let overlap = |lo: SeqNum, hi: SeqNum| -> u64 {
        let l = if lo.lt(from) { from } else { lo };
        let h = if ack.lt(hi) { ack } else { hi };
        if l.lt(h) {
            u64::from(h.since(l))
        } else {
            0
        }
    };
    let holes: u64 = rev.holes.iter().map(|h| overlap(h.start, h.end)).sum();
    let beyond = if next.lt(ack) { overlap(next, ack) } else { 0 };
    holes + beyond
}
