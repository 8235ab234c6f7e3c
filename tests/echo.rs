//! The echo generator on real loopback sockets: ephemeral ports, short timeouts.
//! Each test waits for the server with a bound, so a hang fails instead of blocking.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use mio::{Events, Interest, Poll, Token};
use synack::echo::{
    run_client, run_lines, ClientOptions, CloseMode, ConnError, EchoArgs, EchoError, Keepalive,
    Payload, Server, ServerOptions, ServerStats,
};

/// A server serving in a thread.
struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<ServerStats, EchoError>>,
}

impl Running {
    fn start(opts: ServerOptions) -> Running {
        let opts = ServerOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            quiet: true,
            ..opts
        };
        let server = Server::bind(&opts).expect("bind on an ephemeral port");
        let addr = server.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || server.serve(&flag));
        Running { addr, stop, handle }
    }

    /// Waits (at most 5 s) for serve() to return by itself, e.g. after exit_after.
    fn finish(self) -> ServerStats {
        let until = Instant::now() + Duration::from_secs(5);
        while !self.handle.is_finished() {
            if Instant::now() > until {
                self.stop.store(true, Ordering::Relaxed);
                panic!("the server did not finish by itself within 5 s");
            }
            thread::sleep(Duration::from_millis(5));
        }
        self.handle.join().unwrap().expect("serve")
    }

    /// Asks serve() to stop and returns its stats.
    fn stop(self) -> ServerStats {
        self.stop.store(true, Ordering::Relaxed);
        self.finish()
    }
}

fn client(addr: SocketAddr, words: &[&str]) -> ClientOptions {
    ClientOptions {
        connect: addr,
        payload: Payload::Messages(words.iter().map(|w| w.to_string()).collect()),
        timeout: Duration::from_secs(5),
        quiet: true,
        ..ClientOptions::default()
    }
}

