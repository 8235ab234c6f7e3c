//! Events as words: the short labels on packet lines (and ladders), and the
//! `--why` explanations with the numbers that made each rule fire.

use std::io::{self, Write};

use crate::decode::{SeqNum, Timestamp};
use crate::track::event::{Analysis, CloseVariant, Evidence, ResetCause};
use crate::track::{Event, EventKind, Side, TcpState};

/// Human duration: 31 µs, 1.2 ms, 3.50 s, 60 s.
pub fn duration(ns: i128) -> String {
    let abs = ns.unsigned_abs();
    let sign = if ns < 0 { "-" } else { "" };
    if abs < 1_000 {
        format!("{sign}{abs} ns")
    } else if abs < 1_000_000 {
        format!("{sign}{} µs", abs / 1_000)
    } else if abs < 1_000_000_000 {
        format!("{sign}{:.1} ms", abs as f64 / 1e6)
    } else if abs % 1_000_000_000 == 0 {
        format!("{sign}{} s", abs / 1_000_000_000)
    } else {
        format!("{sign}{:.2} s", abs as f64 / 1e9)
    }
}

fn analysis_label(a: Analysis, ev: &Evidence) -> String {
    match a {
        Analysis::KeepAlive => "keep-alive probe".into(),
        Analysis::KeepAliveAck => "keep-alive ACK".into(),
        Analysis::Retransmission => "retransmission".into(),
        Analysis::FastRetransmission => "fast retransmission".into(),
        Analysis::SpuriousRetransmission => "spurious retransmission".into(),
        Analysis::OutOfOrder => "out-of-order".into(),
        Analysis::DuplicateAck => format!("dup ACK #{}", ev.dup_acks),
        Analysis::LostSegment => "previous segment not captured".into(),
        Analysis::AckLostSegment => "ACKs a segment not captured".into(),
        Analysis::ZeroWindow => "zero window".into(),
        Analysis::ZeroWindowProbe => "zero-window probe".into(),
        Analysis::ZeroWindowProbeAck => "zero-window probe ACK".into(),
        Analysis::WindowUpdate => "window update".into(),
        Analysis::WindowFull => "window full".into(),
        Analysis::ReusedPorts => "reused ports".into(),
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// Relative-sequence bases for `--why`: the sender's (seq, next expected,
/// the receiver's ack) and the receiver's (this segment's ack).
#[derive(Clone, Copy, Debug, Default)]
pub struct Bases {
    pub own: Option<SeqNum>,
    pub peer: Option<SeqNum>,
}

/// The rule and its numbers, for `--why`, relative like the packet line
/// when the bases are known (absolute otherwise).
pub fn analysis_why(a: Analysis, ev: &Evidence, bases: Bases) -> String {
    let rel = |s: SeqNum, base: Option<SeqNum>| base.map_or(s.0, |b| s.since(b));
    let mut ev = *ev;
    if let Some(b) = bases.own {
        ev.seq = SeqNum(rel(ev.seq, Some(b)));
        ev.next_seq = ev.next_seq.map(|n| SeqNum(rel(n, Some(b))));
        ev.peer_ack = ev.peer_ack.map(|n| SeqNum(rel(n, Some(b))));
    }
    if let Some(b) = bases.peer {
        ev.ack = ev.ack.map(|n| SeqNum(rel(n, Some(b))));
        ev.last_ack = ev.last_ack.map(|n| SeqNum(rel(n, Some(b))));
    }
    let ev = &ev;
    let next = opt(ev.next_seq);
    match a {
        Analysis::KeepAlive => format!(
            "seq {} = next expected {next} − 1, len {}, no SYN/FIN/RST",
            ev.seq, ev.len
        ),
        Analysis::KeepAliveAck => "pure ACK repeating the last ack and window, answering a keep-alive".into(),
        Analysis::ZeroWindowProbe => format!(
            "peer window 0, seq {} = next expected {next}{}, len {}",
            ev.seq,
            if ev.len == 0 { " − 1 (Linux probes with 0 bytes)" } else { "" },
            ev.len
        ),
        Analysis::ZeroWindowProbeAck => "pure ACK with window 0 answering a zero-window probe".into(),
        Analysis::ZeroWindow => "window field 0, no SYN/FIN/RST".into(),
        Analysis::LostSegment => format!("seq {} > next expected {next}", ev.seq),
        Analysis::AckLostSegment => format!("ack {} beyond anything the peer was seen sending", opt(ev.ack)),
        Analysis::WindowUpdate => format!(
            "pure ACK, same seq and ack, window {} → {}",
            opt(ev.last_window),
            ev.window
        ),
        Analysis::WindowFull => format!(
            "seq {} + len {} = peer ack {} + peer window {}",
            ev.seq,
            ev.len,
            opt(ev.peer_ack),
            opt(ev.peer_window)
        ),
        Analysis::DuplicateAck => format!(
            "pure ACK, ack {} and window {} unchanged, seq {} = next expected",
            opt(ev.ack),
            ev.window,
            ev.seq
        ),
        Analysis::FastRetransmission => format!(
            "seq {} = the ack repeated by {} duplicate ACKs, {} after the last",
            ev.seq,
            ev.dup_acks,
            ev.since_us.map_or("?".into(), |us| duration(i128::from(us) * 1000))
        ),
        Analysis::OutOfOrder => format!(
            "seq {} < next expected {next}, fills a gap the capture skipped, {} after the highest segment (< 3 ms)",
            ev.seq,
            ev.since_us.map_or("?".into(), |us| duration(i128::from(us) * 1000))
        ),
        Analysis::SpuriousRetransmission => format!(
            "seq {}+{} already acknowledged by the peer (ack {})",
            ev.seq,
            ev.len,
            opt(ev.peer_ack)
        ),
        Analysis::Retransmission => format!(
            "seq {} < next expected {next}{}",
            ev.seq,
            if ev.original_seen {
                ", original in the capture"
            } else {
                ", original not captured"
            }
        ),
        Analysis::ReusedPorts => "a new SYN with a new ISN on a 4-tuple seen before".into(),
    }
}

fn reset_label(c: ResetCause) -> &'static str {
    match c {
        ResetCause::Refused => "RST: refused",
        ResetCause::Abort => "RST: abort",
        ResetCause::AfterClose => "RST after close",
        ResetCause::KeepaliveTimeout => "RST: keep-alive timeout",
        ResetCause::KeepaliveAnswer => "RST answering a keep-alive",
        ResetCause::Unknown => "RST",
    }
}

fn reset_why(c: ResetCause) -> &'static str {
    match c {
        ResetCause::Refused => "answers a SYN: nothing listens on that port",
        ResetCause::Abort => {
            "sent by an open endpoint (SO_LINGER 0, unread data at close, or a crash)"
        }
        ResetCause::AfterClose => {
            "sent by an endpoint that had already sent its FIN: data reached a closed socket"
        }
        ResetCause::KeepaliveTimeout => "sent after keep-alive probes went unanswered",
        ResetCause::KeepaliveAnswer => {
            "answers a keep-alive probe: the peer no longer knows this connection"
        }
        ResetCause::Unknown => "no rule matched (states unknown)",
    }
}

