//! Mermaid sequence diagrams: a connection as a Markdown-fenced
//! `sequenceDiagram`, ready to paste into docs (checked with Mermaid's own
//! parser in tests/mermaid).

use std::fmt::Write as _;
use std::io::{self, Write};

use synack_core::track::{Connection, Event, Facts, Side};
use synack_core::Packet;

use super::diagram::{Ladder, Rows};
use super::time::time_of_day_ms;
use super::{charset, words, RunEnd, View};

/// `--view mermaid`.
#[derive(Default)]
pub(crate) struct MermaidView {
    rows: Rows,
}

impl View for MermaidView {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        self.rows.packet(p);
        Ok(())
    }

    fn event(&mut self, e: &Event, _out: &mut dyn Write) -> io::Result<()> {
        self.rows.event(e);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        let Some(ladder) = self.rows.take(c.id()) else {
            return Ok(());
        };
        let story = words::story(c, f, &|ts| time_of_day_ms(ts));
        writeln!(out, "{}", mermaid(&ladder, c.id(), &story))
    }

    fn forget(&mut self, conn: u64) {
        self.rows.take(conn);
    }

    fn finish(&mut self, _end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        if self.rows.not_drawn > 0 {
            writeln!(out, "%% {}", words::not_drawn(self.rows.not_drawn))?;
        }
        Ok(())
    }
}

/// Mermaid sequence-diagram text: `;` ends a statement and `#` starts an
/// entity code, so both are written as entity codes (checked with Mermaid's
/// own parser in tests/mermaid).
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ';' => out.push_str("#59;"),
            '#' => out.push_str("#35;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A state as the notes show it: `SYN_SENT`, or `SYN_SENT(同步已发送)` under `--lang zh`.
fn state_name(s: synack_core::track::TcpState) -> String {
    if crate::lang::zh() {
        crate::lang::glossary::state_both(s)
    } else {
        s.name().to_string()
    }
}

/// A Mermaid sequence diagram in a Markdown fence, ready to paste into docs.
fn mermaid(l: &Ladder, id: u64, story: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "```mermaid");
    let _ = writeln!(out, "sequenceDiagram");
    let (connection, client, server) = if crate::lang::zh() {
        ("连接", "客户端", "服务器")
    } else {
        ("connection", "client", "server")
    };
    let _ = writeln!(out, "    title {connection} {id}");
    let _ = writeln!(
        out,
        "    participant C as {client} {}",
        mermaid_text(&l.client.to_string())
    );
    let _ = writeln!(
        out,
        "    participant S as {server} {}",
        mermaid_text(&l.server.to_string())
    );
    let _ = writeln!(out, "    Note over C: {}", state_name(l.initial[0]));
    let _ = writeln!(out, "    Note over S: {}", state_name(l.initial[1]));
    for r in &l.rows {
        match r.from {
            Some(Side::Client) => {
                let _ = writeln!(out, "    C->>S: {}", mermaid_text(&r.label));
            }
            Some(Side::Server) => {
                let _ = writeln!(out, "    S->>C: {}", mermaid_text(&r.label));
            }
            None => {}
        }
        for (i, who) in ["C", "S"].iter().enumerate() {
            if let Some(s) = r.states[i] {
                let _ = writeln!(out, "    Note over {who}: {}", state_name(s));
            }
        }
        if !r.notes.is_empty() {
            let text: Vec<String> = r
                .notes
                .iter()
                .map(|n| mermaid_text(&n.words(&|ts| time_of_day_ms(ts))))
                .collect();
            let sep = if charset::ascii() { " - " } else { " · " };
            let _ = writeln!(out, "    Note right of S: {}", text.join(sep));
        }
    }
    let _ = writeln!(out, "    Note over C,S: {}", mermaid_text(story));
    let _ = writeln!(out, "```");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_text_has_no_statement_breakers() {
        assert_eq!(mermaid_text("a;b#c:d"), "a#59;b#35;c:d");
    }
}
