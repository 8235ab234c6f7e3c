//! The TCP header, read by hand: a header cut by the snaplen must still give
//! every field that was captured, and hostile option lists must never panic.
//! (etherparse refuses a TCP header shorter than its data offset.)

use super::seq::SeqNum;

/// TCP flag bits, in header order (low bit first).
pub mod flag {
    /// FIN: the sender has no more data (RFC 9293 §3.1).
    pub const FIN: u8 = 0x01;
    /// SYN: synchronize sequence numbers, to open a connection (RFC 9293 §3.1).
    pub const SYN: u8 = 0x02;
    /// RST: reset the connection (RFC 9293 §3.1).
    pub const RST: u8 = 0x04;
    /// PSH: push the data to the receiving application now (RFC 9293 §3.1).
    pub const PSH: u8 = 0x08;
    /// ACK: the acknowledgment field is significant (RFC 9293 §3.1).
    pub const ACK: u8 = 0x10;
    /// URG: the urgent pointer field is significant (RFC 9293 §3.1).
    pub const URG: u8 = 0x20;
    /// ECE: ECN-Echo, congestion experienced; in a SYN, ECN setup (RFC 3168 §6.1).
    pub const ECE: u8 = 0x40;
    /// CWR: congestion window reduced, answering an ECE (RFC 3168 §6.1).
    pub const CWR: u8 = 0x80;
    /// The AE bit (Accurate ECN, RFC 9768; formerly NS): the low bit of
    /// header byte 12, next to the data offset, so not in the flags byte.
    /// Given as bit 8 of a 16-bit flags word ([`super::TcpView::flags16`]).
    pub const AE: u16 = 0x100;
    /// Names in the order the JSON contract lists them (AE is [`AE`]'s,
    /// listed last).
    pub const NAMES: [(u8, &str); 8] = [
        (FIN, "FIN"),
        (SYN, "SYN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
        (URG, "URG"),
        (ECE, "ECE"),
        (CWR, "CWR"),
    ];
}

/// Length of the fixed TCP header without options, in bytes (data offset 5).
pub const MIN_HEADER_LEN: usize = 20;

/// The captured part of a TCP header (fixed part and options, never the
/// payload). Every accessor says `None` when its bytes were not captured.
#[derive(Clone, Copy, Debug)]
pub struct TcpView<'a> {
    bytes: &'a [u8],
}

