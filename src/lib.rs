//! synack, the command: capture → synack-core (decode, track) → views.
//!
//! ```text
//!  capture/            synack-core             views/                 out
//!  files, stdin,  ──▶  Analyzer: decode,  ──▶  lines · json · table ──▶ stdout
//!  live (libpcap)      track, facts            ladder · mermaid    (or -o FILE)
//!                                              svg · graph · report
//!        ▲                                          ▲
//!       app (frames in, views out)          demo (echo traffic + the
//!                                            kernel check as a view)
//! ```
//!
//! - `capture`: the only module that talks to libpcap; yields frames.
//! - `app`: the pipeline that strings capture, the analyzer and the views together.
//! - `views`: one file per view, one trait ([`views::View`]); `views::words`
//!   holds the English of every event and fact.
//! - `report`: `synack report`, one self-contained HTML file (a view too).
//! - `demo`: scenarios on loopback, with the kernel cross-check.
//! - [`echo`]: the bundled echo server and client (with capture, the only
//!   network I/O); `kernel`: the kernel's socket table.
//! - `cli`: clap's definitions; `error`: what can go wrong, in one line each.

mod app;
mod capture;
mod cli;
mod demo;
pub mod echo;
mod error;
mod kernel;
mod report;
mod views;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use app::Outcome;
use cli::{Cli, Command};

fn finish(result: error::Result<Outcome>, err: &mut impl Write) -> ExitCode {
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::InputErrors) => ExitCode::from(1),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e @ error::Error::Usage(_)) => {
            let _ = writeln!(err, "synack: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            let _ = writeln!(err, "synack: {e}");
            ExitCode::from(1)
        }
    }
}

/// Run the command line in `std::env::args`: what `main` does.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Live(args) => {
            let mut err = io::stderr().lock();
            let r = app::output(args.output.output.as_deref())
                .and_then(|out| app::live(&args, out, &mut err));
            finish(r, &mut err)
        }
        Command::Report(args) => {
            let mut err = io::stderr().lock();
            let r = report::run(args, &mut err);
            finish(r, &mut err)
        }
        Command::Echo(args) => match echo::run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("synack: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Demo(args) => {
            let mut err = io::stderr().lock();
            let r = app::output(args.output.output.as_deref())
                .and_then(|out| demo::run(&args, out, &mut err));
            finish(r, &mut err)
        }
        Command::Interfaces => {
            let mut out = io::stdout().lock();
            let mut err = io::stderr().lock();
            let r = app::interfaces(&mut out).map(|_| Outcome::Clean);
            finish(r, &mut err)
        }
        Command::Read(args) => {
            let cfg = match args.validate() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("synack: {}", e.0);
                    return ExitCode::from(2);
                }
            };
            let mut err = io::stderr().lock();
            let r = app::output(cfg.output.output.as_deref())
                .and_then(|out| app::read(&cfg, out, &mut err));
            finish(r, &mut err)
        }
    }
}
