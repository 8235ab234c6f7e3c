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
//!   what it acknowledged (the ACK was lost): at the segment that caused
//!   it if that is still held back, else as a correction where the resend is.
//!
//! Where a change is shown: at the segment that caused it when the receiver
//! sent nothing in between (it was in flight), else at the segment that
//! proved it (the receiver sent something first, e.g. its own FIN, so the
//! receipt came after that).

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
    /// arrived (if ever) after that, so it cannot be shown at its own frame.
    pub(crate) sent_since: bool,
    /// Nothing holds its frame back any more.
    pub(crate) settled: bool,
}

/// An inbox never holds more than this; the oldest is forgotten (and the
/// endpoint's state becomes unknown) when a hostile stream overflows it.
pub(crate) const INBOX_CAP: usize = 4;

/// The segments waiting to be shown received, oldest first: nearly always
/// empty or holding one SYN or FIN, so the slots are boxed only while
/// something waits (an open connection's endpoints, and every one in
/// TIME_WAIT, hold none).
#[derive(Clone, Debug, Default)]
pub(crate) struct Inbox {
    items: Option<Box<[Option<Pending>; INBOX_CAP]>>,
    len: u8,
}

impl Inbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn front(&self) -> Option<Pending> {
        self.items.as_ref()?[0]
    }

    pub(crate) fn pop_front(&mut self) -> Option<Pending> {
        let items = self.items.as_mut()?;
        let first = items[0].take()?;
        items.rotate_left(1);
        self.len -= 1;
        if self.len == 0 {
            self.items = None;
        }
        Some(first)
    }

    /// Every item, oldest first, to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pending> {
        self.items
            .iter_mut()
            .flat_map(|items| items.iter_mut().flatten())
    }

    /// Empty it, returning what was in it.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Pending> {
        let items = self.items.take();
        self.len = 0;
        items
            .into_iter()
            .flat_map(|items| items.into_iter().flatten())
    }

    /// The same SYN or FIN again (a retransmission): one item, moved to the
    /// back, because the copy that arrives is likely the later one.
    /// Returns the item that fell off the front if the inbox was full, and
    /// the frame of the item the new copy replaced.
    pub(crate) fn push(&mut self, p: Pending) -> (Option<Pending>, Option<Pending>) {
        let mut replaced = None;
        let items = self
            .items
            .get_or_insert_with(|| Box::new([None; INBOX_CAP]));
        if p.needs_proof {
            let n = usize::from(self.len);
            if let Some(i) = items[..n].iter().position(|q| {
                q.is_some_and(|q| q.needs_proof && q.seq == p.seq && q.flags == p.flags)
            }) {
                replaced = items[i].take();
                items[i..n].rotate_left(1);
                self.len -= 1;
            }
        }
        let dropped = if usize::from(self.len) == INBOX_CAP {
            let first = items[0].take();
            items.rotate_left(1);
            self.len -= 1;
            first
        } else {
            None
        };
        items[usize::from(self.len)] = Some(p);
        self.len += 1;
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

use super::pack::{pack_struct, Pack, Packer, Unpacker};
pack_struct!(Pending {
    frame,
    ts,
    flags,
    seq,
    end,
    ack,
    needs_proof,
    sent_since,
    settled,
});
pack_struct!(Inbox { items, len });
pack_struct!(Assumed {
    frame,
    from,
    to,
    acked
});

impl Pack for Acked {
    fn pack(&self, p: &mut Packer) {
        let (tag, seq) = match *self {
            Acked::Syn(s) => (0, s),
            Acked::Fin(s) => (1, s),
        };
        p.byte(tag);
        seq.pack(p);
    }
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let tag = u.byte();
        let seq = SeqNum::unpack(u);
        match tag {
            0 => Acked::Syn(seq),
            1 => Acked::Fin(seq),
            _ => {
                u.spoil();
                Acked::Syn(seq)
            }
        }
    }
}