/// A port that nothing listens on (bound, then released).
/// A port in `range` that nothing holds now (not even TIME_WAIT): ports
/// outside the kernel's ephemeral range are only ever taken on purpose.
fn free_fixed_port(range: std::ops::Range<u16>) -> u16 {
    let held: Vec<u16> = std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let local = l.split_whitespace().nth(1)?;
            u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
        })
        .collect();
    let start = range.start + (std::process::id() % 500) as u16;
    (start..range.end)
        .chain(range.start..start)
        .find(|p| !held.contains(p) && TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port")
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn echo_round_trip_upper_cases() {
    let server = Running::start(ServerOptions {
        exit_after: Some(1),
        ..Default::default()
    });
    let report = run_client(&client(server.addr, &["hello", "World 42"])).unwrap();
    let conn = &report.connections[0];
    assert_eq!(conn.error, None);
    assert_eq!(conn.replies, ["HELLO", "WORLD 42"]);
    assert_eq!(conn.bytes_sent, 13);
    assert_eq!(conn.bytes_received, 13);
    assert_eq!(conn.local_addr.map(|a| a.ip()), Some(server.addr.ip()));
    let stats = server.finish();
    assert_eq!(stats.accepted, 1);
    assert_eq!(stats.closed_by_peer, 1, "{stats}");
    assert_eq!(stats.resets_seen, 0, "{stats}");
    assert_eq!((stats.bytes_received, stats.bytes_sent), (13, 13));
}

#[test]
fn many_parallel_clients_are_served() {
    let server = Running::start(ServerOptions {
        exit_after: Some(40),
        ..Default::default()
    });
    let opts = ClientOptions {
        parallel: 20,
        connections: 2,
        count: 3,
        ..client(server.addr, &["a", "b"])
    };
    let report = run_client(&opts).unwrap();
    assert_eq!(report.connections.len(), 40);
    assert!(report.all_ok(), "{:?}", report.connections);
    for conn in &report.connections {
        assert_eq!(conn.replies, ["A", "B", "A", "B", "A", "B"]);
    }
    let stats = server.finish();
    assert_eq!(stats.accepted, 40);
    assert_eq!(stats.closed_by_peer, 40);
}

#[test]
fn server_survives_a_client_abort_and_serves_the_next() {
    let server = Running::start(ServerOptions {
        exit_after: Some(2),
        ..Default::default()
    });
    let abort = ClientOptions {
        close: CloseMode::Abort,
        ..client(server.addr, &["bye"])
    };
    let first = run_client(&abort).unwrap();
    // The RST was our intent: not an error for the client.
    assert_eq!(first.connections[0].error, None);
    assert_eq!(first.connections[0].replies, ["BYE"]);
    let next = run_client(&client(server.addr, &["still", "there"])).unwrap();
    assert_eq!(next.connections[0].error, None);
    assert_eq!(next.connections[0].replies, ["STILL", "THERE"]);
    let stats = server.finish();
    assert_eq!(stats.accepted, 2);
    assert_eq!(
        stats.resets_seen, 1,
        "the abort reaches the server as RST: {stats}"
    );
    assert_eq!(stats.closed_by_peer, 1, "{stats}");
}

#[test]
fn server_abort_sends_rst_instead_of_fin() {
    // The server aborts right after its first reply; the client, waiting for a FIN,
    // sees the RST.
    let server = Running::start(ServerOptions {
        close_first: Some(Duration::ZERO),
        abort: true,
        exit_after: Some(1),
        ..Default::default()
    });
    let opts = ClientOptions {
        close: CloseMode::WaitServerClose,
        ..client(server.addr, &["x"])
    };
    let report = run_client(&opts).unwrap();
    assert_eq!(report.connections[0].replies, ["X"]);
    assert_eq!(report.connections[0].error, Some(ConnError::Reset));
    let stats = server.finish();
    assert_eq!((stats.closed_first, stats.aborted), (1, 1), "{stats}");
}

#[test]
fn client_unread_close_resets_the_server() {
    let server = Running::start(ServerOptions {
        exit_after: Some(1),
        ..Default::default()
    });
    let opts = ClientOptions {
        close: CloseMode::UnreadClose,
        ..client(server.addr, &["read", "unread"])
    };
    let report = run_client(&opts).unwrap();
    let conn = &report.connections[0];
    assert_eq!(conn.error, None);
    // The first echo was read; the second was left in the buffer.
    assert_eq!(conn.replies, ["READ"]);
    let stats = server.finish();
    assert_eq!(
        stats.resets_seen, 1,
        "closing with unread data sends RST: {stats}"
    );
    assert_eq!(stats.closed_by_peer, 0, "{stats}");
}

#[test]
fn server_unread_close_resets_the_client() {
    let server = Running::start(ServerOptions {
        unread_close: Some(Duration::from_millis(100)),
        exit_after: Some(1),
        ..Default::default()
    });
    let report = run_client(&client(server.addr, &["never read"])).unwrap();
    assert_eq!(report.connections[0].error, Some(ConnError::Reset));
    assert!(report.connections[0].replies.is_empty());
    let stats = server.finish();
    assert_eq!(stats.unread_closes, 1, "{stats}");
}

#[test]
fn no_reuseaddr_restart_during_time_wait_explains_the_error() {
    // The server closes first, so its end of the connection goes to TIME_WAIT (60 s)
    // and keeps the port.
    let first = Running::start(ServerOptions {
        close_first: Some(Duration::ZERO),
        exit_after: Some(1),
        ..Default::default()
    });
    let addr = first.addr;
    let opts = ClientOptions {
        close: CloseMode::WaitServerClose,
        ..client(addr, &["x"])
    };
    let report = run_client(&opts).unwrap();
    assert_eq!(report.connections[0].error, None);
    let stats = first.finish();
    assert_eq!(stats.closed_first, 1, "{stats}");

    let restart = ServerOptions {
        listen: addr,
        reuse_address: false,
        quiet: true,
        ..Default::default()
    };
    let err = Server::bind(&restart).expect_err("TIME_WAIT holds the port");
    assert!(
        matches!(err, EchoError::AddrInUseTimeWait { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&format!("cannot listen on {addr}")), "{msg}");
    assert!(msg.contains("address already in use"), "{msg}");
    assert!(msg.contains("TIME_WAIT"), "{msg}");
    assert!(msg.contains("without --no-reuseaddr"), "{msg}");

    // With SO_REUSEADDR (the default), the same restart works.
    let again = Server::bind(&ServerOptions {
        reuse_address: true,
        ..restart
    });
    assert!(again.is_ok(), "{:?}", again.err());
}

#[test]
fn a_live_listener_is_not_blamed_on_time_wait() {
    let server = Running::start(ServerOptions::default());
    let err = Server::bind(&ServerOptions {
        listen: server.addr,
        reuse_address: false,
        quiet: true,
        ..Default::default()
    })
    .expect_err("the port is taken");
    assert!(matches!(err, EchoError::AddrInUse { .. }), "{err:?}");
    server.stop();
}

#[test]
fn refused_connection_is_reported_as_refused() {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let report = run_client(&client(addr, &["anyone?"])).unwrap();
    let conn = &report.connections[0];
    assert_eq!(conn.error, Some(ConnError::Refused));
    assert_eq!(conn.local_addr, None);
    let text = ConnError::Refused.explain(addr, Duration::from_secs(1));
    assert_eq!(
        text,
        format!("connection refused: nothing listens on {addr} (is the server running?)")
    );
}

#[test]
fn keepalive_options_are_applied_to_the_socket() {
    let server = Running::start(ServerOptions {
        exit_after: Some(2),
        ..Default::default()
    });
    let wanted: Keepalive = "2,1,4".parse().unwrap();
    assert_eq!(wanted.idle, Duration::from_secs(2));
    let opts = ClientOptions {
        keepalive: Some(wanted),
        ..client(server.addr, &["ka"])
    };
    let report = run_client(&opts).unwrap();
    assert_eq!(report.connections[0].error, None);
    // Read back with getsockopt: the kernel's defaults would be 7200,75,9.
    assert_eq!(report.connections[0].keepalive, Some(wanted));
    let plain = run_client(&client(server.addr, &["no ka"])).unwrap();
    assert_eq!(plain.connections[0].keepalive, None);
    server.finish();
}

#[test]
fn keepalive_argument_is_checked() {
    assert!("5,1".parse::<Keepalive>().is_err());
    assert!("0,1,3".parse::<Keepalive>().is_err());
    assert!("5,1,x".parse::<Keepalive>().is_err());
    let err = "5".parse::<Keepalive>().unwrap_err();
    assert!(err.contains("IDLE,INTERVAL,COUNT"), "{err}");
}

#[test]
fn half_close_replies_arrive_after_the_clients_fin() {
    // The server delays each reply, so the echo leaves it after the client's FIN: the
    // half-closed connection still carries data toward the client.
    for server_half_close in [false, true] {
        let server = Running::start(ServerOptions {
            delay: Some(Duration::from_millis(50)),
            half_close: server_half_close,
            exit_after: Some(1),
            ..Default::default()
        });
        let opts = ClientOptions {
            close: CloseMode::HalfClose,
            ..client(server.addr, &["one", "two", "three"])
        };
        let report = run_client(&opts).unwrap();
        let conn = &report.connections[0];
        assert_eq!(conn.error, None, "server half_close {server_half_close}");
        // TCP may merge the messages; the echo is split back by length.
        assert_eq!(conn.replies, ["ONE", "TWO", "THREE"]);
        let stats = server.finish();
        assert_eq!(stats.closed_by_peer, 1, "{stats}");
        assert_eq!(stats.bytes_sent, 11, "{stats}");
    }
}

#[test]
fn large_payload_through_a_small_slow_receive_window() {
    let server = Running::start(ServerOptions {
        rcvbuf: Some(4096),
        exit_after: Some(1),
        ..Default::default()
    });
    let opts = ClientOptions {
        payload: Payload::Size(300_000),
        rcvbuf: Some(4096),
        read_delay: Some(Duration::from_micros(200)),
        ..client(server.addr, &[])
    };
    let report = run_client(&opts).unwrap();
    let conn = &report.connections[0];
    assert_eq!(conn.error, None);
    assert_eq!((conn.bytes_sent, conn.bytes_received), (300_000, 300_000));
    assert!(
        conn.replies.is_empty(),
        "--size echoes are checked, not kept"
    );
    let stats = server.finish();
    assert_eq!(stats.bytes_sent, 300_000);
}

#[test]
fn interactive_lines_skip_empty_ones() {
    let server = Running::start(ServerOptions {
        exit_after: Some(1),
        ..Default::default()
    });
    let input: &[u8] = b"hello\n\n\r\nworld\n";
    let conn = run_lines(&client(server.addr, &[]), input).unwrap();
    assert_eq!(conn.error, None);
    assert_eq!(conn.replies, ["HELLO", "WORLD"]);
    server.finish();
}

#[test]
fn waiting_for_a_server_that_never_closes_times_out() {
    let server = Running::start(ServerOptions::default());
    let opts = ClientOptions {
        close: CloseMode::WaitServerClose,
        timeout: Duration::from_millis(300),
        ..client(server.addr, &["x"])
    };
    let started = Instant::now();
    let report = run_client(&opts).unwrap();
    assert_eq!(report.connections[0].replies, ["X"]);
    assert_eq!(report.connections[0].error, Some(ConnError::TimedOut));
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop();
}

#[test]
fn server_close_first_is_seen_by_the_waiting_client() {
    let server = Running::start(ServerOptions {
        close_first: Some(Duration::from_millis(50)),
        exit_after: Some(1),
        ..Default::default()
    });
    let opts = ClientOptions {
        close: CloseMode::WaitServerClose,
        ..client(server.addr, &["first"])
    };
    let report = run_client(&opts).unwrap();
    assert_eq!(report.connections[0].error, None);
    let stats = server.finish();
    assert_eq!(
        (stats.closed_first, stats.closed_by_peer),
        (1, 0),
        "{stats}"
    );
}

#[test]
fn reconnect_from_the_same_local_port_while_the_server_holds_time_wait() {
    let server = Running::start(ServerOptions {
        close_first: Some(Duration::ZERO),
        exit_after: Some(2),
        ..Default::default()
    });
    // Outside the ephemeral range: no other connection can be given it meanwhile.
    let port = free_fixed_port(21_000..22_000);
    let opts = ClientOptions {
        local_port: Some(port),
        connections: 2,
        close: CloseMode::WaitServerClose,
        ..client(server.addr, &["again"])
    };
    let report = run_client(&opts).unwrap();
    assert!(report.all_ok(), "{:?}", report.connections);
    for conn in &report.connections {
        assert_eq!(conn.local_addr.map(|a| a.port()), Some(port));
        assert_eq!(conn.replies, ["AGAIN"]);
    }
    assert_eq!(server.finish().accepted, 2);
}

#[test]
fn stop_ends_serve_even_with_idle_clients_connected() {
    let server = Running::start(ServerOptions::default());
    // A client that stays idle for longer than the test waits for the server.
    let addr = server.addr;
    let idle = thread::spawn(move || {
        run_client(&ClientOptions {
            idle: Some(Duration::from_millis(800)),
            ..client(addr, &["idle"])
        })
    });
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let stats = server.stop();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stats.accepted, 1);
    assert!(idle.join().unwrap().is_ok());
}

#[test]
fn contradictory_options_are_refused() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for opts in [
        ClientOptions {
            parallel: 2,
            local_port: Some(40000),
            ..client(addr, &["x"])
        },
        client(addr, &["a", "", "b"]),
        ClientOptions {
            parallel: 0,
            ..client(addr, &["x"])
        },
    ] {
        let err = run_client(&opts).expect_err("invalid");
        assert!(matches!(err, EchoError::InvalidOptions(_)), "{err:?}");
    }
}

