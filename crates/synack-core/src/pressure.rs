//! Pressure: what a capture shows about load on hosts and listeners, as
//! counters kept while the tracker runs and turned into facts once.
//!
//! - TIME_WAIT per host (IP address): how many of its endpoints were in
//!   TIME_WAIT at once, at the peak, and when.
//! - Per server (address and port): connection attempts, the peak of
//!   half-open connections (SYN received, handshake not complete), SYN-ACKs
//!   never answered (resent, so the server kept state; or sent once and never
//!   again, as a stateless SYN cookie is), SYNs never answered while it
//!   answered others (its listen queue was full), distinct sources and the
//!   peak SYN rate; from these, a SYN-flood warning with its evidence.
//! - Per client host: distinct local ports used within one TIME_WAIT span
//!   (2MSL), to set against the ephemeral port range, and ports used again
//!   within that span; 4-tuples reused (a new SYN on an old connection's ports).
//!
//! The tracker feeds it at every endpoint state change, at every new
//! connection and when a connection leaves. Memory is bounded: every map has
//! a cap, and what a cap turned away is counted.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::decode::Timestamp;
use crate::track::{Connection, Side, TcpState, SECOND};

/// Linux's default ephemeral port range (`net.ipv4.ip_local_port_range`),
/// used to put a client's port use in proportion; nothing is read from the
/// host that made or reads the capture.
pub const LINUX_EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);

/// How many ports [`LINUX_EPHEMERAL_PORTS`] holds (28232).
pub const fn linux_ephemeral_port_count() -> u32 {
    LINUX_EPHEMERAL_PORTS.1 as u32 - LINUX_EPHEMERAL_PORTS.0 as u32 + 1
}

/// Linux's first SYN-ACK retransmission timeout (TCP_TIMEOUT_INIT, RFC 6298's
/// initial RTO). A SYN-ACK left unanswered and never resent although the
/// capture went on this long after it (with a margin for timer slack) came
/// from a server that kept no state for it: a SYN cookie.
pub const SYNACK_FIRST_RTO_NS: i128 = SECOND;
const STATELESS_AFTER_NS: i128 = SYNACK_FIRST_RTO_NS * 3 / 2;

/// A SYN flood is flagged when a server saw at least this many connection
/// attempts that never completed…
pub const FLOOD_MIN_INCOMPLETE: u64 = 100;
/// …at least this many new SYNs within one second…
pub const FLOOD_MIN_RATE: u32 = 100;
/// …and at least this many of them pending at once: half-open (answered,
/// never completed), or never answered at all. Ordinary busy servers finish
/// their handshakes within a round trip, so few are ever half-open at once.
pub const FLOOD_MIN_PENDING: u64 = 100;

/// Caps on what is tracked; beyond them new hosts, servers and port records
/// are turned away and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PressureCaps {
    /// Hosts whose TIME_WAIT is counted.
    pub hosts: usize,
    /// Servers (address and port) whose load is counted.
    pub servers: usize,
    /// Client hosts whose port use is followed.
    pub client_hosts: usize,
    /// Port records (one per local port per client host within a 2MSL span), all hosts together.
    pub port_records: usize,
    /// Distinct source addresses remembered per server.
    pub sources: usize,
}

impl Default for PressureCaps {
    fn default() -> Self {
        PressureCaps {
            hosts: 16_384,
            servers: 4_096,
            client_hosts: 4_096,
            port_records: 262_144,
            sources: 64,
        }
    }
}

/// TIME_WAIT on one host, as the capture shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostTimeWait {
    /// The host's address.
    pub host: IpAddr,
    /// Most of its endpoints in TIME_WAIT at once.
    pub peak: u32,
    /// When the peak was first reached.
    pub at: Timestamp,
    /// At the peak, how many were the server end of their connection.
    pub peak_as_server: u32,
    /// At the peak, how many were the client end.
    pub peak_as_client: u32,
    /// Endpoints of this host that entered TIME_WAIT over the whole capture.
    pub entered: u64,
}

