//! The demo's cross-check: each connection's final states as synack
//! inferred them, beside the kernel's own socket table; totals synack
//! counted beside the kernel's counters; and what the scenario showed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use rustc_hash::FxHashMap;
use synack_core::decode::Timestamp;
use synack_core::track::{CloseVariant, Connection, Facts, Retired, Side, TcpState};
use synack_core::Packet;

use super::text;
use crate::kernel::KernelSocket;
use crate::lang::{pick, tr};
use crate::views::json::{escape_into, Obj};
use crate::views::{Section, View};

/// Rows shown one by one up to this many; beyond, grouped by what they say.
const ROWS_SHOWN: usize = 24;
/// Disagreements listed one by one at most (all of them are in the JSON).
const DISAGREEMENTS_SHOWN: usize = 20;
/// Segments remembered for a scenario's own findings.
const SEGMENTS_KEPT: usize = 200_000;

/// A connection's last states, kept for comparing with the kernel.
#[derive(Clone, Debug)]
pub(super) struct Final {
    pub(super) conn: u64,
    pub(super) client: SocketAddr,
    pub(super) server: SocketAddr,
    pub(super) states: [TcpState; 2],
    close: Option<CloseVariant>,
    /// A later connection took this 4-tuple: the kernel only knows the later one.
    replaced: bool,
    /// Everything synack found (for what the scenario must show).
    pub(super) facts: Facts,
    /// When each side entered TIME_WAIT, if it did (client first).
    pub(super) time_wait_entered: [Option<Timestamp>; 2],
    /// Who sent the first RST, if one ended it.
    pub(super) reset_by: Option<Side>,
    /// Who sent the first FIN.
    pub(super) first_fin: Option<Side>,
}

/// One TCP segment, as much as the scenarios look at.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seg {
    pub(super) conn: u64,
    pub(super) side: Side,
    pub(super) flags: u8,
    pub(super) len: u32,
    pub(super) ts: Timestamp,
}

/// What the run showed, kept for the report.
#[derive(Default)]
pub(super) struct Recorded {
    pub(super) finals: Vec<Final>,
    pub(super) segments: Vec<Seg>,
}

/// A view that remembers every connection's final states and (up to a
/// bound) every segment's connection, side, flags, length and time.
#[derive(Clone, Default)]
pub(super) struct Recorder(pub(super) Rc<RefCell<Recorded>>);

impl View for Recorder {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        let (Some(o), Some(s)) = (p.observation, p.segment) else {
            return Ok(());
        };
        let mut r = self.0.borrow_mut();
        if r.segments.len() < SEGMENTS_KEPT {
            r.segments.push(Seg {
                conn: o.conn,
                side: o.side,
                flags: s.flags,
                len: s.payload_len,
                ts: p.frame.ts,
            });
        }
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        self.0.borrow_mut().finals.push(Final {
            conn: c.id(),
            client: c.client().addr(),
            server: c.server().addr(),
            states: f.states,
            close: f.ending.close_variant(),
            replaced: f.retired == Retired::Reused,
            facts: f.clone(),
            time_wait_entered: [
                f.time_wait[0].map(|t| t.entered),
                f.time_wait[1].map(|t| t.entered),
            ],
            reset_by: match f.ending {
                synack_core::track::Ending::Reset { by, .. } => Some(by),
                _ => None,
            },
            first_fin: c.close().first_fin(),
        });
        Ok(())
    }
}

impl Recorder {
    /// Every retired connection's facts, in retirement order.
    pub(super) fn facts(&self) -> Vec<Facts> {
        self.0
            .borrow()
            .finals
            .iter()
            .map(|f| f.facts.clone())
            .collect()
    }
}

/// synack's final state of one endpoint beside the kernel's.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StateCheck {
    conn: u64,
    side: &'static str,
    addr: SocketAddr,
    synack: TcpState,
    kernel: TcpState,
}

impl StateCheck {
    fn agrees(&self) -> bool {
        self.synack == self.kernel
    }
}

