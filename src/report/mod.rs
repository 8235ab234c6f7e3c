//! `synack report FILE... -o report.html`: one self-contained HTML file
//! (inline CSS and script, no fetch of anything: the page's own
//! Content-Security-Policy forbids it) with the table of every connection
//! (sort, filter), a timeline of them all, and for the connections a reader
//! most likely wants (problems first: resets, retransmissions, zero
//! windows, refusals; then the busiest) the SVG ladder and graphs and a
//! packet-by-packet step-through with both sides' states, each note and
//! its `--why`.
//!
//! The page stays quick with tens of thousands of connections: the table's
//! rows are one JSON array, drawn a page at a time; each connection's
//! details are a JSON script element parsed only when opened.

mod page;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use clap::Args;
use rustc_hash::FxHashMap;
use serde_json::{json, Value};

use synack_core::decode::Timestamp;
use synack_core::track::{Connection, Ending, Event, Facts, Side};
use synack_core::Packet;

use crate::app::{self, Outcome};
use crate::cli::{OutputArgs, ReadArgs, View as ViewKind};
use crate::error::{Error, Result};
use crate::lang::glossary::state_shown;
use crate::lang::ui;
use crate::views::diagram::{Ladder, Rows};
use crate::views::graph::{self, Flows};
use crate::views::picture::seconds;
use crate::views::table::{self, Clock};
use crate::views::time::{time_of_day_ms, TimeFormat};
use crate::views::{svg, words, RunEnd, View};

pub(crate) const AFTER: &str = "\
Examples:
  synack report fixtures/retransmission.pcap -o report.html
  synack report capture.pcapng 'tcp port 443' -o report.html --details 50

The report is one HTML file that opens from disk in any current browser and
fetches nothing. Every connection is in its table (sort by a column, filter by
address, close, TIME_WAIT holder, retransmissions) and on the timeline; the
connections with details (problems first: resets, retransmissions, zero
windows, refused; then the busiest) have their ladder and time-sequence graphs,
and Next/Previous (or the arrow keys) step through them packet by packet.";

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Capture files ('-' for stdin), then an optional BPF filter as in tcpdump
    #[arg(value_name = "FILE... [FILTER]")]
    pub(crate) args: Vec<String>,

    /// The HTML file to write
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<String>,

    /// How many connections get their ladder, graphs and step-through
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) details: usize,

    /// How long TIME_WAIT lasts (2MSL): a duration such as 60s, 500ms or 2m
    /// (a bare number is seconds); Linux uses 60s
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::echo::parse_duration)]
    pub(crate) time_wait: std::time::Duration,

    /// Forget a connection after this long without a segment (a duration;
    /// a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = "7500s", value_parser = crate::echo::parse_duration)]
    pub(crate) idle_timeout: std::time::Duration,

    /// Track at most this many connections at once (TIME_WAIT included; about
    /// 2 KB each); the least recently active are dropped, and counted
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) max_connections: usize,
}

/// Rows kept at each end of a ladder for the step-through; those between
/// are folded into one step that says how many.
const STEP_ROWS: usize = 200;

/// `synack report`.
pub(crate) fn run(args: ReportArgs, err: &mut impl Write) -> Result<Outcome> {
    let Some(path) = args.output.clone() else {
        if io::IsTerminal::is_terminal(&io::stdout()) {
            return Err(Error::Usage(
                "synack report writes HTML: give -o FILE (or redirect stdout)".into(),
            ));
        }
        return report_to(args, None, err);
    };
    report_to(args, Some(path), err)
}

fn report_to(args: ReportArgs, path: Option<String>, err: &mut impl Write) -> Result<Outcome> {
    let files: Vec<String> = args
        .args
        .iter()
        .take_while(|a| *a == "-" || std::path::Path::new(a).exists())
        .cloned()
        .collect();
    let output = OutputArgs {
        link_header: false,
        absolute: false,
        count: None,
        number: false,
        time: Some(TimeFormat::Local),
        nano: false,
        json: false,
        summary: false,
        zeek: false,
        view: ViewKind::Lines,
        output: None,
        conn: None,
        only: None,
        no_options: false,
        ascii: false,
        why: false,
        time_wait: args.time_wait,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
        numeric: 0,
        tcpdump: Default::default(),
    };
    let cfg = ReadArgs {
        files: Vec::new(),
        args: args.args.clone(),
        write: None,
        // One analyzer: the report's view needs every packet whole in one
        // place, so analyzer threads would mostly add the merger's copying.
        threads: Some(1),
        shard: None,
        output,
    }
    .validate()
    .map_err(|e| Error::Usage(e.0))?;
    let time_wait_ns = i128::try_from(args.time_wait.as_nanos()).unwrap_or(i128::MAX);
    let view = ReportView::new(args.details, time_wait_ns, files);
    let out = app::document(path.as_deref())?;
    app::read_with(&cfg, vec![Box::new(view)], out, err)
}

