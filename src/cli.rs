//! Command line: clap's derive structs, then validation into a `ReadConfig`.

use std::path::Path;

use clap::{Args, Parser, Subcommand};

use synack_core::shard::Shard;
use synack_core::track::TrackerConfig;

use crate::capture::Input;
use crate::lang::{pick, tr};
use crate::views::dump::{Dump, DumpStyle};
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
  synack read -v -X -tt capture.pcap                  tcpdump's -v (checksums checked), -X and -tt
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

    /// Language for people: en or zh (中文). Default: SYNACK_LANG, then
    /// LC_ALL / LC_MESSAGES / LANG (zh_* is Chinese). JSON stays English
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "LANG",
        hide_possible_values = true
    )]
    pub(crate) lang: Option<crate::lang::Lang>,
}

/// The command line's definition, in the run's language (`--help` in
/// Chinese under `--lang zh`).
pub(crate) fn command() -> clap::Command {
    localized(<Cli as clap::CommandFactory>::command())
}

/// `cmd` in the run's language.
pub(crate) fn localized(cmd: clap::Command) -> clap::Command {
    if crate::lang::zh() {
        crate::lang::help::localize(cmd)
    } else {
        cmd
    }
}

/// Parse `args` (the language already chosen), with the help and usage
/// mistakes in that language.
pub(crate) fn try_parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    command()
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
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

    /// Print a shell completion script: synack completions bash > ~/.local/share/bash-completion/completions/synack
    #[command(hide = true)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff): synack man | man -l -, or every page with --dir
    #[command(hide = true)]
    Man(crate::shell::ManArgs),
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
cap_net_raw,cap_net_admin); without them, read a capture instead, such as
the repository's bundled one: synack read fixtures/close-client-first.pcap";

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Scenario name (see --list), or 'all'
    #[arg(value_name = "SCENARIO")]
    pub(crate) scenario: Option<String>,

    /// List the scenarios with what to look for in each
    #[arg(long)]
    pub(crate) list: bool,

    /// The echo server's port on 127.0.0.1
    #[arg(long, default_value_t = 9999, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) port: u16,

    /// Also save the capture (with 'all': FILE-NAME.pcap per scenario)
    #[arg(short = 'w', long = "write", value_name = "FILE")]
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

    /// Also write the frames to FILE: classic pcap, or, when FILE ends in .pcapng, pcapng with
    /// each TCP packet's annotation as its comment (shown and filtered on in Wireshark)
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub(crate) write: Option<String>,

    /// With -w: start a new file once this one passes MB million bytes
    /// (FILE, FILE1, FILE2…; with -W, a ring FILE0…FILEn-1), as tcpdump -C
    #[arg(short = 'C', value_name = "MB", requires = "write")]
    pub(crate) file_size: Option<u64>,

    /// With -C: keep at most N files, overwriting the oldest (a ring); with
    /// -G alone: stop after N files, as tcpdump -W
    #[arg(short = 'W', value_name = "N", requires = "write", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) file_count: Option<u32>,

    /// With -w: start a new file every SECONDS (FILE may hold strftime
    /// fields such as %H%M%S), as tcpdump -G
    #[arg(short = 'G', value_name = "SECONDS", requires = "write", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) rotate_seconds: Option<u64>,

    /// The kernel's capture ring in KiB, as tcpdump -B; most of synack
    /// live's memory. 64 MiB lets bursts from many clients fit
    #[arg(short = 'B', long = "buffer-size", value_name = "KiB", default_value_t = crate::capture::live::BUFFER_KIB, value_parser = clap::value_parser!(u32).range(256..))]
    pub(crate) buffer_kib: u32,

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

    /// How the savefile rotates.
    pub(crate) fn rotation(&self) -> crate::capture::savefile::Rotation {
        crate::capture::savefile::Rotation {
            size_bytes: self.file_size.map(|mb| mb.max(1) * 1_000_000),
            files: self.file_count,
            seconds: self.rotate_seconds,
        }
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

    /// Also write every frame, unchanged, to FILE.pcapng with each TCP packet's annotation
    /// (events, both states) as its comment: Wireshark shows it and filters on it
    /// (frame.comment contains "TIME_WAIT")
    #[arg(short = 'w', long = "write", value_name = "FILE.pcapng")]
    pub(crate) write: Option<String>,

    /// Analyze on N threads, each following the connections a hash of their
    /// 4-tuple gives it [default: the machine's cores]. The output is the
    /// same as with one thread, byte for byte, but when all threads together
    /// reach --max-connections (then synack says so on stderr)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) threads: Option<u32>,

    /// Handle only shard K of N (K from 0 to N-1): the connections whose 4-tuple hash falls
    /// there; frames of other connections are read and skipped (their times still run the
    /// clock), frames without TCP belong to shard 0. N runs, one per shard, write together
    /// exactly the connection records of one run (join them on community_id and start).
    /// The summary counts this shard's frames and says how many were read
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub(crate) shard: Option<Shard>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `--shard K/N`: shard K (from 0) of N.
fn parse_shard(word: &str) -> Result<Shard, String> {
    let usage = || {
        tr!(
            "{word}: a shard is K/N, K from 0 to N-1 (e.g. 0/4 … 3/4)",
            "{word}：分片写作 K/N，K 从 0 到 N-1 (例如 0/4 … 3/4)"
        )
    };
    let (k, n) = word.split_once('/').ok_or_else(usage)?;
    let k: u32 = k.trim().parse().map_err(|_| usage())?;
    let n: u32 = n.trim().parse().map_err(|_| usage())?;
    Shard::new(k, n).ok_or_else(usage)
}

#[derive(Debug, Args, Clone)]
pub(crate) struct OutputArgs {
    /// Print the link-layer header (MAC addresses, VLAN tags, cooked-capture direction)
    #[arg(short = 'e')]
    pub(crate) link_header: bool,

    /// Absolute sequence and acknowledgment numbers (default: relative)
    #[arg(short = 'S', long = "absolute-tcp-sequence-numbers")]
    pub(crate) absolute: bool,

    /// Stop after N frames (those that pass the filter, if one is given)
    #[arg(short = 'c', value_name = "N")]
    pub(crate) count: Option<u64>,

    /// Start each line with the frame's number in the capture
    #[arg(long, short = 'N')]
    pub(crate) number: bool,

    /// Timestamp style on packet lines [default: local]
    #[arg(long, value_enum)]
    pub(crate) time: Option<TimeFormat>,

    /// Show nanoseconds in timestamps (default microseconds, as tcpdump)
    #[arg(long)]
    pub(crate) nano: bool,

    /// Write JSON Lines instead of text: packet, event and connection records,
    /// then a summary. Records always carry what -e, -N, -S and --why add to lines
    #[arg(long)]
    pub(crate) json: bool,

    /// Print a table of connections (or, with --json, connection records) instead of packets.
    /// Table rows come in # order (the order connections were first seen), however many
    /// there are: rows wait on disk (a temporary file) rather than in memory; one table
    /// into a pipe, a table per 1000 rows on a terminal. JSON records come as connections
    /// end (after TIME_WAIT), open ones last
    #[arg(long)]
    pub(crate) summary: bool,

    /// Write connections as Zeek's conn.log (TSV with Zeek's headers; with --json, Zeek's JSON form)
    #[arg(long)]
    pub(crate) zeek: bool,

    /// How to show packets: one line each, or each connection as a ladder
    /// diagram (client lane left, server lane right), as Mermaid for docs, as
    /// an SVG ladder, or as SVG time-sequence graphs (svg and graph: use -o FILE)
    #[arg(long, value_enum, default_value_t = View::Lines)]
    pub(crate) view: View,

    /// Write the output to FILE instead of stdout (an SVG document with --view svg|graph)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<String>,

    /// Only connection N (numbered in first-seen order, as '#N' in the output)
    #[arg(long, value_name = "N", value_parser = conn_id)]
    pub(crate) conn: Option<u64>,

    /// Only packets whose annotations include one of these names (with the
    /// table or a diagram: only connections that had one), as Wireshark's
    /// tcp.analysis filters: e.g. 'retransmission', 'zero_window,keep_alive',
    /// 'rst and not refused'. Names: the JSON event kinds, and the groups rst,
    /// retransmission, time_wait, ecn, analysis
    #[arg(long, value_name = "EXPR", value_parser = crate::views::only::Expr::parse)]
    pub(crate) only: Option<crate::views::only::Expr>,

    /// Leave the TCP options out of packet lines (shorter lines; the options
    /// are still decoded, and in --json)
    #[arg(long)]
    pub(crate) no_options: bool,

    /// Plain ASCII output, as when the locale is not UTF-8 (LC_ALL=C)
    #[arg(long)]
    pub(crate) ascii: bool,

    /// Explain each annotation: the rule that fired and the numbers it compared
    #[arg(long)]
    pub(crate) why: bool,

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

    /// Accepted for tcpdump habits: synack never resolves names
    #[arg(short = 'n', action = clap::ArgAction::Count, hide = true)]
    pub(crate) numeric: u8,

    #[command(flatten)]
    pub(crate) tcpdump: TcpdumpArgs,
}

/// tcpdump's letters for what a packet line shows: -t…, -v, -x/-X/-A.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct TcpdumpArgs {
    /// Timestamps as tcpdump: -t none, -tt seconds since 1970, -ttt since the
    /// previous frame, -tttt date and time, -ttttt since the first frame
    /// (hh:mm:ss.ffffff, as tcpdump writes them); not with --time
    #[arg(short = 't', action = clap::ArgAction::Count)]
    pub(crate) t: u8,

    /// Verbose, as tcpdump -v: the IP header in parentheses (TOS, TTL, id,
    /// fragment offset and flags, protocol, length, IP options; IPv6 class,
    /// flow label, hop limit, payload length) and the IPv4 header and TCP
    /// checksums checked ('correct', 'incorrect -> 0x…', or 'unverified'
    /// when the sender left it to checksum offload or it was not all
    /// captured). -vv is the same
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// After each line, the frame in hex and ASCII from the IP header, as
    /// tcpdump -X (0x0000:  4500 0034 …  E..4); -XX from the link-layer header.
    /// With --json: payload_hex (the TCP payload), and frame_hex with -XX
    #[arg(short = 'X', action = clap::ArgAction::Count)]
    pub(crate) hex_ascii: u8,

    /// As -X, in hex only (tcpdump -x; -xx from the link-layer header)
    #[arg(short = 'x', action = clap::ArgAction::Count)]
    pub(crate) hex: u8,

    /// After each line, the frame from the IP header in ASCII (-AA from the
    /// link-layer header), as tcpdump -A: other bytes than printable ASCII,
    /// space, tab and newline are shown as '.'
    #[arg(short = 'A', action = clap::ArgAction::Count)]
    pub(crate) ascii_dump: u8,
}

