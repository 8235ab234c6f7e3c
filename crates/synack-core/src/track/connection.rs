//! One connection's lifecycle: both endpoints' states as the capture proves
//! them, and the events a textbook would name.
//!
//! A segment moves its sender at once (it was sent). Its receiver moves
//! only once the capture shows the segment arrived (`receipt`). Every
//! change goes through `Connection::move_to`, which knows RFC 9293's
//! diagram: the rules below only ever ask for its edges.

use crate::decode::tcp::flag;
use crate::decode::{Segment, Timestamp};

use super::analysis;
use super::community_id::CommunityId;
use super::endpoint::{Endpoint, TimeWait, TimeWaitEnd};
use super::event::{Analysis, CloseVariant, EcnMode, Event, EventKind, ResetCause};
use super::key::{ConnKey, Side};
use super::receipt::{Acked, Assumed, Pending};
use super::state::{StatePath, TcpState};
use super::zeek::{self, ZeekTrack};
use super::Revision;

/// A copy of the client's SYN: when it was seen and its TS value.
pub(crate) type SynCopy = (Timestamp, Option<u32>);

/// How the connection was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// The first SYN's time.
    pub(crate) syn_ts: Option<Timestamp>,
    /// The client's first SYN copies: time and TS value (to tell which one
    /// the SYN+ACK answers). Boxed until the SYN+ACK reads them, then gone:
    /// nothing asks again.
    pub(crate) syn_copies: Option<Box<[SynCopy; 4]>>,
    pub(crate) syn_copies_len: u8,
    /// The SYN copy the SYN+ACK answered, when the capture can tell.
    pub(crate) answered_syn: Option<Timestamp>,
    pub(crate) complete: bool,
    /// SYNs the client sent (retransmissions included).
    pub(crate) syn_count: u32,
    /// From the answered SYN to the ACK of the SYN+ACK, at the capture point.
    pub(crate) rtt_ns: Option<u64>,
    /// Several SYN copies and no timestamps: which one was answered is
    /// unknown, so no RTT (Karn's rule).
    pub(crate) rtt_ambiguous: bool,
    /// The SYNs crossed.
    pub(crate) simultaneous: bool,
}

impl Handshake {
    /// The third segment of the handshake was seen.
    pub fn complete(&self) -> bool {
        self.complete
    }
    /// SYNs the client sent, retransmissions included.
    pub fn syn_count(&self) -> u32 {
        self.syn_count
    }
    /// The round trip at the capture point, from the SYN copy the SYN+ACK
    /// answered to the ACK of the SYN+ACK.
    pub fn rtt_ns(&self) -> Option<u64> {
        self.rtt_ns
    }
    /// The SYN was sent more than once and nothing tells which copy was
    /// answered, so the RTT is not given (Karn's rule).
    pub fn rtt_ambiguous(&self) -> bool {
        self.rtt_ambiguous
    }
    /// The SYNs crossed (simultaneous open).
    pub fn simultaneous(&self) -> bool {
        self.simultaneous
    }
}

/// How the connection was closed, from the FINs on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Close {
    pub(crate) variant: Option<CloseVariant>,
    pub(crate) first_fin: Option<Side>,
    /// Close segments seen so far (FINs and the ACKs of FINs).
    pub(crate) steps: u8,
    pub(crate) half_close: bool,
    pub(crate) half_close_bytes: u64,
}

impl Close {
    /// Four-way, three-packet or simultaneous, once the second FIN is seen.
    pub fn variant(&self) -> Option<CloseVariant> {
        self.variant
    }
    /// Who sent the first FIN.
    pub fn first_fin(&self) -> Option<Side> {
        self.first_fin
    }
    /// Data flowed from a side that had received the peer's FIN.
    pub fn half_close(&self) -> bool {
        self.half_close
    }
    /// Payload bytes sent after receiving the peer's FIN.
    pub fn half_close_bytes(&self) -> u64 {
        self.half_close_bytes
    }
}

/// ECN as the connection used it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ecn {
    /// What the SYN asked for (None: no ECN asked).
    pub(crate) requested: Option<EcnMode>,
    /// What the handshake settled, once the SYN+ACK answered a request.
    pub(crate) mode: Option<EcnMode>,
    /// CE-marked packets each side sent (client first).
    pub(crate) ce: [u32; 2],
    /// Segments with ECE (after the handshake) each side sent.
    pub(crate) ece: [u32; 2],
    /// Segments with CWR (after the handshake) each side sent.
    pub(crate) cwr: [u32; 2],
    echoing: [bool; 2],
}

impl Ecn {
    /// What the handshake settled, if the SYN asked for ECN.
    pub fn mode(&self) -> Option<EcnMode> {
        self.mode
    }
    /// CE-marked packets each side sent, client first.
    pub fn ce(&self) -> [u32; 2] {
        self.ce
    }
    /// ECE segments each side sent, client first.
    pub fn ece(&self) -> [u32; 2] {
        self.ece
    }
    /// CWR segments each side sent, client first.
    pub fn cwr(&self) -> [u32; 2] {
        self.cwr
    }
}

/// One TCP connection: its endpoints, what happened to it, and the raw
/// material of its [`Facts`](super::Facts).
#[derive(Clone, Debug)]
pub struct Connection {
    pub(crate) id: u64,
    /// The tunnel it travels in (its key's; 0: none).
    pub(crate) tunnel: u64,
    pub(crate) client: Endpoint,
    pub(crate) server: Endpoint,
    /// No SYN was seen before the first segment: states are assumed.
    pub(crate) midstream: bool,
    pub(crate) first_frame: u64,
    pub(crate) last_frame: u64,
    pub(crate) first_ts: Timestamp,
    pub(crate) last_ts: Timestamp,
    pub(crate) handshake: Handshake,
    pub(crate) close: Close,
    pub(crate) refused: bool,
    pub(crate) aborted_by: Option<Side>,
    /// The first reset (not a refusal): who sent it and why.
    pub(crate) first_reset: Option<(Side, ResetCause)>,
    /// This connection reused the 4-tuple of an earlier one.
    pub(crate) port_reuse: bool,
    pub(crate) zeek: ZeekTrack,
    /// Frames whose capture time went back (before an earlier frame).
    pub(crate) time_went_back: u32,
    pub(crate) ecn: Ecn,
}

