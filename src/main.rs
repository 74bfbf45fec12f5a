use clap::{Parser, Subcommand};

/// smsbridge: a self-hosted SMS/MMS carrier bridge for contact centers.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show how a text is encoded and split into SMS segments.
    Segment(smsbridge::text::SegmentArgs),
}

fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Segment(args) => {
            match smsbridge::text::run_segment(&args, &mut std::io::stdout().lock()) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("smsbridge segment: {error}");
                    std::process::ExitCode::from(2)
                }
            }
        }
    }
}