impl OutputArgs {
    /// Refuse pairs of options where one would be silently ignored. JSON
    /// always carries what -e, -N, -S and --why add to lines, so those go
    /// with it; the table, conn.log and the diagrams show no packet lines.
    pub(crate) fn check(&self) -> Result<(), UsageError> {
        self.check_letters()?;
        let diagram = self.diagram();
        let both = |a: &str, b: &str, why: &str| {
            Err(UsageError(tr!(
                "{a} and {b} cannot go together: {why} (drop one)",
                "{a} 和 {b} 不能同时使用：{why} (去掉一个)"
            )))
        };
        if self.zeek && self.summary {
            return both(
                "--zeek",
                "--summary",
                pick(
                    "each writes its own table of connections",
                    "两者各自输出一张连接表",
                ),
            );
        }
        let records = if self.zeek {
            Some("--zeek")
        } else if self.summary {
            Some("--summary")
        } else {
            None
        };
        if let Some(d) = diagram {
            if self.json {
                return both(
                    "--json",
                    d,
                    pick(
                        "JSON has packet, event and connection records, not diagrams",
                        "JSON 里是分组、事件和连接记录，没有图",
                    ),
                );
            }
            if let Some(r) = records {
                return both(
                    r,
                    d,
                    pick(
                        "one writes connections as a table, the other draws them",
                        "一个把连接写成表，另一个把连接画成图",
                    ),
                );
            }
        }
        if self.json && !self.zeek {
            return Ok(());
        }
        let Some(shape) = records.or(diagram) else {
            return Ok(());
        };
        let line_only = [
            (self.link_header, "-e"),
            (self.number, "-N"),
            (self.absolute, "-S"),
            (self.why, "--why"),
            (self.no_options, "--no-options"),
        ];
        if let Some((_, flag)) = line_only.iter().find(|(on, _)| *on) {
            return both(
                flag,
                shape,
                &tr!(
                    "{flag} changes packet lines, and {shape} shows none",
                    "{flag} 改变的是分组行，而 {shape} 不显示分组行"
                ),
            );
        }
        Ok(())
    }

