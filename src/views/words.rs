//! The words: every event, state change and fact as English (Chinese in
//! `words/zh.rs`, chosen by `crate::lang`), in one place,
//! so every view says the same thing the same way. Labels for packet lines
//! and ladders, `--why` explanations with the numbers that made a rule
//! fire, the summary table's close column, the ladder's one-sentence story.

use std::fmt::Write as _;

use synack_core::counts::CaptureStats;
use synack_core::decode::{SeqNum, Timestamp};
use synack_core::pressure::{
    linux_ephemeral_port_count, ClientPorts, HostTimeWait, PressureFacts, ServerLoad,
    LINUX_EPHEMERAL_PORTS,
};
use synack_core::track::{
    Analysis, CloseVariant, Connection, EcnMode, Ending, Event, EventKind, Evidence, Facts,
    Observation, ResetCause, Retired, Side, StatePath,
};
use synack_core::Counts;

use super::charset;
use crate::lang;

mod zh;

/// Human duration: 31 µs, 1.2 ms, 3.50 s, 60 s.
pub(crate) fn duration(ns: i128) -> String {
    let mut out = Vec::with_capacity(12);
    write_duration(&mut out, ns);
    String::from_utf8(out).unwrap_or_default()
}

/// [`duration`], written straight into `out` (a table row, a line).
pub(crate) fn write_duration(out: &mut Vec<u8>, ns: i128) {
    let abs = ns.unsigned_abs();
    if ns < 0 {
        out.push(b'-');
    }
    let mut n = itoa::Buffer::new();
    if abs < 1_000 {
        out.extend_from_slice(n.format(abs).as_bytes());
        out.extend_from_slice(b" ns");
    } else if abs < 1_000_000 {
        out.extend_from_slice(n.format(abs / 1_000).as_bytes());
        out.extend_from_slice(if charset::ascii() {
            b" us"
        } else {
            " µs".as_bytes()
        });
    } else if abs < 1_000_000_000 {
        fixed(out, abs, 1_000_000, 1);
        out.extend_from_slice(b" ms");
    } else if abs % 1_000_000_000 == 0 {
        out.extend_from_slice(n.format(abs / 1_000_000_000).as_bytes());
        out.extend_from_slice(b" s");
    } else {
        fixed(out, abs, 1_000_000_000, 2);
        out.extend_from_slice(b" s");
    }
}

/// `abs / unit` with `digits` decimals, exactly as `format!("{:.digits$}",
/// abs as f64 / unit as f64)` writes it, without the float machinery: far
/// from a tie the f64's tiny error cannot change the rounding, so integer
/// rounding gives the same digits; an exact tie (or a huge value) takes
/// the float path, which rounds the f64 as it is.
fn fixed(out: &mut Vec<u8>, abs: u128, unit: u128, digits: u32) {
    use std::io::Write as _;
    let step = unit / 10u128.pow(digits);
    let (q, r) = (abs / step, abs % step);
    if r * 2 == step || abs >= 1 << 52 {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{:.*}", digits as usize, abs as f64 / unit as f64);
        return;
    }
    let q = if r * 2 > step { q + 1 } else { q };
    let scale = 10u128.pow(digits);
    let mut n = itoa::Buffer::new();
    out.extend_from_slice(n.format(q / scale).as_bytes());
    out.push(b'.');
    let frac = n.format(q % scale);
    out.resize(out.len() + digits as usize - frac.len(), b'0');
    out.extend_from_slice(frac.as_bytes());
}

fn analysis_label(a: Analysis, ev: &Evidence) -> std::borrow::Cow<'static, str> {
    match a {
        Analysis::KeepAlive => "keep-alive probe".into(),
        Analysis::KeepAliveAck => "keep-alive ACK".into(),
        Analysis::Retransmission => "retransmission".into(),
        Analysis::FastRetransmission => "fast retransmission".into(),
        Analysis::SpuriousRetransmission => "spurious retransmission".into(),
        Analysis::OutOfOrder => "out-of-order".into(),
        Analysis::DuplicateAck => format!("dup ACK #{}", ev.dup_acks).into(),
        Analysis::LostSegment => "previous segment not captured".into(),
        Analysis::AckLostSegment => "ACKs a segment not captured".into(),
        Analysis::ZeroWindow => "zero window".into(),
        Analysis::ZeroWindowProbe => "zero-window probe".into(),
        Analysis::ZeroWindowProbeAck => "zero-window probe ACK".into(),
        Analysis::WindowUpdate => "window update".into(),
        Analysis::WindowFull => "window full".into(),
        Analysis::ReusedPorts => "reused ports".into(),
        Analysis::Dsack => match ev.other_frame {
            Some(f) => format!(
                "D-SACK: {} bytes arrived twice (the resend in frame {f} was spurious)",
                ev.len
            )
            .into(),
            None => format!("D-SACK: {} bytes arrived twice", ev.len).into(),
        },
        _ => a.name().replace('_', " ").into(),
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// Relative-sequence bases for `--why`: the sender's (seq, next expected,
/// the receiver's ack) and the receiver's (this segment's ack).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Bases {
    pub(crate) own: Option<SeqNum>,
    pub(crate) peer: Option<SeqNum>,
}

