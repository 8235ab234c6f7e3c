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
//!   holds the words of every event and fact (English; `views/words/zh.rs` the Chinese).
//! - `lang`: the language of the run (`--lang`, `SYNACK_LANG`, the locale), the glossary
//!   of Chinese terms and the Chinese `--help`.
//! - `report`: `synack report`, one self-contained HTML file (a view too).
//! - `demo`: scenarios on loopback, with the kernel cross-check.
//! - [`echo`]: the bundled echo server and client (with capture, the only
//!   network I/O); `kernel`: the kernel's socket table.
//! - `cli`: clap's definitions; `shell`: completion scripts and man pages made
//!   from them; `error`: what can go wrong, in one line each; `escape`:
//!   outside text made safe for a terminal.
//! - `fuzzing`: entry points for the cargo-fuzz targets in `fuzz/` (hidden; not an API).

mod app;
mod capture;
mod cli;
mod demo;
pub mod echo;
mod error;
mod escape;
// Built only for tests and under `cargo fuzz` (which sets `--cfg fuzzing`).
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
mod kernel;
mod lang;
mod output;
mod parallel;
mod report;
mod shell;
mod views;

use std::io::{self, Write};
use std::process::ExitCode;

use app::Outcome;
use cli::Command;
use views::charset::{self, AsciiOut};

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
    // One switch for every view and message: `--ascii`, or a locale that is
    // not UTF-8. Decided before parsing, so clap's help and errors follow it.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let ascii = charset::locale_wants_ascii(|k| std::env::var_os(k))
        || args.iter().skip(1).any(|a| a == "--ascii");
    charset::set_ascii(ascii);
    // The language too (Chinese cannot be written in ASCII: then English).
    lang::choose(&args, ascii);
    let cli = match cli::try_parse(args) {
        Ok(cli) => cli,
        Err(e) if lang::zh() => lang::help::exit_with(e),
        Err(e) if !ascii => e.exit(),
        Err(e) => {
            let text = charset::to_ascii(&e.render().to_string()).into_owned();
            let _ = if e.use_stderr() {
                write!(io::stderr().lock(), "{text}")
            } else {
                write!(io::stdout().lock(), "{text}")
            };
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    // Not locked for the whole run: the demo's scenario thread says what it does on stderr.
    let mut err = AsciiOut::new(io::stderr());
    let output = match &cli.command {
        Command::Live(a) => Some(&a.output),
        Command::Demo(a) => Some(&a.output),
        _ => None,
    };
    if let Some(Err(e)) = output.map(cli::OutputArgs::check) {
        let _ = writeln!(err, "synack: {}", e.0);
        return ExitCode::from(2);
    }
    match cli.command {
        Command::Live(args) => {
            let r = app::output(args.output.output.as_deref())
                .and_then(|out| app::live(&args, out, &mut err));
            finish(r, &mut err)
        }
        Command::Report(args) => {
            let r = report::run(args, &mut err);
            finish(r, &mut err)
        }
        Command::Echo(args) => match echo::run(args) {
            Ok(code) => code,
            Err(e) => {
                let _ = writeln!(err, "synack: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Demo(args) => {
            let r = app::output(args.output.output.as_deref())
                .and_then(|out| demo::run(&args, out, &mut err));
            finish(r, &mut err)
        }
        Command::Completions { shell } => {
            let r = shell::completions(shell, &mut io::stdout().lock());
            finish(r, &mut io::stderr().lock())
        }
        Command::Man(args) => {
            let r = shell::man(&args, &mut io::stdout().lock());
            finish(r, &mut io::stderr().lock())
        }
        Command::Interfaces => {
            let mut out = AsciiOut::new(io::stdout().lock());
            let r = app::interfaces(&mut out).map(|_| Outcome::Clean);
            finish(r, &mut err)
        }
        Command::Read(args) => {
            let cfg = match args.validate() {
                Ok(c) => c,
                Err(e) => {
                    let _ = writeln!(err, "synack: {}", escape::Escaped(&e.0));
                    return ExitCode::from(2);
                }
            };
            // Not locked (`app::output`): with --threads the views may
            // write from a thread of their own.
            let r = app::output(cfg.output.output.as_deref())
                .and_then(|out| app::read(&cfg, out, &mut err));
            finish(r, &mut err)
        }
    }
}
