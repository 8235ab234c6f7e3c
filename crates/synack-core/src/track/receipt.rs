//! Receipt: a segment changes its *sender's* state when it is sent, but its
//! *receiver's* state only when the receiver got it, and the capture shows
//! that only later, or never.
//!
//! Each endpoint keeps an inbox: the segments sent to it whose effect on its
//! state the capture has not shown yet, in the order they were sent (a
//! single path delivers in order, so that is the order they arrived).
//!
//! - A segment that occupies sequence space (SYN, FIN) is **proven**
//!   received when the receiver acknowledges it. A RST that acknowledges a
//!   SYN proves the SYN arrived and nothing listened.
//! - A segment that only acknowledges (the ACK of a SYN or of a FIN) cannot
//!   be acknowledged in turn. Its effect is **assumed** as soon as nothing
//!   before it is waiting, and taken back if the receiver then resends
//!   what it acknowledged (the ACK was lost).
//!
//! Where a change is shown: at the segment that caused it when the receiver
//! sent nothing in between (it was in flight), else at the segment that
//! proved it (the receiver sent something first, e.g. its own FIN, so the
//! receipt came after that).

use std::collections::VecDeque;

use crate::decode::{SeqNum, Timestamp};

use super::state::TcpState;

/// A segment sent to an endpoint whose effect on the endpoint's state the
/// capture has not shown yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) frame: u64,
    pub(crate) ts: Timestamp,
    pub(crate) flags: u8,
    pub(crate) seq: SeqNum,
    /// Just past the segment: the receiver's ack reaches this once it got it.
    pub(crate) end: SeqNum,
    pub(crate) ack: Option<SeqNum>,
    /// Needs an acknowledgment to be proven (it carries a SYN or a FIN).
    pub(crate) needs_proof: bool,
    /// The receiver sent something after it without acknowledging it: it
    /// arrived (if ever) after that.
    pub(crate) sent_since: bool,
}

/// An inbox never holds more than this; the oldest is forgotten (and the
/// endpoint's state becomes unknown) when a hostile stream overflows it.
pub(crate) const INBOX_CAP: usize = 8;

/// The segments waiting to be shown received, oldest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inbox {
    pub(crate) items: VecDeque<Pending>,
}

impl Inbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The same SYN or FIN again (a retransmission): one item, moved to the
    /// back, because the copy that arrives is likely the later one.
    /// Returns the item that fell off the front, if the inbox was full.
    pub(crate) fn push(&mut self, p: Pending) -> (Option<Pending>, Option<u64>) {
        let mut replaced = None;
        if p.needs_proof {
            if let Some(i) = self
                .items
                .iter()
                .position(|q| q.needs_proof && q.seq == p.seq && q.flags == p.flags)
            {
                replaced = self.items.remove(i).map(|q| q.frame);
            }
        }
        let dropped = if self.items.len() == INBOX_CAP {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(p);
        (dropped, replaced)
    }
}

/// An effect applied on assumption (an ACK's), kept for a while so that a
/// retransmission by the receiver can take it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Assumed {
    /// The frame where the change is shown.
    pub(crate) frame: u64,
    pub(crate) from: TcpState,
    pub(crate) to: TcpState,
    /// What the ACK acknowledged: the receiver's SYN or FIN, at this seq.
    pub(crate) acked: Acked,
}

/// What an assumed ACK acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acked {
    Syn(SeqNum),
    Fin(SeqNum),
}
