//! Numbers: the classification table, the policy's overrides, the sender inventory, and
//! `smsbridge number` through the real binary.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use smsbridge::number::{
    BoundedUnreachableMemory, ClassAction, MoDestination, NumberCheck, NumberClass, NumberPolicy,
    NumberPolicySettings, Reason, Region, SenderAddress, SenderInventory, SenderKind,
    SenderProblem, SenderSpec, Ton, TonNpi, UnreachableMemory, UnreachableRule, UnreachableRules,
};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/numbers")
        .join(name)
}

fn region(code: &str) -> Region {
    code.parse().unwrap()
}

fn check(policy: &NumberPolicy, input: &str, region_code: Option<&str>) -> NumberCheck {
    let memory = BoundedUnreachableMemory::new(16);
    policy.check(input, region_code.map(region), &memory, SystemTime::now())
}

/// One row of fixtures/numbers/classification.csv.
#[derive(Debug, serde::Deserialize)]
struct Expected {
    input: String,
    region: String,
    e164: String,
    country: String,
    class: NumberClass,
    sms_capable: String,
    reason: Reason,
}

#[test]
fn the_classification_table_holds_under_the_recommended_policy() {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(fixture("classification.csv"))
        .unwrap();
    let policy = NumberPolicy::default();
    let mut rows = 0;
    let mut countries = BTreeSet::new();
    let mut mismatches = Vec::new();
    for row in reader.deserialize::<Expected>() {
        let row = row.unwrap();
        rows += 1;
        let given_region = Some(row.region.as_str()).filter(|r| !r.is_empty());
        let got = check(&policy, &row.input, given_region);
        let got_e164 = got
            .e164
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let got_country = got.country.map(|c| c.to_string()).unwrap_or_default();
        let got_capable = if got.sms_capable { "yes" } else { "no" };
        let expected = (
            row.e164.as_str(),
            row.country.as_str(),
            row.class,
            row.sms_capable.as_str(),
            row.reason,
        );
        let actual = (
            got_e164.as_str(),
            got_country.as_str(),
            got.class,
            got_capable,
            got.reason,
        );
        if expected != actual {
            mismatches.push(format!(
                "{:?}: expected {expected:?}, got {actual:?}",
                row.input
            ));
        }
        if let Some(country) = got.country {
            countries.insert(country);
            if got.reason != Reason::InvalidNumber || got.e164.is_some() {
                assert!(
                    got.message.contains(country.name()),
                    "{:?}: the sentence must name the country: {}",
                    row.input,
                    got.message
                );
            }
        }
        if !got_country.is_empty() {
            let words: Vec<&str> = got.message.split([' ', ';', '.']).collect();
            assert!(
                !words.contains(&got_country.as_str()),
                "{:?}: the sentence names the country by its code: {}",
                row.input,
                got.message
            );
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(rows >= 60, "only {rows} rows");
    assert!(countries.len() >= 10, "only {} countries", countries.len());
}

#[test]
fn the_table_covers_every_class() {
    let text = std::fs::read_to_string(fixture("classification.csv")).unwrap();
    for class in NumberClass::ALL {
        assert!(
            text.contains(&format!(",{},", class.as_str())),
            "no row of class {class}"
        );
    }
}

#[test]
fn landlines_in_the_uk_get_the_sentence_agents_read() {
    let got = check(&NumberPolicy::default(), "020 7946 0000", Some("GB"));
    assert_eq!(
        got.message,
        "This is a landline number in the UK; it cannot receive SMS."
    );
}

#[test]
fn an_operator_can_allow_text_enabled_landlines_and_deny_ranges() {
    let mut settings = NumberPolicySettings::default();
    settings.allow.push("+44 20 7946 0000".parse().unwrap());
    settings.deny.push("+1900*".parse().unwrap());
    settings.deny.push("+4915*".parse().unwrap());
    settings
        .classes
        .insert(NumberClass::Voip, ClassAction::Deny);
    settings
        .countries
        .entry(region("US"))
        .or_default()
        .insert(NumberClass::TollFree, ClassAction::Deny);
    let policy = NumberPolicy::new(settings).unwrap();

    let landline = check(&policy, "+44 20 7946 0000", None);
    assert!(landline.sms_capable);
    assert_eq!(landline.reason, Reason::AllowList);
    assert_eq!(
        landline.message,
        "This is a landline number in the UK; it is on the allow list, so it can receive SMS."
    );
    let other = check(&policy, "+44 20 7946 0001", None);
    assert!(!other.sms_capable);

    let german = check(&policy, "0151 23456789", Some("DE"));
    assert_eq!(german.reason, Reason::DenyList);
    assert!(german.message.contains("+4915*"), "{}", german.message);

    let voip = check(&policy, "056 1234 5678", Some("GB"));
    assert_eq!(
        (voip.sms_capable, voip.reason),
        (false, Reason::ClassDenied)
    );
    let toll_free = check(&policy, "+1 800 234 5678", None);
    assert_eq!(
        (toll_free.sms_capable, toll_free.reason),
        (false, Reason::CountryClassDenied)
    );
}

/// The `[numbers]` section as an operator writes it, read by the config loader.
const NUMBERS_SECTION: &str = r#"
[instance]

[[carriers]]
name = "acme"
host = "smsc.example.net"
port = 2775
system_id = "bridge"
password = "pw"

[numbers]
default_region = "GB"
allow = ["+442079460000"]
deny = ["+4915*"]
unreachable_errors = ["acme:0B1"]
remember_unreachable_for = "7d"
unreachable_capacity = 500

[numbers.classes]
toll_free = "allow"

[numbers.countries.DE]
fixed_line = "allow"

[numbers.short_codes.IT]
min_digits = 5
max_digits = 5
ranges = ["40000-49999"]

[api]
auth = "none"
"#;

#[test]
fn the_numbers_section_of_the_config_file_makes_the_policy() {
    let config =
        smsbridge::config::Config::from_toml(Path::new("smsbridge.toml"), NUMBERS_SECTION).unwrap();
    let numbers = &config.numbers;
    assert_eq!(numbers.default_region, region("GB"));
    assert_eq!(numbers.unreachable_capacity, 500);
    let policy = &numbers.policy;
    let outcome = |input: &str, region: Option<&str>| {
        let c = check(policy, input, region);
        (c.class, c.sms_capable, c.reason)
    };
    // National formats are read in the default region.
    assert_eq!(
        outcome("020 7946 0001", None),
        (NumberClass::FixedLine, false, Reason::ClassDenied)
    );
    assert_eq!(
        outcome("020 7946 0000", None),
        (NumberClass::FixedLine, true, Reason::AllowList)
    );
    assert_eq!(
        outcome("+4930123456", None),
        (NumberClass::FixedLine, true, Reason::CountryClassAllowed)
    );
    assert_eq!(
        outcome("+4915123456789", None),
        (NumberClass::Mobile, false, Reason::DenyList)
    );
    assert_eq!(
        outcome("0800 123 4567", None),
        (NumberClass::TollFree, true, Reason::ClassAllowed)
    );
    // What the file does not name keeps the recommended policy.
    assert_eq!(
        outcome("+18005551234", None),
        (NumberClass::TollFree, true, Reason::CountryClassAllowed)
    );
    assert_eq!(outcome("48800", Some("IT")).0, NumberClass::ShortCode);
    assert_eq!(outcome("38800", Some("IT")).0, NumberClass::Invalid);
    let rules = policy.unreachable_rules();
    assert_eq!(rules.remember_for(), Duration::from_secs(7 * 24 * 3600));
    let number = "+14155550123".parse().unwrap();
    assert!(
        rules
            .mark_for(&number, "acme", "0b1", SystemTime::now())
            .is_some()
    );
    assert!(
        rules
            .mark_for(&number, "other", "0B1", SystemTime::now())
            .is_none()
    );
}

#[test]
fn receipts_teach_the_policy_which_numbers_cannot_receive_sms() {
    let settings = NumberPolicySettings {
        unreachable: UnreachableRules::new(
            ["0B1", "carrier-a:X27"].map(|r| r.parse::<UnreachableRule>().unwrap()),
            Duration::from_secs(7 * 24 * 3600),
        )
        .unwrap(),
        ..NumberPolicySettings::default()
    };
    let policy = NumberPolicy::new(settings).unwrap();
    let memory = BoundedUnreachableMemory::new(100);
    let at = humantime::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
    let number = "+14155550123".parse().unwrap();

    assert!(
        policy
            .unreachable_rules()
            .mark_for(&number, "carrier-b", "x27", at)
            .is_none(),
        "a code scoped to another carrier proves nothing"
    );
    let mark = policy
        .unreachable_rules()
        .mark_for(&number, "carrier-a", "x27", at)
        .unwrap();
    memory.remember(mark);

    let during = policy.check("(415) 555-0123", Some(region("US")), &memory, at);
    assert!(!during.sms_capable);
    assert_eq!(during.reason, Reason::LearnedUnreachable);
    assert_eq!(
        during.message,
        "This is a mobile or landline number in the United States; a recent message to it \
         failed with carrier error X27, so it counts as unable to receive SMS until \
         2026-03-08T12:00:00Z."
    );
    let week_later = at + Duration::from_secs(7 * 24 * 3600);
    let after = policy.check("(415) 555-0123", Some(region("US")), &memory, week_later);
    assert!(after.sms_capable);
    assert!(memory.recall(&number, week_later).is_none());
}

fn spec(number: &str, kind: SenderKind) -> SenderSpec {
    SenderSpec {
        number: number.to_owned(),
        kind,
        country: None,
        route: "carrier-a".to_owned(),
        fallback_routes: vec!["carrier-b".to_owned()],
        mms: false,
        throughput: 1.0,
        ton: None,
        npi: None,
        brand: None,
    }
}

fn shortcode(digits: &str) -> SenderSpec {
    SenderSpec {
        country: Some(region("US")),
        ..spec(digits, SenderKind::Shortcode)
    }
}

fn inventory() -> SenderInventory {
    SenderInventory::new([
        SenderSpec {
            mms: true,
            throughput: 3.0,
            brand: Some("Acme".to_owned()),
            ..spec("+1 800 234 5678", SenderKind::TollFree)
        },
        spec("+1 (415) 555-0100", SenderKind::Longcode),
        SenderSpec {
            throughput: 100.0,
            ..shortcode("72404")
        },
        SenderSpec {
            country: Some(region("GB")),
            ..spec("Acme Ltd", SenderKind::Alphanumeric)
        },
    ])
    .unwrap()
}

#[test]
fn senders_are_normalised_and_get_ton_npi_from_their_kind() {
    let inventory = inventory();
    let pairs: Vec<(String, String, Option<Region>)> = inventory
        .iter()
        .map(|s| {
            (
                s.address().to_string(),
                s.ton_npi().to_string(),
                s.country(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("+18002345678".into(), "1/1".into(), Some(region("US"))),
            ("+14155550100".into(), "1/1".into(), Some(region("US"))),
            ("72404".into(), "3/0".into(), Some(region("US"))),
            ("Acme Ltd".into(), "5/0".into(), Some(region("GB"))),
        ]
    );
    let toll_free = inventory.lookup("+18002345678").unwrap();
    assert!(toll_free.mms());
    assert_eq!(toll_free.brand(), Some("Acme"));
    assert_eq!(
        toll_free.routes().in_order().collect::<Vec<_>>(),
        ["carrier-a", "carrier-b"]
    );
    assert_eq!(toll_free.address().smpp_address(), "18002345678");

    let national = SenderSpec {
        ton: Some(2),
        npi: Some(8),
        ..spec("+1 415 555 0199", SenderKind::Longcode)
    };
    let overridden = SenderInventory::new([national]).unwrap();
    assert_eq!(
        overridden.iter().next().unwrap().ton_npi(),
        TonNpi {
            ton: Ton::National,
            npi: smsbridge::number::Npi::National
        }
    );
}

#[test]
fn lookups_accept_the_forms_carriers_and_callers_use() {
    let inventory = inventory();
    for from in [
        "+18002345678",
        "18002345678",
        "+1 800 234 5678",
        "0018002345678",
        " +1-800-234-5678 ",
    ] {
        let sender = inventory.lookup(from).unwrap_or_else(|| panic!("{from:?}"));
        assert_eq!(sender.kind(), SenderKind::TollFree, "{from:?}");
    }
    assert_eq!(
        inventory.lookup("72404").unwrap().kind(),
        SenderKind::Shortcode
    );
    assert_eq!(
        inventory.lookup("ACME LTD").unwrap().kind(),
        SenderKind::Alphanumeric
    );
    assert!(inventory.lookup("72405").is_none());
    assert!(inventory.lookup("+18002345679").is_none());
}

#[test]
fn an_mt_from_a_number_that_is_not_ours_is_refused_with_unknown_sender() {
    let inventory = inventory();
    let error = inventory.sender_for_mt("+14155550999").unwrap_err();
    assert_eq!(error.code(), "unknown_sender");
    assert!(
        error
            .to_string()
            .starts_with("the number from which you are trying to send is incorrect"),
        "{error}"
    );
    assert!(inventory.sender_for_mt("+1 415 555 0100").is_ok());
}

#[test]
fn an_mo_to_a_number_that_is_not_ours_is_reported_not_dropped() {
    let inventory = inventory();
    match inventory.destination_of_mo("14155550999") {
        MoDestination::NotOurs(not_ours) => {
            assert_eq!(not_ours.to, "14155550999");
            assert_eq!(not_ours.reason, "unknown_destination");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        inventory.destination_of_mo("14155550100"),
        MoDestination::Ours(sender) if sender.kind() == SenderKind::Longcode
    ));
}

/// Whether a problem is the expected one.
type ProblemIs = fn(&SenderProblem) -> bool;

/// Builds an inventory whose second sender is `bad`, and returns the error.
fn refused(bad: SenderSpec) -> smsbridge::number::SenderError {
    SenderInventory::new([spec("+1 415 555 0100", SenderKind::Longcode), bad]).unwrap_err()
}

#[test]
fn sender_validation_names_the_sender_and_the_field() {
    let cases: Vec<(SenderSpec, &str, ProblemIs)> = vec![
        (shortcode("12"), "number", |p| {
            matches!(p, SenderProblem::ShortcodeDigits { .. })
        }),
        (shortcode("123456789"), "number", |p| {
            matches!(p, SenderProblem::ShortcodeDigits { .. })
        }),
        (shortcode("72-404"), "number", |p| {
            matches!(p, SenderProblem::ShortcodeDigits { .. })
        }),
        (
            SenderSpec {
                country: None,
                ..shortcode("72404")
            },
            "country",
            |p| matches!(p, SenderProblem::MissingCountry),
        ),
        (
            spec("+1 415 555 0123", SenderKind::TollFree),
            "number",
            |p| {
                matches!(
                    p,
                    SenderProblem::NotTollFree {
                        class: NumberClass::FixedLineOrMobile
                    }
                )
            },
        ),
        (
            spec("+44 20 7946 0000", SenderKind::TollFree),
            "number",
            |p| {
                matches!(
                    p,
                    SenderProblem::NotTollFree {
                        class: NumberClass::FixedLine
                    }
                )
            },
        ),
        (
            spec("+1 800 234 5678", SenderKind::Longcode),
            "number",
            |p| matches!(p, SenderProblem::LongcodeIsTollFree),
        ),
        (spec("+1 253 0000", SenderKind::Longcode), "number", |p| {
            matches!(p, SenderProblem::NotANumber { .. })
        }),
        (
            spec("AcmeInsurance", SenderKind::Alphanumeric),
            "number",
            |p| matches!(p, SenderProblem::AlphanumericLength { chars: 13 }),
        ),
        (spec("Acme!", SenderKind::Alphanumeric), "number", |p| {
            matches!(p, SenderProblem::AlphanumericCharacters { .. })
        }),
        (spec("12345", SenderKind::Alphanumeric), "number", |p| {
            matches!(p, SenderProblem::AlphanumericCharacters { .. })
        }),
        (spec("Café", SenderKind::Alphanumeric), "number", |p| {
            matches!(p, SenderProblem::AlphanumericCharacters { .. })
        }),
        (
            SenderSpec {
                throughput: 0.0,
                ..spec("+1 415 555 0101", SenderKind::Longcode)
            },
            "throughput",
            |p| matches!(p, SenderProblem::Throughput { .. }),
        ),
        (
            SenderSpec {
                ton: Some(7),
                ..spec("+1 415 555 0101", SenderKind::Longcode)
            },
            "ton",
            |p| matches!(p, SenderProblem::Ton { value: 7 }),
        ),
        (
            SenderSpec {
                npi: Some(2),
                ..spec("+1 415 555 0101", SenderKind::Longcode)
            },
            "npi",
            |p| matches!(p, SenderProblem::Npi { value: 2 }),
        ),
        (
            SenderSpec {
                fallback_routes: vec!["carrier-a".into()],
                ..spec("+1 415 555 0101", SenderKind::Longcode)
            },
            "fallback_routes",
            |p| matches!(p, SenderProblem::RouteRepeated { .. }),
        ),
        (
            SenderSpec {
                route: "carrier a".into(),
                ..spec("+1 415 555 0101", SenderKind::Longcode)
            },
            "route",
            |p| matches!(p, SenderProblem::RouteName { .. }),
        ),
        (
            spec("(415) 555-0100", SenderKind::Longcode),
            "number",
            |p| matches!(p, SenderProblem::NotANumber { .. }),
        ),
        (
            spec("+1 415 555 0100", SenderKind::Longcode),
            "number",
            |p| matches!(p, SenderProblem::Duplicate { first: 0 }),
        ),
    ];
    for (bad, field, expected) in cases {
        let mut label = bad.number.clone();
        let error = refused(bad);
        assert_eq!(error.index, 1, "{label}: {error}");
        assert_eq!(error.field, field, "{label}: {error}");
        assert!(expected(&error.problem), "{label}: {error}");
        if matches!(error.problem, SenderProblem::Duplicate { .. }) {
            // A duplicate is found among checked senders, named by canonical number.
            label = "+14155550100".to_owned();
        }
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("senders[1] ({label:?}), field `{field}`: ")),
            "{text}"
        );
    }
}

#[test]
fn the_same_number_in_two_spellings_is_a_duplicate() {
    let error = SenderInventory::new([
        spec("+1 415 555 0100", SenderKind::Longcode),
        shortcode("72404"),
        SenderSpec {
            country: Some(region("US")),
            ..spec("(415) 555-0100", SenderKind::Longcode)
        },
    ])
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "senders[2] (\"+14155550100\"), field `number`: the same number as senders[0]"
    );
    let alphanumeric = SenderInventory::new([
        spec("ACME", SenderKind::Alphanumeric),
        spec("acme", SenderKind::Alphanumeric),
    ])
    .unwrap_err();
    assert!(matches!(
        alphanumeric.problem,
        SenderProblem::Duplicate { first: 0 }
    ));
}

#[test]
fn sender_addresses_read_back_from_their_canonical_text() {
    for text in ["+18002345678", "72404", "Acme Ltd"] {
        let address: SenderAddress = text.parse().unwrap();
        assert_eq!(address.to_string(), text);
    }
    assert!("12".parse::<SenderAddress>().is_err());
    assert!("Acme!".parse::<SenderAddress>().is_err());
}

fn smsbridge(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smsbridge"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_number_command_answers_in_json() {
    let output = smsbridge(&["number", "0049 151 23456789", "--region", "US", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({
            "input": "0049 151 23456789",
            "e164": "+4915123456789",
            "country": "DE",
            "class": "mobile",
            "sms_capable": true,
            "reason": "class_allowed",
            "message": "This is a mobile number in Germany; it can receive SMS."
        })
    );
}

#[test]
fn the_number_command_reads_short_codes_and_national_formats_with_a_region() {
    let output = smsbridge(&["number", "72404", "--region", "us", "--json"]);
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["class"], "short_code");
    assert_eq!(answer["e164"], serde_json::Value::Null);
    assert_eq!(answer["country"], "US");
    assert_eq!(answer["sms_capable"], false);

    let output = smsbridge(&["number", "415 555 0123", "--json"]);
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["reason"], "needs_region");
}