/// The rule and its numbers, for `--why`, relative like the packet line
/// when the bases are known (absolute otherwise).
pub(crate) fn analysis_why(a: Analysis, ev: &Evidence, bases: Bases) -> String {
    let rel = |s: SeqNum, base: Option<SeqNum>| base.map_or(s.0, |b| s.since(b));
    let mut ev = *ev;
    // A D-SACK's block is in the peer's sequence space, like the ack.
    let dsack = {
        let peer = |n: SeqNum| SeqNum(rel(n, bases.peer));
        (peer(ev.seq), ev.len, ev.ack.map(peer))
    };
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
    if lang::zh() {
        return zh::analysis_why(a, ev, dsack);
    }
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
            "seq {} < next expected {next}, fills a gap the capture skipped, {} after the highest segment (< 3 ms){}",
            ev.seq,
            ev.since_us.map_or("?".into(), |us| duration(i128::from(us) * 1000)),
            match (ev.reported_us, ev.rtt_us) {
                (Some(rep), Some(rtt)) => format!(
                    ", {} after the receiver reported the gap (< half the RTT of {}): reordered",
                    duration(i128::from(rep) * 1000),
                    duration(i128::from(rtt) * 1000)
                ),
                _ => String::new(),
            }
        ),
        Analysis::SpuriousRetransmission => format!(
            "seq {}+{} already acknowledged by the peer (ack {})",
            ev.seq,
            ev.len,
            opt(ev.peer_ack)
        ),
        Analysis::Retransmission => match (ev.original_seen, ev.reported_us) {
            (false, Some(rep)) => format!(
                "seq {} < next expected {next}, fills a gap the receiver reported {} earlier{}: the sender's answer to that report, so lost before the capture point",
                ev.seq,
                duration(i128::from(rep) * 1000),
                ev.rtt_us.map_or(String::new(), |r| format!(
                    " (≥ half the RTT of {})",
                    duration(i128::from(r) * 1000)
                ))
            ),
            (seen, _) => format!(
                "seq {} < next expected {next}{}",
                ev.seq,
                if seen {
                    ", original in the capture"
                } else {
                    ", original not captured"
                }
            ),
        },
        Analysis::ReusedPorts => "a new SYN with a new ISN on a 4-tuple seen before".into(),
        Analysis::Dsack => format!(
            "the first SACK block {}–{} lies below the cumulative ack {} (RFC 2883)",
            dsack.0,
            dsack.0.plus(dsack.1),
            opt(dsack.2)
        ),
        _ => a.name().replace('_', " "),
    }
}

/// Why a reset happened, as a phrase: "abort", "after close"…
pub(crate) fn reset_cause(c: ResetCause) -> &'static str {
    match c {
        ResetCause::Refused => "refused",
        ResetCause::Abort => "abort",
        ResetCause::AfterClose => "after close",
        ResetCause::KeepaliveTimeout => "keep-alive timeout",
        ResetCause::KeepaliveAnswer => "answering a keep-alive",
        _ => "cause unknown",
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
        _ => "no rule matched (states unknown)",
    }
}

/// How a close is named: "four-way", "three-packet", "simultaneous".
pub(crate) fn close_variant(v: CloseVariant) -> &'static str {
    match v {
        CloseVariant::FourWay => "four-way",
        CloseVariant::ThreeWay => "three-packet",
        CloseVariant::Simultaneous => "simultaneous",
        _ => "unusual",
    }
}

/// The short label of an event on a packet line or a ladder row. `clock`
/// writes a point in time in the view's style.
pub(crate) fn label(e: &Event, clock: &impl Fn(Timestamp) -> String) -> String {
    if lang::zh() {
        return zh::label(e, clock);
    }
    let mut out = Vec::with_capacity(32);
    write_label_words(&mut out, e, clock);
    charset::text(String::from_utf8(out).unwrap_or_default())
}

/// [`label`], written straight into `out` (a packet line).
pub(crate) fn write_label(out: &mut Vec<u8>, e: &Event, clock: &impl Fn(Timestamp) -> String) {
    if lang::zh() || charset::ascii() {
        out.extend_from_slice(label(e, clock).as_bytes());
    } else {
        write_label_words(out, e, clock);
    }
}

