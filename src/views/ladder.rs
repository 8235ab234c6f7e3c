//! Ladder diagrams: each connection drawn the way textbooks do: the client
//! lane on the left, the server lane on the right, one arrow per segment,
//! each side's state written beside its lane when it changes, with a
//! one-sentence story underneath.

use std::fmt::Write as _;
use std::io::{self, Write};

use synack_core::track::{Connection, Event, Facts, Side, TcpState};
use synack_core::Packet;

use super::diagram::{Ladder, Rows, Tone};
use super::words::{self, duration, wrap};
use super::{Look, RunEnd, View};

/// Gaps at least this long are folded into one "idle" row.
const IDLE_FOLD_NS: i128 = 1_000_000_000;

/// `--view ladder`.
pub(crate) struct LadderView {
    rows: Rows,
    width: usize,
    ascii: bool,
    color: bool,
    /// Live: ladders drawn when their exchange ended, before they retired;
    /// what comes after (TIME_WAIT's end, strays) is drawn as a continuation.
    drawn_early: rustc_hash::FxHashSet<u64>,
}

impl LadderView {
    pub(crate) fn new(look: Look, ascii: bool) -> LadderView {
        LadderView {
            rows: Rows::default(),
            width: look.width.unwrap_or(100),
            ascii,
            color: look.color,
            drawn_early: Default::default(),
        }
    }
}

impl View for LadderView {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        self.rows.packet(p);
        Ok(())
    }

    fn event(&mut self, e: &Event, _out: &mut dyn Write) -> io::Result<()> {
        self.rows.event(e);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        let continued = self.drawn_early.remove(&c.id());
        let Some(ladder) = self.rows.take(c.id()) else {
            return Ok(());
        };
        if continued && ladder.rows.is_empty() {
            return Ok(());
        }
        // The story tells time as the rows do: seconds since the first segment.
        let first = ladder.first_ts;
        let story = words::story(c, f, &|ts| at(ts.nanos_since(first)));
        let title = if continued {
            ladder_words().continued
        } else {
            ""
        };
        writeln!(out, "{}", draw(&ladder, c.id(), title, &story, self))
    }

    fn settled(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        let Some(ladder) = self.rows.take_and_continue(c.id()) else {
            return Ok(());
        };
        self.drawn_early.insert(c.id());
        // The story tells time as the rows do: seconds since the first segment.
        let first = ladder.first_ts;
        let story = words::story(c, f, &|ts| at(ts.nanos_since(first)));
        writeln!(out, "{}", draw(&ladder, c.id(), "", &story, self))
    }

    fn forget(&mut self, conn: u64) {
        self.rows.take(conn);
        self.drawn_early.remove(&conn);
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        if self.rows.not_drawn > 0 {
            writeln!(out, "{}", words::not_drawn(self.rows.not_drawn))?;
        }
        super::write_text_end(end, Some(self.width), out)
    }
}

struct Glyphs {
    lane: char,
    line: char,
    right: char,
    left: char,
    idle: &'static str,
    /// Between the two addresses of the title.
    pair: &'static str,
    /// Marks a note on a line of its own.
    note: &'static str,
    /// Between notes on one row.
    dot: &'static str,
    /// Ends a label cut short.
    more: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    lane: '│',
    line: '─',
    right: '▶',
    left: '◀',
    idle: "⋮",
    pair: "⇄",
    note: "↳",
    dot: " · ",
    more: "…",
};
const ASCII: Glyphs = Glyphs {
    lane: '|',
    line: '-',
    right: '>',
    left: '<',
    idle: ":",
    pair: "<->",
    note: "^",
    dot: " - ",
    more: "...",
};

