//! A connection's facts, computed once when it leaves the tracker: how it
//! ended, who held TIME_WAIT, who probed with keep-alives, how long windows
//! stayed shut, and Zeek's codes. Every view words these; none works them
//! out again.

use super::connection::Connection;
use super::endpoint::TimeWait;
use super::event::{Analysis, CloseVariant, ResetCause};
use super::key::Side;
use super::state::TcpState;
use super::zeek::{self, ConnState};
use super::Retired;

/// How a connection ended, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// The SYN was answered by a RST: nothing listened on the port.
    Refused,
    /// A RST ended it (not a refusal).
    Reset {
        /// Who sent the first RST.
        by: Side,
        /// Why, as far as the states tell.
        cause: ResetCause,
    },
    /// Both sides sent a FIN.
    Closed {
        /// Four-way, three-packet or simultaneous; `None` when the FINs and
        /// their ACKs were not all seen in an order that tells.
        variant: Option<CloseVariant>,
        /// Who sent the first FIN.
        first: Side,
    },
    /// Only one side's FIN was seen.
    FinOneWay {
        /// Who sent it.
        by: Side,
    },
    /// The SYN got no answer.
    Unanswered,
    /// Still open when it left the tracker (see [`Facts::retired`] for why).
    Open,
}

impl Ending {
    /// The close variant for the JSON contract's `close.type`.
    pub fn close_variant(&self) -> Option<CloseVariant> {
        match self {
            Ending::Closed { variant, .. } => *variant,
            _ => None,
        }
    }
}

/// What keep-alive probes revealed about one side's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepaliveFacts {
    /// The side that probed (the first, if both did).
    pub by: Side,
    /// Probes sent, by both sides.
    pub probes: u32,
    /// Idle time before the first probe (tcp_keepalive_time), ns.
    pub idle_ns: Option<i128>,
    /// The shortest gap between two unanswered probes (tcp_keepalive_intvl), ns.
    pub interval_ns: Option<i128>,
}

/// Everything a view says about a connection when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// Why it left the tracker.
    pub retired: Retired,
    /// How it ended.
    pub ending: Ending,
    /// Each side's TIME_WAIT, client first.
    pub time_wait: [Option<TimeWait>; 2],
    /// Keep-alive probes, if any side sent them.
    pub keepalive: Option<KeepaliveFacts>,
    /// How long each side advertised a zero window, ns (client first).
    pub zero_window_ns: [i128; 2],
    /// Zero-window advertisements by both sides.
    pub zero_window_ads: u32,
    /// Retransmissions of every kind, both sides.
    pub retransmissions: u32,
    /// Last segment's time minus the first's (never negative).
    pub duration_ns: i128,
    /// Zeek's conn_state.
    pub conn_state: ConnState,
    /// Each side's final state (client first), as far as the capture shows.
    pub states: [TcpState; 2],
}

impl Facts {
    /// The facts of `c`, leaving the tracker because of `why`.
    pub fn of(c: &Connection, why: Retired) -> Facts {
        let ending = ending(c);
        let keepalive = [Side::Client, Side::Server]
            .into_iter()
            .find(|s| c.endpoint(*s).keepalive_probes() > 0)
            .and_then(|by| {
                let k = c.endpoint(by).keepalive.as_ref()?;
                Some(KeepaliveFacts {
                    by,
                    probes: c.client.keepalive_probes() + c.server.keepalive_probes(),
                    idle_ns: k.idle_ns,
                    interval_ns: k.interval_ns,
                })
            });
        let zw = |s: Side| {
            c.endpoint(s).zero_window.as_ref().map_or(0, |z| {
                z.ns + z
                    .since
                    .map_or(0, |since| c.last_ts.nanos_since(since).max(0))
            })
        };
        Facts {
            retired: why,
            ending,
            time_wait: [c.client.time_wait, c.server.time_wait],
            keepalive,
            zero_window_ns: [zw(Side::Client), zw(Side::Server)],
            zero_window_ads: c.client.count(Analysis::ZeroWindow)
                + c.server.count(Analysis::ZeroWindow),
            retransmissions: c.client.retransmissions() + c.server.retransmissions(),
            duration_ns: c.last_ts.nanos_since(c.first_ts).max(0),
            conn_state: zeek::conn_state(c),
            states: c.states(),
        }
    }

    /// Who entered TIME_WAIT (whether or not it has run out).
    pub fn time_wait_holders(&self) -> (bool, bool) {
        (self.time_wait[0].is_some(), self.time_wait[1].is_some())
    }
}

fn ending(c: &Connection) -> Ending {
    if c.refused {
        return Ending::Refused;
    }
    if let Some((by, cause)) = c.first_reset {
        return Ending::Reset { by, cause };
    }
    if c.client.resets + c.server.resets > 0 {
        // A RST with no cause recorded (one that answered nothing we saw).
        let by = if c.client.resets > 0 {
            Side::Client
        } else {
            Side::Server
        };
        return Ending::Reset {
            by,
            cause: ResetCause::Unknown,
        };
    }
    match (
        c.close.first_fin,
        c.client.sent_fin() && c.server.sent_fin(),
    ) {
        (Some(first), true) => Ending::Closed {
            variant: c.close.variant,
            first,
        },
        (Some(by), false) => Ending::FinOneWay { by },
        (None, _) if c.client.syn_seen && !c.server.syn_seen && !c.midstream => Ending::Unanswered,
        (None, _) => Ending::Open,
    }
}