/// The English label, as written before `--ascii` has its say.
fn write_label_words(out: &mut Vec<u8>, e: &Event, clock: &impl Fn(Timestamp) -> String) {
    use std::io::Write as _;
    let who = e.side.name();
    let mut n = itoa::Buffer::new();
    // Writing into a Vec cannot fail.
    let _ = match e.kind {
        EventKind::Handshake { step: 3, rtt_ns } => {
            out.extend_from_slice(b"handshake 3/3");
            if let Some(rtt) = rtt_ns {
                out.extend_from_slice(b", RTT ");
                write_duration(out, i128::from(rtt));
            }
            Ok(())
        }
        EventKind::Handshake { step, .. } => {
            out.extend_from_slice(b"handshake ");
            out.extend_from_slice(n.format(step).as_bytes());
            out.extend_from_slice(b"/3");
            Ok(())
        }
        EventKind::SimultaneousOpen => write!(out, "simultaneous open (SYNs crossed)"),
        EventKind::Refused => write!(out, "connection refused"),
        EventKind::Close { step, of, variant } => {
            out.extend_from_slice(b"close ");
            out.extend_from_slice(n.format(step).as_bytes());
            match of {
                Some(of) => {
                    out.push(b'/');
                    out.extend_from_slice(n.format(of).as_bytes());
                }
                None => {
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(who.as_bytes());
                    out.extend_from_slice(b" FIN");
                }
            }
            match variant {
                CloseVariant::ThreeWay if step == 2 => {
                    out.extend_from_slice(b" (FIN+ACK: three-packet close)")
                }
                CloseVariant::Simultaneous if step == 2 => {
                    out.extend_from_slice(b" (simultaneous close: FINs crossed)")
                }
                _ => {}
            }
            Ok(())
        }
        EventKind::HalfClose { .. } => {
            write!(out, "half-close: {who} still sends after the peer's FIN")
        }
        EventKind::TimeWait { until } => {
            out.extend_from_slice(who.as_bytes());
            out.extend_from_slice(b" TIME_WAIT until ");
            out.extend_from_slice(clock(until).as_bytes());
            out.extend_from_slice(b" (2MSL = ");
            write_duration(out, until.nanos_since(e.ts));
            out.push(b')');
            Ok(())
        }
        EventKind::TimeWaitExpired => {
            out.extend_from_slice(who.as_bytes());
            out.extend_from_slice(" TIME_WAIT expired → CLOSED".as_bytes());
            Ok(())
        }
        EventKind::TimeWaitContinues { until } => {
            write!(
                out,
                "{who} still in TIME_WAIT at end of capture (until {})",
                clock(until)
            )
        }
        EventKind::Reset { cause } => match cause {
            ResetCause::Unknown => write!(out, "RST"),
            c => write!(out, "RST: {}", reset_cause(c)),
        },
        EventKind::Midstream => write!(out, "joined mid-stream: states assumed"),
        EventKind::PortReuse {
            previous,
            previous_in_time_wait,
        } => write!(
            out,
            "port reuse: 4-tuple of #{previous}{}",
            if previous_in_time_wait {
                " (in TIME_WAIT)"
            } else {
                ""
            }
        ),
        EventKind::LastAckLost => write!(out, "FIN again: the final ACK was lost"),
        EventKind::EcnSetup { mode } => match mode {
            EcnMode::Classic => write!(out, "ECN agreed (classic, RFC 3168)"),
            EcnMode::Accurate => write!(out, "Accurate ECN agreed (RFC 9768)"),
            _ => write!(out, "ECN asked for, declined"),
        },
        EventKind::CongestionExperienced => write!(out, "CE: a router marked congestion"),
        EventKind::EcnEcho => write!(out, "ECE: echoes the congestion mark"),
        EventKind::WindowReduced => write!(out, "CWR: the sender slowed down"),
        EventKind::TimeWentBack { ns } => {
            out.extend_from_slice(b"time goes back ");
            write_duration(out, i128::from(ns));
            Ok(())
        }
        EventKind::WindowScaleClamped { shift } => write!(
            out,
            "window scale {shift} is above 14: taken as 14 (RFC 7323)"
        ),
        EventKind::Analysis { what, evidence } => {
            out.extend_from_slice(analysis_label(what, &evidence).as_bytes());
            Ok(())
        }
        _ => {
            out.extend_from_slice(e.kind.name().replace('_', " ").as_bytes());
            Ok(())
        }
    };
}

/// Why the event fired, for `--why`.
pub(crate) fn why(e: &Event, time_wait_ns: i128, bases: Bases) -> String {
    if lang::zh() {
        return zh::why(e, time_wait_ns, bases);
    }
    charset::text(why_words(e, time_wait_ns, bases))
}