impl<'a> TcpView<'a> {
    /// `captured` is everything captured from the start of the TCP header.
    pub fn new(captured: &'a [u8]) -> TcpView<'a> {
        let declared = captured
            .get(12)
            .map(|b| usize::from(b >> 4) * 4)
            .unwrap_or(usize::MAX);
        let end = declared.max(MIN_HEADER_LEN).min(captured.len());
        TcpView {
            bytes: &captured[..end],
        }
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.bytes.get(at..at + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.bytes.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Source port.
    pub fn src_port(&self) -> Option<u16> {
        self.u16_at(0)
    }
    /// Destination port.
    pub fn dst_port(&self) -> Option<u16> {
        self.u16_at(2)
    }
    /// Sequence number: of the first payload byte, or of the SYN itself.
    pub fn seq(&self) -> Option<SeqNum> {
        self.u32_at(4).map(SeqNum)
    }
    /// The acknowledgment field, whatever the ACK flag says.
    pub fn ack_field(&self) -> Option<SeqNum> {
        self.u32_at(8).map(SeqNum)
    }
    /// Header length from the data-offset field, in bytes.
    pub fn header_len(&self) -> Option<usize> {
        self.bytes.get(12).map(|b| usize::from(b >> 4) * 4)
    }
    /// The flag byte (CWR ECE URG ACK PSH RST SYN FIN, high bit first); see `flag`.
    pub fn flags(&self) -> Option<u8> {
        self.bytes.get(13).copied()
    }
    /// The reserved bits and AE/NS bit (byte 12, low nibble).
    pub fn reserved(&self) -> Option<u8> {
        self.bytes.get(12).map(|b| b & 0x0f)
    }
    /// The AE bit (Accurate ECN, RFC 9768), when byte 12 was captured.
    pub fn ae(&self) -> Option<bool> {
        self.bytes.get(12).map(|b| b & 1 != 0)
    }
    /// The flags byte with AE as bit 8.
    pub fn flags16(&self) -> Option<u16> {
        let f = u16::from(self.flags()?);
        Some(f | if self.ae() == Some(true) { flag::AE } else { 0 })
    }
    /// Receive window field as sent, not yet shifted by the window scale.
    pub fn window(&self) -> Option<u16> {
        self.u16_at(14)
    }
    /// Checksum field as sent (not verified).
    pub fn checksum(&self) -> Option<u16> {
        self.u16_at(16)
    }
    /// Urgent pointer field (meaningful only with URG).
    pub fn urgent_ptr(&self) -> Option<u16> {
        self.u16_at(18)
    }

    /// The fixed 20-byte header is all there.
    pub fn fixed_complete(&self) -> bool {
        self.bytes.len() >= MIN_HEADER_LEN
    }

    /// Header length field is below 20: the segment is malformed.
    pub fn bad_header_len(&self) -> bool {
        matches!(self.header_len(), Some(n) if n < MIN_HEADER_LEN)
    }

    /// Options and header are all captured.
    pub fn header_complete(&self) -> bool {
        match self.header_len() {
            Some(n) => n >= MIN_HEADER_LEN && self.bytes.len() >= n,
            None => false,
        }
    }

    /// The captured option bytes.
    pub fn option_bytes(&self) -> &'a [u8] {
        self.bytes.get(MIN_HEADER_LEN..).unwrap_or(&[])
    }

    /// Options were declared but not all captured.
    pub fn options_truncated(&self) -> bool {
        matches!(self.header_len(), Some(n) if n > self.bytes.len())
    }

    /// The captured options, in wire order.
    pub fn options(&self) -> OptionIter<'a> {
        OptionIter {
            rest: self.option_bytes(),
            truncated_at_end: self.options_truncated(),
        }
    }
}

/// One TCP option, as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (kind 0); what follows is padding.
    Eol,
    /// No-operation (kind 1), padding that aligns the next option.
    Nop,
    /// Maximum segment size (kind 2): the largest payload the sender accepts, in bytes.
    Mss(u16),
    /// Window scale (kind 3, RFC 7323): the shift count for the sender's windows.
    WindowScale(u8),
    /// SACK permitted (kind 4, RFC 2018): the sender accepts SACK blocks.
    SackPermitted,
    /// Raw SACK blocks: pairs of (left, right) edges, 8 bytes each.
    Sack(SackBlocks<'a>),
    /// Timestamps (kind 8, RFC 7323).
    Timestamp {
        /// TSval: the sender's timestamp clock.
        val: u32,
        /// TSecr: the latest TSval received from the peer, echoed back.
        ecr: u32,
    },
    /// TCP Fast Open (kind 34, RFC 7413) or its experimental form (kind 254,
    /// magic 0xF989): an empty cookie is a cookie request.
    FastOpen(&'a [u8]),
    /// Multipath TCP (kind 30): subtype in the high nibble of the first byte.
    Mptcp {
        /// MPTCP subtype (RFC 8684), e.g. 0 MP_CAPABLE, 2 DSS.
        subtype: u8,
        /// Option data after kind and length (the subtype byte included).
        data: &'a [u8],
    },
    /// Any other option kind, kept raw.
    Unknown {
        /// The option kind byte.
        kind: u8,
        /// Option data after kind and length.
        data: &'a [u8],
    },
    /// The option list could not be read past this point.
    Malformed {
        /// Kind of the option where the walk stopped.
        kind: u8,
        /// What was wrong with it.
        reason: OptionError,
    },
}

/// Why an option could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionError {
    /// Length byte below 2 or past the end of the header.
    BadLength(u8),
    /// A known option whose length does not fit its kind.
    WrongLength(u8),
    /// The capture stopped inside the option.
    Truncated,
}

/// The blocks of a SACK option (RFC 2018), as raw bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SackBlocks<'a>(&'a [u8]);

impl<'a> SackBlocks<'a> {
    /// Each block's (left, right) edges: the receiver holds `left..right`.
    pub fn iter(&self) -> impl Iterator<Item = (SeqNum, SeqNum)> + 'a {
        self.0.chunks_exact(8).map(|c| {
            (
                SeqNum(u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                SeqNum(u32::from_be_bytes([c[4], c[5], c[6], c[7]])),
            )
        })
    }
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }
    /// No complete block.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 8
    }
}