    /// The view that draws connections rather than packet lines, as the
    /// option that asks for it.
    fn diagram(&self) -> Option<&'static str> {
        match self.view {
            View::Lines => None,
            View::Ladder => Some("--view ladder"),
            View::Mermaid => Some("--view mermaid"),
            View::Svg => Some("--view svg"),
            View::Graph => Some("--view graph"),
        }
    }

    /// The output is one SVG document (`--view svg|graph`).
    pub(crate) fn is_picture(&self) -> bool {
        matches!(self.view, View::Svg | View::Graph)
    }

    pub(crate) fn line_options(&self) -> LineOptions {
        LineOptions {
            link_header: self.link_header,
            absolute: self.absolute,
            number: self.number,
            time: self.time_format(),
            nano: self.nano,
            why: self.why,
            time_wait_ns: dur_ns(self.time_wait),
            verbose: self.tcpdump.verbose > 0,
            dump: self.dump(),
            no_options: self.no_options,
        }
    }

    /// What `-v` and `-x`/`-X`/`-A` add to JSON packet records.
    pub(crate) fn json_extras(&self) -> crate::views::json::Extras {
        let dump = self.dump();
        crate::views::json::Extras {
            verbose: self.tcpdump.verbose > 0,
            payload_hex: dump.is_some(),
            frame_hex: dump.is_some_and(|d| d.link_header),
        }
    }

    /// The timestamp style: `-t…` or `--time` (refused together by `check`).
    pub(crate) fn time_format(&self) -> TimeFormat {
        TimeFormat::from_tcpdump_t(self.tcpdump.t)
            .or(self.time)
            .unwrap_or_default()
    }

    /// What `-x`, `-X` and `-A` ask to dump after each line (-X wins, as in tcpdump).
    pub(crate) fn dump(&self) -> Option<Dump> {
        let t = &self.tcpdump;
        let (style, count) = if t.hex_ascii > 0 {
            (DumpStyle::HexAscii, t.hex_ascii)
        } else if t.hex > 0 {
            (DumpStyle::Hex, t.hex)
        } else if t.ascii_dump > 0 {
            (DumpStyle::Ascii, t.ascii_dump)
        } else {
            return None;
        };
        Some(Dump {
            style,
            link_header: count > 1,
        })
    }

    pub(crate) fn tracker_config(&self) -> TrackerConfig {
        TrackerConfig {
            time_wait_ns: dur_ns(self.time_wait),
            idle_timeout_ns: dur_ns(self.idle_timeout),
            max_connections: self.max_connections.max(1),
            pressure: Default::default(),
        }
    }

    /// tcpdump's letters that cannot go with other options.
    fn check_letters(&self) -> Result<(), UsageError> {
        let t = &self.tcpdump;
        let ts = format!("-{}", "t".repeat(usize::from(t.t)));
        if t.t > 5 {
            return Err(UsageError(tr!(
                "{ts} is not a timestamp style: use -t, -tt, -ttt, -tttt or -ttttt",
                "{ts} 不是时间戳格式：请用 -t、-tt、-ttt、-tttt 或 -ttttt"
            )));
        }
        if t.t > 0 && self.time.is_some() {
            return Err(UsageError(tr!(
                "{ts} and --time both set the timestamp style: give one of them",
                "{ts} 和 --time 都设置时间戳格式：只给其中一个"
            )));
        }
        if t.t > 0 && self.json {
            return Err(UsageError(tr!(
                "{ts} and --json cannot go together: JSON timestamps are always RFC 3339 (UTC)",
                "{ts} 和 --json 不能同时使用：JSON 的时间戳总是 RFC 3339 (UTC)"
            )));
        }
        let letter = [
            (ts.as_str(), t.t > 0),
            ("-v", t.verbose > 0),
            ("-X", t.hex_ascii > 0),
            ("-x", t.hex > 0),
            ("-A", t.ascii_dump > 0),
        ]
        .into_iter()
        .find_map(|(l, on)| on.then_some(l));
        // Views without packet lines have nowhere to show what these add.
        let other = if self.summary {
            "--summary"
        } else if let Some(d) = self.diagram().filter(|_| !self.json) {
            d
        } else {
            return Ok(());
        };
        match letter {
            Some(letter) => Err(UsageError(tr!(
                "{letter} and {other} cannot go together: {letter} changes packet lines, which {other} does not show",
                "{letter} 和 {other} 不能同时使用：{letter} 改变的是分组行，而 {other} 不显示分组行"
            ))),
            None => Ok(()),
        }
    }
}