/// The report as a view (for the fuzz targets: `synack::fuzzing`).
#[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
pub(crate) fn view(details: usize, time_wait_ns: i128, files: Vec<String>) -> impl View {
    ReportView::new(details, time_wait_ns, files)
}

/// How a connection ended, as a class for colour and the close filter.
fn ending_class(f: &Facts) -> &'static str {
    match f.ending {
        Ending::Refused => "refused",
        Ending::Reset { .. } => "reset",
        Ending::Closed { .. } => "closed",
        Ending::FinOneWay { .. } => "one-fin",
        Ending::Unanswered => "unanswered",
        _ => "open",
    }
}

/// Details go first to problems, then to the busiest.
fn interest(f: &Facts, c: &Connection) -> (bool, u64) {
    let problem = matches!(f.ending, Ending::Refused | Ending::Reset { .. })
        || f.retransmissions > 0
        || f.zero_window_ads > 0;
    (problem, c.client().packets() + c.server().packets())
}

/// How much a reader likely wants a connection's details: (a problem,
/// packets), and the earlier connection first among equals.
type Score = ((bool, u64), Reverse<u64>);

/// The report, gathered as the capture is read.
struct ReportView {
    ladders: Rows,
    flows: Flows,
    time_wait_ns: i128,
    files: Vec<String>,
    /// Every connection's table row, with its start time (absolute ns).
    rows: Vec<(i128, Value)>,
    /// The chosen connections' details, by id.
    details: FxHashMap<u64, String>,
    /// The weakest chosen connection on top.
    chosen: BinaryHeap<Reverse<Score>>,
    max_details: usize,
    problems: usize,
    /// Times in the table as `synack read --summary` writes them.
    clock: Clock,
}

impl ReportView {
    fn new(max_details: usize, time_wait_ns: i128, files: Vec<String>) -> ReportView {
        ReportView {
            ladders: Rows::new(STEP_ROWS, Some(time_wait_ns)),
            flows: Flows::default(),
            time_wait_ns,
            files,
            rows: Vec::new(),
            details: FxHashMap::default(),
            chosen: BinaryHeap::new(),
            max_details,
            problems: 0,
            clock: Clock::new(TimeFormat::Local, false),
        }
    }

    /// Keep this connection's details if it is among the most wanted so far.
    fn choose(&mut self, c: &Connection, f: &Facts, ladder: Option<Ladder>) -> bool {
        let score = (interest(f, c), Reverse(c.id()));
        let flow = self.flows.take(c.id());
        let Some(ladder) = ladder else { return false };
        if self.max_details == 0 {
            return false;
        }
        if self.chosen.len() >= self.max_details
            && self.chosen.peek().is_some_and(|Reverse(min)| *min >= score)
        {
            return false;
        }
        let story = words::story(c, f, &|ts| time_of_day_ms(ts));
        let ladder_svg = svg::ladder_svg(&ladder, c.id(), &story).svg;
        let graphs: Vec<String> = flow
            .map(|fl| {
                graph::graphs(&fl, c.id())
                    .into_iter()
                    .map(|p| p.svg)
                    .collect()
            })
            .unwrap_or_default();
        let d = json!({
            "id": c.id(),
            "title": ui::LADDER_HEAD.fill(&[("id", &c.id()), ("client", &ladder.client), ("server", &ladder.server)]),
            "story": story,
            "ladder": ladder_svg,
            "graphs": graphs,
            "steps": steps(&ladder),
            "more": ladder.folded,
        });
        self.details.insert(c.id(), d.to_string());
        self.chosen.push(Reverse(score));
        if self.chosen.len() > self.max_details {
            if let Some(Reverse((_, Reverse(id)))) = self.chosen.pop() {
                self.details.remove(&id);
            }
        }
        true
    }
}

