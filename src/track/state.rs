//! The RFC 9293 connection states, as an observer infers them for each endpoint.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TcpState {
    /// Not yet seen: nothing is known about this endpoint.
    #[default]
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
}

impl TcpState {
    /// The RFC spelling, used in every output.
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

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_accept_ss_spellings() {
        for s in [
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
        ] {
            assert_eq!(TcpState::parse(s.name()), Some(s));
        }
        assert_eq!(TcpState::parse("SYN-RECV"), Some(TcpState::SynRcvd));
        assert_eq!(TcpState::parse("ESTAB"), Some(TcpState::Established));
        assert_eq!(TcpState::parse("bogus"), None);
    }
}