/// One listening server's load, as the capture shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLoad {
    /// The server's address and port.
    pub server: SocketAddr,
    /// Connection attempts: new connections opened by a SYN to it.
    pub attempts: u64,
    /// Handshakes completed.
    pub handshakes: u64,
    /// Most connections half-open at once (it had answered the SYN, the
    /// handshake was not complete).
    pub half_open_peak: u32,
    /// When that peak was first reached.
    pub half_open_at: Option<Timestamp>,
    /// SYN-ACKs the client never answered (no ACK, no RST).
    pub synacks_unanswered: u64,
    /// Of those, SYN-ACKs the server resent: it kept the half-open connection.
    pub synacks_resent: u64,
    /// Of those, SYN-ACKs sent once and never resent although the capture
    /// went on longer than the first SYN-ACK timeout: no state was kept (a
    /// SYN cookie).
    pub synacks_stateless: u64,
    /// Connection attempts whose SYNs the server never answered at all.
    pub syns_unanswered: u64,
    /// The SYN segments of those attempts, retransmissions included.
    pub syn_segments_unanswered: u64,
    /// Distinct source addresses of the attempts (at most the cap).
    pub sources: u32,
    /// More sources came than the cap remembers.
    pub sources_capped: bool,
    /// Most new SYNs within one second.
    pub peak_syn_rate: u32,
    /// When that rate was reached (the end of the one-second window).
    pub peak_syn_rate_at: Option<Timestamp>,
}

impl ServerLoad {
    /// Attempts that never completed: SYN-ACKs unanswered and SYNs unanswered.
    pub fn incomplete(&self) -> u64 {
        self.synacks_unanswered + self.syns_unanswered
    }

    /// SYNs went unanswered while the server completed other handshakes: it
    /// was listening, so it dropped them (a full accept queue or SYN queue).
    pub fn dropped_syns_while_listening(&self) -> bool {
        self.syns_unanswered > 0 && self.handshakes > 0
    }

    /// The evidence of a SYN flood, if the numbers add up to one.
    pub fn flood(&self) -> bool {
        self.incomplete() >= FLOOD_MIN_INCOMPLETE
            && self.peak_syn_rate >= FLOOD_MIN_RATE
            && (u64::from(self.half_open_peak) >= FLOOD_MIN_PENDING
                || self.syns_unanswered >= FLOOD_MIN_PENDING)
    }
}

/// One client host's use of local ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientPorts {
    /// The host's address.
    pub host: IpAddr,
    /// Connections it opened (with a SYN).
    pub connections: u64,
    /// Most distinct local ports it used within one 2MSL span.
    pub peak_ports: u32,
    /// When that peak was reached.
    pub at: Timestamp,
    /// Times it used a local port again within 2MSL of its last use.
    pub reused_within_span: u64,
}

impl ClientPorts {
    /// `peak_ports` as a share of Linux's default ephemeral range, in percent.
    pub fn share_of_default_range(&self) -> f64 {
        f64::from(self.peak_ports) * 100.0 / f64::from(linux_ephemeral_port_count())
    }
}

/// What the caps turned away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capped {
    /// TIME_WAIT entries of hosts beyond the host cap.
    pub hosts: u64,
    /// Connection attempts to servers beyond the server cap.
    pub servers: u64,
    /// Connections from client hosts beyond the cap, or beyond the port-record budget.
    pub client_ports: u64,
}

/// Everything the pressure analysis found, computed once at the end.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PressureFacts {
    /// 2MSL, the span the port figures count within.
    pub span_ns: i128,
    /// Hosts that had an endpoint in TIME_WAIT, highest peak first.
    pub time_wait: Vec<HostTimeWait>,
    /// Servers that got connection attempts, most incomplete first, then most attempts.
    pub servers: Vec<ServerLoad>,
    /// Client hosts that opened connections, highest port peak first.
    pub clients: Vec<ClientPorts>,
    /// New SYNs on the 4-tuple of an earlier connection.
    pub port_reuse: u64,
    /// Of those, how many found the earlier one still in TIME_WAIT.
    pub port_reuse_in_time_wait: u64,
    /// What the caps turned away (the figures above are then lower bounds).
    pub capped: Capped,
}

impl PressureFacts {
    /// Servers whose numbers add up to a SYN flood.
    pub fn floods(&self) -> impl Iterator<Item = &ServerLoad> {
        self.servers.iter().filter(|s| s.flood())
    }

    /// The highest TIME_WAIT peak of any host.
    pub fn time_wait_peak(&self) -> u32 {
        self.time_wait.first().map_or(0, |h| h.peak)
    }