/// The step-through: one step per ladder row.
fn steps(l: &Ladder) -> Vec<Value> {
    let mut prev = l.initial;
    let clock = |ts| time_of_day_ms(ts);
    l.rows
        .iter()
        .map(|r| {
            // A segment's whole path; another row (an event, the fold) says
            // where each side stands, and the change since the row before.
            let path = |i: usize| -> String {
                let now = r.paths[i].after();
                match r.from {
                    Some(_) => r.paths[i]
                        .states()
                        .iter()
                        .map(|s| state_shown(*s))
                        .collect::<Vec<_>>()
                        .join("→"),
                    None if now != prev[i] => {
                        format!("{}→{}", state_shown(prev[i]), state_shown(now))
                    }
                    None => state_shown(now),
                }
            };
            let (cs, ss) = (path(0), path(1));
            let mut line = Vec::new();
            words::write_states(&mut line, &r.paths, r.corrected, r.assumed);
            prev = [r.paths[0].after(), r.paths[1].after()];
            json!({
                "f": r.frame,
                "t": seconds(r.ts.nanos_since(l.first_ts)),
                "d": match r.from { Some(Side::Client) => "c", Some(Side::Server) => "s", None => "" },
                "l": r.label,
                "cs": cs,
                "ss": ss,
                "st": String::from_utf8_lossy(&line),
                "n": r.notes.iter().map(|n| n.words(&clock)).collect::<Vec<_>>(),
                "w": r.whys,
            })
        })
        .collect()
}

impl View for ReportView {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        self.clock.pass(p.frame.ts);
        self.ladders.packet(p);
        self.flows.packet(p);
        Ok(())
    }

    fn event(&mut self, e: &Event, _out: &mut dyn Write) -> io::Result<()> {
        self.ladders.event(e);
        Ok(())
    }

    fn connection(&mut self, c: &Connection, f: &Facts, _out: &mut dyn Write) -> io::Result<()> {
        if interest(f, c).0 {
            self.problems += 1;
        }
        let ladder = self.ladders.take(c.id());
        self.choose(c, f, ladder);
        // The report has no `via` column (yet): tunnel paths are not gathered.
        let r = table::row_of(c, f, &mut self.clock, None);
        let holder = match f.time_wait_holders() {
            (true, true) => "both",
            (true, false) => "client",
            (false, true) => "server",
            (false, false) => "",
        };
        let start = c.first_ts().as_nanos();
        let (pc, ps) = (c.client().packets(), c.server().packets());
        let (bc, bs) = (c.client().bytes(), c.server().bytes());
        // The column order is the page script's (report.js: COLS).
        let row = json!([
            c.id(),
            r[table::CLIENT],
            r[table::SERVER],
            0.0,
            f.duration_ns as f64 / 1e9,
            r[table::DURATION],
            r[table::PACKETS],
            pc + ps,
            r[table::BYTES],
            bc + bs,
            r[table::RTT],
            c.handshake().rtt_ns(),
            r[table::CLOSE],
            ending_class(f),
            r[table::TIME_WAIT],
            holder,
            f.retransmissions,
            r[table::ZERO_WINDOW],
            r[table::ZEEK],
            0,
            r[table::KEEPALIVE],
        ]);
        self.rows.push((start, row));
        Ok(())
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.rows.sort_by_key(|(_, r)| r[0].as_u64());
        let t0 = self.rows.iter().map(|(s, _)| *s).min().unwrap_or(0);
        for (start, row) in &mut self.rows {
            row[3] = json!((*start - t0) as f64 / 1e9);
            let id = row[0].as_u64().unwrap_or(0);
            row[19] = json!(u8::from(self.details.contains_key(&id)));
        }
        let rows: Vec<&Value> = self.rows.iter().map(|(_, r)| r).collect();
        let start = (!self.rows.is_empty()).then(|| {
            let secs = t0.div_euclid(1_000_000_000) as i64;
            time_of_day_ms(Timestamp::new(secs, t0.rem_euclid(1_000_000_000) as u32))
        });
        let meta = json!({
            "files": self.files,
            "connections": self.rows.len(),
            "details": self.details.len(),
            "problems": self.problems,
            "summary": words::summary_line(end.counts, end.kernel, end.shard),
            "errors": end.errors,
            "start": start,
            "time_wait_s": self.time_wait_ns as f64 / 1e9,
            "version": env!("CARGO_PKG_VERSION"),
            // The page's words, in the run's language (report.js has none of its own).
            "ui": ui::ALL
                .iter()
                .map(|t| (t.key.to_ascii_lowercase(), Value::from(t.get())))
                .collect::<serde_json::Map<String, Value>>(),
        });
        let mut ids: Vec<&u64> = self.details.keys().collect();
        ids.sort();
        let details: Vec<(u64, &str)> = ids
            .into_iter()
            .map(|id| (*id, self.details[id].as_str()))
            .collect();
        page::write(out, &meta, &rows, &details)
    }
}
