//! Configuration mistakes are reported at the right line, column and key.

use std::path::Path;

use smsbridge::config::Config;
use smsbridge::consent::{KeywordSet, Replies};

const CARRIER: &str = r#"
[[carriers]]
name = "acme"
host = "smsc.example.net"
port = 2775
system_id = "bridge"
password = "pw"
"#;

/// `text` with the API left without a token (`auth = "none"`), so a test of another
/// section sees only its own mistakes. The key goes at the end, or first in an `[api]`
/// table the text has, so the lines before keep their numbers.
fn from_toml(path: &Path, text: &str) -> Result<Config, smsbridge::config::ConfigErrors> {
    let text = if text.contains("[api]\n") {
        text.replacen("[api]\n", "[api]\nauth = \"none\"\n", 1)
    } else {
        format!("{text}\n[api]\nauth = \"none\"\n")
    };
    Config::from_toml(path, &text)
}

/// Each case: the file, then the expected first error as `line:column: key: message…`.
fn cases() -> Vec<(String, &'static str)> {
    let with = |extra: &str| format!("[instance]\n{CARRIER}{extra}");
    vec![
        // 1: an unknown key
        (
            "[instance]\nnmae = \"x\"\n".into(),
            "2:1: instance.nmae: unknown field `nmae`",
        ),
        // 2: a wrong type
        (
            format!("[instance]\n{}", CARRIER.replace("2775", "\"2775\"")),
            "6:8: carriers[0].port: invalid type: string \"2775\", expected u16",
        ),
        // 3: a value out of range
        (
            with("window = 2000\n"),
            "9:10: carriers[0].window: must be between 1 and 1024",
        ),
        // 4: a missing required section
        (
            "[api]\nlisten = \"127.0.0.1:8080\"\n".into(),
            "1:1: missing field `instance`",
        ),
        // 5: a duplicate carrier name
        (
            format!("[instance]\n{CARRIER}{CARRIER}"),
            "11:8: carriers[1].name: duplicate carrier name `acme` (also carriers[0])",
        ),
        // 6: an unreadable secret file
        (
            format!(
                "[instance]\n{}",
                CARRIER.replace("password = \"pw\"", "password_file = \"/nonexistent/pw\"")
            ),
            "8:17: carriers[0].password_file: cannot read secret file /nonexistent/pw",
        ),
        // 7: a duration that is not one
        (
            with("[carriers.timers]\nresponse_timeout = \"30 parsecs\"\n"),
            "10:20: carriers[0].timers.response_timeout: `30 parsecs` is not a duration",
        ),
        // 8: a sender routed to a carrier that does not exist
        (
            with(
                "\n[[senders]]\nnumber = \"+14155550100\"\nkind = \"longcode\"\nroutes = [\"acme\", \"nobody\"]\n",
            ),
            "13:19: senders[0].routes[1]: no carrier is named `nobody`",
        ),
        // 9: a shortcode that is not 3 to 8 digits
        (
            with("\n[[senders]]\nnumber = \"12AB5\"\nkind = \"shortcode\"\nroutes = [\"acme\"]\n"),
            "11:10: senders[0].number: a shortcode has 3 to 8 digits and nothing else",
        ),
        // 10: two sources for one secret
        (
            with("password_env = \"ACME_PW\"\n"),
            "8:12: carriers[0].password: give only one of `password`, `password_file` and `password_env`",
        ),
        // 11: a missing required key
        (
            format!("[instance]\n{}", CARRIER.replace("name = \"acme\"\n", "")),
            "3:1: carriers[0]: missing field `name`",
        ),
        // 12: a listen address that is not one
        (
            "[instance]\n[admin]\nlisten = \"localhost\"\n".into(),
            "3:10: admin.listen: `localhost` is not an address",
        ),
        // 13: an unknown enum value
        (
            with("bind_mode = \"duplex\"\n"),
            "9:13: carriers[0].bind_mode: unknown variant `duplex`, expected `transceiver` or `transmitter_receiver`",
        ),
        // 14: broken TOML syntax
        (
            "[instance\nname = \"x\"\n".into(),
            "1:10: unclosed table, expected `]`",
        ),
        // 15: a secret from an environment variable that is not set
        (
            format!(
                "[instance]\n{}",
                CARRIER.replace(
                    "password = \"pw\"",
                    "password_env = \"SMSBRIDGE_TEST_UNSET_VAR\""
                )
            ),
            "8:16: carriers[0].password_env: environment variable SMSBRIDGE_TEST_UNSET_VAR is not set",
        ),
        // 16: a toll-free sender outside the toll-free ranges
        (
            with(
                "\n[[senders]]\nnumber = \"+14155550100\"\nkind = \"toll_free\"\nroutes = [\"acme\"]\n",
            ),
            "11:10: senders[0].number: this is not in a toll-free range",
        ),
        // 17: timers that contradict each other
        (
            with("[carriers.timers]\nreconnect_min = \"2m\"\nreconnect_max = \"1m\"\n"),
            "10:17: carriers[0].timers.reconnect_min: must not be longer than reconnect_max",
        ),
        // 18: a log level that is not one
        (
            "[instance]\n[log]\nlevel = \"loud\"\n".into(),
            "3:9: log.level: `loud` is not a log filter",
        ),
        // 19: a number class that does not exist
        (
            with("[numbers.classes]\nmobil = \"allow\"\n"),
            "10:9: numbers.classes.mobil: \"mobil\" is not a number class",
        ),
        // 20: an action that is neither allow nor deny
        (
            with("[numbers.classes]\nvoip = \"maybe\"\n"),
            "10:8: numbers.classes.voip: unknown variant `maybe`, expected `allow` or `deny`",
        ),
        // 21: a country override for a region that does not exist
        (
            with("[numbers.countries.XX]\nfixed_line = \"allow\"\n"),
            "9:1: numbers.countries.XX: `XX` is not a two-letter region code",
        ),
        // 22: an allow-list entry that is neither a number nor a prefix
        (
            with("[numbers]\nallow = [\"+14155550123\", \"+4420\"]\n"),
            "10:26: numbers.allow[1]: \"+4420\" is not a list entry",
        ),
        // 23: the same entry allowed and denied
        (
            with("[numbers]\nallow = [\"+4420*\"]\ndeny = [\"+1900*\", \"+4420*\"]\n"),
            "11:19: numbers.deny[1]: +4420* is on both the allow list and the deny list",
        ),
        // 24: a country that would send to invalid numbers
        (
            with("[numbers.countries.GB]\nfixed_line = \"allow\"\ninvalid = \"allow\"\n"),
            "11:11: numbers.countries.GB.invalid: the class `invalid` cannot be allowed",
        ),
        // 25: an unreachable-error rule for a carrier that does not exist
        (
            with("[numbers]\nunreachable_errors = [\"0B1\", \"nobody:X27\"]\n"),
            "10:30: numbers.unreachable_errors[1]: no carrier is named `nobody`",
        ),
        // 26: an unreachable-error rule that is not one
        (
            with("[numbers]\nunreachable_errors = [\"acme:0 B1\"]\n"),
            "10:23: numbers.unreachable_errors[0]: \"acme:0 B1\" is not a carrier error rule",
        ),
        // 27: remembering unreachable numbers for no time at all
        (
            with("[numbers]\nremember_unreachable_for = \"0s\"\n"),
            "10:28: numbers.remember_unreachable_for: must be between 1m and",
        ),
        // 28: short codes shorter than 3 digits
        (
            with("[numbers.short_codes.GB]\nmin_digits = 2\nmax_digits = 5\n"),
            "10:14: numbers.short_codes.GB.min_digits: short codes have between 3 and 8 digits",
        ),
        // 29: a short-code range longer than the rule's codes
        (
            with(
                "[numbers.short_codes.CA]\nmin_digits = 5\nmax_digits = 5\nranges = [\"16000-17999\", \"40000-499999\"]\n",
            ),
            "12:26: numbers.short_codes.CA.ranges[1]: short-code range 40000-499999 is reversed",
        ),
        // 30: a short-code range that is not one
        (
            with(
                "[numbers.short_codes.CA]\nmin_digits = 5\nmax_digits = 5\nranges = [\"16000..17999\"]\n",
            ),
            "12:11: numbers.short_codes.CA.ranges[0]: `16000..17999` is not a range",
        ),
        // 31: a misspelt key of [numbers]
        (
            with("[numbers]\ndefault_regoin = \"GB\"\n"),
            "10:1: numbers.default_regoin: unknown field `default_regoin`",
        ),
        // 32: a memory of unreachable numbers that holds nothing
        (
            with("[numbers]\nunreachable_capacity = 0\n"),
            "10:24: numbers.unreachable_capacity: must be between 1 and 10000000",
        ),
        // 33: an MT validity that is not a duration
        (
            with("[messages]\nvalidity = \"two days\"\n"),
            "10:12: messages.validity: `two days` is not a duration",
        ),
        // 34: an MT validity beyond what the flows keep
        (
            with("[messages]\nvalidity = \"31d\"\n"),
            "10:12: messages.validity: must be between 1s and 30days",
        ),
        // 35: retry delays that contradict each other
        (
            with("[messages]\nretry_min = \"2m\"\nretry_max = \"1m\"\n"),
            "10:13: messages.retry_min: must not be longer than retry_max",
        ),
        // 36: no MT allowed in flight
        (
            with("[messages]\nin_flight = 0\n"),
            "10:13: messages.in_flight: must be between 1 and 4096",
        ),
        // 37: a misspelt key of [messages]
        (
            with("[messages]\ndedup_window = \"2m\"\n"),
            "10:1: messages.dedup_window: unknown field `dedup_window`",
        ),
        // 38: a store limit smaller than the schema
        (
            with("[store]\nmax_size_bytes = 4096\n"),
            "10:18: store.max_size_bytes: must be between 262144 and 1125899906842624",
        ),
        // 39: an alphabet that is not one
        (
            with("[carriers.text]\nalphabet = \"ebcdic\"\n"),
            "10:12: carriers[0].text.alphabet: unknown alphabet `ebcdic`",
        ),
        // 40: a shift table listed twice
        (
            with("[carriers.text]\nshift_tables = [\"turkish\", \"turkish\"]\n"),
            "10:28: carriers[0].text.shift_tables[1]: `turkish` is listed twice",
        ),
        // 41: shift tables on a carrier that does not speak GSM7
        (
            with("[carriers.text]\nalphabet = \"latin1\"\nshift_tables = [\"spanish\"]\n"),
            "11:16: carriers[0].text.shift_tables: shift tables extend GSM7",
        ),
        // 42: unmatched receipts kept for no time at all
        (
            with("[store]\nunmatched_receipt_ttl = \"0s\"\n"),
            "10:25: store.unmatched_receipt_ttl: must be between 1s and",
        ),
        // 43: a carrier reached by neither SMPP nor MM7
        (
            "[instance]\n[[carriers]]\nname = \"ghost\"\n".into(),
            "2:1: carriers[0]: carrier `ghost` is reached by neither SMPP",
        ),
        // 44: half an SMPP bind
        (
            "[instance]\n[[carriers]]\nname = \"half\"\nhost = \"smsc.example.net\"\n".into(),
            "2:1: carriers[0]: missing `port`: an SMPP bind needs host, port and system_id",
        ),
        // 45: a word that would both stop and start messages
        (
            with("[consent]\nopt_in_keywords = [\"START\", \"Stop!\"]\n"),
            "10:19: consent.opt_in_keywords: keyword \"STOP\" is in `opt_out` and in another set",
        ),
        // 46: no word to stop messages with
        (
            with("[consent]\nopt_out_keywords = []\n"),
            "10:20: consent.opt_out_keywords: the opt-out keyword list cannot be empty",
        ),
        // 47: a reply of nothing but spaces ("" is how to send none)
        (
            with("[consent]\nhelp_reply = \"  \"\n"),
            "10:14: consent.help_reply: the `help` reply is blank",
        ),
        // 48: a word that is only punctuation
        (
            with("[consent]\nopt_out_keywords = [\"STOP\", \"?!\"]\n"),
            "10:29: consent.opt_out_keywords[1]: a keyword is 1 to 32 letters",
        ),
        // 49: a sender's own word that the [consent] defaults use otherwise
        (
            with(
                "\n[[senders]]\nnumber = \"+14155550100\"\nkind = \"longcode\"\nroutes = [\"acme\"]\nhelp_keywords = [\"HELP\", \"YES\"]\n",
            ),
            "14:17: senders[0].help_keywords: keyword \"YES\" is in `opt_in` and in another set",
        ),
        // 50: a listener with no room for a connection
        (
            "[instance]\n[admin]\nmax_connections = 0\n".into(),
            "3:19: admin.max_connections: must be between 1 and 65536",
        ),
        // 51: a header-read timeout too short for any client
        (
            "[instance]\n[mms]\nheader_read_timeout = \"1ms\"\n".into(),
            "3:23: mms.header_read_timeout: must be between 100ms and 10m",
        ),
    ]
}