fn why_words(e: &Event, time_wait_ns: i128, bases: Bases) -> String {
    match e.kind {
        EventKind::Handshake { step: 1, .. } => "SYN without ACK: the sender opens".into(),
        EventKind::Handshake { step: 2, .. } => "SYN+ACK: accepts the peer's SYN".into(),
        EventKind::Handshake { .. } => "ACK = server ISN + 1: acknowledges the SYN+ACK".into(),
        EventKind::SimultaneousOpen => "a SYN from a side that had itself sent a SYN".into(),
        EventKind::Refused => "RST answering a SYN".into(),
        EventKind::Close {
            variant: CloseVariant::Simultaneous,
            step: 2,
            ..
        } => "a FIN that does not acknowledge the peer's FIN (ack < FIN seq + 1)".into(),
        EventKind::Close {
            variant: CloseVariant::ThreeWay,
            step: 2,
            ..
        } => "the second FIN carries ack ≥ first FIN seq + 1".into(),
        EventKind::Close { of: None, .. } => "the first FIN of the connection".into(),
        EventKind::Close { .. } => "a FIN, or an ACK ≥ FIN seq + 1".into(),
        EventKind::HalfClose { .. } => {
            "payload from a side whose ACK shows it got the peer's FIN".into()
        }
        EventKind::TimeWait { .. } => format!(
            "received the peer's FIN after its own was acknowledged (its ACK of that FIN shows it); 2MSL = {}",
            duration(time_wait_ns)
        ),
        EventKind::TimeWaitExpired => "capture time passed TIME_WAIT + 2MSL".into(),
        EventKind::TimeWaitContinues { .. } => "the capture ended first".into(),
        EventKind::Reset { cause } => reset_why(cause).into(),
        EventKind::Midstream => "first segment of this 4-tuple has no SYN".into(),
        EventKind::PortReuse { .. } => "pure SYN with a new ISN on a known 4-tuple".into(),
        EventKind::LastAckLost => "the same FIN seq again while its sender is in LAST_ACK".into(),
        EventKind::EcnSetup { .. } => {
            "the SYN set ECE+CWR (classic) or AE+CWR+ECE (Accurate ECN); this SYN+ACK answers with ECE (classic), an AccECN codepoint, or none".into()
        }
        EventKind::CongestionExperienced => "IP ECN field 11 (CE)".into(),
        EventKind::EcnEcho => "ECE set after the handshake, on a classic-ECN connection".into(),
        EventKind::WindowReduced => "CWR set after the handshake".into(),
        EventKind::TimeWentBack { .. } => {
            "stamped before the connection's previous segment; durations and RTTs skip the step".into()
        }
        EventKind::WindowScaleClamped { .. } => {
            "RFC 7323 §2.3: a shift above 14 is used as 14".into()
        }
        EventKind::Analysis { what, evidence } => analysis_why(what, &evidence, bases),
        _ => String::new(),
    }
}

/// What starts a `--why` explanation in brackets: `why: `, in Chinese `依据：`.
pub(crate) fn why_tag() -> &'static str {
    lang::pick("why: ", "依据：")
}

/// One side's states at a packet: `ESTABLISHED→FIN_WAIT_1`.
fn write_path(out: &mut Vec<u8>, p: &StatePath) {
    for (i, s) in p.states().iter().enumerate() {
        if i > 0 {
            out.extend_from_slice("→".as_bytes());
        }
        out.extend_from_slice(s.name().as_bytes());
    }
}

/// A TCP packet's annotation, as packet lines show it after `| ` and
/// annotated pcapng files carry it as the packet comment: the connection,
/// each event (with `why`'s explanation after it, when given), both states:
/// `#1 handshake 1/3 · client CLOSED→SYN_SENT · server LISTEN→SYN_RCVD`.
pub(crate) fn write_annotation(
    out: &mut Vec<u8>,
    obs: &Observation,
    events: &[Event],
    clock: &impl Fn(Timestamp) -> String,
    why: Option<&dyn Fn(&Event) -> String>,
) {
    out.push(b'#');
    out.extend_from_slice(itoa::Buffer::new().format(obs.conn).as_bytes());
    for e in events {
        out.push(b' ');
        write_label(out, e, clock);
        if let Some(why) = why {
            let _ = write!(Bytes(out), " [{}{}]", why_tag(), why(e));
        }
        out.extend_from_slice(" ·".as_bytes());
    }
    out.push(b' ');
    write_states(out, &obs.paths, obs.corrected, obs.assumed);
}