/// Why an endpoint's state was not compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Skip {
    /// synack says UNKNOWN: the capture shows nothing of that side.
    Unknown,
    /// Not an address of this host: no kernel here has a socket for it.
    Foreign,
    /// A server end answered with a SYN-ACK but holds no socket: a SYN
    /// cookie (only where the scenario says cookies are expected; then the
    /// count is checked against the kernel's counters).
    Stateless,
}

impl Skip {
    fn name(self) -> &'static str {
        match self {
            Skip::Unknown => "unknown",
            Skip::Foreign => "foreign_address",
            Skip::Stateless => "syn_cookie",
        }
    }
    fn why(self) -> &'static str {
        match self {
            Skip::Unknown => text::not_compared_unknown(),
            Skip::Foreign => text::not_compared_foreign(),
            Skip::Stateless => text::not_compared_stateless(),
        }
    }
}

/// A total synack counted beside the same total from the kernel (or the application).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Aggregate {
    /// What is counted, for people.
    pub(super) what: String,
    /// A stable name for the JSON.
    pub(super) key: &'static str,
    pub(super) synack: u64,
    /// Where the other number comes from, for people.
    pub(super) source: String,
    pub(super) other: u64,
}

impl Aggregate {
    fn agrees(&self) -> bool {
        self.synack == self.other
    }
}

/// How the kernel check treats a scenario's endpoints.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct CheckRules {
    /// SYN cookies are expected: server ends in SYN_RCVD without a kernel
    /// socket are counted (and that count checked), not compared one by one.
    pub(super) syn_cookies: bool,
}

/// What a scenario adds to the report: sentences for people and the same
/// facts as JSON fields, plus totals to check.
#[derive(Default)]
pub(super) struct Findings {
    pub(super) lines: Vec<String>,
    pub(super) json: serde_json::Map<String, serde_json::Value>,
    pub(super) aggregates: Vec<Aggregate>,
}

/// One thing the scenario did, as it was said while it ran.
#[derive(Clone, Debug)]
pub(super) struct Step {
    pub(super) at: Timestamp,
    pub(super) text: String,
}

/// What the demo adds to the end of the run.
pub(super) struct DemoReport {
    scenario: String,
    checks: Vec<StateCheck>,
    skipped: Vec<(StateCheck, Skip)>,
    /// Errors the echo client's application saw (refused, reset…).
    app_errors: Vec<String>,
    /// Closes that were simultaneous, of all closes (for simultaneous-close).
    crossed: (usize, usize),
    findings: Findings,
    steps: Vec<Step>,
}

/// Whether `ip` is an address of this host (of the calling thread's network
/// namespace): only then can the kernel hold a socket for it.
fn is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

impl DemoReport {
    pub(super) fn new(
        scenario: &str,
        recorded: &Recorder,
        sockets: &[KernelSocket],
        rules: CheckRules,
        app_errors: Vec<String>,
        findings: Findings,
        steps: Vec<Step>,
    ) -> DemoReport {
        let rec = recorded.0.borrow();
        let table: FxHashMap<(SocketAddr, SocketAddr), TcpState> = sockets
            .iter()
            .map(|s| ((s.local, s.remote), s.state))
            .collect();
        let mut local: FxHashMap<IpAddr, bool> = FxHashMap::default();
        let mut checks = Vec::new();
        let mut skipped = Vec::new();
        for f in rec.finals.iter().filter(|f| !f.replaced) {
            for (side, local_addr, remote, state) in [
                ("client", f.client, f.server, f.states[0]),
                ("server", f.server, f.client, f.states[1]),
            ] {
                let check = StateCheck {
                    conn: f.conn,
                    side,
                    addr: local_addr,
                    synack: state,
                    kernel: table
                        .get(&(local_addr, remote))
                        .copied()
                        .unwrap_or(TcpState::Closed),
                };
                let here = *local
                    .entry(local_addr.ip())
                    .or_insert_with(|| is_local(local_addr.ip()));
                let skip = if state == TcpState::Unknown {
                    Some(Skip::Unknown)
                } else if !here {
                    Some(Skip::Foreign)
                } else if rules.syn_cookies
                    && side == "server"
                    && state == TcpState::SynRcvd
                    && !table.contains_key(&(local_addr, remote))
                {
                    Some(Skip::Stateless)
                } else {
                    None
                };
                match skip {
                    Some(why) => skipped.push((check, why)),
                    None => checks.push(check),
                }
            }
        }
        let crossed = rec
            .finals
            .iter()
            .filter(|f| f.close == Some(CloseVariant::Simultaneous))
            .count();
        let mut findings = findings;
        if rules.syn_cookies {
            // The rows left out as cookies are counted, and the count checked.
            let n = skipped
                .iter()
                .filter(|(_, w)| *w == Skip::Stateless)
                .count();
            if let Some(a) = findings
                .aggregates
                .iter_mut()
                .find(|a| a.key == "server_ends_without_socket")
            {
                a.synack = n as u64;
            }
        }
        DemoReport {
            scenario: scenario.to_string(),
            checks,
            skipped,
            app_errors,
            crossed: (crossed, rec.finals.len()),
            findings,
            steps,
        }
    }