#[test]
fn the_listeners_connection_limits_are_read_from_the_file_with_their_defaults() {
    let text = "[instance]\n[api]\nheader_read_timeout = \"2s\"\nidle_timeout = \"5m\"\nmax_connections = 10\n";
    let config = from_toml(Path::new("f.toml"), text).unwrap();
    let api = config.api.connections;
    assert_eq!(
        (
            api.header_read_timeout.as_secs(),
            api.idle_timeout.as_secs(),
            api.max_connections
        ),
        (2, 300, 10)
    );
    let admin = config.admin.connections;
    assert_eq!(
        (
            admin.header_read_timeout.as_secs(),
            admin.idle_timeout.as_secs(),
            admin.max_connections
        ),
        (10, 60, 64)
    );
    assert_eq!(config.mms.connections.max_connections, 256);
}

#[test]
fn each_mistake_is_placed_at_its_line_column_and_key() {
    let mut failures = Vec::new();
    for (i, (text, expected)) in cases().into_iter().enumerate() {
        let got = match from_toml(Path::new("smsbridge.toml"), &text) {
            Ok(_) => "accepted".to_string(),
            Err(errors) => errors.0[0].to_string(),
        };
        let want = format!("smsbridge.toml:{expected}");
        if !got.starts_with(&want) {
            failures.push(format!("case {}: want {want}\n         got  {got}", i + 1));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_problem_of_a_file_is_reported_in_file_order() {
    let text = format!(
        "[instance]\ndrain_timeout = \"forever\"\n{CARRIER}window = 0\n[api]\nmax_body_bytes = 5\n"
    );
    let errors = from_toml(Path::new("f.toml"), &text).unwrap_err();
    let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "instance.drain_timeout",
            "carriers[0].window",
            "api.max_body_bytes"
        ]
    );
    let lines: Vec<usize> = errors.0.iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
}

#[test]
fn secrets_come_from_files_and_the_environment_and_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let text = format!(
        "[instance]\n{}",
        CARRIER.replace(
            "password = \"pw\"",
            &format!("password_file = \"{}\"", pw.display())
        )
    );
    let config = from_toml(Path::new("f.toml"), &text).unwrap();
    assert_eq!(config.carriers[0].password.expose(), "s3cret");
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret"), "Debug must redact secrets");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let config = from_toml(Path::new("f.toml"), &format!("[instance]\n{CARRIER}")).unwrap();
    let c = &config.carriers[0];
    assert_eq!(c.window, 10);
    assert_eq!(c.binds, 1);
    assert_eq!(c.interface_version.as_u8(), 0x34);
    assert_eq!(c.timers.enquire_link_interval.as_secs(), 30);
    assert_eq!(config.instance.drain_timeout.as_secs(), 30);
    assert_eq!(config.messages.validity.as_secs(), 48 * 3600);
    assert_eq!(config.messages.in_flight, 16);
    // [consent] left out: the consent module's recommended profile, word for word.
    let keywords = KeywordSet::recommended();
    let replies = Replies::recommended();
    let consent = &config.consent;
    assert_eq!(consent.opt_out_keywords, keywords.opt_out());
    assert!(consent.opt_out_keywords.iter().any(|w| w == "OPT OUT"));
    assert_eq!(consent.opt_in_keywords, keywords.opt_in());
    assert_eq!(consent.help_keywords, keywords.help());
    assert_eq!(Some(consent.opt_out_reply.as_str()), replies.opt_out());
    assert_eq!(Some(consent.opt_in_reply.as_str()), replies.opt_in());
    assert_eq!(Some(consent.help_reply.as_str()), replies.help());
}