    /// The facts for one host's TIME_WAIT, if it had any.
    pub fn time_wait_of(&self, host: IpAddr) -> Option<&HostTimeWait> {
        self.time_wait.iter().find(|h| h.host == host)
    }

    /// The facts for one server, if it got attempts.
    pub fn server(&self, addr: SocketAddr) -> Option<&ServerLoad> {
        self.servers.iter().find(|s| s.server == addr)
    }

    /// The facts for one client host, if it opened connections.
    pub fn client(&self, host: IpAddr) -> Option<&ClientPorts> {
        self.clients.iter().find(|c| c.host == host)
    }
}

#[derive(Default)]
struct HostTw {
    now: [u32; 2],
    peak: u32,
    at: Timestamp,
    peak_sides: [u32; 2],
    entered: u64,
}

/// New SYNs per 100 ms slot over the last second.
#[derive(Default)]
struct Rate {
    slots: [u32; 10],
    /// The slot (100 ms units since the epoch) of the newest count.
    newest: i64,
    peak: u32,
    peak_at: Option<Timestamp>,
}

impl Rate {
    const SLOT_NS: i128 = SECOND / 10;

    fn add(&mut self, ts: Timestamp) {
        let slot = i64::try_from(ts.as_nanos().div_euclid(Self::SLOT_NS)).unwrap_or(i64::MAX);
        if self.peak_at.is_none() {
            self.newest = slot;
        }
        if slot > self.newest {
            let gap = (slot - self.newest).min(10);
            for i in 1..=gap {
                let s = (self.newest + i).rem_euclid(10) as usize;
                self.slots[s] = 0;
            }
            self.newest = slot;
        }
        // A SYN stamped earlier than the newest (time went back) counts in the newest slot.
        let s = self.newest.rem_euclid(10) as usize;
        self.slots[s] += 1;
        let sum: u32 = self.slots.iter().sum();
        if sum > self.peak || self.peak_at.is_none() {
            self.peak = sum;
            self.peak_at = Some(ts);
        }
    }
}

struct Server {
    attempts: u64,
    handshakes: u64,
    half_open: u32,
    half_open_peak: u32,
    half_open_at: Option<Timestamp>,
    synacks_unanswered: u64,
    synacks_resent: u64,
    synacks_stateless: u64,
    syns_unanswered: u64,
    syn_segments_unanswered: u64,
    sources: Vec<IpAddr>,
    sources_capped: bool,
    rate: Rate,
}

impl Server {
    fn new() -> Server {
        Server {
            attempts: 0,
            handshakes: 0,
            half_open: 0,
            half_open_peak: 0,
            half_open_at: None,
            synacks_unanswered: 0,
            synacks_resent: 0,
            synacks_stateless: 0,
            syns_unanswered: 0,
            syn_segments_unanswered: 0,
            sources: Vec::new(),
            sources_capped: false,
            rate: Rate::default(),
        }
    }
}

/// One client host's ports within the last 2MSL: each port's last use, and
/// the uses in time order (an entry whose port was used again later is
/// stale and skipped; stale entries are dropped when they pile up).
#[derive(Default)]
struct Ports {
    last_use: FxHashMap<u16, i128>,
    uses: VecDeque<(i128, u16)>,
    connections: u64,
    peak: u32,
    at: Timestamp,
    reused_within_span: u64,
}

/// The pressure counters, fed by the tracker.
pub struct Pressure {
    caps: PressureCaps,
    span_ns: i128,
    hosts: FxHashMap<IpAddr, HostTw>,
    servers: FxHashMap<SocketAddr, Server>,
    clients: FxHashMap<IpAddr, Ports>,
    /// Port records held by all client hosts (map entries and queued uses).
    port_records: usize,
    port_reuse: u64,
    port_reuse_in_time_wait: u64,
    capped: Capped,
    /// Recording (see [`Pressure::record`]): changes are kept here, not counted.
    log: Option<Vec<PressureOp>>,
}