    fn compared(&self) -> usize {
        self.checks.len() + self.findings.aggregates.len()
    }

    fn agree(&self) -> usize {
        self.checks.iter().filter(|c| c.agrees()).count()
            + self
                .findings
                .aggregates
                .iter()
                .filter(|a| a.agrees())
                .count()
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        pick("✗ differs", "✗ 不一致")
    }
}

/// One endpoint's row: `#1   client 127.0.0.1:40000  synack TIME_WAIT  kernel TIME_WAIT  ✓`.
fn row(c: &StateCheck, mark: &str) -> String {
    let side = crate::views::width::pad_right(text::side_word(c.side), 6);
    let kernel = pick("kernel", "内核");
    format!(
        "  #{:<3} {side} {:<22} synack {:<11}  {kernel} {:<11}  {mark}",
        c.conn,
        c.addr.to_string(),
        c.synack.name(),
        c.kernel.name(),
    )
}

impl DemoReport {
    /// States and totals compared with the kernel's, and how many differ.
    pub(super) fn disagreements(&self) -> (usize, usize) {
        (self.compared() - self.agree(), self.compared())
    }
}

impl Section for DemoReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "\n{}",
            pick(
                "kernel check: synack's inferred final states beside /proc/net/tcp",
                "内核核对：synack 推断的最终状态与 /proc/net/tcp 对照",
            )
        )?;
        if self.checks.len() <= ROWS_SHOWN {
            for c in &self.checks {
                writeln!(out, "{}", row(c, mark(c.agrees())))?;
            }
        } else {
            let mut groups: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
            for c in &self.checks {
                *groups
                    .entry((c.side, c.synack.name(), c.kernel.name()))
                    .or_default() += 1;
            }
            for ((side, s, k), n) in groups {
                writeln!(
                    out,
                    "  {}  {}",
                    text::check_grouped(side, s, k, n),
                    mark(s == k)
                )?;
            }
            for c in self
                .checks
                .iter()
                .filter(|c| !c.agrees())
                .take(DISAGREEMENTS_SHOWN)
            {
                writeln!(out, "{}", row(c, mark(false)))?;
            }
        }
        if !self.skipped.is_empty() {
            writeln!(out, "{}", text::not_compared_header(self.skipped.len()))?;
            let mut groups: BTreeMap<(Skip, &str, &str, &str), usize> = BTreeMap::new();
            for (c, why) in &self.skipped {
                *groups
                    .entry((*why, c.side, c.synack.name(), c.kernel.name()))
                    .or_default() += 1;
            }
            for ((why, side, s, k), n) in groups {
                writeln!(
                    out,
                    "    {}: {}",
                    text::check_grouped(side, s, k, n),
                    why.why()
                )?;
            }
        }
        for a in &self.findings.aggregates {
            writeln!(
                out,
                "  {}  {}",
                text::aggregate_line(&a.what, a.synack, &a.source, a.other),
                mark(a.agrees())
            )?;
        }
        let (agree, compared) = (self.agree(), self.compared());
        writeln!(
            out,
            "  {}",
            tr!(
                "{agree} of {compared} agree",
                "{compared} 项中 {agree} 项一致"
            )
        )?;
        for e in &self.app_errors {
            writeln!(
                out,
                "{}",
                tr!(
                    "the client application saw: {e}",
                    "客户端应用程序看到的是：{e}"
                )
            )?;
        }
        if self.scenario == "simultaneous-close" {
            let (crossed, all) = self.crossed;
            if crossed == 0 {
                writeln!(
                    out,
                    "{}",
                    pick(
                        "the FINs did not cross this time (the race was missed): each close was ordinary; run it again",
                        "这次 FIN 没有交叉 (错过了竞争)：每次关闭都是普通的关闭；再运行一次",
                    )
                )?;
            } else {
                writeln!(
                    out,
                    "{}",
                    tr!(
                        "{crossed} of {all} closes were simultaneous (FINs crossed)",
                        "{all} 次关闭中有 {crossed} 次是同时关闭 (FIN 交叉)"
                    )
                )?;
            }
        }
        if !self.findings.lines.is_empty() {
            writeln!(out, "{}", text::findings_header(&self.scenario))?;
            for l in &self.findings.lines {
                writeln!(out, "  - {l}")?;
            }
        }
        Ok(())
    }

    fn write_json(&self, o: &mut Obj<'_>) {
        o.text("scenario", &self.scenario);
        let out = o.key("kernel_check");
        let mut kc = Obj::new(out);
        kc.num("compared", self.compared())
            .num("agree", self.agree());
        for (key, only_disagreements) in [("checks", false), ("disagreements", true)] {
            let out = kc.key(key);
            out.push(b'[');
            let shown = self
                .checks
                .iter()
                .filter(|c| !only_disagreements || !c.agrees());
            for (i, c) in shown.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let mut co = Obj::new(out);
                co.num("conn", c.conn)
                    .plain("side", c.side)
                    .plain("addr", c.addr)
                    .plain("synack", c.synack.name())
                    .plain("kernel", c.kernel.name())
                    .bool("agree", c.agrees());
                co.end();
            }
            out.push(b']');
        }
        let out = kc.key("not_compared");
        out.push(b'[');
        for (i, (c, why)) in self.skipped.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut co = Obj::new(out);
            co.num("conn", c.conn)
                .plain("side", c.side)
                .plain("addr", c.addr)
                .plain("synack", c.synack.name())
                .plain("kernel", c.kernel.name())
                .plain("reason", why.name());
            co.end();
        }
        out.push(b']');
        let out = kc.key("totals");
        out.push(b'[');
        for (i, a) in self.findings.aggregates.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut ao = Obj::new(out);
            ao.plain("key", a.key)
                .text("what", &a.what)
                .num("synack", a.synack)
                .text("source", &a.source)
                .num("other", a.other)
                .bool("agree", a.agrees());
            ao.end();
        }
        out.push(b']');
        kc.end();
        let out = o.key("app_errors");
        out.push(b'[');
        for (i, e) in self.app_errors.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            escape_into(out, e);
        }
        out.push(b']');
        if !self.findings.json.is_empty() {
            let out = o.key("findings");
            let _ = serde_json::to_writer(&mut *out, &self.findings.json);
        }
        if !self.steps.is_empty() {
            let out = o.key("steps");
            out.push(b'[');
            let mut time = crate::views::time::Rfc3339::new();
            for (i, s) in self.steps.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"at\":\"");
                time.write(out, s.at);
                out.extend_from_slice(b"\",\"text\":");
                escape_into(out, &s.text);
                out.push(b'}');
            }
            out.push(b']');
        }
    }
}