fn paint(s: &str, t: Tone, color: bool) -> String {
    if !color || t == Tone::Plain {
        return s.to_string();
    }
    let code = match t {
        Tone::Handshake => "32",
        Tone::Close => "36",
        Tone::Reset => "31",
        Tone::Trouble => "33",
        Tone::Probe => "35",
        Tone::TimeWait => "34",
        Tone::Plain => "0",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// Columns on a terminal (a Chinese character takes two).
fn chars(s: &str) -> usize {
    super::width::display_width(s)
}

fn fit(s: &str, w: usize, g: &Glyphs) -> String {
    super::width::fit_with(s, w, g.more)
}

/// Columns an arrow takes besides its label: the line on both sides, the
/// head, and a space either side of the label.
const ARROW_FRAME: usize = 6;
/// The least of that, when room is short: one line character, the head,
/// the two spaces.
const ARROW_FRAME_MIN: usize = 4;

/// An arrow `w` characters wide with the label inside.
fn arrow(label: &str, w: usize, to_right: bool, g: &Glyphs) -> String {
    let label = fit(label, w.saturating_sub(ARROW_FRAME_MIN), g);
    let room = w.saturating_sub(chars(&label) + 3);
    let lead = if room >= 3 { 2 } else { room.min(1) };
    let tail = room - lead;
    let mut s = String::new();
    if to_right {
        s.extend(std::iter::repeat_n(g.line, lead));
        s.push(' ');
        s.push_str(&label);
        s.push(' ');
        s.extend(std::iter::repeat_n(g.line, tail));
        s.push(g.right);
    } else {
        s.push(g.left);
        s.extend(std::iter::repeat_n(g.line, tail));
        s.push(' ');
        s.push_str(&label);
        s.push(' ');
        s.extend(std::iter::repeat_n(g.line, lead));
    }
    s
}

fn pad_left(s: &str, w: usize) -> String {
    super::width::pad_left(s, w)
}

fn pad_right(s: &str, w: usize) -> String {
    super::width::pad_right(s, w)
}

/// The ladder's own words: English, or Chinese under `--lang zh`.
struct Words {
    client: &'static str,
    server: &'static str,
    time: &'static str,
    continued: &'static str,
    idle: &'static str,
}

fn ladder_words() -> Words {
    if crate::lang::zh() {
        Words {
            client: "客户端",
            server: "服务器",
            time: "时间 (秒)",
            continued: " (续)",
            idle: "空闲",
        }
    } else {
        Words {
            client: "client",
            server: "server",
            time: "time (s)",
            continued: " (continued)",
            idle: "idle",
        }
    }
}

/// Under `--lang zh`, the textbook's names of the states a row shows, for
/// a line of their own under the RFC names (the lanes keep their width).
fn zh_states(states: [Option<TcpState>; 2]) -> Option<(&'static str, &'static str)> {
    if !crate::lang::zh() || states == [None, None] {
        return None;
    }
    let name = |s: Option<TcpState>| s.map_or("", crate::lang::glossary::state);
    Some((name(states[0]), name(states[1])))
}

fn seconds(ns: i128) -> String {
    format!("{:.6}", ns as f64 / 1e9)
}

/// A point in time on the ladder's clock (the time column's seconds).
fn at(ns: i128) -> String {
    format!("t={} s", seconds(ns))
}

/// Draw a ladder within `opts.width` columns.
fn draw(l: &Ladder, id: u64, note: &str, story: &str, opts: &LadderView) -> String {
    let g = if opts.ascii { &ASCII } else { &UNICODE };
    let narrow = opts.width < 80;
    let time_w = if narrow { 0 } else { 10 };
    let state_w = 11;
    // time, client state, lane, arrow, lane, server state; notes after.
    let fixed = time_w + usize::from(time_w > 0) + 2 * state_w + 6;
    // Annotations get a column when there is room after the arrows' usual
    // width, or lines of their own; but the arrows first get what their
    // longest label needs, so a label is cut only when the line itself is
    // too narrow for it.
    let notes_w = if narrow { 0 } else { 24 };
    let usual = opts
        .width
        .saturating_sub(fixed + if notes_w > 0 { notes_w + 2 } else { 0 })
        .clamp(16, 44);
    let longest = l
        .rows
        .iter()
        .filter(|r| r.from.is_some())
        .map(|r| chars(&r.label))
        .max()
        .unwrap_or(0);
    let arrow_w = usual.max((longest + ARROW_FRAME).min(opts.width.saturating_sub(fixed)));
    let clock = |ts: synack_core::decode::Timestamp| at(ts.nanos_since(l.first_ts));
    let w = ladder_words();
    let mut out = String::new();
    let lane_line = |left: &str, right: &str, mid: &str| -> String {
        let mut s = String::new();
        if time_w > 0 {
            s.push_str(&pad_left("", time_w));
            s.push(' ');
        }
        s.push_str(&pad_left(left, state_w));
        s.push(' ');
        s.push(g.lane);
        s.push_str(&pad_right(mid, arrow_w + 2));
        s.push(g.lane);
        s.push(' ');
        s.push_str(right);
        s.trim_end().to_string()
    };
    // The title: an address is never cut; the server goes under the client
    // when both do not fit on one line.
    let title = format!(
        "#{id}{note}  {} {}  {}  {} {}",
        w.client, l.client, g.pair, w.server, l.server
    );
    if chars(&title) <= opts.width {
        let _ = writeln!(out, "{title}");
    } else {
        let tag = format!("#{id}{note}  ");
        let _ = writeln!(out, "{tag}{} {}", w.client, l.client);
        let _ = writeln!(out, "{}{} {}", " ".repeat(chars(&tag)), w.server, l.server);
    }
    // Lane headers: the addresses over their lanes.
    let mut head = String::new();
    if time_w > 0 {
        head.push_str(&pad_left(w.time, time_w));
        head.push(' ');
    }
    head.push_str(&pad_left(w.client, state_w + 2));
    head.push_str(&" ".repeat(arrow_w + 1));
    head.push_str(w.server);
    let _ = writeln!(out, "{}", fit(&head, opts.width, g));
    let _ = writeln!(
        out,
        "{}",
        lane_line(l.initial[0].name(), l.initial[1].name(), "")
    );
    let zh_line =
        |states: [Option<TcpState>; 2]| zh_states(states).map(|(c, s)| lane_line(c, s, ""));
    if let Some(z) = zh_line(l.initial.map(Some)) {
        let _ = writeln!(out, "{z}");
    }
    let mut prev = l.first_ts;
    for r in &l.rows {
        let gap = r.ts.nanos_since(prev);
        if gap >= IDLE_FOLD_NS {
            let text = if crate::lang::zh() {
                format!(" {} {} {} {}", g.idle, w.idle, duration(gap), g.idle)
            } else {
                format!(" {} {} {} {}", g.idle, duration(gap), w.idle, g.idle)
            };
            let _ = writeln!(out, "{}", lane_line("", "", &text));
        }
        prev = r.ts;
        let mut line = String::new();
        if time_w > 0 {
            line.push_str(&pad_left(&seconds(r.ts.nanos_since(l.first_ts)), time_w));
            line.push(' ');
        }
        let cs = r.states[0].map_or("", |s| s.name());
        let ss = r.states[1].map_or("", |s| s.name());
        line.push_str(&pad_left(cs, state_w));
        line.push(' ');
        line.push(g.lane);
        match r.from {
            Some(side) => {
                line.push(' ');
                line.push_str(&arrow(&r.label, arrow_w, side == Side::Client, g));
                line.push(' ');
            }
            None => line.push_str(&" ".repeat(arrow_w + 2)),
        }
        line.push(g.lane);
        line.push(' ');
        line.push_str(&pad_right(ss, state_w));
        let texts: Vec<(Tone, String)> = r
            .notes
            .iter()
            .map(|n| (n.tone(), n.words(&clock)))
            .collect();
        let notes: Vec<String> = texts
            .iter()
            .map(|(t, s)| paint(s, *t, opts.color))
            .collect();
        // Notes are measured without colour codes.
        let notes_len: usize = texts.iter().map(|(_, s)| chars(s)).sum::<usize>()
            + chars(g.dot) * texts.len().saturating_sub(1);
        if !notes.is_empty() {
            let fits = |l: &str| !narrow && chars(l) + 2 + notes_len <= opts.width;
            // Aligned in a column when there is room, else right after the state.
            if !fits(&line) && fits(line.trim_end()) {
                line = line.trim_end().to_string();
            }
            if fits(&line) {
                line.push_str("  ");
                line.push_str(&notes.join(g.dot));
            } else {
                // Too long for the row: the notes go on their own lines, under the arrow.
                let _ = writeln!(out, "{}", line.trim_end());
                if let Some(z) = zh_line(r.states) {
                    let _ = writeln!(out, "{z}");
                }
                // Wrapped under the arrow, never cut.
                let indent = if time_w > 0 { time_w + 1 } else { 0 } + state_w + 3;
                let room = opts.width.saturating_sub(indent + chars(g.note) + 1);
                for (tone, text) in &texts {
                    for (i, part) in wrap(text, room.max(16)).lines().enumerate() {
                        let mark = if i == 0 { g.note } else { "" };
                        let _ = writeln!(
                            out,
                            "{}{mark:w$} {}",
                            " ".repeat(indent),
                            paint(part, *tone, opts.color),
                            w = chars(g.note)
                        );
                    }
                }
                continue;
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if let Some(z) = zh_line(r.states) {
            let _ = writeln!(out, "{z}");
        }
    }
    let _ = writeln!(out, "{}", wrap(story, opts.width));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_point_the_right_way_and_keep_their_width() {
        let r = arrow("SYN seq=0", 30, true, &UNICODE);
        assert!(r.ends_with('▶') && r.contains("SYN seq=0"));
        assert_eq!(chars(&r), 30);
        let l = arrow("SYN,ACK seq=0 ack=1", 30, false, &ASCII);
        assert!(l.starts_with('<') && l.contains("SYN,ACK"));
        assert_eq!(chars(&l), 30);
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        let r = arrow(
            "PSH,ACK seq=1000000:2000000 ack=1 len=1000000",
            20,
            true,
            &UNICODE,
        );
        assert_eq!(chars(&r), 20);
        assert!(r.contains('…'));
    }
}
