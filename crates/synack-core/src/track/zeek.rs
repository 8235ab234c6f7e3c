//! Zeek's connection summary codes: the `history` string and `conn_state`,
//! so synack's records line up with conn.log.

use crate::decode::tcp::flag;
use crate::decode::Segment;

use super::connection::Connection;
use super::event::Analysis;
use super::key::Side;

/// Zeek's history: one letter per kind of segment, upper case for the
/// originator (client), lower case for the responder; most letters appear
/// once, retransmission (t) and zero window (w) again at 10, 100, 1000…
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct History {
    text: String,
    seen: [u32; 2],
    retransmissions: [u32; 2],
    zero_windows: [u32; 2],
}

const S: u32 = 1;
const H: u32 = 2;
const A: u32 = 4;
const D: u32 = 8;
const F: u32 = 16;
const R: u32 = 32;

fn idx(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

impl History {
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    fn push(&mut self, side: Side, letter: char) {
        self.text.push(match side {
            Side::Client => letter.to_ascii_uppercase(),
            Side::Server => letter,
        });
    }

    fn once(&mut self, side: Side, bit: u32, letter: char) {
        if self.seen[idx(side)] & bit == 0 {
            self.seen[idx(side)] |= bit;
            self.push(side, letter);
        }
    }

    /// Record one segment from `side` (before its analysis).
    pub(crate) fn record(&mut self, side: Side, seg: &Segment) {
        if self.text.is_empty() && self.seen == [0, 0] && side == Side::Server {
            // Zeek's "^": the first packet came from the responder.
            self.text.push('^');
        }
        let syn = seg.has(flag::SYN);
        let ack = seg.has(flag::ACK);
        if syn && !ack {
            self.once(side, S, 's');
        } else if syn && ack {
            self.once(side, H, 'h');
        } else if ack && seg.payload_len == 0 && !seg.has(flag::FIN | flag::RST) {
            self.once(side, A, 'a');
        }
        if seg.payload_len > 0 {
            self.once(side, D, 'd');
        }
        if seg.has(flag::FIN) {
            self.once(side, F, 'f');
        }
        if seg.has(flag::RST) {
            self.once(side, R, 'r');
        }
    }

    pub(crate) fn record_analysis(&mut self, side: Side, a: Analysis) {
        if a.is_retransmission() {
            let n = &mut self.retransmissions[idx(side)];
            *n += 1;
            if is_power_of_ten(*n) {
                self.push(side, 't');
            }
        } else if a == Analysis::ZeroWindow {
            let n = &mut self.zero_windows[idx(side)];
            *n += 1;
            if is_power_of_ten(*n) {
                self.push(side, 'w');
            }
        }
    }
}

fn is_power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

/// Zeek's connection states (conn.log's `conn_state`), with Zeek's names.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    REJ,
    /// Established, close attempt by the originator seen (no reply).
    S2,
    /// Established, close attempt by the responder seen (no reply).
    S3,
    /// Established, the originator aborted (sent a RST).
    RSTO,
    /// Established, the responder aborted.
    RSTR,
    /// The originator sent a SYN then a RST; no SYN+ACK seen.
    RSTOS0,
    /// The responder sent a SYN+ACK then a RST; no SYN seen.
    RSTRH,
    /// The originator sent a SYN then a FIN; no SYN+ACK seen.
    SH,
    /// The responder sent a SYN+ACK then a FIN; no SYN seen.
    SHR,
    /// No SYN seen, just midstream traffic.
    OTH,
}

impl ConnState {
    /// Zeek's code, e.g. `SF`.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

/// Zeek's conn_state, from what each side sent.
pub fn conn_state(c: &Connection) -> ConnState {
    use ConnState::*;
    let orig = &c.client;
    let resp = &c.server;
    let orig_syn = orig.syn_seen;
    let resp_synack = resp.synack_sent;
    let orig_rst = orig.resets > 0;
    let resp_rst = resp.resets > 0;
    let orig_fin = orig.fin_seq.is_some();
    let resp_fin = resp.fin_seq.is_some();
    if c.refused {
        return REJ;
    }
    if !orig_syn && !resp_synack {
        return OTH;
    }
    if orig_syn && !resp_synack {
        return if orig_rst {
            RSTOS0
        } else if orig_fin {
            SH
        } else if resp_rst {
            REJ
        } else {
            S0
        };
    }
    if !orig_syn && resp_synack {
        return if resp_rst {
            RSTRH
        } else if resp_fin {
            SHR
        } else {
            OTH
        };
    }
    if orig_rst {
        return RSTO;
    }
    if resp_rst {
        return RSTR;
    }
    match (orig_fin, resp_fin) {
        (true, true) => SF,
        (true, false) => S2,
        (false, true) => S3,
        (false, false) => S1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten() {
        let hits: Vec<u32> = (1..=1000).filter(|n| is_power_of_ten(*n)).collect();
        assert_eq!(hits, vec![1, 10, 100, 1000]);
    }
}