/// The short label of an event on a packet line.
pub fn label(e: &Event, clock: &impl Fn(Timestamp) -> String) -> String {
    let who = e.side.name();
    match e.kind {
        EventKind::Handshake { step: 3, rtt_ns } => match rtt_ns {
            Some(rtt) => format!("handshake 3/3, RTT {}", duration(i128::from(rtt))),
            None => "handshake 3/3".into(),
        },
        EventKind::Handshake { step, .. } => format!("handshake {step}/3"),
        EventKind::SimultaneousOpen => "simultaneous open (SYNs crossed)".into(),
        EventKind::Refused => "connection refused".into(),
        EventKind::Close { step, of, variant } => {
            let mut s = match of {
                Some(of) => format!("close {step}/{of}"),
                None => format!("close {step}: {who} FIN"),
            };
            match variant {
                CloseVariant::ThreeWay if step == 2 => s.push_str(" (FIN+ACK: three-packet close)"),
                CloseVariant::Simultaneous if step == 2 => {
                    s.push_str(" (simultaneous close: FINs crossed)")
                }
                _ => {}
            }
            s
        }
        EventKind::HalfClose { .. } => {
            format!("half-close: {who} still sends after the peer's FIN")
        }
        EventKind::TimeWait { until } => format!(
            "{who} TIME_WAIT until {} (2MSL = {})",
            clock(until),
            duration(until.nanos_since(e.ts))
        ),
        EventKind::TimeWaitExpired => format!("{who} TIME_WAIT expired → CLOSED"),
        EventKind::TimeWaitContinues { until } => {
            format!(
                "{who} still in TIME_WAIT at end of capture (until {})",
                clock(until)
            )
        }
        EventKind::Reset { cause } => reset_label(cause).into(),
        EventKind::Midstream => "joined mid-stream: states assumed".into(),
        EventKind::PortReuse {
            previous,
            previous_in_time_wait,
        } => format!(
            "port reuse: 4-tuple of #{previous}{}",
            if previous_in_time_wait {
                " (in TIME_WAIT)"
            } else {
                ""
            }
        ),
        EventKind::LastAckLost => "FIN again: the final ACK was lost".into(),
        EventKind::Analysis { what, evidence } => analysis_label(what, &evidence),
    }
}