/// One change to the pressure counters, as the tracker reports it. A tracker
/// that sees only some connections (one thread's share) records these
/// instead of counting them; a merger replays every tracker's changes in
/// capture order into one [`Pressure`] with [`Pressure::apply`], so peaks
/// over all connections come out as one tracker would find them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PressureOp {
    /// An endpoint went from `from` to `to` at `ts`.
    Moved {
        /// The endpoint's address and port.
        addr: SocketAddr,
        /// Which end of its connection it is.
        side: Side,
        /// Its state before.
        from: TcpState,
        /// Its state after.
        to: TcpState,
        /// When.
        ts: Timestamp,
        /// Into TIME_WAIT: when it entered (the FIN that took it there).
        entered: Timestamp,
    },
    /// A new connection opened with a SYN from `client` to `server` at `ts`.
    Opened {
        /// The SYN's sender.
        client: SocketAddr,
        /// Where it went.
        server: SocketAddr,
        /// When.
        ts: Timestamp,
    },
    /// A new SYN took the 4-tuple of an earlier connection.
    PortReused {
        /// The earlier one was still in TIME_WAIT.
        in_time_wait: bool,
    },
    /// A connection opened by a SYN left the tracker: how its handshake went.
    Left {
        /// The server it was opened to.
        server: SocketAddr,
        /// How its handshake ended.
        handshake: HandshakeOutcome,
    },
}

/// How a connection's handshake ended, for its server's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeOutcome {
    /// Completed.
    Complete,
    /// The server never answered; the client sent `syns` SYNs.
    SynUnanswered {
        /// SYN segments, retransmissions included.
        syns: u32,
    },
    /// The server answered with a SYN-ACK the client never answered.
    SynAckUnanswered {
        /// The server resent it (it kept state).
        resent: bool,
        /// Sent once and never again although the capture went on: a SYN cookie.
        stateless: bool,
    },
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

impl Pressure {
    /// Counters for a capture whose TIME_WAIT lasts `span_ns` (2MSL).
    pub fn new(span_ns: i128, caps: PressureCaps) -> Pressure {
        Pressure {
            caps,
            span_ns,
            hosts: FxHashMap::default(),
            servers: FxHashMap::default(),
            clients: FxHashMap::default(),
            port_records: 0,
            port_reuse: 0,
            port_reuse_in_time_wait: 0,
            capped: Capped::default(),
            log: None,
        }
    }

    /// From now on keep each change as a [`PressureOp`] (taken with
    /// [`Pressure::take_ops`]) instead of counting it: for a tracker that
    /// sees only some of the connections.
    pub fn record(&mut self) {
        self.log.get_or_insert_with(Vec::new);
    }

    /// The changes recorded since the last call, oldest first, appended to `out`.
    pub fn take_ops(&mut self, out: &mut Vec<PressureOp>) {
        if let Some(log) = &mut self.log {
            out.append(log);
        }
    }

    fn note(&mut self, op: PressureOp) {
        match &mut self.log {
            Some(log) => log.push(op),
            None => self.apply(op),
        }
    }

    /// Count one change (recorded by another tracker, replayed in capture order).
    pub fn apply(&mut self, op: PressureOp) {
        match op {
            PressureOp::Moved {
                addr,
                side,
                from,
                to,
                ts,
                entered,
            } => self.apply_move(addr, side, from, to, ts, entered),
            PressureOp::Opened { client, server, ts } => self.apply_opened(client, server, ts),
            PressureOp::PortReused { in_time_wait } => {
                self.port_reuse += 1;
                if in_time_wait {
                    self.port_reuse_in_time_wait += 1;
                }
            }
            PressureOp::Left { server, handshake } => self.apply_left(server, handshake),
        }
    }

    /// An endpoint of `c` on `side` went from `from` to `to` at `ts`.
    pub(crate) fn moved(
        &mut self,
        c: &Connection,
        side: Side,
        from: TcpState,
        to: TcpState,
        ts: Timestamp,
    ) {
        if from == to {
            return;
        }
        let e = c.endpoint(side);
        // When it entered TIME_WAIT: the FIN that took it there, not the later proof.
        let entered = match to {
            TcpState::TimeWait => e.time_wait().map_or(ts, |tw| tw.entered),
            _ => ts,
        };
        self.note(PressureOp::Moved {
            addr: e.addr(),
            side,
            from,
            to,
            ts,
            entered,
        });
    }

