//! `smsbridge segment`, in process and as the real binary.

use std::process::Command;

use clap::Parser;
use smsbridge::text::{SegmentArgs, TextError, run_segment};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SegmentArgs,
}

fn run(argv: &[&str]) -> Result<String, TextError> {
    let cli = Cli::try_parse_from(std::iter::once("segment").chain(argv.iter().copied())).unwrap();
    let mut out = Vec::new();
    run_segment(&cli.args, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn text_output_shows_encoding_segments_and_each_part() {
    let out = run(&[&"a".repeat(170)]).unwrap();
    assert!(
        out.starts_with("encoding: gsm7 (data_coding 0x00)\n"),
        "{out}"
    );
    assert!(out.contains("characters: 170\n"), "{out}");
    assert!(
        out.contains("segments: 2 (udh8, 153 septets each)\n"),
        "{out}"
    );
    assert!(
        out.contains("last segment: 17 septets used, 136 left\n"),
        "{out}"
    );
    assert!(
        out.contains("part 2: 17 septets, esm_class 0x40\n"),
        "{out}"
    );
    assert!(out.contains("  short_message: 0500030002026161"), "{out}");
}

#[test]
fn route_options_change_the_plan() {
    let text = "Şu an müsait misiniz? ".repeat(5);
    let out = run(&[
        "--shift",
        "turkish,spanish",
        "--concatenation",
        "sar",
        &text,
    ])
    .unwrap();
    assert!(
        out.starts_with("encoding: gsm7 (data_coding 0x00), single shift turkish\n"),
        "{out}"
    );
    let err = Cli::try_parse_from(["segment", "--concatenation", "udh32", "x"])
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("expected one of: udh8, udh16, sar, payload"),
        "{err}"
    );
}

#[test]
fn too_long_text_is_an_error_with_the_count() {
    let err = run(&[&"ü".repeat(1001)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "text is 1001 characters long; the limit is 1000"
    );
}

#[test]
fn the_binary_prints_one_json_object() {
    let out = Command::new(env!("CARGO_BIN_EXE_smsbridge"))
        .args(["segment", "--json", "Thanks! 👍 See you {soon}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["encoding"], "ucs2");
    assert_eq!(plan["segments"], 1);
    assert_eq!(plan["characters"], 24);
    assert_eq!(plan["parts"][0]["text"], "Thanks! 👍 See you {soon}");
    assert_eq!(
        plan["parts"][0]["short_message"].as_str().unwrap().len(),
        4 * 25
    );
}

#[test]
fn the_binary_refuses_a_text_over_the_limit() {
    let out = Command::new(env!("CARGO_BIN_EXE_smsbridge"))
        .args(["segment", &"x".repeat(1001)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1001 characters"));
}
