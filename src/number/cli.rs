//! `smsbridge number <number> [--region US] [--json] [--config PATH]`: the number check
//! from a shell.
//!
//! The answer is the same as `GET /v1/numbers/{number}`: with `--config`, under the
//! `[numbers]` policy of that file; without, under the recommended policy. A process
//! started from the shell has no receipts, so nothing learned from receipts shows here.

use std::io::Write;
use std::time::SystemTime;

use thiserror::Error;

use super::{BoundedUnreachableMemory, NumberCheck, NumberPolicy, Region};

/// Arguments of `smsbridge number`.
#[derive(Debug, Clone, clap::Args)]
pub struct NumberArgs {
    /// The number as a person would type it: `+1 (415) 555-0123`, `0049 151 23456789`,
    /// `030 123456` (with --region DE), `72404` (a short code, with --region US).
    pub number: String,
    /// The region that reads national formats and short codes (ISO code: US, GB, DE, …).
    #[arg(long)]
    pub region: Option<Region>,
    /// Print the answer as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Decide with the `[numbers]` policy of this configuration file (default: the
    /// recommended policy).
    #[arg(long, short)]
    pub config: Option<std::path::PathBuf>,
}

/// Why `smsbridge number` could not print its answer.
#[derive(Debug, Error)]
pub enum NumberCliError {
    /// Writing to the output failed (a closed pipe, a full disk).
    #[error("cannot write the answer: {0}")]
    Write(#[from] std::io::Error),
    /// The answer could not be turned into JSON (never expected: every field is plain data).
    #[error("cannot encode the answer as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Checks the number with the recommended policy and prints the answer.
pub fn run_number(args: &NumberArgs, out: &mut dyn Write) -> Result<NumberCheck, NumberCliError> {
    run_number_with(args, &NumberPolicy::default(), out)
}

/// Checks the number with `policy` (the configured one) and prints the answer.
pub fn run_number_with(
    args: &NumberArgs,
    policy: &NumberPolicy,
    out: &mut dyn Write,
) -> Result<NumberCheck, NumberCliError> {
    let memory = BoundedUnreachableMemory::new(1);
    let check = policy.check(&args.number, args.region, &memory, SystemTime::now());
    if args.json {
        serde_json::to_writer(&mut *out, &check)?;
        writeln!(out)?;
    } else {
        write_text(&check, out)?;
    }
    Ok(check)
}

fn write_text(check: &NumberCheck, out: &mut dyn Write) -> std::io::Result<()> {
    let none = "-".to_owned();
    let e164 = check
        .e164
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| none.clone());
    let country = check
        .country
        .map(|region| format!("{region} ({})", region.name()))
        .unwrap_or(none);
    let capable = if check.sms_capable { "yes" } else { "no" };
    writeln!(out, "input:       {}", check.input)?;
    writeln!(out, "e164:        {e164}")?;
    writeln!(out, "country:     {country}")?;
    writeln!(out, "class:       {}", check.class)?;
    writeln!(out, "sms_capable: {capable}")?;
    writeln!(out, "reason:      {}", check.reason)?;
    writeln!(out, "{}", check.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(number: &str, region: Option<&str>, json: bool) -> (NumberCheck, String) {
        let args = NumberArgs {
            number: number.to_owned(),
            region: region.map(|r| r.parse().unwrap()),
            json,
            config: None,
        };
        let mut out = Vec::new();
        let check = run_number(&args, &mut out).unwrap();
        (check, String::from_utf8(out).unwrap())
    }

    #[test]
    fn text_output_names_the_country_and_the_decision() {
        let (check, text) = run("030 123456", Some("DE"), false);
        assert!(!check.sms_capable);
        assert!(text.contains("e164:        +4930123456\n"), "{text}");
        assert!(text.contains("country:     DE (Germany)\n"), "{text}");
        assert!(text.contains("sms_capable: no\n"), "{text}");
        assert!(text.ends_with("This is a landline number in Germany; it cannot receive SMS.\n"));
    }

    #[test]
    fn json_output_is_one_object_with_the_check() {
        let (check, text) = run("72404", Some("US"), true);
        let parsed: NumberCheck = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(parsed, check);
        assert_eq!(parsed.e164, None);
        assert_eq!(text.lines().count(), 1);
    }
}