/// `--conn`: connections are numbered from 1, as `#1` in the output.
fn conn_id(word: &str) -> Result<u64, String> {
    match word.parse::<u64>() {
        Ok(0) => Err(pick(
            "connections are numbered from 1 (#1 is the first seen)",
            "连接从 1 开始编号 (#1 是最先看到的那个)",
        )
        .into()),
        Ok(n) => Ok(n),
        Err(_) => Err(pick(
            "a connection number, such as 1 for #1",
            "要一个连接编号，例如 1 表示 #1",
        )
        .into()),
    }
}

fn dur_ns(d: std::time::Duration) -> i128 {
    i128::try_from(d.as_nanos()).unwrap_or(i128::MAX)
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
    /// `-w`: the annotated pcapng copy.
    pub(crate) write: Option<String>,
    /// Analyzer threads (1: no threads of its own).
    pub(crate) threads: usize,
    /// `--shard`: only this shard's connections.
    pub(crate) shard: Option<Shard>,
}

/// `-w NAME` asks for the annotated pcapng form.
pub(crate) fn is_pcapng_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".pcapng")
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
            if !self.files.is_empty() && (first == "-" || Path::new(first).exists()) {
                return Err(UsageError(tr!(
                    "with -r, the words after the options are a filter, and {first} is a file: to read several files, give them without -r (synack read FILE FILE…) or -r before each",
                    "用了 -r 时，选项后面的词是过滤表达式，而 {first} 是一个文件：要读多个文件，请不用 -r 直接列出 (synack read FILE FILE…)，或在每个文件前都加 -r"
                )));
            }
            if looks_like_a_file(first) {
                return Err(UsageError(tr!(
                    "cannot read {first}: no such file (check the path; a filter goes after the files)",
                    "无法读取 {first}：没有这个文件 (请检查路径；过滤表达式要放在文件之后)"
                )));
            }
        }
        if inputs.is_empty() {
            return Err(UsageError(
                pick(
                    "no capture file given: try 'synack read FILE [FILTER]', or '-' to read stdin",
                    "没有给出捕获文件：试试 'synack read FILE [FILTER]'，或用 '-' 读标准输入",
                )
                .into(),
            ));
        }
        if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
            return Err(UsageError(
                pick(
                    "stdin ('-') can be read only once",
                    "标准输入 ('-') 只能读一次",
                )
                .into(),
            ));
        }
        self.output.check()?;
        if let Some(w) = &self.write {
            if !is_pcapng_name(w) {
                return Err(UsageError(tr!(
                    "-w {w}: synack read writes pcapng (only pcapng holds the annotations as packet comments); name the file .pcapng",
                    "-w {w}：synack read 写的是 pcapng (只有 pcapng 能把注释存为分组注释)；请把文件名改为 .pcapng"
                )));
            }
        }
        let filter = (!rest.is_empty()).then(|| rest.join(" "));
        let threads = match self.threads {
            Some(n) => n as usize,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        Ok(ReadConfig {
            inputs,
            filter,
            output: self.output,
            write: self.write,
            threads,
            shard: self.shard,
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
