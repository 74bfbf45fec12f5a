//! `msg_id_format` and `[carriers.error_map]`: defaults, values, and mistakes placed at
//! their line and key.

use std::path::Path;

use smsbridge::config::Config;
use smsbridge::receipts::{MsgIdFormat, ReasonCode};

const CARRIER: &str = r#"[instance]
[[carriers]]
name = "acme"
host = "smsc.example.net"
port = 2775
system_id = "bridge"
password = "pw"
"#;

/// The file: the carrier, then `extra`, then an API without a token (last, so the
/// lines under test keep their numbers).
fn load(extra: &str) -> Result<Config, String> {
    let text = format!("{CARRIER}{extra}\n[api]\nauth = \"none\"\n");
    Config::from_toml(Path::new("smsbridge.toml"), &text).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_auto_and_an_empty_map() {
    let config = load("").unwrap();
    let carrier = config.carrier("acme").unwrap();
    assert_eq!(carrier.msg_id_format, MsgIdFormat::Auto);
    assert!(carrier.error_map.is_empty());
}

#[test]
fn formats_and_codes_are_read() {
    let config = load(
        "msg_id_format = \"dec\"\n[carriers.error_map]\n\"17\" = \"unreachable\"\n\"0x0B1\" = \"spam_filtered\"\n",
    )
    .unwrap();
    let carrier = config.carrier("acme").unwrap();
    assert_eq!(carrier.msg_id_format, MsgIdFormat::Dec);
    assert_eq!(carrier.error_map.get(17), Some(ReasonCode::Unreachable));
    assert_eq!(carrier.error_map.get(0xB1), Some(ReasonCode::SpamFiltered));
    assert_eq!(carrier.error_map.len(), 2);
}

#[test]
fn mistakes_name_the_line_and_key() {
    let cases = [
        (
            "msg_id_format = \"decimal\"\n",
            "smsbridge.toml:8:17: carriers[0].msg_id_format: \"decimal\" is not a message id format",
        ),
        (
            "[carriers.error_map]\n\"0B1\" = \"blocked\"\n",
            "smsbridge.toml:9:9: carriers[0].error_map.0B1: \"0B1\" is not an error code",
        ),
        (
            "[carriers.error_map]\n\"17\" = \"spam\"\n",
            "smsbridge.toml:9:8: carriers[0].error_map.17: \"spam\" is not a reason",
        ),
        (
            "[carriers.error_map]\n\"17\" = \"blocked\"\n\"0x11\" = \"unreachable\"\n",
            "smsbridge.toml:9:8: carriers[0].error_map.17: the same code as `0x11`",
        ),
    ];
    for (extra, want) in cases {
        let got = load(extra).unwrap_err();
        assert!(got.starts_with(want), "want {want}\ngot  {got}");
    }
}

#[test]
fn the_documented_example_maps_codes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/smsbridge.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The example's secrets come from the environment and files; only the parsed
    // error map is checked here, through the raw layer.
    let raw: smsbridge::config::RawConfig = toml::from_str(&text).unwrap();
    let map = &raw.carriers[0].error_map;
    assert_eq!(map.get("0x0B1").map(String::as_str), Some("spam_filtered"));
    assert_eq!(raw.carriers[0].msg_id_format.as_deref(), Some("auto"));
}
