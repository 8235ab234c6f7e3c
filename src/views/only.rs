//! `--only EXPR`: choose packets, or connections, by what synack found in
//! them rather than by their headers, as Wireshark's `tcp.analysis.*`
//! display filters do. A name is true of a packet when one of its events
//! has it; of a connection when one of its events ever had it.
//!
//! Names are the JSON event kinds (`handshake`, `close`, `time_wait`,
//! `keep_alive`, `zero_window`, `dsack`, …) and a few groups a person asks
//! for: `rst` (resets and refusals), `retransmission` (every kind, as
//! Wireshark's flag), `time_wait` (entered, expired, still running), `ecn`
//! and `analysis` (any sequence-analysis flag). `tcp.analysis.` may prefix
//! a name. They combine with `or` (`,` `||`), `and` (`&&`), `not` (`!`) and
//! parentheses.

use std::io::{self, Write};

use rustc_hash::FxHashMap;

use synack_core::track::{Analysis, Connection, Event, EventKind, Facts};
use synack_core::Packet;

use super::{RunEnd, View};

/// Every event kind's name (its JSON `kind`), then the groups. A set of
/// names is a bitmask over this list.
const KINDS: [&str; 36] = [
    "handshake",
    "simultaneous_open",
    "refused",
    "close",
    "half_close",
    "time_wait_entered",
    "time_wait_expired",
    "time_wait_continues",
    "reset",
    "midstream",
    "port_reuse",
    "last_ack_lost",
    "ecn_setup",
    "ce",
    "ece",
    "cwr",
    "time_went_back",
    "window_scale_clamped",
    "keep_alive",
    "keep_alive_ack",
    "plain_retransmission",
    "fast_retransmission",
    "spurious_retransmission",
    "out_of_order",
    "duplicate_ack",
    "lost_segment",
    "ack_lost_segment",
    "zero_window",
    "zero_window_probe",
    "zero_window_probe_ack",
    "window_update",
    "window_full",
    "reused_ports",
    "dsack",
    // groups
    "rst",
    "analysis",
];

/// Groups by the names they cover (a group's own bit is set too).
const GROUPS: [(&str, &[&str]); 5] = [
    ("rst", &["reset", "refused"]),
    (
        "retransmission",
        &[
            "plain_retransmission",
            "fast_retransmission",
            "spurious_retransmission",
        ],
    ),
    (
        "time_wait",
        &[
            "time_wait_entered",
            "time_wait_expired",
            "time_wait_continues",
        ],
    ),
    ("ecn", &["ecn_setup", "ce", "ece", "cwr"]),
    ("analysis", &[]),
];

fn bit(name: &str) -> Option<u64> {
    KINDS.iter().position(|k| *k == name).map(|i| 1u64 << i)
}

/// The names an event has: its own kind, and the groups that cover it.
fn mask_of(kind: &EventKind) -> u64 {
    let name = match kind {
        // The event's own name would clash with the groups people ask for.
        EventKind::TimeWait { .. } => "time_wait_entered",
        EventKind::Analysis {
            what: Analysis::Retransmission,
            ..
        } => "plain_retransmission",
        k => k.name(),
    };
    let mut m = bit(name).unwrap_or(0);
    if let (EventKind::Analysis { .. }, Some(b)) = (kind, bit("analysis")) {
        m |= b;
    }
    if let EventKind::Reset { .. } | EventKind::Refused = kind {
        m |= bit("rst").unwrap_or(0);
    }
    m
}

/// A parsed `--only` expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// True when any of these names is in the set.
    Any(u64),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn matches(&self, set: u64) -> bool {
        match self {
            Expr::Any(m) => set & m != 0,
            Expr::Not(e) => !e.matches(set),
            Expr::And(a, b) => a.matches(set) && b.matches(set),
            Expr::Or(a, b) => a.matches(set) || b.matches(set),
        }
    }

    /// Parse `retransmission,zero_window`, `rst and not refused`, …
    pub(crate) fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, at: 0 };
        let e = p.or()?;
        match p.tokens.get(p.at) {
            None => Ok(e),
            Some(t) => Err(crate::lang::tr!(
                "unexpected '{t}' in '{text}'",
                "'{text}' 中出现了意外的 '{t}'"
            )),
        }
    }
}

