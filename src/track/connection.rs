//! One connection's lifecycle: both endpoints' states, inferred from each
//! segment as RFC 9293 describes (the sender moves on sending, the receiver
//! on assumed receipt), and the events a textbook would name.

use crate::annotate;
use crate::decode::tcp::flag;
use crate::decode::{Segment, SeqNum, Timestamp};

use super::endpoint::Endpoint;
use super::event::{Analysis, CloseVariant, Event, EventKind, ResetCause};
use super::key::{ConnKey, Side};
use super::state::TcpState;
use super::zeek::History;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    pub syn_ts: Option<Timestamp>,
    pub complete: bool,
    /// SYNs the client sent (retransmissions included).
    pub syn_count: u32,
    /// SYN to the third ACK, as seen at the capture point.
    pub rtt_ns: Option<u64>,
    /// The SYNs crossed.
    pub simultaneous: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Close {
    pub variant: Option<CloseVariant>,
    pub first_fin: Option<Side>,
    /// Close segments seen so far (FINs and the ACKs of FINs).
    pub steps: u8,
    pub half_close: bool,
    pub half_close_bytes: u64,
}

#[derive(Clone, Debug)]
pub struct Connection {
    /// First-seen order, from 1.
    pub id: u64,
    pub key: ConnKey,
    pub client: Endpoint,
    pub server: Endpoint,
    /// No SYN was seen before the first segment: states are assumed.
    pub midstream: bool,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub handshake: Handshake,
    pub close: Close,
    pub refused: bool,
    pub aborted_by: Option<Side>,
    /// The first reset (not a refusal): who sent it and why.
    pub first_reset: Option<(Side, ResetCause)>,
    /// This connection reused the 4-tuple of an earlier one.
    pub port_reuse: bool,
    pub history: History,
}

/// What a connection needs from the tracker's configuration.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// 2MSL: how long TIME_WAIT lasts.
    pub time_wait_ns: i128,
}