/// Walks a header's options; stops after EOL or a malformed option.
pub struct OptionIter<'a> {
    rest: &'a [u8],
    truncated_at_end: bool,
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        let (&kind, after_kind) = self.rest.split_first()?;
        match kind {
            0 => {
                // Everything after EOL is padding.
                self.rest = &[];
                return Some(TcpOption::Eol);
            }
            1 => {
                self.rest = after_kind;
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        let Some(&len) = after_kind.first() else {
            self.rest = &[];
            let reason = if self.truncated_at_end {
                OptionError::Truncated
            } else {
                OptionError::BadLength(0)
            };
            return Some(TcpOption::Malformed { kind, reason });
        };
        let len_usize = usize::from(len);
        if len < 2 {
            self.rest = &[];
            return Some(TcpOption::Malformed {
                kind,
                reason: OptionError::BadLength(len),
            });
        }
        if len_usize > self.rest.len() {
            self.rest = &[];
            let reason = if self.truncated_at_end {
                OptionError::Truncated
            } else {
                OptionError::BadLength(len)
            };
            return Some(TcpOption::Malformed { kind, reason });
        }
        let data = &self.rest[2..len_usize];
        self.rest = &self.rest[len_usize..];
        let wrong = TcpOption::Malformed {
            kind,
            reason: OptionError::WrongLength(len),
        };
        Some(match kind {
            2 if data.len() == 2 => TcpOption::Mss(u16::from_be_bytes([data[0], data[1]])),
            3 if data.len() == 1 => TcpOption::WindowScale(data[0]),
            4 if data.is_empty() => TcpOption::SackPermitted,
            5 if !data.is_empty() && data.len() % 8 == 0 => TcpOption::Sack(SackBlocks(data)),
            8 if data.len() == 8 => TcpOption::Timestamp {
                val: u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                ecr: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            },
            34 => TcpOption::FastOpen(data),
            254 if data.len() >= 2 && data[0] == 0xf9 && data[1] == 0x89 => {
                TcpOption::FastOpen(&data[2..])
            }
            30 if !data.is_empty() => TcpOption::Mptcp {
                subtype: data[0] >> 4,
                data,
            },
            2..=5 | 8 => wrong,
            _ => TcpOption::Unknown { kind, data },
        })
    }
}

/// What the tracker needs from the options, gathered in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptionSummary {
    /// MSS option value in bytes, if present (normally in SYNs only).
    pub mss: Option<u16>,
    /// Window-scale shift count, if present (SYNs only).
    pub window_scale: Option<u8>,
    /// The SACK-permitted option was present.
    pub sack_permitted: bool,
    /// Number of SACK blocks (0 without a SACK option).
    pub sack_blocks: u8,
    /// First SACK block's (left, right) edges, the one that names the newest data.
    pub first_sack: Option<(SeqNum, SeqNum)>,
    /// The Timestamps option as (TSval, TSecr).
    pub timestamp: Option<(u32, u32)>,
    /// Some option had a bad length or was cut off.
    pub malformed: bool,
}