/// Why the event fired, for `--why`.
pub fn why(e: &Event, time_wait_ns: i128, bases: Bases) -> String {
    match e.kind {
        EventKind::Handshake { step: 1, .. } => "SYN without ACK: the sender opens".into(),
        EventKind::Handshake { step: 2, .. } => "SYN+ACK: accepts the peer's SYN".into(),
        EventKind::Handshake { .. } => "ACK = server ISN + 1: acknowledges the SYN+ACK".into(),
        EventKind::SimultaneousOpen => "a SYN from a side that had itself sent a SYN".into(),
        EventKind::Refused => "RST answering a SYN".into(),
        EventKind::Close {
            variant: CloseVariant::Simultaneous,
            ..
        } => "a FIN that does not acknowledge the peer's FIN (ack < FIN seq + 1)".into(),
        EventKind::Close {
            variant: CloseVariant::ThreeWay,
            ..
        } => "the second FIN carries ack ≥ first FIN seq + 1".into(),
        EventKind::Close { of: None, .. } => "the first FIN of the connection".into(),
        EventKind::Close { .. } => "a FIN, or an ACK ≥ FIN seq + 1".into(),
        EventKind::HalfClose { .. } => "payload toward an endpoint in FIN_WAIT".into(),
        EventKind::TimeWait { .. } => format!(
            "received the peer's FIN after its own was acknowledged; 2MSL = {}",
            duration(time_wait_ns)
        ),
        EventKind::TimeWaitExpired => "capture time passed TIME_WAIT + 2MSL".into(),
        EventKind::TimeWaitContinues { .. } => "the capture ended first".into(),
        EventKind::Reset { cause } => reset_why(cause).into(),
        EventKind::Midstream => "first segment of this 4-tuple has no SYN".into(),
        EventKind::PortReuse { .. } => "pure SYN with a new ISN on a known 4-tuple".into(),
        EventKind::LastAckLost => "the same FIN seq again while its sender is in LAST_ACK".into(),
        EventKind::Analysis { what, evidence } => analysis_why(what, &evidence, bases),
    }
}

/// `client SYN_SENT→ESTABLISHED · server SYN_RCVD`
pub fn write_states(
    out: &mut Vec<u8>,
    before: [TcpState; 2],
    after: [TcpState; 2],
    assumed: bool,
) -> io::Result<()> {
    for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(" · ".as_bytes());
        }
        out.extend_from_slice(side.name().as_bytes());
        out.push(b' ');
        if before[i] != after[i] {
            write!(out, "{}→", before[i].name())?;
        }
        out.extend_from_slice(after[i].name().as_bytes());
    }
    if assumed {
        out.extend_from_slice(b" (assumed)");
    }
    Ok(())
}
