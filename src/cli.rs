//! Command line: clap's derive structs, then validation into a `ReadConfig`.

use std::path::Path;

use clap::{Args, Parser, Subcommand};

use synack_core::track::TrackerConfig;

use crate::capture::Input;
use crate::views::lines::LineOptions;
use crate::views::time::TimeFormat;

const ABOUT: &str = "synack — see TCP as textbooks draw it, on real packets.

Reads captures (pcap, pcapng) or a live interface and shows every packet tcpdump-style,
then what a textbook would say of it: the handshake, the close, both endpoints' states
(SYN_SENT … TIME_WAIT), keep-alives, resets, retransmissions, zero windows — as lines,
ladder diagrams, a summary table or JSON. Start with: synack demo --list";

const READ_AFTER: &str = "\
Examples:
  synack read fixtures/ipv4-echo.pcap                 every frame, one line each
  synack read fixtures/ipv4-echo.pcap 'tcp port 9999' a tcpdump (BPF) filter after the files
  synack read -e -S --number capture.pcapng           link headers, absolute seqs, frame numbers
  synack read --json capture.pcap | jq .              JSON Lines for scripts
  tcpdump -i lo -w - | synack read -                  '-' reads a capture from stdin

Files are read in the order given; frame numbers continue across them.
Timestamps are local time of day unless --time says otherwise (TZ applies).
Sequence numbers are relative per direction: 0 is the SYN (the ISN), 1 the
first data byte; with no SYN seen, the first segment's seq − 1 is the base.";

#[derive(Debug, Parser)]
#[command(name = "synack", version, about = ABOUT, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read capture files (pcap, pcapng, '-' for stdin) and show every frame
    #[command(after_help = READ_AFTER)]
    Read(ReadArgs),

    /// Capture live from an interface (default lo) and annotate as packets arrive
    #[command(after_help = LIVE_AFTER)]
    Live(LiveArgs),

    /// List the interfaces synack can capture on, like tcpdump -D
    Interfaces,

    /// Echo server and client: produce TCP scenarios on loopback to watch
    Echo(crate::echo::EchoArgs),

    /// Write one HTML file: the connections table, a timeline, ladders and graphs to step through
    #[command(after_help = crate::report::AFTER)]
    Report(crate::report::ReportArgs),

    /// Run a scenario (echo server + client on loopback) and watch it, annotated, in one command
    #[command(after_help = DEMO_AFTER)]
    Demo(DemoArgs),
}

const DEMO_AFTER: &str = "\
Examples:
  sudo synack demo --list                 the scenarios and what to look for in each
  sudo synack demo basic                  handshake, echoes, client closes: client TIME_WAIT
  sudo synack demo keepalive --summary    probes and their ACKs, as a table
  sudo synack demo all -w demo.pcap       every scenario, each saved to demo-NAME.pcap

The demo captures on lo (tcp port --port), runs the bundled echo server and client,
prints every packet as it arrives, then each socket's state as synack inferred it
beside the kernel's own (/proc/net/tcp). It needs capture privileges (root or
cap_net_raw,cap_net_admin); without them, read a bundled capture instead:
  synack read fixtures/close-client-first.pcap";

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Scenario name (see --list), or 'all'
    #[arg(value_name = "SCENARIO")]
    pub(crate) scenario: Option<String>,

    /// List the scenarios with what to look for in each
    #[arg(long)]
    pub(crate) list: bool,

    /// The echo server's port on 127.0.0.1
    #[arg(long, default_value_t = 9999)]
    pub(crate) port: u16,

    /// Also save the capture (with 'all': FILE-NAME.pcap per scenario)
    #[arg(short = 'w', value_name = "FILE")]
    pub(crate) write: Option<String>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

const LIVE_AFTER: &str = "\
Examples:
  sudo synack live 'tcp port 9999'                 loopback, one port
  sudo synack live -i any -w trace.pcap tcp        every interface, saved for later
  sudo synack live --summary -c 1000               a table after 1000 frames

The default interface is lo: synack is made for watching local TCP, such as the
bundled echo server. Ctrl-C stops cleanly: the -w file is complete, connections
and the kernel's received/dropped counters are printed.

