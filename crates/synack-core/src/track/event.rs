//! Events: the one thing every renderer consumes. Each carries the numbers
//! that made it fire, so `--why` can show the rule and its inputs.

use crate::decode::{SeqNum, Timestamp};

use super::key::Side;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The frame that caused it; `None` for timer events noticed between frames.
    pub frame: Option<u64>,
    pub ts: Timestamp,
    pub conn: u64,
    /// The endpoint the event is about (the sender, for segment events).
    pub side: Side,
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
    Unknown,
}

impl ResetCause {
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
    KeepAlive,
    KeepAliveAck,
    Retransmission,
    FastRetransmission,
    SpuriousRetransmission,
    OutOfOrder,
    DuplicateAck,
    LostSegment,
    AckLostSegment,
    ZeroWindow,
    ZeroWindowProbe,
    ZeroWindowProbeAck,
    WindowUpdate,
    WindowFull,
    ReusedPorts,
}

impl Analysis {
    pub const ALL: [Analysis; 15] = [
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
    ];

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
        }
    }

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
    pub seq: SeqNum,
    pub len: u32,
    /// The sender's next expected sequence number before this segment.
    pub next_seq: Option<SeqNum>,
    pub ack: Option<SeqNum>,
    /// The sender's previous ACK.
    pub last_ack: Option<SeqNum>,
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
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// Three-way handshake step (1 SYN, 2 SYN+ACK, 3 ACK); step 3 carries the RTT.
    Handshake {
        step: u8,
        rtt_ns: Option<u64>,
    },
    SimultaneousOpen,
    Refused,
    /// A close step; `of` is unknown (None) at step 1, when nobody can yet tell
    /// whether the peer will piggyback its FIN on the ACK.
    Close {
        step: u8,
        of: Option<u8>,
        variant: CloseVariant,
    },
    /// Data flowed toward an endpoint that had already sent its FIN.
    HalfClose {
        bytes: u64,
    },
    TimeWait {
        until: Timestamp,
    },
    TimeWaitExpired,
    /// TIME_WAIT was still running when the capture ended.
    TimeWaitContinues {
        until: Timestamp,
    },
    Reset {
        cause: ResetCause,
    },
    /// Joined mid-stream: no SYN seen, states assumed.
    Midstream,
    /// A new connection on the 4-tuple of an earlier one.
    PortReuse {
        previous: u64,
        previous_in_time_wait: bool,
    },
    /// A FIN repeated while its sender waits in LAST_ACK: the final ACK was lost.
    LastAckLost,
    Analysis {
        what: Analysis,
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
            EventKind::Analysis { what, .. } => what.name(),
        }
    }
}
