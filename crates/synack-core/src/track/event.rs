//! Events: the one thing every renderer consumes. Each carries the numbers
//! that made it fire, so `--why` can show the rule and its inputs.

use crate::decode::{SeqNum, Timestamp};

use super::key::Side;

/// One thing that happened on a connection: when, where, and what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The frame that caused it; `None` for timer events noticed between frames.
    pub frame: Option<u64>,
    /// The frame's capture time; for `TimeWaitExpired` the expiry, for
    /// `TimeWaitContinues` the capture's last time.
    pub ts: Timestamp,
    /// The connection's id: first-seen order from 1 (the `#N` in every view).
    pub conn: u64,
    /// The endpoint the event is about (the sender, for segment events).
    pub side: Side,
    /// What happened.
    pub kind: EventKind,
}

/// How a close went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseVariant {
    /// FIN, ACK, FIN, ACK.
    FourWay,
    /// FIN, FIN+ACK, ACK: the second FIN rides on the ACK of the first.
    ThreeWay,
    /// The FINs crossed: both ends CLOSING, both end in TIME_WAIT.
    Simultaneous,
}

impl CloseVariant {
    /// The name used in JSON (`variant`).
    pub fn name(self) -> &'static str {
        match self {
            CloseVariant::FourWay => "four_way",
            CloseVariant::ThreeWay => "three_way",
            CloseVariant::Simultaneous => "simultaneous",
        }
    }
}

/// Why a RST was sent, as far as the capture tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetCause {
    /// The answer to a SYN: nothing listens on that port.
    Refused,
    /// Sent by a synchronized endpoint that had not closed (SO_LINGER 0,
    /// close with unread data, a crashed process).
    Abort,
    /// Sent by an endpoint that had already sent its FIN: data arrived for a closed socket.
    AfterClose,
    /// Sent by an endpoint whose keepalive probes went unanswered.
    KeepaliveTimeout,
    /// Sent in answer to a keepalive probe: the peer no longer knows the connection.
    KeepaliveAnswer,
    /// The capture does not show why.
    Unknown,
}

impl ResetCause {
    /// The name used in JSON (`cause`).
    pub fn name(self) -> &'static str {
        match self {
            ResetCause::Refused => "refused",
            ResetCause::Abort => "abort",
            ResetCause::AfterClose => "after_close",
            ResetCause::KeepaliveTimeout => "keepalive_timeout",
            ResetCause::KeepaliveAnswer => "keepalive_answer",
            ResetCause::Unknown => "unknown",
        }
    }
}

/// Sequence analysis, named as Wireshark's `tcp.analysis` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Analysis {
    /// 0 or 1 byte at next seq − 1, no SYN/FIN/RST: a keep-alive probe.
    KeepAlive,
    /// A repeated pure ACK answering a keep-alive probe.
    KeepAliveAck,
    /// Data (or a SYN/FIN) sent again, below the next expected sequence number.
    Retransmission,
    /// Resends what the peer duplicate-ACKed twice or more, within 20 ms of that ACK.
    FastRetransmission,
    /// A retransmission of data the receiver had already acknowledged.
    SpuriousRetransmission,
    /// Fills a skipped gap within 3 ms of the highest segment: reordered, not resent.
    OutOfOrder,
    /// A pure ACK repeating the sender's last ACK and (non-zero) window.
    DuplicateAck,
    /// The seq is past the next expected one: a previous segment was not captured.
    LostSegment,
    /// It acknowledges data the capture never saw.
    AckLostSegment,
    /// The sender advertises a zero receive window (SYN/FIN/RST excepted).
    ZeroWindow,
    /// Probes the peer's zero window: 1 byte at the next seq, or 0 bytes at next − 1 (Linux).
    ZeroWindowProbe,
    /// A repeated zero-window ACK answering a zero-window probe.
    ZeroWindowProbeAck,
    /// A pure ACK that only changes the advertised window.
    WindowUpdate,
    /// The segment fills the receiver's advertised window exactly.
    WindowFull,
    /// A new SYN on an earlier connection's 4-tuple (reported as `EventKind::PortReuse`).
    ReusedPorts,
    /// A D-SACK (RFC 2883): a SACK block below the cumulative ACK reports
    /// bytes that arrived twice; the resend that carried them was spurious.
    Dsack,
}