    fn apply_move(
        &mut self,
        addr: SocketAddr,
        side: Side,
        from: TcpState,
        to: TcpState,
        ts: Timestamp,
        entered: Timestamp,
    ) {
        if to == TcpState::TimeWait {
            self.enter_time_wait(addr.ip(), side, entered);
        } else if from == TcpState::TimeWait {
            self.leave_time_wait(addr.ip(), side);
        }
        if side == Side::Server {
            if to == TcpState::SynRcvd {
                if let Some(s) = self.servers.get_mut(&addr) {
                    s.half_open += 1;
                    if s.half_open > s.half_open_peak {
                        s.half_open_peak = s.half_open;
                        s.half_open_at = Some(ts);
                    }
                }
            } else if from == TcpState::SynRcvd {
                if let Some(s) = self.servers.get_mut(&addr) {
                    s.half_open = s.half_open.saturating_sub(1);
                }
            }
        }
    }

    fn enter_time_wait(&mut self, host: IpAddr, side: Side, at: Timestamp) {
        if !self.hosts.contains_key(&host) && self.hosts.len() >= self.caps.hosts {
            self.capped.hosts += 1;
            return;
        }
        let h = self.hosts.entry(host).or_default();
        h.now[side_index(side)] += 1;
        h.entered += 1;
        let now = h.now[0] + h.now[1];
        if now > h.peak {
            h.peak = now;
            h.at = at;
            h.peak_sides = h.now;
        }
    }

    fn leave_time_wait(&mut self, host: IpAddr, side: Side) {
        if let Some(h) = self.hosts.get_mut(&host) {
            let n = &mut h.now[side_index(side)];
            *n = n.saturating_sub(1);
        }
    }

    /// A new connection opened with a SYN from `client` to `server` at `ts`.
    pub(crate) fn opened(&mut self, client: SocketAddr, server: SocketAddr, ts: Timestamp) {
        self.note(PressureOp::Opened { client, server, ts });
    }

    fn apply_opened(&mut self, client: SocketAddr, server: SocketAddr, ts: Timestamp) {
        let cap = self.caps.servers;
        let known = self.servers.len();
        match self.servers.get_mut(&server) {
            Some(s) => Self::count_attempt(s, client, ts, self.caps.sources),
            None if known < cap => {
                let mut s = Server::new();
                Self::count_attempt(&mut s, client, ts, self.caps.sources);
                self.servers.insert(server, s);
            }
            None => self.capped.servers += 1,
        }
        self.client_port(client, ts);
    }

    fn count_attempt(s: &mut Server, client: SocketAddr, ts: Timestamp, max_sources: usize) {
        s.attempts += 1;
        s.rate.add(ts);
        let ip = client.ip();
        if !s.sources.contains(&ip) {
            if s.sources.len() < max_sources {
                s.sources.push(ip);
            } else {
                s.sources_capped = true;
            }
        }
    }

    fn client_port(&mut self, client: SocketAddr, ts: Timestamp) {
        let host = client.ip();
        if !self.clients.contains_key(&host) && self.clients.len() >= self.caps.client_hosts {
            self.capped.client_ports += 1;
            return;
        }
        let budget_left = self.port_records < self.caps.port_records;
        let span = self.span_ns;
        let p = self.clients.entry(host).or_default();
        p.connections += 1;
        let now = ts.as_nanos();
        // Forget uses older than one span.
        while let Some(&(t, port)) = p.uses.front() {
            if now - t < span {
                break;
            }
            p.uses.pop_front();
            self.port_records -= 1;
            if p.last_use.get(&port) == Some(&t) {
                p.last_use.remove(&port);
                self.port_records -= 1;
            }
        }
        let port = client.port();
        match p.last_use.get_mut(&port) {
            Some(t) => {
                p.reused_within_span += 1;
                *t = now;
            }
            None if budget_left => {
                p.last_use.insert(port, now);
                self.port_records += 1;
            }
            None => {
                self.capped.client_ports += 1;
                return;
            }
        }
        p.uses.push_back((now, port));
        self.port_records += 1;
        // Stale uses (of ports used again since) pile up under heavy reuse.
        if p.uses.len() > 2 * p.last_use.len() + 64 {
            let before = p.uses.len();
            let last = &p.last_use;
            p.uses.retain(|(t, port)| last.get(port) == Some(t));
            self.port_records -= before - p.uses.len();
        }
        let distinct = u32::try_from(p.last_use.len()).unwrap_or(u32::MAX);
        if distinct > p.peak {
            p.peak = distinct;
            p.at = ts;
        }
    }

    /// A new SYN took the 4-tuple of an earlier connection.
    pub(crate) fn port_reused(&mut self, previous_in_time_wait: bool) {
        self.note(PressureOp::PortReused {
            in_time_wait: previous_in_time_wait,
        });
    }