#[test]
fn the_example_config_shows_the_real_consent_defaults() {
    // Every `[consent]` key of the example is marked "default": set or left out, the
    // result must be the same.
    let example = std::fs::read_to_string("config/smsbridge.toml").unwrap();
    let start = example.find("\n[consent]").expect("a [consent] table");
    let table = &example[start..];
    let end = table[1..].find("\n[").map_or(table.len(), |i| i + 1);
    let written = format!("[instance]\n{CARRIER}{}", &table[..end]);
    let written = from_toml(Path::new("f.toml"), &written).unwrap();
    let defaults = from_toml(Path::new("f.toml"), &format!("[instance]\n{CARRIER}")).unwrap();
    assert_eq!(written.consent, defaults.consent);
}

#[test]
fn the_message_timers_are_read_from_the_file() {
    let text = format!(
        "[instance]\n{CARRIER}[messages]\nvalidity = \"90s\"\nretry_min = \"50ms\"\nretry_max = \"2s\"\nin_flight = 4\nmo_dedup_window = \"10m\"\n"
    );
    let m = from_toml(Path::new("f.toml"), &text).unwrap().messages;
    assert_eq!(m.validity.as_secs(), 90);
    assert_eq!(m.retry_min.as_millis(), 50);
    assert_eq!(m.retry_max.as_secs(), 2);
    assert_eq!(m.in_flight, 4);
    assert_eq!(m.mo_dedup_window.as_secs(), 600);
}