/// The names `--only` knows, for its help and its errors.
pub(crate) fn names() -> Vec<&'static str> {
    let mut v: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| !matches!(*k, "plain_retransmission" | "time_wait_entered"))
        .collect();
    v.extend(GROUPS.iter().map(|(g, _)| *g));
    v.sort_unstable();
    v.dedup();
    v
}

fn leaf(name: &str) -> Result<Expr, String> {
    let name = name.strip_prefix("tcp.analysis.").unwrap_or(name);
    if let Some((_, covers)) = GROUPS.iter().find(|(g, _)| *g == name) {
        let mut m = bit(name).unwrap_or(0);
        for c in covers.iter() {
            m |= bit(c).unwrap_or(0);
        }
        return Ok(Expr::Any(m));
    }
    match bit(name) {
        Some(m) if !matches!(name, "plain_retransmission" | "time_wait_entered") => {
            Ok(Expr::Any(m))
        }
        _ => {
            let known = names().join(", ");
            Err(crate::lang::tr!(
                "no such name '{name}'; the names are: {known}",
                "没有 '{name}' 这个名字；可用的名字有：{known}"
            ))
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' => {
                word.push(c.to_ascii_lowercase())
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            ',' | '(' | ')' | '!' => {
                flush(&mut word, &mut out);
                out.push(c.to_string());
            }
            '|' | '&' => {
                flush(&mut word, &mut out);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                out.push(c.to_string());
            }
            other => {
                return Err(crate::lang::tr!(
                    "unexpected '{other}' in '{text}'",
                    "'{text}' 中出现了意外的 '{other}'"
                ))
            }
        }
    }
    flush(&mut word, &mut out);
    if out.is_empty() {
        return Err(crate::lang::pick(
            "a name is needed, such as retransmission",
            "需要一个名字，例如 retransmission",
        )
        .into());
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while matches!(self.peek(), Some("or" | "," | "|")) {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while matches!(self.peek(), Some("and" | "&")) {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some("not" | "!") => {
                self.at += 1;
                Ok(Expr::Not(Box::new(self.not()?)))
            }
            Some("(") => {
                self.at += 1;
                let e = self.or()?;
                if self.peek() != Some(")") {
                    return Err(
                        crate::lang::pick("a '(' is not closed", "有一个 '(' 没有闭合").into(),
                    );
                }
                self.at += 1;
                Ok(e)
            }
            Some(w) if !matches!(w, "or" | "and" | "," | "|" | "&" | ")") => {
                let e = leaf(w)?;
                self.at += 1;
                Ok(e)
            }
            Some(w) => Err(crate::lang::tr!(
                "expected a name before '{w}'",
                "'{w}' 之前应该有一个名字"
            )),
            None => Err(crate::lang::pick(
                "the expression ends where a name should be",
                "表达式在应该出现名字的地方结束了",
            )
            .into()),
        }
    }
}

/// What `--only` chooses: packets (lines, JSON packet records) or whole
/// connections (the table and the diagrams, which draw every packet of
/// the connections chosen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choose {
    Packets,
    Connections,
}

/// `--only`: passes on what the expression chooses.
pub(crate) struct Only<V> {
    pub(crate) expr: Expr,
    pub(crate) choose: Choose,
    pub(crate) inner: V,
    /// Names seen so far, per connection still open.
    seen: FxHashMap<u64, u64>,
}

impl<V> Only<V> {
    pub(crate) fn new(expr: Expr, choose: Choose, inner: V) -> Only<V> {
        Only {
            expr,
            choose,
            inner,
            seen: FxHashMap::default(),
        }
    }