Capturing needs root, or the capabilities on the binary:
  sudo setcap cap_net_raw,cap_net_admin+eip $(command -v synack)
Started through sudo, synack drops back to the invoking user once the capture
is open (like tcpdump -Z).

States are only what the packets prove: a receiver's state changes once its
reply shows it got the segment. Live, synack holds a line back at most 0.4 s
for that reply; a proof that comes later is shown on the line of the reply
itself, and an ACK assumed received that a resend later disproves is shown
as a correction there.";

#[derive(Debug, Args)]
pub(crate) struct LiveArgs {
    /// Interface to capture on ('any' for all)
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        default_value = "lo"
    )]
    pub(crate) interface: String,

    /// Also write the raw frames to FILE (pcap), readable by tcpdump and synack read
    #[arg(short = 'w', value_name = "FILE")]
    pub(crate) write: Option<String>,

    /// A BPF filter as in tcpdump
    #[arg(value_name = "FILTER")]
    pub(crate) filter: Vec<String>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

impl LiveArgs {
    pub(crate) fn filter(&self) -> Option<String> {
        (!self.filter.is_empty()).then(|| self.filter.join(" "))
    }
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// Capture file to read (repeatable); with -r, every positional word is filter
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub(crate) files: Vec<String>,

    /// Capture files ('-' for stdin), then an optional BPF filter as in tcpdump
    #[arg(value_name = "FILE... [FILTER]")]
    pub(crate) args: Vec<String>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct OutputArgs {
    /// Print the link-layer header (MAC addresses, VLAN tags, cooked-capture direction)
    #[arg(short = 'e')]
    pub(crate) link_header: bool,

    /// Absolute sequence and acknowledgment numbers (default: relative)
    #[arg(short = 'S', long = "absolute-tcp-sequence-numbers")]
    pub(crate) absolute: bool,

    /// Stop after N frames (counted after the filter)
    #[arg(short = 'c', value_name = "N")]
    pub(crate) count: Option<u64>,

    /// Start each line with the frame's number in the capture
    #[arg(long, short = 'N')]
    pub(crate) number: bool,

    /// Timestamp style on packet lines
    #[arg(long, value_enum, default_value_t = TimeFormat::Local)]
    pub(crate) time: TimeFormat,

    /// Show nanoseconds in timestamps (default microseconds, as tcpdump)
    #[arg(long)]
    pub(crate) nano: bool,

    /// Write JSON Lines instead of text: packet, event and connection records, then a summary
    #[arg(long)]
    pub(crate) json: bool,

    /// Print a table of connections (or, with --json, connection records) instead of packets
    #[arg(long)]
    pub(crate) summary: bool,

    /// How to show packets: one line each, or each connection as a ladder
    /// diagram (client lane left, server lane right), as Mermaid for docs, as
    /// an SVG ladder, or as SVG time-sequence graphs (svg and graph: use -o FILE)
    #[arg(long, value_enum, default_value_t = View::Lines)]
    pub(crate) view: View,

    /// Write the output to FILE instead of stdout (an SVG document with --view svg|graph)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<String>,

    /// Only connection N (numbered in first-seen order, as '#N' in the output)
    #[arg(long, value_name = "N")]
    pub(crate) conn: Option<u64>,

    /// Draw ladders with plain ASCII
    #[arg(long)]
    pub(crate) ascii: bool,

    /// Explain each annotation: the rule that fired and the numbers it compared
    #[arg(long)]
    pub(crate) why: bool,

    /// How long TIME_WAIT lasts (2MSL), in seconds; Linux uses 60
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub(crate) time_wait: f64,

    /// Forget a connection after this many seconds without a segment
    #[arg(long, value_name = "SECS", default_value_t = 7500.0)]
    pub(crate) idle_timeout: f64,

    /// Track at most this many connections at once; the least recently active are dropped
    #[arg(long, value_name = "N", default_value_t = 300_000)]
    pub(crate) max_connections: usize,

    /// Accepted for tcpdump habits: synack never resolves names
    #[arg(short = 'n', action = clap::ArgAction::Count, hide = true)]
    pub(crate) numeric: u8,
}

impl OutputArgs {
    pub(crate) fn line_options(&self) -> LineOptions {
        LineOptions {
            link_header: self.link_header,
            absolute: self.absolute,
            number: self.number,
            time: self.time,
            nano: self.nano,
            why: self.why,
            time_wait_ns: secs_to_ns(self.time_wait),
        }
    }

