//! What a shell and `man` need, generated from the clap definitions so they never
//! drift from `--help`: completion scripts (`synack completions bash|zsh|fish…`) and
//! man pages (`synack man [SUBCOMMAND…]`, or every page at once with `--dir`).

use std::io::Write;
use std::path::PathBuf;

use clap::{Arg, Args, Command};
use clap_complete::Shell;

use crate::app::Outcome;
use crate::error::{Error, Result};

/// `synack man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The page of this subcommand (`synack man echo server`); none: synack(1)
    #[arg(value_name = "SUBCOMMAND")]
    pub(crate) command: Vec<String>,

    /// Write every page (synack.1, synack-read.1, synack-echo-server.1…) into DIR
    /// instead (made if missing), e.g. ~/.local/share/man/man1
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub(crate) dir: Option<PathBuf>,
}

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: Shell, out: &mut impl Write) -> Result<Outcome> {
    let mut full = crate::cli::command();
    full.build();
    let mut cmd = visible_only(&full);
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "synack", &mut script);
    out.write_all(&script)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// Prints one man page, or writes them all into `--dir`.
pub(crate) fn man(args: &ManArgs, out: &mut impl Write) -> Result<Outcome> {
    let base = <crate::cli::Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    let mut cmd = short_about(crate::cli::localized(base));
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map_err(|e| Error::Create {
                path: dir.display().to_string(),
                reason: crate::lang::io_reason(&e),
            })?;
        return Ok(Outcome::Clean);
    }
    // Build first: subcommands then know their full names (synack-echo-server).
    cmd.build();
    let mut page = &cmd;
    for word in &args.command {
        page = page
            .get_subcommands()
            .find(|c| c.get_name() == word && !c.is_hide_set())
            .ok_or_else(|| {
                let known: Vec<&str> = page
                    .get_subcommands()
                    .filter(|c| !c.is_hide_set())
                    .map(|c| c.get_name())
                    .collect();
                let (page, known) = (
                    args.command.join(" "),
                    if known.is_empty() {
                        crate::lang::pick("none", "无").to_owned()
                    } else {
                        known.join(", ")
                    },
                );
                Error::Usage(crate::lang::tr!(
                    "no man page for '{page}': the subcommands here are {known}",
                    "没有 '{page}' 的手册页：这里的子命令有 {known}"
                ))
            })?;
    }
    let mut roff = Vec::new();
    clap_mangen::Man::new(page.clone()).render(&mut roff)?;
    out.write_all(&roff)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// A page's NAME line is its `about`: keep it to the first line, without a leading
/// "synack — ", and let the whole text go to DESCRIPTION.
fn short_about(cmd: clap::Command) -> clap::Command {
    let Some(about) = cmd.get_about().map(|a| a.to_string()) else {
        return cmd;
    };
    let first = about.lines().next().unwrap_or_default();
    let name_dash = format!("{} — ", cmd.get_name());
    let short = first
        .strip_prefix(&name_dash)
        .unwrap_or(first)
        .trim_end_matches('.')
        .to_owned();
    if short == about {
        return cmd;
    }
    let long = cmd
        .get_long_about()
        .map_or(about.clone(), |a| a.to_string());
    cmd.about(short).long_about(long)
}

/// `cmd` (built) with only what `--help` shows: clap_complete offers hidden arguments
/// and subcommands too, and the hidden ones are old spellings (`--timeout`,
/// `--close-first`) and these generators themselves. Built from scratch, not cloned,
/// because a cloned argument would still name the dropped ones in its conflicts.
fn visible_only(cmd: &Command) -> Command {
    let mut copy = Command::new(cmd.get_name().to_owned())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    if let Some(about) = cmd.get_about() {
        copy = copy.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        copy = copy.version(version.to_owned());
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        // zsh leaves out what conflicts with an option already given.
        let conflicts: Vec<clap::Id> = cmd
            .get_arg_conflicts_with(arg)
            .into_iter()
            .filter(|a| !a.is_hide_set())
            .map(|a| a.get_id().clone())
            .collect();
        copy = copy.arg(completion_arg(arg).conflicts_with_all(conflicts));
    }
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        copy = copy.subcommand(visible_only(sub));
    }
    copy
}

/// What a completion script needs of an argument: its names, values and help.
fn completion_arg(arg: &Arg) -> Arg {
    let mut copy = Arg::new(arg.get_id().clone())
        .action(arg.get_action().clone())
        .value_parser(arg.get_value_parser().clone())
        .value_hint(arg.get_value_hint())
        .hide_possible_values(arg.is_hide_possible_values_set());
    if let Some(long) = arg.get_long() {
        copy = copy.long(long.to_owned());
    }
    if let Some(short) = arg.get_short() {
        copy = copy.short(short);
    }
    if let Some(aliases) = arg.get_visible_aliases() {
        copy = copy.visible_aliases(aliases.into_iter().map(str::to_owned).collect::<Vec<_>>());
    }
    if let Some(help) = arg.get_help() {
        copy = copy.help(help.clone());
    }
    if let Some(names) = arg.get_value_names() {
        copy = copy.value_names(names.to_vec());
    }
    if let Some(n) = arg.get_num_args() {
        copy = copy.num_args(n);
    }
    if let Some(index) = arg.get_index() {
        copy = copy.index(index);
    }
    copy
}
