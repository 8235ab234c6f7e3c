//! The echo generator on real loopback sockets: ephemeral ports, short timeouts.
//! Each test waits for the server with a bound, so a hang fails instead of blocking.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
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
    let port = free_port();
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

#[test]
fn cli_definitions_are_consistent() {
    Cli::command().debug_assert();
    let parse = |args: &[&str]| Cli::try_parse_from([&["echo"], args].concat());
    assert!(parse(&["client", "--abort", "--half-close"]).is_err());
    assert!(parse(&["client", "--send", "a", "--size", "10"]).is_err());
    assert!(parse(&["server", "--no-read", "--delay", "10"]).is_err());
    assert!(parse(&["client", "--keepalive", "5,1"]).is_err());
    let cli = parse(&[
        "client",
        "--send",
        "a,b",
        "--keepalive",
        "5,1,3",
        "--wait-server-close",
    ])
    .unwrap();
    let synack::echo::EchoCommand::Client(args) = cli.echo.command else {
        panic!("not a client");
    };
    let opts = args.options();
    assert_eq!(
        opts.payload,
        Payload::Messages(vec!["a".into(), "b".into()])
    );
    assert_eq!(opts.close, CloseMode::WaitServerClose);
    assert_eq!(opts.keepalive.map(|k| k.count), Some(3));
    let server = parse(&["server", "--no-reuseaddr", "--close-first", "100"]).unwrap();
    let synack::echo::EchoCommand::Server(args) = server.echo.command else {
        panic!("not a server");
    };
    let opts = args.options();
    assert!(!opts.reuse_address);
    assert_eq!(opts.close_first, Some(Duration::from_millis(100)));
}
