//! The RFC 9293 connection states, as an observer infers them for each
//! endpoint, and the diagram that says which changes are possible.

use std::fmt;

/// An endpoint's state (RFC 9293 §3.3.2), or `Unknown` when the capture
/// does not show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TcpState {
    /// Nothing the capture shows proves this endpoint's state (not seen
    /// yet, or it stopped answering).
    #[default]
    Unknown,
    /// No connection.
    Closed,
    /// Waiting for a SYN.
    Listen,
    /// Sent a SYN, waiting for the SYN+ACK.
    SynSent,
    /// Received a SYN and answered it, waiting for the ACK.
    SynRcvd,
    /// Open: data flows both ways.
    Established,
    /// Sent its FIN, waiting for the ACK of it (or the peer's FIN).
    FinWait1,
    /// Its FIN was acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// Received the peer's FIN; the application has not closed yet.
    CloseWait,
    /// Sent and received a FIN, waiting for the ACK of its own (simultaneous close).
    Closing,
    /// Sent its FIN after the peer's, waiting for the last ACK.
    LastAck,
    /// Closed both ways; waits 2MSL so stray segments die out.
    TimeWait,
}

/// Every state, `Unknown` first.
pub const ALL_STATES: [TcpState; 12] = [
    TcpState::Unknown,
    TcpState::Closed,
    TcpState::Listen,
    TcpState::SynSent,
    TcpState::SynRcvd,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::CloseWait,
    TcpState::Closing,
    TcpState::LastAck,
    TcpState::TimeWait,
];

impl TcpState {
    /// The RFC spelling with underscores (as `ss` and the JSON contract
    /// write it), used in every output.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Unknown => "UNKNOWN",
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRcvd => "SYN_RCVD",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }

    /// Parse the RFC spelling (also the kernel's `ss` names, e.g. SYN-RECV).
    pub fn parse(s: &str) -> Option<TcpState> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        Some(match norm.as_str() {
            "UNKNOWN" => TcpState::Unknown,
            "CLOSED" | "CLOSE" | "UNCONN" => TcpState::Closed,
            "LISTEN" => TcpState::Listen,
            "SYN_SENT" => TcpState::SynSent,
            "SYN_RCVD" | "SYN_RECV" => TcpState::SynRcvd,
            "ESTABLISHED" | "ESTAB" => TcpState::Established,
            "FIN_WAIT_1" | "FIN_WAIT1" => TcpState::FinWait1,
            "FIN_WAIT_2" | "FIN_WAIT2" => TcpState::FinWait2,
            "CLOSE_WAIT" => TcpState::CloseWait,
            "CLOSING" => TcpState::Closing,
            "LAST_ACK" => TcpState::LastAck,
            "TIME_WAIT" => TcpState::TimeWait,
            _ => return None,
        })
    }

    /// The endpoint has sent its FIN (or is past the point of sending one).
    pub fn has_closed(self) -> bool {
        matches!(
            self,
            TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::Closing
                | TcpState::LastAck
                | TcpState::TimeWait
                | TcpState::Closed
        )
    }

    /// The connection is synchronized from this endpoint's point of view.
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            TcpState::Unknown
                | TcpState::Closed
                | TcpState::Listen
                | TcpState::SynSent
                | TcpState::SynRcvd
        )
    }
}

impl TcpState {
    /// Whether `self → to` is an edge of RFC 9293's state diagram
    /// (Figure 5), with the edges its event processing adds (§3.10.7):
    /// SYN-RECEIVED → CLOSE-WAIT on a FIN, and a reset (→ CLOSED) from any
    /// state that has a connection. `Unknown` is knowledge, not a state:
    /// learning a state, or losing sight of one, is always possible.
    pub fn can_become(self, to: TcpState) -> bool {
        use TcpState::*;
        matches!(
            (self, to),
            (Unknown, _)
                | (_, Unknown)
                | (Closed, Listen | SynSent)
                | (Listen, SynRcvd | SynSent | Closed)
                | (SynSent, SynRcvd | Established | Closed)
                | (
                    SynRcvd,
                    Established | FinWait1 | CloseWait | Listen | Closed
                )
                | (Established, FinWait1 | CloseWait | Closed)
                | (FinWait1, FinWait2 | Closing | TimeWait | Closed)
                | (FinWait2, TimeWait | Closed)
                | (CloseWait, LastAck | Closed)
                | (Closing, TimeWait | Closed)
                | (LastAck, Closed)
                | (TimeWait, Closed)
        )
    }
}

/// The states one endpoint went through at one packet: the first is where
/// it stood before, the last where it stands after (a FIN+ACK takes
/// FIN_WAIT_1 through FIN_WAIT_2 to TIME_WAIT in one segment).
///
/// What was not known is not shown as a change: when an `Unknown`
/// endpoint's state becomes known, the path starts at the known state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatePath {
    len: u8,
    states: [TcpState; StatePath::CAP],
}

impl StatePath {
    const CAP: usize = 8;