    fn note(&mut self, conn: u64, mask: u64) {
        if mask != 0 {
            *self.seen.entry(conn).or_default() |= mask;
        }
    }
}

impl<V: View> View for Only<V> {
    fn packet(&mut self, p: &Packet<'_>, out: &mut dyn Write) -> io::Result<()> {
        let here = p.events.iter().fold(0, |m, e| m | mask_of(&e.kind));
        if let Some(o) = p.observation {
            self.note(o.conn, here);
        }
        if self.choose == Choose::Connections || self.expr.matches(here) {
            self.inner.packet(p, out)?;
        }
        Ok(())
    }

    fn event(&mut self, e: &Event, out: &mut dyn Write) -> io::Result<()> {
        let here = mask_of(&e.kind);
        self.note(e.conn, here);
        if self.choose == Choose::Connections || self.expr.matches(here) {
            self.inner.event(e, out)?;
        }
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        let ever = self.seen.remove(&c.id()).unwrap_or(0);
        if self.expr.matches(ever) {
            self.inner.connection(c, f, out)
        } else {
            self.inner.forget(c.id());
            Ok(())
        }
    }

    fn settled(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        let so_far = self.seen.get(&c.id()).copied().unwrap_or(0);
        if self.expr.matches(so_far) {
            self.inner.settled(c, f, out)?;
        }
        Ok(())
    }

    fn forget(&mut self, conn: u64) {
        self.seen.remove(&conn);
        self.inner.forget(conn);
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.inner.finish(end, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> u64 {
        names.iter().map(|n| bit(n).unwrap()).fold(0, |a, b| a | b)
    }

    #[test]
    fn groups_cover_their_members() {
        let e = Expr::parse("retransmission").unwrap();
        assert!(e.matches(set(&["fast_retransmission"])));
        assert!(e.matches(set(&["plain_retransmission"])));
        assert!(!e.matches(set(&["out_of_order"])));
        let rst = Expr::parse("tcp.analysis.rst").unwrap();
        assert!(rst.matches(set(&["refused"])));
    }

    #[test]
    fn operators_bind_as_usual() {
        let e = Expr::parse("rst and not refused, zero_window").unwrap();
        assert!(e.matches(set(&["reset"])));
        assert!(!e.matches(set(&["refused"])));
        assert!(e.matches(set(&["zero_window"])));
        let p = Expr::parse("!(keep_alive || keep_alive_ack)").unwrap();
        assert!(p.matches(0));
        assert!(!p.matches(set(&["keep_alive_ack"])));
    }

    #[test]
    fn mistakes_are_said() {
        assert!(Expr::parse("retransmision")
            .unwrap_err()
            .contains("no such name 'retransmision'"));
        assert!(Expr::parse("rst and").unwrap_err().contains("ends"));
        assert!(Expr::parse("(rst").unwrap_err().contains("not closed"));
        assert!(Expr::parse("").unwrap_err().contains("a name is needed"));
        assert!(Expr::parse("plain_retransmission").is_err());
    }

    #[test]
    fn every_event_kind_has_a_name_here() {
        use synack_core::track::{CloseVariant, ResetCause};
        let kinds = [
            EventKind::Handshake {
                step: 1,
                rtt_ns: None,
            },
            EventKind::SimultaneousOpen,
            EventKind::Refused,
            EventKind::Close {
                step: 1,
                of: None,
                variant: CloseVariant::FourWay,
            },
            EventKind::Reset {
                cause: ResetCause::Abort,
            },
            EventKind::Midstream,
            EventKind::LastAckLost,
            EventKind::CongestionExperienced,
            EventKind::EcnEcho,
            EventKind::WindowReduced,
        ];
        for k in kinds {
            assert_ne!(mask_of(&k), 0, "{}", k.name());
        }
        for a in Analysis::ALL {
            let k = EventKind::Analysis {
                what: a,
                evidence: Default::default(),
            };
            assert_ne!(mask_of(&k) & !bit("analysis").unwrap(), 0, "{}", a.name());
        }
    }
}