impl Analysis {
    /// Every flag, in declaration order (the order of `index`).
    pub const ALL: [Analysis; 16] = [
        Analysis::KeepAlive,
        Analysis::KeepAliveAck,
        Analysis::Retransmission,
        Analysis::FastRetransmission,
        Analysis::SpuriousRetransmission,
        Analysis::OutOfOrder,
        Analysis::DuplicateAck,
        Analysis::LostSegment,
        Analysis::AckLostSegment,
        Analysis::ZeroWindow,
        Analysis::ZeroWindowProbe,
        Analysis::ZeroWindowProbeAck,
        Analysis::WindowUpdate,
        Analysis::WindowFull,
        Analysis::ReusedPorts,
        Analysis::Dsack,
    ];

    /// The name used in JSON (snake_case).
    pub fn name(self) -> &'static str {
        match self {
            Analysis::KeepAlive => "keep_alive",
            Analysis::KeepAliveAck => "keep_alive_ack",
            Analysis::Retransmission => "retransmission",
            Analysis::FastRetransmission => "fast_retransmission",
            Analysis::SpuriousRetransmission => "spurious_retransmission",
            Analysis::OutOfOrder => "out_of_order",
            Analysis::DuplicateAck => "duplicate_ack",
            Analysis::LostSegment => "lost_segment",
            Analysis::AckLostSegment => "ack_lost_segment",
            Analysis::ZeroWindow => "zero_window",
            Analysis::ZeroWindowProbe => "zero_window_probe",
            Analysis::ZeroWindowProbeAck => "zero_window_probe_ack",
            Analysis::WindowUpdate => "window_update",
            Analysis::WindowFull => "window_full",
            Analysis::ReusedPorts => "reused_ports",
            Analysis::Dsack => "dsack",
        }
    }

    /// Position in `ALL`, for per-flag counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Any kind of retransmission (for the summary's retransmission count).
    pub fn is_retransmission(self) -> bool {
        matches!(
            self,
            Analysis::Retransmission
                | Analysis::FastRetransmission
                | Analysis::SpuriousRetransmission
        )
    }
}

/// The numbers an analysis rule compared, for `--why`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Evidence {
    /// The segment's sequence number.
    pub seq: SeqNum,
    /// The segment's payload length in bytes.
    pub len: u32,
    /// The sender's next expected sequence number before this segment.
    pub next_seq: Option<SeqNum>,
    /// The segment's acknowledgment number (`None` without the ACK flag).
    pub ack: Option<SeqNum>,
    /// The sender's previous ACK.
    pub last_ack: Option<SeqNum>,
    /// The segment's window in bytes, scaled once the window scale is known.
    pub window: u32,
    /// The sender's previous window.
    pub last_window: Option<u32>,
    /// The receiver's advertised window.
    pub peer_window: Option<u32>,
    /// The receiver's last ACK (where its window starts).
    pub peer_ack: Option<SeqNum>,
    /// Microseconds since the relevant earlier segment (OOO and fast-retransmission thresholds).
    pub since_us: Option<u64>,
    /// Duplicate-ACK count on the receiver's side.
    pub dup_acks: u32,
    /// The original of this retransmission was in the capture.
    pub original_seen: bool,
    /// The connection's round trip at the capture point, µs, when known.
    pub rtt_us: Option<u64>,
    /// µs since a SACK or duplicate ACK reported the gap this segment fills.
    pub reported_us: Option<u64>,
    /// Another frame the rule points at (the resend a D-SACK proves spurious).
    pub other_frame: Option<u64>,
}

/// How the handshake settled ECN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EcnMode {
    /// The SYN asked for ECN; the SYN+ACK declined.
    None,
    /// Classic ECN (RFC 3168): ECE echoes CE until CWR.
    Classic,
    /// Accurate ECN (RFC 9768): counters of CE marks, AE/CWR/ECE as a counter.
    Accurate,
}

