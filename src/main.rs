use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use synack::app::{self, Outcome};
use synack::cli::{Cli, Command};

fn finish(result: synack::Result<Outcome>, err: &mut impl Write) -> ExitCode {
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::InputErrors) => ExitCode::from(1),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e @ synack::Error::Usage(_)) => {
            let _ = writeln!(err, "synack: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            let _ = writeln!(err, "synack: {e}");
            ExitCode::from(1)
        }
    }
}

/// glibc returns freed memory at the top of the heap to the kernel at once
/// and then faults it back in page by page: with connections retiring in
/// waves that cost more system time than all the parsing. Keep it instead.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any threads.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match cli.command {
        Command::Live(args) => {
            let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let mut err = io::stderr().lock();
            let r = app::live(&args, out, &mut err);
            finish(r, &mut err)
        }
        Command::Echo(args) => match synack::echo::run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("synack: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Demo(args) => {
            let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let mut err = io::stderr().lock();
            let r = synack::demo::run(&args, out, &mut err);
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
            let stdout = io::stdout().lock();
            let out = BufWriter::with_capacity(1 << 16, stdout);
            let mut err = io::stderr().lock();
            let r = app::read(&cfg, out, &mut err);
            finish(r, &mut err)
        }
    }
}