#[test]
fn the_number_command_prints_a_readable_answer() {
    let output = smsbridge(&["number", "+44 20 7946 0000"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        "input:       +44 20 7946 0000\n\
         e164:        +442079460000\n\
         country:     GB (the UK)\n\
         class:       fixed_line\n\
         sms_capable: no\n\
         reason:      class_denied\n\
         This is a landline number in the UK; it cannot receive SMS.\n"
    );
}

#[test]
fn the_number_command_refuses_an_unknown_region_as_a_usage_error() {
    let output = smsbridge(&["number", "+14155550123", "--region", "ZZ"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("\"ZZ\" is not a region code"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_number_command_decides_with_the_configured_policy_when_given_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("smsbridge.toml");
    std::fs::write(&file, NUMBERS_SECTION).unwrap();
    let file = file.to_str().unwrap();
    let json = |args: &[&str]| {
        let output = smsbridge(args);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice::<NumberCheck>(&output.stdout).unwrap()
    };
    let recommended = json(&["number", "+4930123456", "--json"]);
    assert_eq!(recommended.reason, Reason::ClassDenied);
    let configured = json(&["number", "+4930123456", "--json", "--config", file]);
    assert_eq!(configured.reason, Reason::CountryClassAllowed);
    assert!(configured.sms_capable);
    // The file's default region reads national formats.
    let national = json(&["number", "020 7946 0000", "--json", "--config", file]);
    assert_eq!(national.reason, Reason::AllowList);

    std::fs::write(
        dir.path().join("bad.toml"),
        "[instance]\n[numbers]\nallow = [\"+44\"]\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.toml");
    let output = smsbridge(&["number", "+4930123456", "--config", bad.to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad file is a configuration error"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("bad.toml:3:10: numbers.allow[0]"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

mod properties {
    use proptest::prelude::*;
    use smsbridge::number::{
        E164, NumberPattern, ParsedNumber, Region, SenderAddress, ShortCodeRules, parse_number,
    };

    fn regions() -> impl Strategy<Value = Option<Region>> {
        let codes = vec!["US", "GB", "DE", "FR", "IT", "JP", "BR"];
        prop::option::of(prop::sample::select(codes))
            .prop_map(|code| code.map(|c| c.parse().unwrap()))
    }

    /// Every example number of the numbering plan, in E.164 digits without `+`.
    fn plan_examples() -> Vec<String> {
        use phonenumber::{Type, metadata::DATABASE};
        let kinds = [
            Type::FixedLine,
            Type::Mobile,
            Type::TollFree,
            Type::PremiumRate,
            Type::Voip,
        ];
        DATABASE
            .iter()
            .flat_map(|meta| {
                kinds.into_iter().filter_map(move |kind| {
                    let example = meta.descriptors().get(kind)?.example()?;
                    Some(format!("{}{example}", meta.country_code()))
                })
            })
            .collect()
    }

    /// A real number of the plan written with `+` and random separators between digits.
    fn typed_number() -> impl Strategy<Value = String> {
        (
            prop::sample::select(plan_examples()),
            prop::collection::vec(0usize..4, 16),
        )
            .prop_map(|(digits, gaps)| {
                let mut text = String::from("+");
                for (i, digit) in digits.chars().enumerate() {
                    text.push(digit);
                    text.push_str(["", " ", "-", "."][gaps[i % gaps.len()]]);
                }
                text.trim_end_matches([' ', '-', '.']).to_owned()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsing_never_panics_on_arbitrary_text(text in "\\PC{0,80}", region in regions()) {
            let _ = parse_number(&text, region, &ShortCodeRules::recommended());
            let _ = text.parse::<E164>();
            let _ = text.parse::<NumberPattern>();
            let _ = text.parse::<SenderAddress>();
        }

        /// Separators change nothing, and the E.164 form parses back to the same number and
        /// class with no region: the canonical form is a fixed point.
        #[test]
        fn the_e164_form_parses_back_to_itself(text in typed_number()) {
            let rules = ShortCodeRules::recommended();
            let parsed = parse_number(&text, None, &rules);
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if let ParsedNumber::Number { e164, .. } = &parsed {
                prop_assert_eq!(e164.digits(), digits.as_str());
                prop_assert_eq!(parse_number(e164.as_str(), None, &rules), parsed.clone());
            } else {
                // A few plan examples are themselves invalid in the plan's own patterns; the
                // parser must then say so rather than invent a number.
                prop_assert!(matches!(parsed, ParsedNumber::Invalid { .. }), "{:?}", parsed);
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct SendersFile {
    senders: Vec<SenderSpec>,
}

#[test]
fn senders_read_from_toml_tables() {
    let file: SendersFile = toml::from_str(
        r#"
        [[senders]]
        number = "+1 800 234 5678"
        kind = "toll_free"
        route = "carrier-a"
        fallback_routes = ["carrier-b"]
        mms = true
        throughput = 3
        brand = "Acme"

        [[senders]]
        number = "72404"
        kind = "shortcode"
        country = "US"
        route = "carrier-a"
        throughput = 100.0
        ton = 3
        npi = 0
        "#,
    )
    .unwrap();
    let inventory = SenderInventory::new(file.senders).unwrap();
    let toll_free = inventory.lookup("+18002345678").unwrap();
    assert_eq!((toll_free.throughput(), toll_free.mms()), (3.0, true));
    assert_eq!(
        inventory.lookup("72404").unwrap().ton_npi().to_string(),
        "3/0"
    );

    let unknown = toml::from_str::<SendersFile>(
        "[[senders]]\nnumber = \"72404\"\nkind = \"shortcode\"\nroute = \"a\"\nthroughput = 1\nspeed = 2\n",
    );
    assert!(unknown.unwrap_err().to_string().contains("speed"));
    let bad_kind = toml::from_str::<SendersFile>(
        "[[senders]]\nnumber = \"72404\"\nkind = \"short_code\"\nroute = \"a\"\nthroughput = 1\n",
    );
    assert!(bad_kind.is_err());
}