impl EcnMode {
    /// The JSON name: `none`, `classic`, `accecn`.
    pub fn name(self) -> &'static str {
        match self {
            EcnMode::None => "none",
            EcnMode::Classic => "classic",
            EcnMode::Accurate => "accecn",
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// Three-way handshake step (1 SYN, 2 SYN+ACK, 3 ACK); step 3 carries the RTT.
    Handshake {
        /// 1 SYN, 2 SYN+ACK, 3 ACK.
        step: u8,
        /// At step 3: nanoseconds from the answered SYN to this ACK; `None` if not known
        /// (e.g. which SYN copy was answered cannot be told).
        rtt_ns: Option<u64>,
    },
    /// Both ends sent a SYN before seeing the other's (RFC 9293 §3.5).
    SimultaneousOpen,
    /// A RST answered a SYN: nothing listens on that port.
    Refused,
    /// A close step; `of` is unknown (None) at step 1, when nobody can yet tell
    /// whether the peer will piggyback its FIN on the ACK.
    Close {
        /// This step's number, from 1.
        step: u8,
        /// How many steps the close takes (3 or 4); `None` at step 1.
        of: Option<u8>,
        /// The close's shape as known so far (`FourWay` until told otherwise).
        variant: CloseVariant,
    },
    /// Data flowed toward an endpoint that had already sent its FIN.
    HalfClose {
        /// Payload bytes of the segment that showed it.
        bytes: u64,
    },
    /// The endpoint entered TIME_WAIT.
    TimeWait {
        /// When it will end: entry plus the configured 2MSL (default 60 s, as Linux).
        until: Timestamp,
    },
    /// TIME_WAIT ran out and the endpoint is CLOSED (a timer event, no frame).
    TimeWaitExpired,
    /// TIME_WAIT was still running when the capture ended.
    TimeWaitContinues {
        /// When it would end.
        until: Timestamp,
    },
    /// The endpoint sent a RST.
    Reset {
        /// Why, as far as the capture tells.
        cause: ResetCause,
    },
    /// Joined mid-stream: no SYN seen, states assumed.
    Midstream,
    /// A new connection on the 4-tuple of an earlier one.
    PortReuse {
        /// The earlier connection's id.
        previous: u64,
        /// An end of the earlier connection was still in TIME_WAIT.
        previous_in_time_wait: bool,
    },
    /// A FIN repeated while its sender waits in LAST_ACK: the final ACK was lost.
    LastAckLost,
    /// The handshake settled ECN: the SYN asked for it (classic RFC 3168
    /// or Accurate ECN, RFC 9768), and this SYN+ACK answered.
    EcnSetup {
        /// What was agreed.
        mode: EcnMode,
    },
    /// The IP header carries CE: a router on the path marked congestion
    /// instead of dropping the packet.
    CongestionExperienced,
    /// The first ECE of a run: the receiver echoes a CE mark (classic ECN
    /// repeats ECE on every ACK until the sender's CWR).
    EcnEcho,
    /// CWR: the sender reduced its congestion window, answering ECE.
    WindowReduced,
    /// This segment is stamped earlier than the connection's previous one
    /// (a capture clock step, or merged files): durations ignore the step.
    TimeWentBack {
        /// By how much, ns.
        ns: u64,
    },
    /// The SYN asked for a window scale above 14; RFC 7323 §2.3 says to use 14.
    WindowScaleClamped {
        /// The shift the SYN carried.
        shift: u8,
    },
    /// A sequence-analysis flag on the segment.
    Analysis {
        /// Which flag.
        what: Analysis,
        /// The numbers the rule compared.
        evidence: Evidence,
    },
}

impl EventKind {
    /// The JSON `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Handshake { .. } => "handshake",
            EventKind::SimultaneousOpen => "simultaneous_open",
            EventKind::Refused => "refused",
            EventKind::Close { .. } => "close",
            EventKind::HalfClose { .. } => "half_close",
            EventKind::TimeWait { .. } => "time_wait",
            EventKind::TimeWaitExpired => "time_wait_expired",
            EventKind::TimeWaitContinues { .. } => "time_wait_continues",
            EventKind::Reset { .. } => "reset",
            EventKind::Midstream => "midstream",
            EventKind::PortReuse { .. } => "port_reuse",
            EventKind::LastAckLost => "last_ack_lost",
            EventKind::EcnSetup { .. } => "ecn_setup",
            EventKind::CongestionExperienced => "ce",
            EventKind::EcnEcho => "ece",
            EventKind::WindowReduced => "cwr",
            EventKind::TimeWentBack { .. } => "time_went_back",
            EventKind::WindowScaleClamped { .. } => "window_scale_clamped",
            EventKind::Analysis { what, .. } => what.name(),
        }
    }
}

use super::pack::pack_enum;
pack_enum!(CloseVariant {
    FourWay,
    ThreeWay,
    Simultaneous
});
pack_enum!(ResetCause {
    Refused,
    Abort,
    AfterClose,
    KeepaliveTimeout,
    KeepaliveAnswer,
    Unknown,
});
pack_enum!(EcnMode {
    None,
    Classic,
    Accurate
});