/// `fmt::Write` into a byte buffer.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `client SYN_SENT→ESTABLISHED · server SYN_RCVD`
pub(crate) fn write_states(
    out: &mut Vec<u8>,
    paths: &[StatePath; 2],
    corrected: [bool; 2],
    assumed: bool,
) {
    if lang::zh() {
        return zh::write_states(out, paths, corrected, assumed);
    }
    for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(" · ".as_bytes());
        }
        out.extend_from_slice(side.name().as_bytes());
        out.push(b' ');
        if corrected[i] {
            out.extend_from_slice(paths[i].after().name().as_bytes());
            out.extend_from_slice(b" (corrected: it had not got the ACK shown before)");
        } else {
            write_path(out, &paths[i]);
        }
    }
    if assumed {
        out.extend_from_slice(b" (assumed)");
    }
}

/// The close column of the summary table.
pub(crate) fn ending_short(f: &Facts, c: &Connection) -> String {
    if lang::zh() {
        return zh::ending_short(f, c);
    }
    let mut out = Vec::with_capacity(32);
    write_ending_words(&mut out, f, c);
    charset::text(String::from_utf8(out).unwrap_or_default())
}

/// The English close column, as written before `--ascii` has its say
/// (the summary table writes it straight into its row).
pub(crate) fn write_ending_words(out: &mut Vec<u8>, f: &Facts, c: &Connection) {
    let half: &[u8] = if c.close().half_close() {
        b", half-close"
    } else {
        b""
    };
    let text: &[&[u8]] = match f.ending {
        Ending::Refused => &[b"refused"],
        Ending::Reset { by, cause } => &[
            b"RST by ",
            by.name().as_bytes(),
            b": ",
            reset_cause(cause).as_bytes(),
        ],
        Ending::Closed {
            variant: Some(v),
            first,
        } => match v {
            CloseVariant::Simultaneous => &[b"simultaneous", half],
            v => &[
                close_variant(v).as_bytes(),
                b", ",
                first.name().as_bytes(),
                b" first",
                half,
            ],
        },
        Ending::Closed {
            variant: None,
            first,
        } => &[b"both sent FIN, ", first.name().as_bytes(), b" first", half],
        Ending::FinOneWay { by } => &[by.name().as_bytes(), b" sent FIN", half],
        Ending::Unanswered => &[b"no answer"],
        _ => match f.retired {
            Retired::Idle => &[b"idle (evicted)"],
            Retired::Evicted => &[b"evicted (max connections)"],
            _ => &[b"still open"],
        },
    };
    for part in text {
        out.extend_from_slice(part);
    }
}

/// The connection in one sentence, under its ladder.
pub(crate) fn story(c: &Connection, f: &Facts, clock: &impl Fn(Timestamp) -> String) -> String {
    if lang::zh() {
        return zh::story(c, f, clock);
    }
    charset::text(story_words(c, f, clock))
}

