//! The shipped unit file is hardened: `systemd-analyze security` rates it OK or better.

use std::process::Command;

#[test]
fn unit_file_is_rated_ok_or_better() {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("smsbridge.service");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/smsbridge.service"),
        &unit,
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze is missing: run scripts/test-deps.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    let verdict = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no verdict in:\n{text}"));
    // "…: 1.2 OK 🙂": the word after the score is the rating.
    let words: Vec<&str> = verdict.split_whitespace().collect();
    let score = words
        .iter()
        .position(|w| w.parse::<f64>().is_ok())
        .unwrap_or_else(|| panic!("no score in {verdict}"));
    let rating = words.get(score + 1).copied().unwrap_or("");
    assert!(["OK", "SAFE"].contains(&rating), "{verdict}");
}