/// The `line:column: key: message` of every error, without the file name.
fn all_errors(text: &str) -> Vec<String> {
    let errors = Config::from_toml(Path::new("f.toml"), text).unwrap_err();
    errors
        .0
        .iter()
        .map(|e| e.to_string().trim_start_matches("f.toml:").to_owned())
        .collect()
}

#[test]
fn every_type_error_of_a_file_is_reported_at_once() {
    let text = "[instance]\nnmae = \"x\"\n[[carriers]]\nport = \"x\"\n[[carriers]]\nname = 5\n[log]\nlevel = 3\n";
    let errors = all_errors(text);
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].starts_with("2:1: instance.nmae: unknown field `nmae`"));
    // A missing key is placed at the table that lacks it.
    assert_eq!(errors[1], "3:1: carriers[0]: missing field `name`");
    assert!(errors[2].starts_with("4:8: carriers[0].port: invalid type: string"));
    // A key with a wrong value is one mistake, not also a missing key.
    assert!(errors[3].starts_with("6:8: carriers[1].name: invalid type: integer `5`"));
    assert!(errors[4].starts_with("8:9: log.level: invalid type: integer `3`"));
}

#[test]
fn every_syntax_error_is_reported_and_a_duplicate_key_is_named() {
    let text = "[instance]\nname = \"a\"\nname = \"b\"\n[api]\nlisten = \n[log]\nlevel = \"info\"\nlevel = \"debug\"\n";
    let errors = all_errors(text);
    assert_eq!(
        errors,
        [
            "3:1: duplicate key `name`: it is already set above",
            "5:10: string values must be quoted, expected literal string",
            "8:1: duplicate key `level`: it is already set above",
        ]
    );
}