    pub(crate) fn tracker_config(&self) -> TrackerConfig {
        TrackerConfig {
            time_wait_ns: secs_to_ns(self.time_wait),
            idle_timeout_ns: secs_to_ns(self.idle_timeout),
            max_connections: self.max_connections.max(1),
        }
    }
}

fn secs_to_ns(s: f64) -> i128 {
    (s.max(0.0) * 1e9) as i128
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum View {
    /// tcpdump-style, one line per frame, annotated
    Lines,
    /// a ladder diagram per connection, with its story underneath
    Ladder,
    /// a Mermaid sequence diagram per connection (in a Markdown fence)
    Mermaid,
    /// an SVG ladder per connection, stacked in one document (with -o FILE)
    Svg,
    /// a time-sequence graph (with throughput and RTT) per direction, as SVG
    Graph,
}

/// A validated `read` invocation.
#[derive(Debug)]
pub(crate) struct ReadConfig {
    pub(crate) inputs: Vec<Input>,
    pub(crate) filter: Option<String>,
    pub(crate) output: OutputArgs,
}

/// A usage mistake: printed in one line, exit status 2.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError(pub String);

fn looks_like_a_file(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    word.contains('/')
        || [".pcap", ".pcapng", ".cap", ".dmp", ".gz"]
            .iter()
            .any(|ext| lower.ends_with(ext))
}

impl ReadArgs {
    /// Split positionals into files and a filter: leading words that name
    /// existing files (or '-') are files, the rest is the filter, as tcpdump joins it.
    pub(crate) fn validate(self) -> Result<ReadConfig, UsageError> {
        let mut inputs: Vec<Input> = self.files.iter().map(|f| Input::parse(f)).collect();
        let mut rest = self.args.as_slice();
        if inputs.is_empty() {
            while let Some((first, tail)) = rest.split_first() {
                if first == "-" || Path::new(first).exists() {
                    inputs.push(Input::parse(first));
                    rest = tail;
                } else {
                    break;
                }
            }
        }
        if let Some(first) = rest.first() {
            if looks_like_a_file(first) {
                return Err(UsageError(format!(
                    "cannot read {first}: no such file (check the path; a filter goes after the files)"
                )));
            }
        }
        if inputs.is_empty() {
            return Err(UsageError(
                "no capture file given: try 'synack read FILE [FILTER]', or '-' to read stdin"
                    .into(),
            ));
        }
        if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
            return Err(UsageError("stdin ('-') can be read only once".into()));
        }
        let filter = (!rest.is_empty()).then(|| rest.join(" "));
        Ok(ReadConfig {
            inputs,
            filter,
            output: self.output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<ReadConfig, UsageError> {
        let mut argv = vec!["synack", "read"];
        argv.extend(words);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Read(r) => r.validate(),
            _ => unreachable!("parsed a read command"),
        }
    }

    #[test]
    fn files_then_filter() {
        let c = parse(&["Cargo.toml", "-", "tcp", "port", "80"]).unwrap();
        assert_eq!(
            c.inputs,
            vec![Input::File("Cargo.toml".into()), Input::Stdin]
        );
        assert_eq!(c.filter.as_deref(), Some("tcp port 80"));
    }

    #[test]
    fn dash_r_makes_every_word_filter() {
        let c = parse(&["-r", "x.pcap", "host", "1.2.3.4"]).unwrap();
        assert_eq!(c.inputs, vec![Input::File("x.pcap".into())]);
        assert_eq!(c.filter.as_deref(), Some("host 1.2.3.4"));
    }

    #[test]
    fn missing_file_is_named_not_taken_for_a_filter() {
        let e = parse(&["no-such.pcap"]).unwrap_err();
        assert!(e.0.contains("no-such.pcap: no such file"), "{}", e.0);
    }

    #[test]
    fn no_file_at_all() {
        assert!(parse(&["tcp"]).unwrap_err().0.contains("no capture file"));
    }
}