impl Connection {
    pub fn new(id: u64, key: ConnKey, seg: &Segment) -> Connection {
        let syn = seg.has(flag::SYN);
        let ack = seg.has(flag::ACK);
        // The client sent the first SYN; a SYN+ACK came from the server; with
        // no SYN at all, the ephemeral (higher) port is the better guess.
        let sender_is_client = match (syn, ack) {
            (true, false) => true,
            (true, true) => false,
            _ => seg.src.port() >= seg.dst.port(),
        };
        let (c, s) = if sender_is_client {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let mut client = Endpoint::new(c);
        let mut server = Endpoint::new(s);
        if syn && !ack {
            // Before the first SYN: the client is CLOSED, the server LISTENs
            // (or nobody does: a refusal will say so).
            client.state = TcpState::Closed;
            server.state = TcpState::Listen;
        }
        Connection {
            id,
            key,
            client,
            server,
            midstream: !syn,
            first_frame: seg.frame,
            last_frame: seg.frame,
            first_ts: seg.ts,
            last_ts: seg.ts,
            handshake: Handshake::default(),
            close: Close::default(),
            refused: false,
            aborted_by: None,
            first_reset: None,
            port_reuse: false,
            history: History::default(),
        }
    }

    pub fn endpoint(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    pub fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Sender and receiver, mutably, in that order.
    fn pair_mut(&mut self, sender: Side) -> (&mut Endpoint, &mut Endpoint) {
        match sender {
            Side::Client => (&mut self.client, &mut self.server),
            Side::Server => (&mut self.server, &mut self.client),
        }
    }

    pub fn side_of(&self, src: std::net::SocketAddr) -> Side {
        if src == self.client.addr {
            Side::Client
        } else {
            Side::Server
        }
    }

    pub fn states(&self) -> [TcpState; 2] {
        [self.client.state, self.server.state]
    }

    /// Both ends are done: CLOSED, and no TIME_WAIT left to run.
    pub fn is_finished(&self) -> bool {
        self.client.state == TcpState::Closed && self.server.state == TcpState::Closed
    }

    /// Window scaling is in effect only when both SYNs carried the option (RFC 7323 §2.2).
    pub fn scaling(&self) -> Option<bool> {
        if self.client.syn_seen && self.server.syn_seen {
            Some(self.client.wscale.is_some() && self.server.wscale.is_some())
        } else {
            None
        }
    }

    /// The window a segment from `side` advertises, scaled once the scale is
    /// known (SYN windows are never scaled).
    pub fn scaled_window(&self, side: Side, seg: &Segment) -> Option<u32> {
        if seg.has(flag::SYN) {
            return Some(u32::from(seg.window));
        }
        self.scaling().map(|on| {
            let shift = if on {
                self.endpoint(side).wscale.unwrap_or(0).min(14)
            } else {
                0
            };
            u32::from(seg.window) << shift
        })
    }

    /// Who holds TIME_WAIT now (or held it, once it has expired).
    pub fn time_wait_holders(&self) -> (bool, bool) {
        (
            self.client.time_wait_until.is_some(),
            self.server.time_wait_until.is_some(),
        )
    }

    /// Apply one segment sent by `side`; events go to `events`. Returns the
    /// segment's window in bytes, once the scale is known.
    pub fn on_segment(
        &mut self,
        seg: &Segment,
        side: Side,
        timers: Timers,
        events: &mut Vec<Event>,
    ) -> Option<u32> {
        let id = self.id;
        let first_segment = self.client.packets + self.server.packets == 0;
        if first_segment && self.midstream {
            // Joined mid-stream: assume a synchronized connection and let the
            // segment's own flags move the states from there.
            self.client.state = TcpState::Established;
            self.server.state = TcpState::Established;
            events.push(Event {
                frame: Some(seg.frame),
                ts: seg.ts,
                conn: id,
                side,
                kind: EventKind::Midstream,
            });
        }
        self.last_frame = seg.frame;
        let idle_ns = seg.ts.nanos_since(self.last_ts);
        self.last_ts = seg.ts;
        self.history.record(side, seg);

        self.record_seq_bases(seg, side);
        let win_scaled = self.scaled_window(side, seg);
        let window = win_scaled.unwrap_or(u32::from(seg.window));
        let first_analysis = events.len();
        {
            let (me, peer) = self.pair_mut(side);
            annotate::analyze(me, peer, seg, window, &mut |what, evidence| {
                events.push(Event {
                    frame: Some(seg.frame),
                    ts: seg.ts,
                    conn: id,
                    side,
                    kind: EventKind::Analysis { what, evidence },
                });
            });
            me.packets += 1;
            // Any word from the peer answers outstanding keep-alive probes.
            peer.keepalive.unanswered = 0;
            track_zero_window(me, seg, window);
        }
        let mut resent = false;
        for e in &events[first_analysis..] {
            let EventKind::Analysis { what, .. } = e.kind else {
                continue;
            };
            self.endpoint_mut(side).analysis[what.index()] += 1;
            self.history.record_analysis(side, what);
            if what == Analysis::KeepAlive {
                self.count_keepalive(side, seg.ts, idle_ns);
            }
            if what.is_retransmission() && seg.has(flag::SYN) && side == Side::Client {
                self.handshake.syn_count += 1;
            }
            resent |= what.is_retransmission()
                || matches!(what, Analysis::KeepAlive | Analysis::ZeroWindowProbe);
        }
        if !resent {
            self.endpoint_mut(side).bytes += u64::from(seg.payload_len);
        }
        let mut emit = |side: Side, kind: EventKind| {
            events.push(Event {
                frame: Some(seg.frame),
                ts: seg.ts,
                conn: id,
                side,
                kind,
            })
        };

        if seg.has(flag::RST) {
            self.on_rst(seg, side, &mut emit);
        } else {
            if seg.has(flag::SYN) {
                self.on_syn(seg, side, &mut emit);
            }
            if let Some(ack) = seg.ack {
                self.on_ack(seg, ack, side, timers, &mut emit);
            }
            if seg.payload_len > 0 {
                self.on_data(seg, side, &mut emit);
            }
            if seg.has(flag::FIN) {
                self.on_fin(seg, side, timers, &mut emit);
            }
        }
        win_scaled
    }

    fn record_seq_bases(&mut self, seg: &Segment, side: Side) {
        let me = self.endpoint_mut(side);
        if seg.has(flag::SYN) && !me.syn_seen {
            me.syn_seen = true;
            me.isn = Some(seg.seq);
            me.seq_base = Some(seg.seq);
            me.wscale = seg.options.window_scale;
        }
        if me.seq_base.is_none() {
            me.seq_base = Some(seg.seq.minus(1));
        }
        if let Some(ack) = seg.ack {
            let peer = self.endpoint_mut(side.other());
            if peer.seq_base.is_none() {
                peer.seq_base = Some(ack.minus(1));
            }
        }
    }

    fn count_keepalive(&mut self, side: Side, ts: Timestamp, idle_ns: i128) {
        let k = &mut self.endpoint_mut(side).keepalive;
        k.probes += 1;
        if k.first_probe.is_none() {
            k.first_probe = Some(ts);
            k.idle_ns = Some(idle_ns);
        }
        if k.unanswered >= 1 {
            if let Some(last) = k.last_probe {
                let gap = ts.nanos_since(last);
                k.interval_ns = Some(k.interval_ns.map_or(gap, |g| g.min(gap)));
            }
        }
        k.unanswered += 1;
        k.last_probe = Some(ts);
    }

    fn on_syn(&mut self, seg: &Segment, side: Side, emit: &mut impl FnMut(Side, EventKind)) {
        let other = side.other();
        if seg.has(flag::ACK) {
            let me = self.endpoint_mut(side);
            if me.synack_sent {
                return; // a retransmitted SYN+ACK: the analysis said so
            }
            me.synack_sent = true;
            if me.state != TcpState::Established {
                me.state = TcpState::SynRcvd;
            }
            // The SYN+ACK acknowledges the peer's SYN: the peer is established on receipt.
            if matches!(
                self.endpoint(other).state,
                TcpState::SynSent | TcpState::SynRcvd | TcpState::Unknown
            ) {
                self.endpoint_mut(other).state = TcpState::Established;
            }
            if self.handshake.simultaneous {
                if self.client.synack_sent && self.server.synack_sent {
                    self.handshake.complete = true;
                }
            } else {
                emit(
                    side,
                    EventKind::Handshake {
                        step: 2,
                        rtt_ns: None,
                    },
                );
            }
            return;
        }
        // A pure SYN.
        if side == Side::Client && self.handshake.syn_ts.is_none() {
            self.handshake.syn_ts = Some(seg.ts);
            self.handshake.syn_count = 1;
        }
        if self.endpoint(side).state == TcpState::SynSent {
            return; // a retransmitted SYN
        }
        if self.endpoint(other).state == TcpState::SynSent {
            // SYNs crossed: each side receives a SYN while in SYN_SENT.
            self.endpoint_mut(side).state = TcpState::SynRcvd;
            self.endpoint_mut(other).state = TcpState::SynRcvd;
            self.handshake.simultaneous = true;
            emit(side, EventKind::SimultaneousOpen);
            return;
        }
        self.endpoint_mut(side).state = TcpState::SynSent;
        self.endpoint_mut(other).state = TcpState::SynRcvd;
        emit(
            side,
            EventKind::Handshake {
                step: 1,
                rtt_ns: None,
            },
        );
    }

    fn on_ack(
        &mut self,
        seg: &Segment,
        ack: SeqNum,
        side: Side,
        timers: Timers,
        emit: &mut impl FnMut(Side, EventKind),
    ) {
        let other = side.other();
        // Handshake step 3: the ACK of the server's SYN.
        let peer = self.endpoint(other);
        if !seg.has(flag::SYN)
            && peer.state == TcpState::SynRcvd
            && peer.isn.is_some_and(|isn| ack == isn.plus(1))
        {
            self.endpoint_mut(other).state = TcpState::Established;
            if self.endpoint(side).state == TcpState::SynRcvd {
                // Simultaneous open: each side's ACK of the other's SYN.
                self.endpoint_mut(side).state = TcpState::Established;
            }
            if !self.handshake.complete {
                self.handshake.complete = true;
                let rtt = self
                    .handshake
                    .syn_ts
                    .map(|t| u64::try_from(seg.ts.nanos_since(t)).unwrap_or(0));
                self.handshake.rtt_ns = rtt;
                emit(
                    side,
                    EventKind::Handshake {
                        step: 3,
                        rtt_ns: rtt,
                    },
                );
            }
        }
        // The ACK of the peer's FIN (a FIN is acknowledged only by ack ≥ FIN seq + 1).
        let peer = self.endpoint(other);
        let Some(fin) = peer.fin_seq else {
            return;
        };
        if peer.fin_acked || ack.lt(fin.plus(1)) {
            return;
        }
        self.endpoint_mut(other).fin_acked = true;
        let piggyback = seg.has(flag::FIN) && self.endpoint(side).state == TcpState::CloseWait;
        match self.endpoint(other).state {
            TcpState::FinWait1 => {
                self.endpoint_mut(other).state = TcpState::FinWait2;
                if !piggyback {
                    self.close_step(side, CloseVariant::FourWay, emit);
                }
            }
            TcpState::Closing => {
                self.close_step(side, CloseVariant::Simultaneous, emit);
                self.enter_time_wait(other, seg.ts, timers, emit);
            }
            TcpState::LastAck => {
                self.endpoint_mut(other).state = TcpState::Closed;
                let variant = self.close.variant.unwrap_or(CloseVariant::FourWay);
                self.close_step(side, variant, emit);
            }
            _ => {}
        }
    }

    fn on_data(&mut self, seg: &Segment, side: Side, emit: &mut impl FnMut(Side, EventKind)) {
        // Data toward an endpoint that already sent its FIN: a half-closed connection.
        let receiver_closed = matches!(
            self.endpoint(side.other()).state,
            TcpState::FinWait1 | TcpState::FinWait2
        );
        let sender_open = matches!(self.endpoint(side).state, TcpState::CloseWait);
        if receiver_closed && sender_open {
            self.close.half_close_bytes += u64::from(seg.payload_len);
            if !self.close.half_close {
                self.close.half_close = true;
                emit(
                    side,
                    EventKind::HalfClose {
                        bytes: u64::from(seg.payload_len),
                    },
                );
            }
        }
    }

    fn on_fin(
        &mut self,
        seg: &Segment,
        side: Side,
        timers: Timers,
        emit: &mut impl FnMut(Side, EventKind),
    ) {
        let other = side.other();
        let fin_seq = seg.seq.plus(seg.payload_len);
        if let Some(prev) = self.endpoint(side).fin_seq {
            if prev == fin_seq {
                // The same FIN again. From LAST_ACK that means our final ACK never arrived.
                if self.endpoint(side).state == TcpState::LastAck
                    && self.endpoint(other).state == TcpState::TimeWait
                {
                    emit(side, EventKind::LastAckLost);
                }
                return;
            }
        }
        self.endpoint_mut(side).fin_seq = Some(fin_seq);
        match self.endpoint(side).state {
            TcpState::CloseWait => {
                let peer = self.endpoint(other);
                if peer.fin_acked || peer.state == TcpState::FinWait2 {
                    // The second FIN: the peer (in FIN_WAIT_2) enters TIME_WAIT on receipt.
                    let piggyback = self.close.steps == 1 && seg.ack.is_some();
                    let three_way = piggyback && self.close_first_fin_acked_by_this(seg);
                    self.endpoint_mut(side).state = TcpState::LastAck;
                    let variant = if three_way {
                        CloseVariant::ThreeWay
                    } else {
                        CloseVariant::FourWay
                    };
                    self.close.variant = Some(variant);
                    self.close_step(side, variant, emit);
                    self.enter_time_wait(other, seg.ts, timers, emit);
                } else {
                    // The peer's FIN is not yet acknowledged by this one: the FINs crossed.
                    self.endpoint_mut(side).state = TcpState::Closing;
                    self.endpoint_mut(other).state = TcpState::Closing;
                    self.close.variant = Some(CloseVariant::Simultaneous);
                    self.close_step(side, CloseVariant::Simultaneous, emit);
                }
            }
            TcpState::Established | TcpState::SynRcvd | TcpState::Unknown => {
                self.endpoint_mut(side).state = TcpState::FinWait1;
                if matches!(
                    self.endpoint(other).state,
                    TcpState::Established
                        | TcpState::SynRcvd
                        | TcpState::Unknown
                        | TcpState::SynSent
                ) {
                    self.endpoint_mut(other).state = TcpState::CloseWait;
                }
                self.close.first_fin.get_or_insert(side);
                self.close_step(side, CloseVariant::FourWay, emit);
            }
            _ => {}
        }
    }

    /// The next step of the close. How many steps it takes is unknown at
    /// step 1: only the peer's answer tells a three-packet close from a four-way one.
    fn close_step(
        &mut self,
        side: Side,
        variant: CloseVariant,
        emit: &mut impl FnMut(Side, EventKind),
    ) {
        self.close.steps += 1;
        let step = self.close.steps;
        let of = (step > 1).then_some(if variant == CloseVariant::ThreeWay {
            3
        } else {
            4
        });
        emit(side, EventKind::Close { step, of, variant });
    }

    /// This segment (the second FIN) also acknowledged the first FIN.
    fn close_first_fin_acked_by_this(&self, seg: &Segment) -> bool {
        let Some(first) = self.close.first_fin else {
            return false;
        };
        match (self.endpoint(first).fin_seq, seg.ack) {
            (Some(fin), Some(ack)) => {
                ack.ge(fin.plus(1)) && self.endpoint(first).state == TcpState::FinWait2
            }
            _ => false,
        }
    }

    fn enter_time_wait(
        &mut self,
        side: Side,
        ts: Timestamp,
        timers: Timers,
        emit: &mut impl FnMut(Side, EventKind),
    ) {
        let until = add_ns(ts, timers.time_wait_ns);
        let me = self.endpoint_mut(side);
        me.state = TcpState::TimeWait;
        me.time_wait_until = Some(until);
        emit(side, EventKind::TimeWait { until });
    }

    fn on_rst(&mut self, _seg: &Segment, side: Side, emit: &mut impl FnMut(Side, EventKind)) {
        let other = side.other();
        let me = self.endpoint(side);
        let peer = self.endpoint(other);
        let cause = if peer.state == TcpState::SynSent && !me.synack_sent {
            ResetCause::Refused
        } else if me.keepalive.unanswered > 0 {
            ResetCause::KeepaliveTimeout
        } else if peer.last_was_keepalive {
            ResetCause::KeepaliveAnswer
        } else if me.fin_seq.is_some() || me.state.has_closed() {
            ResetCause::AfterClose
        } else if matches!(
            me.state,
            TcpState::Established | TcpState::CloseWait | TcpState::SynRcvd
        ) {
            ResetCause::Abort
        } else {
            ResetCause::Unknown
        };
        self.endpoint_mut(side).resets += 1;
        if cause == ResetCause::Refused {
            if !self.refused {
                self.refused = true;
                emit(side, EventKind::Refused);
            }
        } else {
            self.first_reset.get_or_insert((side, cause));
            if self.aborted_by.is_none() && cause != ResetCause::Unknown {
                self.aborted_by = Some(side);
            }
        }
        emit(side, EventKind::Reset { cause });
        // A RST ends both ends at once (the receiver on assumed receipt); a
        // TIME_WAIT that is running is cut short too (Linux: tcp_rfc1337=0).
        for s in [side, other] {
            self.endpoint_mut(s).state = TcpState::Closed;
        }
    }

    /// The capture clock passed this side's TIME_WAIT expiry.
    pub fn expire_time_wait(&mut self, side: Side) -> bool {
        let me = self.endpoint_mut(side);
        if me.state == TcpState::TimeWait {
            me.state = TcpState::Closed;
            true
        } else {
            false
        }
    }
}

fn track_zero_window(me: &mut Endpoint, seg: &Segment, window: u32) {
    if seg.has(flag::SYN | flag::FIN | flag::RST) {
        return;
    }
    if window == 0 {
        me.zero_window_since.get_or_insert(seg.ts);
    } else if let Some(since) = me.zero_window_since.take() {
        me.zero_window_ns += seg.ts.nanos_since(since);
    }
}

pub fn add_ns(ts: Timestamp, ns: i128) -> Timestamp {
    let total = ts.as_nanos() + ns;
    Timestamp::new(
        (total.div_euclid(1_000_000_000)) as i64,
        total.rem_euclid(1_000_000_000) as u32,
    )
}
