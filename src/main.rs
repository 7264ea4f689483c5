//! The `sesame` binary: parse arguments, run the command, render an error, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use sesame::cli::{self, Cli};

fn main() -> ExitCode {
    sesame::hardening::harden_process();
    let parsed = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
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
            eprintln!("sesame: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