/// The clap definitions: consistent (debug_assert) and parsed as documented.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    echo: EchoArgs,
}

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from([&["echo"], args].concat())
}

fn server_options(args: &[&str]) -> ServerOptions {
    let cli = parse(&[&["server"], args].concat()).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let synack::echo::EchoCommand::Server(args) = cli.echo.command else {
        panic!("not a server");
    };
    args.options()
}

fn client_options(args: &[&str]) -> ClientOptions {
    let cli = parse(&[&["client"], args].concat()).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let synack::echo::EchoCommand::Client(args) = cli.echo.command else {
        panic!("not a client");
    };
    args.options()
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

#[test]
fn cli_definitions_are_consistent() {
    Cli::command().debug_assert();
    assert!(parse(&["client", "--close", "abort", "--close", "half"]).is_err());
    assert!(parse(&["client", "--abort", "--half-close"]).is_err());
    assert!(parse(&["client", "--send", "a", "--size", "10"]).is_err());
    assert!(parse(&["server", "--no-read", "--reply-delay", "10ms"]).is_err());
    assert!(parse(&["server", "--no-read", "--delay", "10"]).is_err());
    assert!(parse(&["client", "--keepalive", "5,1"]).is_err());
    let opts = client_options(&["--send", "a,b", "--keepalive", "5,1,3", "--close", "wait"]);
    assert_eq!(
        opts.payload,
        Payload::Messages(vec!["a".into(), "b".into()])
    );
    assert_eq!(opts.close, CloseMode::WaitServerClose);
    assert_eq!(opts.keepalive.map(|k| k.count), Some(3));
    let opts = server_options(&["--no-reuseaddr", "--close-after", "100ms"]);
    assert!(!opts.reuse_address);
    assert_eq!(opts.close_first, ms(100));
    assert_eq!(opts.idle_timeout, None, "no idle timeout unless asked");
    assert_eq!(opts.max_clients, 10_000);
    assert_eq!(
        server_options(&["--idle-timeout", "2.5"]).idle_timeout,
        ms(2500)
    );
    for bad in ["0", "-1", "soon", "0ms"] {
        assert!(parse(&["server", "--idle-timeout", bad]).is_err(), "{bad}");
    }
    let defaults = client_options(&[]);
    assert_eq!(defaults.timeout, Duration::from_secs(10));
    assert_eq!(defaults.close, CloseMode::ClientFirst);
    assert_eq!(defaults.count, 1);
}

#[test]
fn new_names_take_durations_with_units_and_bare_numbers_are_seconds() {
    let s = server_options(&[
        "--close-after",
        "2",
        "--reply-delay",
        "250ms",
        "--read-pause",
        "1.5s",
        "--idle-timeout",
        "1m",
        "--close",
        "half",
    ]);
    assert_eq!(s.close_first, ms(2000));
    assert_eq!(s.delay, ms(250));
    assert_eq!(s.read_delay, ms(1500));
    assert_eq!(s.idle_timeout, ms(60_000));
    assert!(s.half_close && !s.abort);
    let s = server_options(&["--close-unread-after", "0.5", "--close", "abort"]);
    assert_eq!(s.unread_close, ms(500));
    assert!(s.abort && !s.half_close);
    let c = client_options(&[
        "--send",
        "x",
        "--repeat",
        "3",
        "--pause",
        "1",
        "--idle-for",
        "3.5",
        "--read-pause",
        "20ms",
        "--give-up-after",
        "2",
        "--keepalive",
        "2s,1,3",
    ]);
    assert_eq!(c.count, 3);
    assert_eq!(c.interval, ms(1000));
    assert_eq!(c.idle, ms(3500));
    assert_eq!(c.read_delay, ms(20));
    assert_eq!(c.timeout, Duration::from_secs(2));
    let ka = c.keepalive.expect("keepalive");
    assert_eq!(
        (ka.idle, ka.interval, ka.count),
        (Duration::from_secs(2), Duration::from_secs(1), 3)
    );
    for (word, mode) in [
        ("first", CloseMode::ClientFirst),
        ("wait", CloseMode::WaitServerClose),
        ("half", CloseMode::HalfClose),
        ("abort", CloseMode::Abort),
        ("unread", CloseMode::UnreadClose),
    ] {
        assert_eq!(client_options(&["--close", word]).close, mode, "{word}");
    }
    // The kernel counts keep-alive timers in whole seconds.
    assert!(parse(&["client", "--keepalive", "1500ms,1,3"]).is_err());
}

#[test]
fn old_spellings_still_work_with_their_old_meaning() {
    let s = server_options(&[
        "--close-first",
        "100",
        "--delay",
        "100",
        "--read-delay",
        "200",
        "--half-close",
    ]);
    assert_eq!(s.close_first, ms(100), "--close-first was milliseconds");
    assert_eq!(s.delay, ms(100), "--delay was milliseconds");
    assert_eq!(s.read_delay, ms(200), "--read-delay was milliseconds");
    assert!(s.half_close);
    let s = server_options(&["--unread-close", "500", "--abort"]);
    assert_eq!(s.unread_close, ms(500), "--unread-close was milliseconds");
    assert!(s.abort);
    let c = client_options(&[
        "--send",
        "x",
        "--count",
        "4",
        "--interval",
        "50",
        "--idle",
        "3500",
        "--read-delay",
        "20",
        "--timeout",
        "5000",
    ]);
    assert_eq!(c.count, 4);
    assert_eq!(c.interval, ms(50), "--interval was milliseconds");
    assert_eq!(c.idle, ms(3500), "--idle was milliseconds");
    assert_eq!(c.read_delay, ms(20), "--read-delay was milliseconds");
    assert_eq!(
        c.timeout,
        Duration::from_secs(5),
        "--timeout was milliseconds"
    );
    for (flag, mode) in [
        ("--close-first", CloseMode::ClientFirst),
        ("--wait-server-close", CloseMode::WaitServerClose),
        ("--half-close", CloseMode::HalfClose),
        ("--abort", CloseMode::Abort),
        ("--unread-close", CloseMode::UnreadClose),
    ] {
        assert_eq!(client_options(&[flag]).close, mode, "{flag}");
    }
    // An old spelling and its new name at once is a contradiction, not a guess.
    for pair in [
        ["server", "--close-after", "1", "--close-first", "5"],
        ["server", "--reply-delay", "1", "--delay", "5"],
        ["client", "--pause", "1", "--interval", "5"],
        ["client", "--give-up-after", "1", "--timeout", "5"],
    ] {
        assert!(parse(&pair).is_err(), "{pair:?}");
    }
    assert!(parse(&["client", "--close", "half", "--abort"]).is_err());
}

/// `synack echo …` as a user runs it: (exit code, stdout, stderr).
fn run_echo(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .arg("echo")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run synack echo");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_shows_the_new_names_and_hides_the_old_ones() {
    let (code, server_help, _) = run_echo(&["server", "--help"]);
    assert_eq!(code, Some(0));
    let (_, client_help, _) = run_echo(&["client", "--help"]);
    let (_, echo_help, _) = run_echo(&["--help"]);
    assert!(
        echo_help.contains("a bare number is seconds"),
        "{echo_help}"
    );
    for new in [
        "--close-after <DURATION>",
        "--close-unread-after <DURATION>",
        "--reply-delay <DURATION>",
        "--read-pause <DURATION>",
        "--idle-timeout <DURATION>",
        "--close <HOW>",
    ] {
        assert!(server_help.contains(new), "server --help lacks {new}");
    }
    for new in [
        "--close <HOW>",
        "--repeat <N>",
        "--pause <DURATION>",
        "--idle-for <DURATION>",
        "--give-up-after <DURATION>",
        "--read-pause <DURATION>",
    ] {
        assert!(client_help.contains(new), "client --help lacks {new}");
    }
    for old in [
        "--close-first ",
        "--unread-close ",
        "--delay ",
        "--read-delay ",
        "--half-close",
        "--abort",
    ] {
        assert!(!server_help.contains(old), "server --help shows {old}");
    }
    for old in [
        "--count",
        "--interval",
        "--idle ",
        "--timeout",
        "--wait-server-close",
        "--read-delay",
    ] {
        assert!(!client_help.contains(old), "client --help shows {old}");
    }
    // Every duration option says what a bare number means.
    for help in [&server_help, &client_help] {
        for block in help.split("\n\n").filter(|b| b.contains("<DURATION>")) {
            let words = block.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(words.contains("a bare number is seconds"), "{block}");
        }
    }
}

/// The `synack echo …` lines of the README and of `--help` are what a user copies:
/// each must be accepted as written.
#[test]
fn documented_echo_commands_parse() {
    let readme = include_str!("../README.md");
    let (_, server_help, _) = run_echo(&["server", "--help"]);
    let (_, client_help, _) = run_echo(&["client", "--help"]);
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("synack echo ") {
            commands.push(line.split('#').next().unwrap().trim().to_owned());
        }
    }
    for line in server_help.lines().chain(client_help.lines()) {
        let line = line.trim_start();
        if line.starts_with("synack echo ") {
            // The description follows two spaces or more.
            commands.push(line.split("  ").next().unwrap().trim().to_owned());
        }
    }
    assert!(commands.len() >= 25, "{commands:?}");
    for command in &commands {
        let words: Vec<&str> = command.split_whitespace().skip(2).collect();
        if let Err(e) = parse(&words) {
            panic!("{command}: {e}");
        }
    }
    // None of them waits for typed input: a client example says what it sends.
    for command in commands.iter().filter(|c| c.contains(" client")) {
        assert!(
            command.contains("--send") || command.contains("--size"),
            "{command} would wait for typed lines"
        );
    }
}