    /// A path that starts (and, so far, ends) at `s`.
    pub fn at(s: TcpState) -> StatePath {
        StatePath {
            len: 1,
            states: [s; StatePath::CAP],
        }
    }

    /// Where the endpoint stood before the packet.
    pub fn before(&self) -> TcpState {
        self.states[0]
    }

    /// Where it stands after.
    pub fn after(&self) -> TcpState {
        self.states[usize::from(self.len) - 1]
    }

    /// The packet changed this endpoint's state.
    pub fn changed(&self) -> bool {
        self.len > 1
    }

    /// Every state on the path, `before` first.
    pub fn states(&self) -> &[TcpState] {
        &self.states[..usize::from(self.len)]
    }

    /// Append a state; an `Unknown` end is replaced (knowledge, not a change).
    pub(crate) fn push(&mut self, s: TcpState) {
        let last = usize::from(self.len) - 1;
        if self.states[last] == s {
            return;
        }
        if self.states[last] == TcpState::Unknown {
            self.states[last] = s;
            return;
        }
        if usize::from(self.len) == StatePath::CAP {
            // Only hostile input gets here. Keep the start (changes shown
            // at earlier packets are taken from the front) and the newest.
            self.len -= 1;
        }
        self.states[usize::from(self.len)] = s;
        self.len += 1;
    }

    /// The path from its `k`-th state on (the first `k` changes shown elsewhere).
    pub(crate) fn skip(&self, k: usize) -> StatePath {
        let k = k.min(usize::from(self.len) - 1);
        let mut p = StatePath::at(self.states[k]);
        for s in &self.states[k + 1..usize::from(self.len)] {
            p.push(*s);
        }
        p
    }

    /// Replace the state this path starts from (it was shown as something else).
    pub(crate) fn rebase(&mut self, s: TcpState) {
        if self.len == 1 {
            self.states[0] = s;
        } else if self.states[1] == s {
            *self = self.skip(1);
        } else {
            self.states[0] = s;
        }
    }

    /// Extend this path by `more` (which starts where this one ends, or
    /// where this one did not know).
    pub(crate) fn extend(&mut self, more: &StatePath) {
        for s in more.states() {
            self.push(*s);
        }
    }

    /// The last change, to `wrong`, did not happen: the endpoint stayed `right`.
    pub(crate) fn retract(&mut self, wrong: TcpState, right: TcpState) {
        if self.after() == wrong && self.len > 1 {
            self.len -= 1;
        }
        if self.after() != right {
            if self.len == 1 {
                self.states[0] = right;
            } else {
                self.push(right);
            }
        }
    }
}

impl Default for StatePath {
    fn default() -> Self {
        StatePath::at(TcpState::Unknown)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use super::pack::pack_enum;
pack_enum!(TcpState {
    Unknown,
    Closed,
    Listen,
    SynSent,
    SynRcvd,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
});
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagram_has_the_textbook_edges_and_not_others() {
        use TcpState::*;
        for (a, b) in [
            (Closed, SynSent),
            (Listen, SynRcvd),
            (SynSent, Established),
            (SynSent, SynRcvd),
            (SynRcvd, Established),
            (Established, FinWait1),
            (Established, CloseWait),
            (FinWait1, FinWait2),
            (FinWait1, Closing),
            (FinWait1, TimeWait),
            (FinWait2, TimeWait),
            (CloseWait, LastAck),
            (Closing, TimeWait),
            (LastAck, Closed),
            (TimeWait, Closed),
        ] {
            assert!(a.can_become(b), "{a} -> {b}");
        }
        for (a, b) in [
            (CloseWait, Closing),
            (Established, SynSent),
            (Closed, SynRcvd),
            (TimeWait, Established),
            (FinWait2, FinWait1),
            (LastAck, TimeWait),
            (Closed, Established),
        ] {
            assert!(!a.can_become(b), "{a} -> {b}");
        }
    }

    #[test]
    fn a_path_hides_what_was_unknown_and_keeps_the_chain() {
        let mut p = StatePath::at(TcpState::Unknown);
        p.push(TcpState::Listen);
        assert!(!p.changed());
        p.push(TcpState::SynRcvd);
        assert_eq!(p.states(), &[TcpState::Listen, TcpState::SynRcvd]);
        let mut q = StatePath::at(TcpState::FinWait1);
        q.push(TcpState::Closing);
        q.push(TcpState::TimeWait);
        assert_eq!(
            (q.before(), q.after()),
            (TcpState::FinWait1, TcpState::TimeWait)
        );
        assert_eq!(q.skip(1).states(), &[TcpState::Closing, TcpState::TimeWait]);
    }

    #[test]
    fn names_round_trip_and_accept_ss_spellings() {
        for s in ALL_STATES {
            assert_eq!(TcpState::parse(s.name()), Some(s));
        }
        assert_eq!(TcpState::parse("SYN-RECV"), Some(TcpState::SynRcvd));
        assert_eq!(TcpState::parse("ESTAB"), Some(TcpState::Established));
        assert_eq!(TcpState::parse("bogus"), None);
    }
}
