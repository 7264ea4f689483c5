//! The `sesame` binary: parse arguments, run the command, render an error, exit with its code.

use std::process::ExitCode;

use clap::error::{ContextKind, ErrorKind};
use sesame::cli;

fn main() -> ExitCode {
    sesame::hardening::harden_process();
    let parsed = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                // Bare `sesame`: the help, and where to start when there is no vault yet.
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    if let Some(hint) = cli::first_steps() {
                        eprintln!("\n{hint}");
                    }
                    ExitCode::SUCCESS
                }
                // Never echo a stray positional argument: it may be a secret typed where a
                // value does not belong (`sesame add label sk-...`), bound for a CI log.
                ErrorKind::UnknownArgument
                    if e.get(ContextKind::InvalidArg)
                        .is_some_and(|a| !a.to_string().starts_with('-')) =>
                {
                    eprintln!(
                        "sesame: error: unexpected extra argument (not shown: it may be a secret). \
                         Values are never taken from the command line, where `ps` and shell \
                         history would keep them: pipe the value on stdin, or type it at the \
                         prompt. See `sesame help`."
                    );
                    ExitCode::from(2)
                }
                _ => {
                    let text = e.render().to_string();
                    let text = text.strip_prefix("error: ").unwrap_or(&text);
                    eprint!("sesame: error: {text}");
                    ExitCode::from(2)
                }
            };
        }
    };
    match cli::run(parsed) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A path in the message may hold control characters: escaped, never interpreted.
            eprintln!(
                "sesame: error: {}",
                sesame::printable::printable(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}