#[test]
fn errors_start_with_synack() {
    let (code, _, err) = run_echo(&["server", "--no-read", "--close", "half"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("synack: --close half cannot go with --no-read"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let refused = format!("127.0.0.1:{}", free_port());
    let (code, _, err) = run_echo(&["client", "--connect", &refused, "--send", "hi", "-q"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("synack: connection refused"), "{err}");
    let (code, _, err) = run_echo(&["client", "--send", "hi", "--timeout", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("synack: --give-up-after must be above zero"),
        "{err}"
    );
    assert!(!err.contains("synack echo:"), "{err}");
}

#[test]
fn connect_and_listen_take_host_names() {
    let server = ServerProcess::start(&["--close", "fin"], None);
    let target = format!("localhost:{}", server.addr.port());
    let (code, out, err) = run_echo(&["client", "--connect", &target, "--send", "hi"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "HI");
    drop(server);
    // The server's own --listen: a name resolves to its IPv4 address.
    let (code, _, err) = run_echo(&["server", "--listen", "localhost:0", "--exit-after", "0"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("listening on 127.0.0.1:"), "{err}");
    // No port: one line that says what the option takes.
    let (code, _, err) = run_echo(&["client", "--connect", "localhost", "--send", "hi"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("takes HOST:PORT, such as 127.0.0.1:9999 or localhost:9999"),
        "{err}"
    );
}

#[test]
fn at_max_clients_the_next_client_waits_in_the_backlog() {
    let server = Running::start(ServerOptions {
        max_clients: 1,
        ..Default::default()
    });
    let echo = |s: &mut TcpStream, word: &str| -> std::io::Result<String> {
        s.write_all(word.as_bytes())?;
        let mut buf = vec![0u8; word.len()];
        s.read_exact(&mut buf)?;
        Ok(String::from_utf8(buf).unwrap())
    };
    let mut first = TcpStream::connect(server.addr).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(echo(&mut first, "one").unwrap(), "ONE");
    // The handshake completes in the kernel's backlog, but nobody reads.
    let mut second = TcpStream::connect(server.addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(
        echo(&mut second, "two").is_err(),
        "served beyond max_clients"
    );
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 3];
    second
        .read_exact(&mut buf)
        .expect("served once the first left");
    assert_eq!(&buf, b"TWO");
    drop(second);
    let stats = server.stop();
    assert_eq!(stats.accepted, 2, "{stats}");
}

// ---- Scale, idle timeout, running out of descriptors: the real binary as a subprocess.

/// `synack echo server` running as a child process, its stderr collected line by line.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the server on an ephemeral port with `args`, and waits (at most 10 s) for
    /// its "listening on" line to learn the port. `fd_limit` sets RLIMIT_NOFILE (soft
    /// and hard) in the child before it runs.
    fn start(args: &[&str], fd_limit: Option<libc::rlim_t>) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_synack"));
        cmd.args(["echo", "server", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(n) = fd_limit {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("start synack echo server");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.strip_prefix("echo server: listening on ") {
                        let addr = rest.split_whitespace().next().unwrap_or_default();
                        let _ = tx.send(addr.parse::<SocketAddr>());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(addr)) => addr,
            other => {
                let _ = child.kill();
                panic!(
                    "no 'listening on' line ({other:?}): {:?}",
                    log.lock().unwrap()
                );
            }
        };
        ServerProcess { child, addr, log }
    }

    /// Lines of the log that contain `what`.
    fn count(&self, what: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(what))
            .count()
    }

    /// Waits (at most `limit`) until `n` lines contain `what`.
    fn wait_for(&self, what: &str, n: usize, limit: Duration) {
        let until = Instant::now() + limit;
        while self.count(what) < n {
            assert!(
                Instant::now() < until,
                "{} lines with {what:?} instead of {n} after {limit:?}; last lines: {:?}",
                self.count(what),
                self.tail(5)
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn tail(&self, n: usize) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(n)..].to_vec()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Peak and current resident set size of the server, in kB (/proc/PID/status).
    fn memory_kb(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {name} in {status}"))
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// SIGTERM, then waits (at most 10 s) for a clean exit; returns the totals line.
    fn terminate(mut self) -> String {
        // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < until, "the server did not stop on SIGTERM");
            thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "{status}: {:?}", self.tail(5));
        // The reader thread may still be taking the last lines from the pipe.
        self.wait_for(" connections: ", 1, Duration::from_secs(2));
        self.tail(1).pop().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Raises this test process's RLIMIT_NOFILE to at least `want` (the hard limit too,
/// which root may do), or fails saying why.
fn raise_fd_limit(want: libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur >= want {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: want.max(lim.rlim_cur),
            rlim_max: want.max(lim.rlim_max),
        };
        assert_eq!(
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised),
            0,
            "this test needs RLIMIT_NOFILE >= {want} (now {} soft, {} hard): {}",
            lim.rlim_cur,
            lim.rlim_max,
            std::io::Error::last_os_error()
        );
    }
}

/// One of the many clients of the scale test.
struct ScaleClient {
    stream: mio::net::TcpStream,
    message: Vec<u8>,
    sent: usize,
    echo: Vec<u8>,
    done: bool,
}

impl ScaleClient {
    /// Writes and reads what the socket allows; true once the whole echo is in.
    fn progress(&mut self, i: usize) -> bool {
        use std::io::ErrorKind::{Interrupted, WouldBlock};
        if let Ok(Some(e)) | Err(e) = self.stream.take_error() {
            panic!("client {i}: {e}");
        }
        while self.sent < self.message.len() {
            match self.stream.write(&self.message[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == WouldBlock => return false,
                Err(e) if e.kind() == Interrupted => {}
                // A connect still under way: its writable event comes later.
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => return false,
                Err(e) => panic!("client {i}: write: {e}"),
            }
        }
        let mut buf = [0u8; 256];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("client {i}: the server closed before the echo"),
                Ok(n) => self.echo.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == WouldBlock => break,
                Err(e) if e.kind() == Interrupted => {}
                Err(e) => panic!("client {i}: read: {e}"),
            }
        }
        if self.echo.len() < self.message.len() {
            return false;
        }
        assert_eq!(
            self.echo,
            self.message.to_ascii_uppercase(),
            "client {i}: wrong echo"
        );
        true
    }
}

#[test]
fn ten_thousand_concurrent_clients_each_get_their_echo_in_under_256_mb() {
    const CLIENTS: usize = 10_000;
    /// Handshakes and echoes under way at once, well within the backlog.
    const IN_FLIGHT: usize = 1_000;
    // Our 10,000 sockets plus what the other tests of this binary hold; the server
    // inherits the hard limit and raises its own soft limit to it.
    raise_fd_limit(12_000);
    let server = ServerProcess::start(&["--backlog", "4096"], None);
    let started = Instant::now();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let mut clients: Vec<ScaleClient> = Vec::with_capacity(CLIENTS);
    let (mut echoed, mut in_flight) = (0, 0);
    let give_up = started + Duration::from_secs(60);
    while echoed < CLIENTS {
        while clients.len() < CLIENTS && in_flight < IN_FLIGHT {
            let i = clients.len();
            let mut stream = mio::net::TcpStream::connect(server.addr).expect("connect");
            poll.registry()
                .register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE.add(Interest::WRITABLE),
                )
                .unwrap();
            // Distinct messages, of different lengths.
            let message = format!("client {i:05} says hello{}", "!".repeat(i % 7));
            clients.push(ScaleClient {
                stream,
                message: message.into_bytes(),
                sent: 0,
                echo: Vec::new(),
                done: false,
            });
            in_flight += 1;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in &events {
            let i = event.token().0;
            let c = &mut clients[i];
            if !c.done && c.progress(i) {
                c.done = true;
                echoed += 1;
                in_flight -= 1;
            }
        }
        assert!(
            Instant::now() < give_up,
            "after 60 s: {} connected, {echoed} echoed; server log: {:?}",
            clients.len(),
            server.tail(3)
        );
    }
    let elapsed = started.elapsed();
    // Every client is still connected: the server holds 10,000 at once.
    server.wait_for("(10000 active)", 1, Duration::from_secs(5));
    let (peak_kb, rss_kb) = server.memory_kb();
    eprintln!(
        "{CLIENTS} concurrent clients echoed in {:.2} s; server peak RSS {:.1} MB \
         (now {:.1} MB)",
        elapsed.as_secs_f64(),
        peak_kb as f64 / 1024.0,
        rss_kb as f64 / 1024.0
    );
    assert!(
        peak_kb < 256 * 1024,
        "the server's peak RSS is {peak_kb} kB, over 256 MB"
    );
    // Closed with RST (SO_LINGER 0), so that 10,000 TIME_WAIT sockets do not linger
    // for a minute (the kernel's table of them is bounded: tcp_max_tw_buckets).
    for c in &clients {
        socket2::SockRef::from(&c.stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    drop(clients);
    server.wait_for("reset by peer (RST)", CLIENTS, Duration::from_secs(20));
    let totals = server.terminate();
    assert!(
        totals.contains(&format!(
            "{CLIENTS} connections: 0 closed by peer, 0 closed first, {CLIENTS} resets seen"
        )),
        "{totals}"
    );
}

#[test]
fn idle_timeout_closes_a_silent_connection_with_a_fin() {
    let server = Running::start(ServerOptions {
        idle_timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    });
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 16];
    // Data restarts the clock: 300 ms, then data, then 300 ms again, is never idle
    // for 500 ms.
    for word in ["hi", "again"] {
        thread::sleep(Duration::from_millis(300));
        stream.write_all(word.as_bytes()).unwrap();
        stream.read_exact(&mut buf[..word.len()]).unwrap();
        assert_eq!(&buf[..word.len()], word.to_ascii_uppercase().as_bytes());
    }
    let last_data = Instant::now();
    // A FIN reads as end of file; a RST would be an error.
    let n = stream.read(&mut buf).expect("a FIN, not a RST");
    let waited = last_data.elapsed();
    assert_eq!(n, 0, "the server closes the idle connection");
    assert!(
        (Duration::from_millis(450)..Duration::from_millis(1500)).contains(&waited),
        "closed {waited:?} after the last data, for a 500 ms idle timeout"
    );
    let stats = server.stop();
    assert_eq!(stats.idle_closes, 1, "{stats}");
    assert_eq!(stats.closed_by_peer, 0, "{stats}");
    assert_eq!((stats.bytes_received, stats.bytes_sent), (7, 7));
}

#[test]
fn idle_timeout_without_reading_counts_unread_arrivals_as_data() {
    let server = Running::start(ServerOptions {
        no_read: true,
        idle_timeout: Some(Duration::from_millis(400)),
        ..Default::default()
    });
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for word in ["never", "read"] {
        thread::sleep(Duration::from_millis(250));
        stream.write_all(word.as_bytes()).unwrap();
    }
    let last_data = Instant::now();
    // Closed with our data unread in its buffer, the server's kernel sends RST.
    let err = stream.read(&mut [0u8; 4]).expect_err("a RST");
    let waited = last_data.elapsed();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    assert!(
        (Duration::from_millis(350)..Duration::from_millis(1400)).contains(&waited),
        "closed {waited:?} after the last data, for a 400 ms idle timeout"
    );
    let stats = server.stop();
    assert_eq!(stats.idle_closes, 1, "{stats}");
}

#[test]
fn idle_timeout_from_the_command_line_is_logged() {
    let server = ServerProcess::start(&["--idle-timeout", "0.3"], None);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(stream.read(&mut [0u8; 4]).expect("a FIN"), 0);
    server.wait_for("(--idle-timeout)", 1, Duration::from_secs(2));
    let totals = server.terminate();
    assert!(totals.contains("1 idle timeouts"), "{totals}");
}

#[test]
fn server_survives_running_out_of_file_descriptors() {
    const CLIENTS: usize = 200;
    let mut server = ServerProcess::start(&["--backlog", "256"], Some(64));
    // It warns at once that not every client will fit.
    server.wait_for("at most 64 open files", 1, Duration::from_secs(2));
    // 200 clients against 64 descriptors: the backlog holds the ones not accepted.
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut s = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("client {i}: {e}"));
        s.write_all(format!("c{i}").as_bytes()).unwrap();
        clients.push(s);
    }
    server.wait_for("out of file descriptors", 1, Duration::from_secs(5));
    thread::sleep(Duration::from_millis(300));
    assert!(server.alive(), "the server died: {:?}", server.tail(5));
    let mut served = 0;
    for s in &mut clients {
        s.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 8];
        if matches!(s.read(&mut buf), Ok(n) if n > 0) {
            assert_eq!(buf[0], b'C');
            served += 1;
        }
    }
    assert!(
        (40..64).contains(&served),
        "{served} of {CLIENTS} clients served with 64 descriptors"
    );
    assert_eq!(
        server.count("accept failed"),
        1,
        "said once per burst, not once per try: {:?}",
        server.tail(5)
    );
    // The clients leave; a new one is served.
    drop(clients);
    let mut next = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)).unwrap();
    next.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    next.write_all(b"still there?").unwrap();
    let mut buf = [0u8; 12];
    next.read_exact(&mut buf)
        .expect("the echo after the shortage");
    assert_eq!(&buf, b"STILL THERE?");
    drop(next);
    assert!(server.alive());
    assert!(server.count("accepting again") >= 1, "{:?}", server.tail(5));
    let totals = server.terminate();
    assert!(totals.contains("201 connections"), "{totals}");
    assert!(totals.contains("for lack of a resource"), "{totals}");
}