    /// `c` left the tracker at capture time `now`: its endpoints leave the
    /// counts, and its handshake is classified.
    pub(crate) fn left(&mut self, c: &Connection, now: Timestamp) {
        let states = c.states();
        for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
            self.moved(c, side, states[i], TcpState::Closed, now);
        }
        if c.midstream() || !c.client().sent_syn() {
            return;
        }
        let client = c.client();
        let server = c.server();
        let handshake = if c.handshake().complete() {
            HandshakeOutcome::Complete
        } else if server.packets() == 0 {
            HandshakeOutcome::SynUnanswered {
                syns: c.handshake().syn_count(),
            }
        } else if server.sent_syn()
            && client.resets() == 0
            && client.packets() == u64::from(c.handshake().syn_count())
        {
            // SYN-ACK sent, and the client sent nothing but its SYNs.
            HandshakeOutcome::SynAckUnanswered {
                resent: server.retransmissions() > 0,
                stateless: server
                    .last_sent
                    .is_some_and(|t| now.nanos_since(t) >= STATELESS_AFTER_NS),
            }
        } else {
            return;
        };
        self.note(PressureOp::Left {
            server: server.addr(),
            handshake,
        });
    }

    fn apply_left(&mut self, server: SocketAddr, handshake: HandshakeOutcome) {
        let Some(s) = self.servers.get_mut(&server) else {
            return;
        };
        match handshake {
            HandshakeOutcome::Complete => s.handshakes += 1,
            HandshakeOutcome::SynUnanswered { syns } => {
                s.syns_unanswered += 1;
                s.syn_segments_unanswered += u64::from(syns);
            }
            HandshakeOutcome::SynAckUnanswered { resent, stateless } => {
                s.synacks_unanswered += 1;
                if resent {
                    s.synacks_resent += 1;
                } else if stateless {
                    s.synacks_stateless += 1;
                }
            }
        }
    }

    /// The facts, as the capture shows them so far.
    pub fn facts(&self) -> PressureFacts {
        let mut time_wait: Vec<HostTimeWait> = self
            .hosts
            .iter()
            .filter(|(_, h)| h.peak > 0)
            .map(|(host, h)| HostTimeWait {
                host: *host,
                peak: h.peak,
                at: h.at,
                peak_as_client: h.peak_sides[0],
                peak_as_server: h.peak_sides[1],
                entered: h.entered,
            })
            .collect();
        time_wait.sort_by(|a, b| b.peak.cmp(&a.peak).then(a.host.cmp(&b.host)));
        let mut servers: Vec<ServerLoad> = self
            .servers
            .iter()
            .map(|(addr, s)| ServerLoad {
                server: *addr,
                attempts: s.attempts,
                handshakes: s.handshakes,
                half_open_peak: s.half_open_peak,
                half_open_at: s.half_open_at,
                synacks_unanswered: s.synacks_unanswered,
                synacks_resent: s.synacks_resent,
                synacks_stateless: s.synacks_stateless,
                syns_unanswered: s.syns_unanswered,
                syn_segments_unanswered: s.syn_segments_unanswered,
                sources: u32::try_from(s.sources.len()).unwrap_or(u32::MAX),
                sources_capped: s.sources_capped,
                peak_syn_rate: s.rate.peak,
                peak_syn_rate_at: s.rate.peak_at,
            })
            .collect();
        servers.sort_by(|a, b| {
            b.incomplete()
                .cmp(&a.incomplete())
                .then(b.attempts.cmp(&a.attempts))
                .then(a.server.cmp(&b.server))
        });
        let mut clients: Vec<ClientPorts> = self
            .clients
            .iter()
            .map(|(host, p)| ClientPorts {
                host: *host,
                connections: p.connections,
                peak_ports: p.peak,
                at: p.at,
                reused_within_span: p.reused_within_span,
            })
            .collect();
        clients.sort_by(|a, b| b.peak_ports.cmp(&a.peak_ports).then(a.host.cmp(&b.host)));
        PressureFacts {
            span_ns: self.span_ns,
            time_wait,
            servers,
            clients,
            port_reuse: self.port_reuse,
            port_reuse_in_time_wait: self.port_reuse_in_time_wait,
            capped: self.capped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::new(1_000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32)
    }

    #[test]
    fn the_rate_counts_syns_within_one_second() {
        let mut r = Rate::default();
        for i in 0..50 {
            r.add(ts(i * 10)); // 50 in 0.5 s
        }
        assert_eq!(r.peak, 50);
        r.add(ts(5_000)); // long after: the window starts again
        assert_eq!(r.peak, 50);
        for i in 0..120 {
            r.add(ts(6_000 + i * 5)); // 120 in 0.6 s
        }
        assert_eq!(r.peak, 120);
    }

    #[test]
    fn distinct_ports_within_a_span_and_reuse() {
        let mut p = Pressure::new(60 * SECOND, PressureCaps::default());
        let server: SocketAddr = "10.0.0.1:80".parse().unwrap();
        for i in 0..100u16 {
            let c: SocketAddr = format!("10.0.0.2:{}", 40_000 + i).parse().unwrap();
            p.opened(c, server, ts(i64::from(i) * 100));
        }
        // 70 s later the first uses are older than the span: port 40000 again is not a reuse.
        let again: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        p.opened(again, server, ts(80_000));
        // And once more right away: a reuse within the span.
        p.opened(again, server, ts(80_500));
        let f = p.facts();
        let c = f.client("10.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(c.peak_ports, 100);
        assert_eq!(c.connections, 102);
        assert_eq!(c.reused_within_span, 1);
        assert_eq!(f.server(server).unwrap().attempts, 102);
        assert_eq!(f.server(server).unwrap().sources, 1);
    }

    #[test]
    fn caps_turn_hosts_away_and_count_them() {
        let caps = PressureCaps {
            hosts: 1,
            servers: 1,
            client_hosts: 1,
            port_records: 4,
            sources: 2,
        };
        let mut p = Pressure::new(60 * SECOND, caps);
        let s1: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let s2: SocketAddr = "10.0.0.1:81".parse().unwrap();
        for i in 0..5u16 {
            let c: SocketAddr = format!("10.0.1.{}:{}", i + 1, 40_000 + i).parse().unwrap();
            p.opened(c, s1, ts(i64::from(i)));
            p.opened(c, s2, ts(i64::from(i)));
        }
        let f = p.facts();
        assert_eq!(f.servers.len(), 1);
        assert_eq!(f.capped.servers, 5);
        let s = &f.servers[0];
        assert_eq!((s.sources, s.sources_capped), (2, true));
        // Host 1 is followed (its second connection from the same port is a
        // reuse); the other four hosts' eight connections were turned away.
        assert_eq!(f.clients.len(), 1);
        assert_eq!(f.clients[0].reused_within_span, 1);
        assert_eq!(f.capped.client_ports, 8);
        p.enter_time_wait("10.0.0.1".parse().unwrap(), Side::Server, ts(9));
        p.enter_time_wait("10.0.0.9".parse().unwrap(), Side::Client, ts(9));
        let f = p.facts();
        assert_eq!(f.time_wait.len(), 1);
        assert_eq!(f.capped.hosts, 1);
        // The port-record budget: a port and its use take two records.
        let mut p = Pressure::new(
            60 * SECOND,
            PressureCaps {
                port_records: 2,
                ..PressureCaps::default()
            },
        );
        for i in 0..3u16 {
            let c: SocketAddr = format!("10.0.1.1:{}", 40_000 + i).parse().unwrap();
            p.opened(c, s1, ts(i64::from(i)));
        }
        let f = p.facts();
        assert_eq!(f.clients[0].peak_ports, 1);
        assert_eq!(f.capped.client_ports, 2);
    }

    #[test]
    fn the_time_wait_peak_and_its_sides() {
        let mut p = Pressure::new(60 * SECOND, PressureCaps::default());
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        p.enter_time_wait(h, Side::Server, ts(1));
        p.enter_time_wait(h, Side::Client, ts(2));
        p.leave_time_wait(h, Side::Server);
        p.enter_time_wait(h, Side::Client, ts(3));
        p.enter_time_wait(h, Side::Client, ts(4));
        let tw = p.facts().time_wait[0];
        assert_eq!(tw.peak, 3);
        assert_eq!(tw.at, ts(4));
        assert_eq!((tw.peak_as_client, tw.peak_as_server), (3, 0));
        assert_eq!(tw.entered, 4);
    }
}