fn story_words(c: &Connection, f: &Facts, clock: &impl Fn(Timestamp) -> String) -> String {
    let mut parts: Vec<String> = Vec::new();
    let h = c.handshake();
    if f.ending == Ending::Refused {
        parts.push("refused: the SYN was answered by RST".into());
    } else if let Some(rtt) = h.rtt_ns() {
        parts.push(format!("opened in {}", duration(i128::from(rtt))));
    } else if h.simultaneous() {
        parts.push("opened by a simultaneous open".into());
    } else if c.midstream() {
        parts.push("joined mid-stream (no handshake seen)".into());
    } else if f.ending == Ending::Unanswered {
        parts.push("the SYN got no answer".into());
    } else if h.rtt_ambiguous() {
        parts.push(
            "opened (RTT unknown: the SYN was resent and nothing tells which copy was answered)"
                .into(),
        );
    }
    if h.syn_count() > 1 {
        parts.push(format!("after {} SYNs", h.syn_count()));
    }
    let (cb, sb) = (c.client().bytes(), c.server().bytes());
    if cb + sb > 0 {
        parts.push(if cb == sb {
            format!("{cb} B each way")
        } else {
            format!("{cb} B from the client, {sb} B from the server")
        });
    }
    if c.close().half_close() {
        parts.push(format!(
            "half-closed ({} B after the first FIN)",
            c.close().half_close_bytes()
        ));
    }
    let close = match f.ending {
        Ending::Refused => None,
        Ending::Reset { by, cause } => Some(format!(
            "reset by the {} ({})",
            by.name(),
            reset_cause(cause)
        )),
        Ending::Closed {
            variant: Some(CloseVariant::Simultaneous),
            ..
        } => Some("both closed at once (simultaneous close)".into()),
        Ending::Closed {
            variant: Some(v),
            first,
        } => Some(format!(
            "{} closed first ({} close)",
            first.name(),
            close_variant(v)
        )),
        Ending::Closed {
            variant: None,
            first,
        } => Some(format!("both sent FIN, the {} first", first.name())),
        Ending::FinOneWay { by } => Some(format!("the {} sent a FIN", by.name())),
        Ending::Unanswered => None,
        _ => Some(match f.retired {
            Retired::Idle => "forgotten after the idle timeout".into(),
            Retired::Evicted => "dropped at --max-connections".into(),
            _ => "still open at the end of the capture".into(),
        }),
    };
    let tw: Vec<String> = [Side::Client, Side::Server]
        .into_iter()
        .zip(f.time_wait)
        .filter_map(|(s, tw)| {
            let tw = tw?;
            Some(match tw.end {
                None => format!("the {} holds TIME_WAIT until {}", s.name(), clock(tw.until)),
                Some(synack_core::track::TimeWaitEnd::Expired) => format!(
                    "the {} held TIME_WAIT for 2MSL ({})",
                    s.name(),
                    duration(tw.until.nanos_since(tw.entered))
                ),
                Some(synack_core::track::TimeWaitEnd::Reused) => format!(
                    "the {} held TIME_WAIT until a new SYN reused the port",
                    s.name()
                ),
                Some(_) => format!("the {} held TIME_WAIT until a RST cut it short", s.name()),
            })
        })
        .collect();
    match (close, tw.is_empty()) {
        (Some(cl), false) => parts.push(format!("{cl} and {}", tw.join(", and "))),
        (Some(cl), true) => parts.push(cl),
        (None, false) => parts.push(tw.join(", and ")),
        (None, true) => {}
    }
    if let Some(k) = f.keepalive {
        parts.push(format!(
            "{} keep-alive probe{} by the {}",
            k.probes,
            if k.probes == 1 { "" } else { "s" },
            k.by.name()
        ));
    }
    if f.zero_window_ads > 0 {
        parts.push(format!(
            "{} zero-window advertisement{}",
            f.zero_window_ads,
            if f.zero_window_ads == 1 { "" } else { "s" }
        ));
    }
    for (side, state) in [Side::Client, Side::Server].into_iter().zip(f.states) {
        if state == synack_core::track::TcpState::Unknown && !c.midstream() {
            parts.push(format!(
                "nothing in the capture shows what became of the {} (it never answered)",
                side.name()
            ));
        }
    }
    if f.ending != Ending::Refused {
        parts.push(match f.retransmissions {
            0 => "no retransmissions".into(),
            1 => "1 retransmission".into(),
            n => format!("{n} retransmissions"),
        });
    }
    let mut s = parts.join("; ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    s.push('.');
    s
}

/// The row standing for the segments between a long ladder's first and last.
pub(crate) fn folded(n: usize, kept: usize) -> String {
    if lang::zh() {
        return zh::folded(n, kept);
    }
    charset::text(format!(
        "… {n} more segments not drawn (the first and last {kept} are)"
    ))
}

/// Ladders left out to keep memory bounded.
pub(crate) fn not_drawn(n: u64) -> String {
    if lang::zh() {
        return zh::not_drawn(n);
    }
    format!(
        "{n} connection{} not drawn: more than 5,000 were open at once (draw one with --conn N)",
        if n == 1 { "" } else { "s" }
    )
}

/// The closing summary line of a text view.
pub(crate) fn summary_line(
    c: &Counts,
    kernel: Option<CaptureStats>,
    shard: Option<&super::ShardRun>,
) -> String {
    if lang::zh() {
        return zh::summary_line(c, kernel, shard);
    }
    charset::text(summary_words(c, kernel, shard))
}

fn summary_words(
    c: &Counts,
    kernel: Option<CaptureStats>,
    shard: Option<&super::ShardRun>,
) -> String {
    let mut line = format!(
        "summary: {} frames ({} TCP, {} UDP, {} ICMP, {} ARP, {} IP fragments, {} other, {} undecodable), {} TCP connection{}, {} cut by snaplen",
        c.frames,
        c.tcp,
        c.udp,
        c.icmp,
        c.arp,
        c.fragments,
        c.other,
        c.undecodable,
        c.connections,
        if c.connections == 1 { "" } else { "s" },
        c.cut_by_snaplen
    );
    if c.protected > 0 {
        let _ = write!(
            line,
            "; {} of the undecodable frames are protected (encrypted) 802.11 frames",
            c.protected
        );
    }
    if let Some(k) = kernel {
        let _ = write!(
            line,
            "; kernel: {} received, {} dropped, {} dropped by the interface",
            k.received, k.dropped, k.if_dropped
        );
    }
    if c.evicted_idle + c.evicted_cap > 0 {
        let _ = write!(
            line,
            ", {} evicted idle, {} evicted at --max-connections",
            c.evicted_idle, c.evicted_cap
        );
    }
    if c.time_went_back > 0 {
        let _ = write!(
            line,
            ", {} segment{} stamped before an earlier one",
            c.time_went_back,
            if c.time_went_back == 1 { "" } else { "s" }
        );
    }
    if let Some(s) = shard {
        let _ = write!(
            line,
            "; shard {}/{}: {} frames read, {} of them other shards' (skipped)",
            s.shard.index, s.shard.count, s.frames_read, s.skipped
        );
    }
    line
}

/// Text from a capture file or the system (interface names, pcapng
/// comments, file names) made safe for a terminal: control characters,
/// escape sequences and bidi overrides are shown as `\e`-style escapes,
/// never sent raw (one rule for all outside text: `crate::escape`).
pub(crate) fn escaped(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(crate::escape::needs_escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(crate::escape::Escaped(s).to_string())
}

/// Wrap text at spaces (and between Chinese characters) to `width` columns.
pub(crate) fn wrap(text: &str, width: usize) -> String {
    super::width::wrap(text, width)
}

/// Why a checksum was not judged (`-v`), in the parentheses after it.
pub(crate) fn checksum_unverified(v: synack_core::decode::checksum::Verdict) -> &'static str {
    if lang::zh() {
        return zh::checksum_unverified(v);
    }
    use synack_core::decode::checksum::Verdict;
    match v {
        Verdict::Offload => "unverified: offload",
        Verdict::Incomplete => "unverified: not all captured",
        Verdict::Correct | Verdict::Incorrect { .. } => "",
    }
}

/// Why a frame could not be decoded, in the run's language.
pub(crate) fn decode_error(e: &synack_core::decode::DecodeError) -> String {
    if lang::zh() {
        return zh::decode_error(e);
    }
    e.to_string()
}

/// At most this many hosts or servers are named in each part of the pressure line.
const PRESSURE_NAMED: usize = 3;
/// A client host's port use is worth a word from this many ports within one span.
const PORTS_WORTH_NAMING: u32 = 100;
/// Half-open connections at once are worth a word from this many (a busy
/// server has a few in flight within a round trip).
const HALF_OPEN_WORTH_NAMING: u32 = 10;

fn more(n: usize) -> String {
    if n > PRESSURE_NAMED {
        format!(" (+{} more)", n - PRESSURE_NAMED)
    } else {
        String::new()
    }
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The pressure footer: what the capture shows about load, in one line
/// (`None` when nothing is worth a word: no host ever had two endpoints in
/// TIME_WAIT at once, no server many half-open connections at once, nothing
/// unanswered, no port used heavily or again, no cap reached).
pub(crate) fn pressure_line(
    p: &PressureFacts,
    clock: &impl Fn(Timestamp) -> String,
) -> Option<String> {
    if lang::zh() {
        return zh::pressure_line(p, clock);
    }
    let mut parts: Vec<String> = Vec::new();
    let tw: Vec<&HostTimeWait> = p.time_wait.iter().filter(|h| h.peak >= 2).collect();
    if !tw.is_empty() {
        let named: Vec<String> = tw
            .iter()
            .take(PRESSURE_NAMED)
            .map(|h| {
                format!(
                    "{} on {} at {} ({} as server, {} as client)",
                    h.peak,
                    h.host,
                    clock(h.at),
                    h.peak_as_server,
                    h.peak_as_client
                )
            })
            .collect();
        parts.push(format!(
            "most in TIME_WAIT at once: {}{}",
            named.join(", "),
            more(tw.len())
        ));
    }
    let half: Vec<&ServerLoad> = p
        .servers
        .iter()
        .filter(|s| s.half_open_peak >= HALF_OPEN_WORTH_NAMING)
        .collect();
    if !half.is_empty() {
        let mut by_peak = half.clone();
        by_peak.sort_by_key(|s| std::cmp::Reverse(s.half_open_peak));
        let named: Vec<String> = by_peak
            .iter()
            .take(PRESSURE_NAMED)
            .map(|s| {
                let at = s
                    .half_open_at
                    .map_or(String::new(), |t| format!(" at {}", clock(t)));
                format!("{} on {}{at}", s.half_open_peak, s.server)
            })
            .collect();
        parts.push(format!(
            "most half-open at once: {}{}",
            named.join(", "),
            more(half.len())
        ));
    }
    let unanswered: Vec<&ServerLoad> = p
        .servers
        .iter()
        .filter(|s| s.synacks_unanswered > 0)
        .collect();
    if !unanswered.is_empty() {
        let named: Vec<String> = unanswered
            .iter()
            .take(PRESSURE_NAMED)
            .map(|s| {
                format!(
                    "{} from {} ({} resent: state kept; {} sent once: no state kept, as with SYN cookies)",
                    s.synacks_unanswered, s.server, s.synacks_resent, s.synacks_stateless
                )
            })
            .collect();
        parts.push(format!(
            "SYN-ACKs never answered: {}{}",
            named.join(", "),
            more(unanswered.len())
        ));
    }
    let dropped: Vec<&ServerLoad> = p
        .servers
        .iter()
        .filter(|s| s.dropped_syns_while_listening())
        .collect();
    if !dropped.is_empty() {
        let named: Vec<String> = dropped
            .iter()
            .take(PRESSURE_NAMED)
            .map(|s| {
                format!(
                    "{} ({}) to {} while it completed {}: it dropped them, its listen queue was full",
                    plural(s.syns_unanswered, "connection attempt", "connection attempts"),
                    plural(s.syn_segments_unanswered, "SYN", "SYNs"),
                    s.server,
                    plural(s.handshakes, "handshake", "handshakes")
                )
            })
            .collect();
        parts.push(format!(
            "SYNs never answered: {}{}",
            named.join(", "),
            more(dropped.len())
        ));
    }
    let ports: Vec<&ClientPorts> = p
        .clients
        .iter()
        .filter(|c| c.peak_ports >= PORTS_WORTH_NAMING)
        .collect();
    if !ports.is_empty() {
        let named: Vec<String> = ports
            .iter()
            .take(PRESSURE_NAMED)
            .map(|c| {
                format!(
                    "{} from {} at {} ({:.1}%)",
                    c.peak_ports,
                    c.host,
                    clock(c.at),
                    c.share_of_default_range(),
                )
            })
            .collect();
        parts.push(format!(
            "local ports used within one {} TIME_WAIT span, against the {} of Linux's default ephemeral range {}–{}: {}{}",
            duration(p.span_ns),
            linux_ephemeral_port_count(),
            LINUX_EPHEMERAL_PORTS.0,
            LINUX_EPHEMERAL_PORTS.1,
            named.join(", "),
            more(ports.len())
        ));
    }
    let again: Vec<&ClientPorts> = p
        .clients
        .iter()
        .filter(|c| c.reused_within_span > 0)
        .collect();
    if !again.is_empty() {
        let named: Vec<String> = again
            .iter()
            .take(PRESSURE_NAMED)
            .map(|c| format!("{} by {}", c.reused_within_span, c.host))
            .collect();
        parts.push(format!(
            "local ports used again within {}: {}{}",
            duration(p.span_ns),
            named.join(", "),
            more(again.len())
        ));
    }
    if p.port_reuse > 0 {
        parts.push(format!(
            "{} ({} over TIME_WAIT)",
            plural(p.port_reuse, "4-tuple reused", "4-tuples reused"),
            p.port_reuse_in_time_wait
        ));
    }
    let c = p.capped;
    if c.hosts + c.servers + c.client_ports > 0 {
        parts.push(format!(
            "not counted (caps reached, the figures are lower bounds): {} TIME_WAIT entries, {} connection attempts, {} client ports",
            c.hosts, c.servers, c.client_ports
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("pressure: {}", parts.join("; ")))
}

/// The SYN-flood warning for one server, with its evidence.
pub(crate) fn syn_flood_warning(s: &ServerLoad) -> String {
    if lang::zh() {
        return zh::syn_flood_warning(s);
    }
    format!(
        "warning: SYN flood on {}: {} of {} connection attempts never completed ({} SYN-ACKs unanswered, {} SYNs unanswered), up to {} SYNs within one second, from {}{} source addresses, up to {} half-open at once",
        s.server,
        s.incomplete(),
        s.attempts,
        s.synacks_unanswered,
        s.syns_unanswered,
        s.peak_syn_rate,
        if s.sources_capped { "at least " } else { "" },
        s.sources,
        s.half_open_peak
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_the_width() {
        let w = wrap("one two three four five six seven", 10);
        assert!(w.lines().all(|l| l.chars().count() <= 10), "{w}");
    }

    #[test]
    fn durations_are_written_as_float_formatting_writes_them() {
        let float = |ns: i128| {
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
        };
        // Ties, near-ties, carries into the next unit, and a spread of sizes.
        let mut cases: Vec<i128> = vec![
            999,
            1_000,
            999_999,
            1_000_000,
            1_049_999,
            1_050_000,
            1_050_001,
            1_150_000,
            1_250_000,
            9_950_000,
            99_950_000,
            999_949_999,
            999_950_000,
            999_999_999,
            1_005_000_000,
            1_015_000_000,
            1_025_000_000,
            2_675_000_000,
            1_999_999_999,
            59_995_000_000,
            1 << 52,
            (1 << 52) + 5_000_000,
            -1_050_000,
            -3_500_000_000,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = x % 13;
            cases.push(i128::from(x >> 20) % 10i128.pow(digits as u32 + 1));
        }
        for ns in cases {
            assert_eq!(duration(ns), float(ns), "{ns}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(31_000), "31 µs");
        assert_eq!(duration(1_200_000), "1.2 ms");
        assert_eq!(duration(60_000_000_000), "60 s");
        assert_eq!(duration(3_500_000_000), "3.50 s");
    }
}