impl OptionSummary {
    /// Summarize the captured options of `view` in one pass.
    pub fn of(view: &TcpView<'_>) -> OptionSummary {
        let mut s = OptionSummary::default();
        // Fast path for what nearly every Linux segment carries after the
        // handshake: nop, nop, timestamps.
        if let [1, 1, 8, 10, v0, v1, v2, v3, e0, e1, e2, e3] = *view.option_bytes() {
            s.timestamp = Some((
                u32::from_be_bytes([v0, v1, v2, v3]),
                u32::from_be_bytes([e0, e1, e2, e3]),
            ));
            return s;
        }
        for opt in view.options() {
            match opt {
                TcpOption::Mss(v) => s.mss = Some(v),
                TcpOption::WindowScale(v) => s.window_scale = Some(v),
                TcpOption::SackPermitted => s.sack_permitted = true,
                TcpOption::Sack(blocks) => {
                    s.sack_blocks = blocks.len() as u8;
                    s.first_sack = blocks.iter().next();
                }
                TcpOption::Timestamp { val, ecr } => s.timestamp = Some((val, ecr)),
                TcpOption::Malformed { .. } => s.malformed = true,
                _ => {}
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real SYN from the loopback fixture: 127.0.0.1:PORT > :9999 with
    /// mss 65495, sackOK, TS, nop, wscale 7.
    const SYN: [u8; 40] = [
        0xc3, 0x50, 0x27, 0x0f, 0x10, 0x20, 0x30, 0x40, 0, 0, 0, 0, 0xa0, 0x02, 0xff, 0xd7, 0xfe,
        0x30, 0, 0, 2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];

    #[test]
    fn fixed_fields() {
        let v = TcpView::new(&SYN);
        assert_eq!(v.src_port(), Some(50000));
        assert_eq!(v.dst_port(), Some(9999));
        assert_eq!(v.seq(), Some(SeqNum(0x10203040)));
        assert_eq!(v.header_len(), Some(40));
        assert_eq!(v.flags(), Some(flag::SYN));
        assert_eq!(v.window(), Some(65495));
        assert!(v.header_complete());
    }

    #[test]
    fn options_in_order() {
        let v = TcpView::new(&SYN);
        let opts: Vec<_> = v.options().collect();
        assert_eq!(
            opts,
            vec![
                TcpOption::Mss(65495),
                TcpOption::SackPermitted,
                TcpOption::Timestamp { val: 1, ecr: 0 },
                TcpOption::Nop,
                TcpOption::WindowScale(7),
            ]
        );
        let s = OptionSummary::of(&v);
        assert_eq!(s.mss, Some(65495));
        assert_eq!(s.window_scale, Some(7));
        assert!(s.sack_permitted && !s.malformed);
    }

    #[test]
    fn the_timestamp_fast_path_agrees_with_the_walk() {
        let mut seg = SYN[..20].to_vec();
        seg[12] = 0x80; // 32-byte header
        seg.extend([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
        let v = TcpView::new(&seg);
        let s = OptionSummary::of(&v);
        assert_eq!(s.timestamp, Some((7, 9)));
        assert_eq!(
            v.options().collect::<Vec<_>>(),
            vec![
                TcpOption::Nop,
                TcpOption::Nop,
                TcpOption::Timestamp { val: 7, ecr: 9 }
            ]
        );
    }

    #[test]
    fn cut_header_keeps_what_was_captured() {
        let v = TcpView::new(&SYN[..10]);
        assert_eq!(v.src_port(), Some(50000));
        assert_eq!(v.seq(), Some(SeqNum(0x10203040)));
        assert_eq!(v.ack_field(), None);
        assert_eq!(v.flags(), None);
        assert!(!v.fixed_complete());
    }

    #[test]
    fn cut_options_are_reported_truncated() {
        let v = TcpView::new(&SYN[..30]);
        assert!(v.options_truncated());
        let opts: Vec<_> = v.options().collect();
        assert_eq!(opts[0], TcpOption::Mss(65495));
        assert_eq!(opts[1], TcpOption::SackPermitted);
        assert_eq!(
            opts[2],
            TcpOption::Malformed {
                kind: 8,
                reason: OptionError::Truncated
            }
        );
    }

    #[test]
    fn zero_length_option_stops_the_walk() {
        let mut seg = SYN;
        seg[21] = 0; // mss length 0
        let opts: Vec<_> = TcpView::new(&seg).options().collect();
        assert_eq!(
            opts,
            vec![TcpOption::Malformed {
                kind: 2,
                reason: OptionError::BadLength(0)
            }]
        );
    }

    #[test]
    fn data_offset_below_five_is_flagged() {
        let mut seg = SYN;
        seg[12] = 0x30;
        let v = TcpView::new(&seg);
        assert!(v.bad_header_len());
        assert!(!v.header_complete());
    }
}