/// What a connection needs from the tracker's configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timers {
    /// 2MSL: how long TIME_WAIT lasts.
    pub(crate) time_wait_ns: i128,
}

/// What one segment did: both endpoints' state paths, the events, and the
/// revisions of earlier packets.
pub(crate) struct Step<'a> {
    pub(crate) paths: [StatePath; 2],
    pub(crate) corrected: [bool; 2],
    pub(crate) events: &'a mut Vec<Event>,
    pub(crate) revisions: &'a mut Vec<Revision>,
}

fn idx(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

impl Connection {
    pub(crate) fn new(id: u64, key: ConnKey, seg: &Segment) -> Connection {
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
        Connection {
            id,
            tunnel: key.tunnel,
            client: Endpoint::new(c),
            server: Endpoint::new(s),
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
            zeek: ZeekTrack::default(),
            time_went_back: 0,
            ecn: Ecn::default(),
        }
    }

    /// First-seen order, from 1: the `#N` in every view.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Number it `id` instead: a merger of several trackers' output (one
    /// per thread, each numbering its own) numbers connections in the
    /// first-seen order of them all.
    pub fn renumber(&mut self, id: u64) {
        self.id = id;
    }
    /// The canonical 4-tuple.
    pub fn key(&self) -> ConnKey {
        ConnKey::of(self.client.addr, self.server.addr).in_tunnel(self.tunnel)
    }
    /// Is `key` this connection's key? (As `key() == *key`, without building it.)
    #[inline]
    pub(crate) fn has_key(&self, key: &ConnKey) -> bool {
        let (c, s) = (&self.client.addr, &self.server.addr);
        key.tunnel == self.tunnel
            && ((key.lo == *c && key.hi == *s) || (key.lo == *s && key.hi == *c))
    }

    /// One endpoint.
    pub fn endpoint(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
    /// The client (who sent the first SYN, or the ephemeral port).
    pub fn client(&self) -> &Endpoint {
        &self.client
    }
    /// The server.
    pub fn server(&self) -> &Endpoint {
        &self.server
    }
    /// No SYN was seen: the connection was joined mid-stream.
    pub fn midstream(&self) -> bool {
        self.midstream
    }
    /// First and last frame numbers.
    pub fn frames(&self) -> (u64, u64) {
        (self.first_frame, self.last_frame)
    }
    /// First segment's time.
    pub fn first_ts(&self) -> Timestamp {
        self.first_ts
    }
    /// Last segment's time (never before the first).
    pub fn last_ts(&self) -> Timestamp {
        self.last_ts
    }
    /// The handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }
    /// The close, as far as FINs show it.
    pub fn close(&self) -> &Close {
        &self.close
    }
    /// The SYN was answered by a RST.
    pub fn refused(&self) -> bool {
        self.refused
    }
    /// This connection reused the 4-tuple of an earlier one.
    pub fn port_reuse(&self) -> bool {
        self.port_reuse
    }
    /// ECN: what was agreed and what was marked.
    pub fn ecn(&self) -> &Ecn {
        &self.ecn
    }
    /// Zeek's history string.
    pub fn history(&self) -> &str {
        self.zeek.history()
    }
    /// How Zeek would count this connection (history, sizes, duration).
    pub fn zeek(&self) -> &ZeekTrack {
        &self.zeek
    }
    /// The Community ID (v1, seed 0) of the connection's 4-tuple: the flow
    /// hash Zeek, Suricata and Arkime log.
    pub fn community_id(&self) -> CommunityId {
        zeek::community_id(self.client.addr, self.server.addr)
    }
    /// Both endpoints' states, client first.
    pub fn states(&self) -> [TcpState; 2] {
        [self.client.state, self.server.state]
    }

    pub(crate) fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint {
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

    pub(crate) fn side_of(&self, src: std::net::SocketAddr) -> Side {
        if src == self.client.addr {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// Both ends are done: CLOSED, and no TIME_WAIT left to run.
    /// The exchange is over: each side is CLOSED or in TIME_WAIT; only
    /// timers (and stray segments) can come now.
    pub(crate) fn exchange_over(states: [TcpState; 2]) -> bool {
        states
            .iter()
            .all(|s| matches!(s, TcpState::Closed | TcpState::TimeWait))
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.client.state == TcpState::Closed && self.server.state == TcpState::Closed
    }

    /// Window scaling is in effect only when both SYNs carried the option (RFC 7323 §2.2).
    pub(crate) fn scaling(&self) -> Option<bool> {
        if self.client.syn_seen && self.server.syn_seen {
            Some(self.client.wscale.is_some() && self.server.wscale.is_some())
        } else {
            None
        }
    }

    /// The window a segment from `side` advertises, scaled once the scale is
    /// known (SYN windows are never scaled).
    pub(crate) fn scaled_window(&self, side: Side, seg: &Segment) -> Option<u32> {
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

    /// The one door through which an endpoint's state changes. The rules
    /// only ask for edges of RFC 9293's diagram; anything else is a bug.
    fn move_to(&mut self, side: Side, to: TcpState, path: &mut StatePath) {
        let id = self.id;
        let e = self.endpoint_mut(side);
        if e.state == to {
            return;
        }
        debug_assert!(
            e.state.can_become(to),
            "connection {id}: {} {} → {} is not an edge of RFC 9293's diagram",
            side.name(),
            e.state,
            to
        );
        e.state = to;
        path.push(to);
    }

    /// Take back a change that the capture has disproved: not a transition
    /// (the endpoint never left `right`), so it bypasses the diagram.
    fn correct(&mut self, side: Side, right: TcpState, step: &mut Step<'_>) {
        self.endpoint_mut(side).state = right;
        step.paths[idx(side)].push(right);
        step.corrected[idx(side)] = true;
    }

    fn enter_time_wait(
        &mut self,
        side: Side,
        at: (u64, Timestamp),
        timers: Timers,
        step: &mut Step<'_>,
    ) {
        let until = add_ns(at.1, timers.time_wait_ns);
        self.move_to(side, TcpState::TimeWait, &mut step.paths[idx(side)]);
        self.endpoint_mut(side).time_wait = Some(TimeWait {
            entered: at.1,
            until,
            end: None,
        });
        step.events.push(Event {
            frame: Some(at.0),
            ts: at.1,
            conn: self.id,
            side,
            kind: EventKind::TimeWait { until },
        });
    }

    /// Apply one segment sent by `side`. Returns the segment's window in
    /// bytes, once the scale is known.
    pub(crate) fn on_segment(
        &mut self,
        seg: &Segment,
        side: Side,
        timers: Timers,
        step: &mut Step<'_>,
    ) -> Option<u32> {
        let id = self.id;
        let other = side.other();
        let first_segment = self.client.packets + self.server.packets == 0;
        if first_segment && self.midstream {
            // Joined mid-stream: assume a synchronized connection and let the
            // segment's own flags move the states from there.
            for s in [Side::Client, Side::Server] {
                self.move_to(s, TcpState::Established, &mut step.paths[idx(s)]);
            }
            step.events
                .push(self.event(seg, side, EventKind::Midstream));
        }
        self.last_frame = seg.frame;
        let step_ns = seg.ts.nanos_since(self.last_ts);
        let went_back = step_ns < 0;
        if went_back {
            self.time_went_back += 1;
            step.events.push(self.event(
                seg,
                side,
                EventKind::TimeWentBack {
                    ns: u64::try_from(-step_ns).unwrap_or(u64::MAX),
                },
            ));
        }
        // Durations never run backwards: a frame stamped before the last one
        // counts as no time passing.
        let idle_ns = seg.ts.nanos_since(self.last_ts).max(0);
        if !went_back {
            self.last_ts = seg.ts;
        }
        self.zeek.segment(side, seg);

        self.record_seq_bases(seg, side, step);
        let win_scaled = self.scaled_window(side, seg);
        let window = win_scaled.unwrap_or(u32::from(seg.window));
        let first_analysis = step.events.len();
        let (new_bytes, missed);
        let rtt = self.handshake.rtt_ns;
        {
            let (me, peer) = self.pair_mut(side);
            (new_bytes, missed) =
                analysis::analyze(me, peer, seg, window, rtt, &mut |what, evidence| {
                    step.events.push(Event {
                        frame: Some(seg.frame),
                        ts: seg.ts,
                        conn: id,
                        side,
                        kind: EventKind::Analysis { what, evidence },
                    });
                });
            me.packets += 1;
            me.bytes += u64::from(new_bytes);
            me.ip_bytes += u64::from(seg.ip_len);
            me.last_sent = Some(seg.ts);
            // Any word from the peer answers outstanding keep-alive probes
            // and retransmissions.
            if let Some(k) = &mut peer.keepalive {
                k.unanswered = 0;
            }
            peer.retransmissions_unanswered = 0;
            track_zero_window(me, seg, window);
        }
        // This segment's ACK passed bytes of the peer's the capture never
        // carried: a content gap, as Zeek counts them (`missed_bytes`).
        if missed > 0 && self.zeek.gap(other) {
            self.endpoint_mut(other).missed_bytes += missed;
        }
        for i in first_analysis..step.events.len() {
            let EventKind::Analysis { what, .. } = step.events[i].kind else {
                continue;
            };
            self.endpoint_mut(side).flag(what);
            if what == Analysis::KeepAlive {
                self.count_keepalive(side, seg.ts, idle_ns);
            }
        }

        // What the receiver of this segment's peer (this sender) must have
        // received before sending it.
        self.take_back_if_disproved(seg, side, step);
        if seg.has(flag::RST) {
            self.sender_resets(seg, side, step);
            self.receiver_resets(side, timers, step);
            return win_scaled;
        }
        self.receive_proven(seg, side, timers, step);
        self.segment_events(seg, side, step);
        self.send_effect(seg, side, step);
        self.queue_for_receiver(seg, other, timers, step);
        win_scaled
    }

    fn event(&self, seg: &Segment, side: Side, kind: EventKind) -> Event {
        Event {
            frame: Some(seg.frame),
            ts: seg.ts,
            conn: self.id,
            side,
            kind,
        }
    }

    fn record_seq_bases(&mut self, seg: &Segment, side: Side, step: &mut Step<'_>) {
        let me = self.endpoint_mut(side);
        if seg.has(flag::SYN) && !me.syn_seen {
            me.syn_seen = true;
            me.isn = Some(seg.seq);
            me.seq_base = Some(seg.seq);
            me.wscale = seg.options.window_scale;
            if let Some(shift) = seg.options.window_scale.filter(|s| *s > 14) {
                let e = self.event(seg, side, EventKind::WindowScaleClamped { shift });
                step.events.push(e);
            }
        }
        let me = self.endpoint_mut(side);
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
        let k = &mut **self.endpoint_mut(side).keepalive.get_or_insert_default();
        k.probes += 1;
        if k.first_probe.is_none() {
            k.first_probe = Some(ts);
            k.idle_ns = Some(idle_ns);
        }
        if k.unanswered >= 1 {
            if let Some(last) = k.last_probe {
                let gap = ts.nanos_since(last).max(0);
                k.interval_ns = Some(k.interval_ns.map_or(gap, |g| g.min(gap)));
            }
        }
        k.unanswered += 1;
        k.last_probe = Some(ts);
    }

    /// An ACK assumed received is disproved when its receiver resends what
    /// it acknowledged (a SYN+ACK, a FIN): the ACK was lost.
    fn take_back_if_disproved(&mut self, seg: &Segment, side: Side, step: &mut Step<'_>) {
        let me = self.endpoint(side);
        let Some(a) = me.assumed else {
            return;
        };
        let resends = match a.acked {
            Acked::Syn(isn) => seg.has(flag::SYN) && seg.seq == isn,
            Acked::Fin(fin) => seg.has(flag::FIN) && seg.next_seq() == fin.plus(1),
        };
        if !resends || me.state != a.to {
            return;
        }
        self.endpoint_mut(side).assumed = None;
        self.correct(side, a.from, step);
        step.revisions.push(Revision::Retract {
            conn: self.id,
            side,
            cause: a.frame,
            wrong: a.to,
            right: a.from,
        });
    }

    /// The sender shows, by what it acknowledges, which segments it had
    /// received before sending this one: their effects come first.
    fn receive_proven(&mut self, seg: &Segment, side: Side, timers: Timers, step: &mut Step<'_>) {
        // Once one receipt is shown here, the later ones cannot be shown earlier.
        let mut here = false;
        loop {
            let me = self.endpoint(side);
            let Some(mut head) = me.inbox.front() else {
                break;
            };
            if head.needs_proof && !seg.ack.is_some_and(|a| a.ge(head.end)) {
                break;
            }
            // Sending a SYN (again) shows the SYN+ACK sent to it had not
            // arrived yet: it would have answered with a plain ACK.
            if head.flags & flag::SYN != 0 && head.ack.is_some() && seg.has(flag::SYN) {
                break;
            }
            self.endpoint_mut(side).inbox.pop_front();
            head.sent_since |= here;
            here |= head.sent_since;
            self.deliver(side, head, seg, true, timers, step);
        }
        // What is still waiting arrived, if ever, after this segment: it
        // will be shown where its proof comes, so its frame need not wait.
        let id = self.id;
        for p in self.endpoint_mut(side).inbox.iter_mut() {
            p.sent_since = true;
            if !p.settled {
                p.settled = true;
                step.revisions.push(Revision::Settle {
                    conn: id,
                    frame: p.frame,
                });
            }
        }
    }

    /// Show `p` received by `side`: at `p`'s own frame when `side` sent
    /// nothing since (it was in flight), else here.
    fn deliver(
        &mut self,
        side: Side,
        p: Pending,
        here: &Segment,
        queued: bool,
        timers: Timers,
        step: &mut Step<'_>,
    ) {
        let at_cause = !p.sent_since && p.frame != here.frame;
        let at = if at_cause {
            (p.frame, p.ts)
        } else {
            (here.frame, here.ts)
        };
        let path = &mut step.paths[idx(side)];
        let start = *path;
        let from = path.after();
        self.receive(side, &p, at, timers, step);
        if at_cause {
            let path = step.paths[idx(side)];
            let k = start.states().len() - 1;
            step.revisions.push(Revision::Defer {
                conn: self.id,
                side,
                cause: p.frame,
                path: path.skip(k),
            });
        }
        if queued && !p.settled {
            step.revisions.push(Revision::Settle {
                conn: self.id,
                frame: p.frame,
            });
        }
        if !p.needs_proof {
            // An ACK's effect, assumed: a resend can still take it back.
            let e = self.endpoint(side);
            let to = e.state;
            if let Some(acked) = self.acked_by(side, &p) {
                self.endpoint_mut(side).assumed = Some(Assumed {
                    frame: at.0,
                    from,
                    to,
                    acked,
                });
                // Its frame is not held for this: a lost ACK is rare, and
                // is shown as a correction where the resend disproves it
                // (unless that frame is still held for another reason).
            }
        }
    }

    /// What of `side`'s (its SYN or FIN) the pending ACK acknowledged.
    fn acked_by(&self, side: Side, p: &Pending) -> Option<Acked> {
        let e = self.endpoint(side);
        let ack = p.ack?;
        if let Some(fin) = e.fin_seq {
            if ack.ge(fin.plus(1)) {
                return Some(Acked::Fin(fin));
            }
        }
        let isn = e.isn?;
        ack.ge(isn.plus(1)).then_some(Acked::Syn(isn))
    }

    /// What receiving `p` does to `side`, in RFC 9293 §3.10.7.4's order:
    /// SYN, then ACK, then FIN.
    fn receive(
        &mut self,
        side: Side,
        p: &Pending,
        at: (u64, Timestamp),
        timers: Timers,
        step: &mut Step<'_>,
    ) {
        let i = idx(side);
        let syn = p.flags & flag::SYN != 0;
        let fin = p.flags & flag::FIN != 0;
        if syn && p.ack.is_none() {
            match self.endpoint(side).state {
                TcpState::Unknown | TcpState::Closed => {
                    // It answered, so it was listening.
                    self.move_to(side, TcpState::Listen, &mut step.paths[i]);
                    self.move_to(side, TcpState::SynRcvd, &mut step.paths[i]);
                }
                TcpState::Listen | TcpState::SynSent => {
                    self.move_to(side, TcpState::SynRcvd, &mut step.paths[i]);
                }
                _ => {}
            }
        }
        if let Some(ack) = p.ack {
            let e = self.endpoint(side);
            let syn_acked = e.isn.is_some_and(|isn| ack.ge(isn.plus(1)));
            match e.state {
                TcpState::Unknown if syn && syn_acked => {
                    self.move_to(side, TcpState::SynSent, &mut step.paths[i]);
                    self.move_to(side, TcpState::Established, &mut step.paths[i]);
                }
                TcpState::SynSent if syn && syn_acked => {
                    self.move_to(side, TcpState::Established, &mut step.paths[i]);
                }
                TcpState::SynRcvd if syn_acked => {
                    self.move_to(side, TcpState::Established, &mut step.paths[i]);
                }
                _ => {}
            }
            let e = self.endpoint(side);
            if e.fin_seq.is_some_and(|f| ack.ge(f.plus(1))) {
                match e.state {
                    TcpState::FinWait1 => {
                        self.move_to(side, TcpState::FinWait2, &mut step.paths[i]);
                    }
                    TcpState::Closing => self.enter_time_wait(side, at, timers, step),
                    TcpState::LastAck => {
                        self.move_to(side, TcpState::Closed, &mut step.paths[i]);
                    }
                    _ => {}
                }
            }
        }
        if fin {
            match self.endpoint(side).state {
                TcpState::SynRcvd | TcpState::Established => {
                    self.move_to(side, TcpState::CloseWait, &mut step.paths[i]);
                }
                TcpState::FinWait1 => {
                    self.move_to(side, TcpState::Closing, &mut step.paths[i]);
                }
                TcpState::FinWait2 => self.enter_time_wait(side, at, timers, step),
                _ => {}
            }
        }
    }

    /// What sending this segment does to its sender.
    fn send_effect(&mut self, seg: &Segment, side: Side, step: &mut Step<'_>) {
        let i = idx(side);
        let state = self.endpoint(side).state;
        if seg.has(flag::SYN) && !seg.has(flag::ACK) {
            match state {
                TcpState::Unknown => {
                    self.move_to(side, TcpState::Closed, &mut step.paths[i]);
                    self.move_to(side, TcpState::SynSent, &mut step.paths[i]);
                }
                TcpState::Closed | TcpState::Listen => {
                    self.move_to(side, TcpState::SynSent, &mut step.paths[i]);
                }
                _ => {}
            }
        } else if seg.has(flag::SYN) {
            // A SYN+ACK answers a SYN, whether or not that SYN was captured.
            match state {
                TcpState::Unknown | TcpState::Closed => {
                    self.move_to(side, TcpState::Listen, &mut step.paths[i]);
                    self.move_to(side, TcpState::SynRcvd, &mut step.paths[i]);
                }
                TcpState::Listen | TcpState::SynSent => {
                    self.move_to(side, TcpState::SynRcvd, &mut step.paths[i]);
                }
                _ => {}
            }
        }
        if seg.has(flag::FIN) {
            match self.endpoint(side).state {
                TcpState::SynRcvd | TcpState::Established => {
                    self.move_to(side, TcpState::FinWait1, &mut step.paths[i]);
                }
                TcpState::CloseWait => {
                    self.move_to(side, TcpState::LastAck, &mut step.paths[i]);
                }
                _ => {}
            }
        }
    }

    /// Put the segment in its receiver's inbox if it can change the
    /// receiver's state; an ACK with nothing before it applies at once.
    fn queue_for_receiver(
        &mut self,
        seg: &Segment,
        receiver: Side,
        timers: Timers,
        step: &mut Step<'_>,
    ) {
        let needs_proof = seg.has(flag::SYN | flag::FIN);
        let r = self.endpoint(receiver);
        let acks_news = seg.ack.is_some_and(|a| {
            let syn = r.isn.is_some_and(|isn| a.ge(isn.plus(1)));
            let fin = r.fin_seq.is_some_and(|f| a.ge(f.plus(1)));
            // Only what moves the receiver: the ACK of its SYN in SYN_RCVD
            // (or still SYN_SENT, behind its own pending SYN+ACK), or of its FIN.
            (syn && matches!(r.state, TcpState::SynRcvd | TcpState::SynSent))
                || (fin
                    && matches!(
                        r.state,
                        TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck
                    ))
        });
        if !needs_proof && !acks_news {
            return;
        }
        let p = Pending {
            frame: seg.frame,
            ts: seg.ts,
            flags: seg.flags,
            seq: seg.seq,
            end: seg.next_seq(),
            ack: seg.ack,
            needs_proof,
            sent_since: false,
            settled: false,
        };
        if !needs_proof && r.inbox.is_empty() {
            // Nothing before it is waiting: shown received here, on assumption.
            self.deliver(receiver, p, seg, false, timers, step);
            return;
        }
        let (dropped, replaced) = self.endpoint_mut(receiver).inbox.push(p);
        step.revisions.push(Revision::Hold {
            conn: self.id,
            frame: seg.frame,
            until: None,
        });
        for gone in [replaced, dropped].into_iter().flatten() {
            if !gone.settled {
                step.revisions.push(Revision::Settle {
                    conn: self.id,
                    frame: gone.frame,
                });
            }
        }
        if dropped.is_some() {
            // Too much unproven: this endpoint's state is no longer known.
            self.move_to(receiver, TcpState::Unknown, &mut step.paths[idx(receiver)]);
        }
    }

    /// The sender of a RST is CLOSED. A RST that answers a SYN also tells
    /// that nothing listened: the answering end never left CLOSED.
    fn sender_resets(&mut self, seg: &Segment, side: Side, step: &mut Step<'_>) {
        let other = side.other();
        let i = idx(side);
        let me = self.endpoint(side);
        let peer = self.endpoint(other);
        let answers_syn = peer.syn_seen
            && !peer.syn_acked
            && !me.synack_sent
            && !me.syn_seen
            && peer
                .isn
                .is_some_and(|isn| seg.ack.is_none_or(|a| a == isn.plus(1)));
        let cause = if answers_syn {
            ResetCause::Refused
        } else if me.keepalive_unanswered() > 0 {
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
        // The SYNs it was answering were received (and refused): settled.
        let id = self.id;
        for p in self.endpoint_mut(side).inbox.drain() {
            if !p.settled {
                step.revisions.push(Revision::Settle {
                    conn: id,
                    frame: p.frame,
                });
            }
        }
        if answers_syn {
            // What it was when the SYN came: CLOSED, shown from the SYN on.
            if let Some(syn_frame) = self.first_syn_frame(other) {
                let mut p = StatePath::at(TcpState::Unknown);
                p.push(TcpState::Closed);
                step.revisions.push(Revision::Defer {
                    conn: self.id,
                    side,
                    cause: syn_frame,
                    path: p,
                });
            }
        }
        let was_tw = self.endpoint(side).state == TcpState::TimeWait;
        self.move_to(side, TcpState::Closed, &mut step.paths[i]);
        if was_tw {
            self.end_time_wait(side, TimeWaitEnd::Reset);
        }
        self.endpoint_mut(side).resets += 1;
        if cause == ResetCause::Refused {
            if !self.refused {
                self.refused = true;
                step.events.push(self.event(seg, side, EventKind::Refused));
            }
        } else {
            self.first_reset.get_or_insert((side, cause));
            if self.aborted_by.is_none() && cause != ResetCause::Unknown {
                self.aborted_by = Some(side);
            }
        }
        step.events
            .push(self.event(seg, side, EventKind::Reset { cause }));
    }

    /// The frame of `side`'s first SYN, if this connection began with it.
    fn first_syn_frame(&self, side: Side) -> Option<u64> {
        (side == Side::Client && !self.midstream).then_some(self.first_frame)
    }

    /// A RST ends its receiver too, on assumption, unless the receiver had
    /// stopped answering (then nothing shows what became of it).
    fn receiver_resets(&mut self, sender: Side, _timers: Timers, step: &mut Step<'_>) {
        let receiver = sender.other();
        let s = self.endpoint(sender);
        let silent = s.keepalive_unanswered() > 0 || s.retransmissions_unanswered >= 2;
        let id = self.id;
        for p in self.endpoint_mut(receiver).inbox.drain() {
            if !p.settled {
                step.revisions.push(Revision::Settle {
                    conn: id,
                    frame: p.frame,
                });
            }
        }
        self.endpoint_mut(receiver).assumed = None;
        let was_tw = self.endpoint(receiver).state == TcpState::TimeWait;
        let to = if silent && self.endpoint(receiver).state != TcpState::Closed {
            TcpState::Unknown
        } else {
            TcpState::Closed
        };
        self.move_to(receiver, to, &mut step.paths[idx(receiver)]);
        if was_tw {
            self.end_time_wait(receiver, TimeWaitEnd::Reset);
        }
    }

    pub(crate) fn end_time_wait(&mut self, side: Side, how: TimeWaitEnd) {
        if let Some(tw) = &mut self.endpoint_mut(side).time_wait {
            tw.end.get_or_insert(how);
        }
    }

    /// The events this segment is on the wire, whatever its receiver made of
    /// it: handshake and close steps, half-close, a FIN repeated.
    fn segment_events(&mut self, seg: &Segment, side: Side, step: &mut Step<'_>) {
        let other = side.other();
        let syn = seg.has(flag::SYN);
        let ack = seg.has(flag::ACK);
        self.ecn_events(seg, side, step);
        // The handshake.
        if syn && !ack {
            if side == Side::Client {
                let copy = (seg.ts, seg.options.timestamp.map(|(val, _)| val));
                let n = usize::from(self.handshake.syn_copies_len);
                // Only the server's first SYN+ACK reads them.
                if n < 4 && !self.server.synack_sent {
                    let copies = self
                        .handshake
                        .syn_copies
                        .get_or_insert_with(|| Box::new([(Timestamp::default(), None); 4]));
                    copies[n] = copy;
                    self.handshake.syn_copies_len += 1;
                }
                if self.handshake.syn_ts.is_none() {
                    self.handshake.syn_ts = Some(seg.ts);
                }
                self.handshake.syn_count += 1;
            }
            let me = self.endpoint(side);
            let peer = self.endpoint(other);
            if me.isn == Some(seg.seq) && !me.synack_sent && me.packets > 1 {
                // A retransmitted SYN: the analysis says so.
            } else if peer.syn_seen && !peer.synack_sent && !peer.syn_acked && me.packets == 1 {
                self.handshake.simultaneous = true;
                step.events
                    .push(self.event(seg, side, EventKind::SimultaneousOpen));
            } else if me.packets == 1 {
                step.events.push(self.event(
                    seg,
                    side,
                    EventKind::Handshake {
                        step: 1,
                        rtt_ns: None,
                    },
                ));
            }
        }
        if syn && ack && !self.endpoint(side).synack_sent {
            self.endpoint_mut(side).synack_sent = true;
            if side == Side::Server {
                self.note_answered_syn(seg);
            }
            if self.handshake.simultaneous {
                if self.client.synack_sent && self.server.synack_sent {
                    self.handshake.complete = true;
                }
            } else {
                step.events.push(self.event(
                    seg,
                    side,
                    EventKind::Handshake {
                        step: 2,
                        rtt_ns: None,
                    },
                ));
            }
        }
        if let Some(a) = seg.ack {
            let peer = self.endpoint(other);
            if !peer.syn_acked && peer.isn.is_some_and(|isn| a.ge(isn.plus(1))) {
                self.endpoint_mut(other).syn_acked = true;
                let peer = self.endpoint(other);
                if !syn
                    && peer.synack_sent
                    && !self.handshake.complete
                    && !self.handshake.simultaneous
                {
                    self.handshake.complete = true;
                    // A clock stepping back gives no round trip, not a negative one.
                    let rtt = self
                        .handshake
                        .answered_syn
                        .and_then(|t| u64::try_from(seg.ts.nanos_since(t)).ok());
                    self.handshake.rtt_ns = rtt;
                    step.events.push(self.event(
                        seg,
                        side,
                        EventKind::Handshake {
                            step: 3,
                            rtt_ns: rtt,
                        },
                    ));
                }
            }
        }
        // The close: FINs and the ACKs of FINs, in the order they are sent.
        let acks_peer_fin = {
            let peer = self.endpoint(other);
            peer.fin_seq
                .is_some_and(|f| !peer.fin_acked && seg.ack.is_some_and(|a| a.ge(f.plus(1))))
        };
        let fin_seq = seg.seq.plus(seg.payload_len + u32::from(syn));
        let new_fin =
            seg.has(flag::FIN) && self.endpoint(side).fin_seq.is_none_or(|f| f != fin_seq);
        if seg.has(flag::FIN) && !new_fin {
            // The same FIN again. From LAST_ACK that means our final ACK never arrived.
            if self.endpoint(side).state == TcpState::LastAck
                && self.endpoint(other).state == TcpState::TimeWait
            {
                step.events
                    .push(self.event(seg, side, EventKind::LastAckLost));
            }
        }
        if new_fin && self.endpoint(side).fin_seq.is_none() {
            self.endpoint_mut(side).fin_seq = Some(fin_seq);
            if self.endpoint(other).fin_seq.is_none() {
                self.close.first_fin.get_or_insert(side);
                self.close_step(seg, side, CloseVariant::FourWay, step);
            } else {
                let variant = if !self.endpoint(other).fin_acked && !acks_peer_fin {
                    CloseVariant::Simultaneous
                } else if acks_peer_fin && self.close.steps == 1 {
                    CloseVariant::ThreeWay
                } else {
                    CloseVariant::FourWay
                };
                self.close.variant = Some(variant);
                self.close_step(seg, side, variant, step);
            }
        }
        if acks_peer_fin {
            self.endpoint_mut(other).fin_acked = true;
            let second_fin_here = new_fin && self.close.variant == Some(CloseVariant::ThreeWay);
            if !second_fin_here {
                let variant = self.close.variant.unwrap_or(CloseVariant::FourWay);
                self.close_step(seg, side, variant, step);
            }
        }
        // Half-close: data toward a side that has sent its FIN (it closed its
        // direction and still receives), from a side that has not.
        if seg.payload_len > 0 {
            let peer_closed = self.endpoint(other).fin_seq.is_some();
            if peer_closed && self.endpoint(side).fin_seq.is_none() {
                self.close.half_close_bytes += u64::from(seg.payload_len);
                if !self.close.half_close {
                    self.close.half_close = true;
                    step.events.push(self.event(
                        seg,
                        side,
                        EventKind::HalfClose {
                            bytes: u64::from(seg.payload_len),
                        },
                    ));
                }
            }
        }
    }

    /// ECN: the handshake's negotiation (RFC 3168 §6.1.1; RFC 9768 §3.1),
    /// CE marks, and their echo (ECE) and answer (CWR).
    fn ecn_events(&mut self, seg: &Segment, side: Side, step: &mut Step<'_>) {
        let i = idx(side);
        let (ece, cwr, ae) = (seg.has(flag::ECE), seg.has(flag::CWR), seg.ae);
        if seg.has(flag::SYN) && !seg.has(flag::ACK) {
            self.ecn.requested = match (ae, cwr, ece) {
                (true, true, true) => Some(EcnMode::Accurate),
                (false, true, true) => Some(EcnMode::Classic),
                _ => None,
            };
            return;
        }
        if seg.has(flag::SYN) {
            if let (Some(asked), None) = (self.ecn.requested, self.ecn.mode) {
                let mode = match (asked, ae, cwr, ece) {
                    (_, false, false, false) => EcnMode::None,
                    (_, false, false, true) => EcnMode::Classic,
                    (EcnMode::Accurate, _, _, _) => EcnMode::Accurate,
                    _ => EcnMode::None,
                };
                self.ecn.mode = Some(mode);
                step.events
                    .push(self.event(seg, side, EventKind::EcnSetup { mode }));
            }
            return;
        }
        if seg.ecn == crate::decode::net::Ecn::Ce {
            self.ecn.ce[i] += 1;
            step.events
                .push(self.event(seg, side, EventKind::CongestionExperienced));
        }
        if self.ecn.mode != Some(EcnMode::Classic) {
            return;
        }
        if ece {
            self.ecn.ece[i] += 1;
            if !self.ecn.echoing[i] {
                self.ecn.echoing[i] = true;
                step.events.push(self.event(seg, side, EventKind::EcnEcho));
            }
        } else {
            self.ecn.echoing[i] = false;
        }
        if cwr {
            self.ecn.cwr[i] += 1;
            step.events
                .push(self.event(seg, side, EventKind::WindowReduced));
        }
    }

    /// Which SYN copy the SYN+ACK answers: the one whose TS value it echoes;
    /// with one copy, that one; else unknown (Karn's rule).
    fn note_answered_syn(&mut self, synack: &Segment) {
        let all = self.handshake.syn_copies.take();
        let copies = match &all {
            Some(c) => &c[..usize::from(self.handshake.syn_copies_len)],
            None => &[],
        };
        let echoed = synack.options.timestamp.map(|(_, ecr)| ecr);
        let answered = match (copies.len(), echoed) {
            (0, _) => None,
            (1, _) => Some(copies[0].0),
            (_, Some(ecr)) => copies
                .iter()
                .rev()
                .find(|(_, val)| *val == Some(ecr))
                .map(|(ts, _)| *ts),
            (_, None) => None,
        };
        self.handshake.rtt_ambiguous = answered.is_none() && !copies.is_empty();
        self.handshake.answered_syn = answered;
    }

    /// The next step of the close. How many steps it takes is unknown at
    /// step 1: only the peer's answer tells a three-packet close from a four-way one.
    fn close_step(
        &mut self,
        seg: &Segment,
        side: Side,
        variant: CloseVariant,
        step: &mut Step<'_>,
    ) {
        self.close.steps = self.close.steps.saturating_add(1);
        let n = self.close.steps;
        let of = (n > 1).then_some(if variant == CloseVariant::ThreeWay {
            3
        } else {
            4
        });
        step.events.push(self.event(
            seg,
            side,
            EventKind::Close {
                step: n,
                of,
                variant,
            },
        ));
    }

    /// The capture clock passed this side's TIME_WAIT expiry.
    pub(crate) fn expire_time_wait(&mut self, side: Side) -> bool {
        if self.endpoint(side).state != TcpState::TimeWait {
            return false;
        }
        let mut path = StatePath::at(TcpState::TimeWait);
        self.move_to(side, TcpState::Closed, &mut path);
        self.end_time_wait(side, TimeWaitEnd::Expired);
        true
    }

    /// A new connection took this 4-tuple: a TIME_WAIT end accepted its SYN.
    pub(crate) fn reused(&mut self) {
        for side in [Side::Client, Side::Server] {
            if self.endpoint(side).state == TcpState::TimeWait {
                let mut path = StatePath::at(TcpState::TimeWait);
                self.move_to(side, TcpState::Closed, &mut path);
                self.end_time_wait(side, TimeWaitEnd::Reused);
            }
        }
    }
}

fn track_zero_window(me: &mut Endpoint, seg: &Segment, window: u32) {
    if seg.has(flag::SYN | flag::FIN | flag::RST) {
        return;
    }
    if window == 0 {
        me.zero_window
            .get_or_insert_default()
            .since
            .get_or_insert(seg.ts);
    } else if let Some(z) = &mut me.zero_window {
        if let Some(since) = z.since.take() {
            z.ns += seg.ts.nanos_since(since).max(0);
        }
    }
}

/// `ts + ns`.
pub(crate) fn add_ns(ts: Timestamp, ns: i128) -> Timestamp {
    let total = ts.as_nanos() + ns;
    Timestamp::new(
        (total.div_euclid(1_000_000_000)) as i64,
        total.rem_euclid(1_000_000_000) as u32,
    )
}

// Packed while the connection waits (see `pack.rs`): its first time before
// the others, which pack as distances from it.
use super::pack::{pack_struct, Pack, Packer, Unpacker};
use std::net::SocketAddr;
impl Pack for Connection {
    fn pack(&self, p: &mut Packer) {
        // The id and last time are kept apart (`store.rs`), and the key
        // comes first: a packed connection's key is read without the rest.
        let Connection {
            id: _,
            last_ts: _,
            tunnel,
            client,
            server,
            midstream,
            first_frame,
            last_frame,
            first_ts,
            handshake,
            close,
            refused,
            aborted_by,
            first_reset,
            port_reuse,
            zeek,
            time_went_back,
            ecn,
        } = self;
        tunnel.pack(p);
        client.addr.pack(p);
        server.addr.pack(p);
        first_ts.pack(p);
        client.pack(p);
        server.pack(p);
        midstream.pack(p);
        first_frame.pack(p);
        last_frame.pack(p);
        handshake.pack(p);
        close.pack(p);
        refused.pack(p);
        aborted_by.pack(p);
        first_reset.pack(p);
        port_reuse.pack(p);
        zeek.pack(p);
        time_went_back.pack(p);
        ecn.pack(p);
    }

    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let tunnel = u64::unpack(u);
        let (client_addr, server_addr) = (SocketAddr::unpack(u), SocketAddr::unpack(u));
        let first_ts = Timestamp::unpack(u);
        let mut client = Endpoint::unpack(u);
        let mut server = Endpoint::unpack(u);
        client.addr = client_addr;
        server.addr = server_addr;
        Connection {
            id: u.id,
            last_ts: u.last_ts,
            tunnel,
            client,
            server,
            first_ts,
            midstream: Pack::unpack(u),
            first_frame: Pack::unpack(u),
            last_frame: Pack::unpack(u),
            handshake: Pack::unpack(u),
            close: Pack::unpack(u),
            refused: Pack::unpack(u),
            aborted_by: Pack::unpack(u),
            first_reset: Pack::unpack(u),
            port_reuse: Pack::unpack(u),
            zeek: Pack::unpack(u),
            time_went_back: Pack::unpack(u),
            ecn: Pack::unpack(u),
        }
    }

    fn unpack_into(&mut self, u: &mut Unpacker<'_>) {
        let Connection {
            id,
            last_ts,
            tunnel,
            client,
            server,
            midstream,
            first_frame,
            last_frame,
            first_ts,
            handshake,
            close,
            refused,
            aborted_by,
            first_reset,
            port_reuse,
            zeek,
            time_went_back,
            ecn,
        } = self;
        *id = u.id;
        *last_ts = u.last_ts;
        tunnel.unpack_into(u);
        client.addr.unpack_into(u);
        server.addr.unpack_into(u);
        first_ts.unpack_into(u);
        client.unpack_into(u);
        server.unpack_into(u);
        midstream.unpack_into(u);
        first_frame.unpack_into(u);
        last_frame.unpack_into(u);
        handshake.unpack_into(u);
        close.unpack_into(u);
        refused.unpack_into(u);
        aborted_by.unpack_into(u);
        first_reset.unpack_into(u);
        port_reuse.unpack_into(u);
        zeek.unpack_into(u);
        time_went_back.unpack_into(u);
        ecn.unpack_into(u);
    }
}
pack_struct!(Handshake {
    syn_ts,
    syn_copies,
    syn_copies_len,
    answered_syn,
    complete,
    syn_count,
    rtt_ns,
    rtt_ambiguous,
    simultaneous,
});
pack_struct!(Close {
    variant,
    first_fin,
    steps,
    half_close,
    half_close_bytes,
});
pack_struct!(Ecn {
    requested,
    mode,
    ce,
    ece,
    cwr,
    echoing,
});
