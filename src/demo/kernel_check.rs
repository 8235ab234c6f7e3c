//! The demo's cross-check: each connection's final states as synack
//! inferred them, beside the kernel's own socket table.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;

use synack_core::track::{CloseVariant, Connection, Facts, Retired, TcpState};

use crate::kernel::{self, KernelSocket};
use crate::views::json::{escape_into, Obj};
use crate::views::{Section, View};

/// A connection's last states, kept for comparing with the kernel.
#[derive(Clone, Debug)]
struct Final {
    conn: u64,
    client: SocketAddr,
    server: SocketAddr,
    states: [TcpState; 2],
    close: Option<CloseVariant>,
    /// A later connection took this 4-tuple: the kernel only knows the later one.
    replaced: bool,
    facts: Facts,
}

/// A view that only remembers every connection's final states.
#[derive(Clone, Default)]
pub(super) struct FinalStates(Rc<RefCell<Vec<Final>>>);

impl View for FinalStates {
    fn connection(&mut self, c: &Connection, f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        self.0.borrow_mut().push(Final {
            conn: c.id(),
            client: c.client().addr(),
            server: c.server().addr(),
            states: f.states,
            close: f.ending.close_variant(),
            replaced: f.retired == Retired::Reused,
            facts: f.clone(),
        });
        Ok(())
    }
}

impl FinalStates {
    /// Every retired connection's facts, in retirement order.
    pub(super) fn facts(&self) -> Vec<Facts> {
        self.0.borrow().iter().map(|f| f.facts.clone()).collect()
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

/// What the demo adds to the end of the run.
pub(super) struct DemoReport {
    scenario: String,
    checks: Vec<StateCheck>,
    /// Errors the echo client's application saw (refused, reset…).
    app_errors: Vec<String>,
    /// Closes that were simultaneous, of all closes (for simultaneous-close).
    crossed: (usize, usize),
}

impl DemoReport {
    pub(super) fn new(
        scenario: &str,
        finals: &FinalStates,
        sockets: &[KernelSocket],
        app_errors: Vec<String>,
    ) -> DemoReport {
        let finals = finals.0.borrow();
        let mut checks = Vec::new();
        for f in finals.iter().filter(|f| !f.replaced) {
            for (side, local, remote, state) in [
                ("client", f.client, f.server, f.states[0]),
                ("server", f.server, f.client, f.states[1]),
            ] {
                checks.push(StateCheck {
                    conn: f.conn,
                    side,
                    addr: local,
                    synack: state,
                    kernel: kernel::state_of_socket(sockets, local, remote),
                });
            }
        }
        let crossed = finals
            .iter()
            .filter(|f| f.close == Some(CloseVariant::Simultaneous))
            .count();
        DemoReport {
            scenario: scenario.to_string(),
            checks,
            app_errors,
            crossed: (crossed, finals.len()),
        }
    }
}

impl DemoReport {
    /// States compared with the kernel's, and how many differ.
    pub(super) fn disagreements(&self) -> (usize, usize) {
        let differ = self.checks.iter().filter(|c| !c.agrees()).count();
        (differ, self.checks.len())
    }
}

impl Section for DemoReport {
    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "\nkernel check: synack's inferred final states beside /proc/net/tcp"
        )?;
        for c in &self.checks {
            writeln!(
                out,
                "  #{:<3} {:<6} {:<22} synack {:<11}  kernel {:<11}  {}",
                c.conn,
                c.side,
                c.addr.to_string(),
                c.synack.name(),
                c.kernel.name(),
                if c.agrees() { "✓" } else { "✗ differs" }
            )?;
        }
        let agree = self.checks.iter().filter(|c| c.agrees()).count();
        writeln!(out, "  {agree} of {} agree", self.checks.len())?;
        for e in &self.app_errors {
            writeln!(out, "the client application saw: {e}")?;
        }
        if self.scenario == "simultaneous-close" {
            let (crossed, all) = self.crossed;
            if crossed == 0 {
                writeln!(
                    out,
                    "the FINs did not cross this time (the race was missed): each close was ordinary; run it again"
                )?;
            } else {
                writeln!(
                    out,
                    "{crossed} of {all} closes were simultaneous (FINs crossed)"
                )?;
            }
        }
        Ok(())
    }

    fn write_json(&self, o: &mut Obj<'_>) {
        o.text("scenario", &self.scenario);
        let out = o.key("kernel_check");
        let mut kc = Obj::new(out);
        kc.num("compared", self.checks.len())
            .num("agree", self.checks.iter().filter(|c| c.agrees()).count());
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
    }
}
