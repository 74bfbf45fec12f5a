//! The `smsbridge` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smsbridge::number::cli::{NumberArgs, run_number};

#[derive(Debug, Parser)]
#[command(
    name = "smsbridge",
    version,
    about = "SMS/MMS carrier bridge for contact centers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse a phone number and tell whether it can receive SMS, and why.
    Number(NumberArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Number(args) => match run_number(&args, &mut std::io::stdout().lock()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("smsbridge number: {error}");
                ExitCode::FAILURE
            }
        },
    }
}
