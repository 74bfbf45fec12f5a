//! Number checks and opt-out administration over HTTP, against the real daemon and its
//! SQLite store: add, list, remove, CSV export and import, and an opt-out that survives a
//! restart.

use serde_json::Value;

use crate::harness::{Daemon, Reply, http};

/// Two senders of brand Acme on a carrier that is not required to be up, and a policy
/// that differs from the recommended one in three places.
const SETUP: &str = r#"
[[carriers]]
name = "acme"
host = "127.0.0.1"
port = 2775
system_id = "bridge"
password = "pw"
required = false

[[senders]]
number = "+18005550100"
kind = "toll_free"
routes = ["acme"]
brand = "Acme"

[[senders]]
number = "72404"
kind = "shortcode"
country = "US"
routes = ["acme"]
brand = "Acme"

[numbers]
deny = ["+1900*"]

[numbers.countries.GB]
fixed_line = "allow"
"#;

const TOKEN: (&str, &str) = crate::harness::AUTH;

fn get(d: &Daemon, path: &str) -> Reply {
    http(d.api, "GET", path, &[TOKEN], b"")
}

fn post(d: &Daemon, path: &str, body: &Value) -> Reply {
    let headers = [TOKEN, ("Content-Type", "application/json")];
    http(d.api, "POST", path, &headers, body.to_string().as_bytes())
}

fn delete(d: &Daemon, path: &str) -> Reply {
    http(d.api, "DELETE", path, &[TOKEN], b"")
}

fn post_csv(d: &Daemon, csv: &str) -> Reply {
    let headers = [TOKEN, ("Content-Type", "text/csv")];
    http(
        d.api,
        "POST",
        "/v1/optouts/import",
        &headers,
        csv.as_bytes(),
    )
}

/// The error code and field of an error answer.
fn error_of(reply: &Reply) -> (String, Value) {
    let body = reply.json();
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (code, body["error"]["field"].clone())
}

fn stop(contact: &str, sender: &str) -> Value {
    serde_json::json!({
        "contact": contact,
        "sender": sender,
        "keyword": "STOP",
        "who": "jane",
    })
}

#[test]
fn numbers_are_checked_over_http_under_the_configured_policy() {
    let d = Daemon::start(SETUP, &[]);

    let uk = get(&d, "/v1/numbers/%2B44%2020%207946%200000");
    assert_eq!(uk.status, 200, "{}", uk.body);
    assert_eq!(
        uk.json(),
        serde_json::json!({
            "input": "+44 20 7946 0000",
            "e164": "+442079460000",
            "country": "GB",
            "class": "fixed_line",
            "sms_capable": true,
            "reason": "country_class_allowed",
            "message": "This is a landline number in the UK; it can receive SMS.",
        })
    );

    let german = get(&d, "/v1/numbers/0151%2023456789?region=DE").json();
    assert_eq!(german["e164"], "+4915123456789");
    assert_eq!(german["class"], "mobile");
    assert_eq!(german["sms_capable"], true);

    let short = get(&d, "/v1/numbers/72404?region=US").json();
    assert_eq!(
        (&short["class"], &short["sms_capable"], &short["e164"]),
        (&"short_code".into(), &false.into(), &Value::Null)
    );

    let premium = get(&d, "/v1/numbers/+19002345678").json();
    assert_eq!(premium["reason"], "deny_list");
    assert_eq!(premium["sms_capable"], false);

    // National formats are read in the default region (US) when none is given.
    let national = get(&d, "/v1/numbers/(415)%20555-0123").json();
    assert_eq!(national["e164"], "+14155550123");

    let nonsense = get(&d, "/v1/numbers/hello");
    assert_eq!(nonsense.status, 200, "an invalid number is an answer");
    assert_eq!(nonsense.json()["reason"], "not_a_number");

    let bad_region = get(&d, "/v1/numbers/0151%2023456789?region=XX");
    assert_eq!(bad_region.status, 400);
    assert_eq!(
        error_of(&bad_region),
        ("bad_request".into(), "region".into())
    );

    let stranger = http(d.api, "GET", "/v1/numbers/+14155550123", &[], b"");
    assert_eq!(stranger.status, 401);
    assert_eq!(error_of(&stranger).0, "unauthorized");
}

#[test]
fn opt_outs_are_added_listed_and_removed_by_an_administrator() {
    let d = Daemon::start(SETUP, &[]);

    let mut by_phone = stop("+1 (415) 555-0123", "+1 800 555 0100");
    by_phone["source"] = "phone".into();
    let added = post(&d, "/v1/optouts", &by_phone);
    assert_eq!(added.status, 201, "{}", added.body);
    let record = added.json();
    assert_eq!(record["contact"], "+14155550123");
    assert_eq!(record["sender"], "+18005550100");
    assert_eq!(record["keyword"], "STOP");
    assert_eq!(record["source"], "phone:jane");
    assert!(record["at"].as_str().unwrap().ends_with('Z'));

    // The same opt-out again records nothing and answers the standing one.
    let mut again = stop("+14155550123", "+18005550100");
    again["who"] = "joe".into();
    let standing = post(&d, "/v1/optouts", &again);
    assert_eq!(standing.status, 200);
    assert_eq!(standing.json(), record);

    let brand = post(&d, "/v1/optouts", &stop("+14155550199", "brand:Acme"));
    assert_eq!(brand.status, 201, "{}", brand.body);

    // Refusals name the field at fault.
    let cases = [
        (
            stop("+14155550123", "+14155550100"),
            "unknown_sender",
            "sender",
        ),
        (
            stop("+14155550123", "brand:Nobody"),
            "unknown_sender",
            "sender",
        ),
        (
            stop("not a number", "72404"),
            "invalid_destination",
            "contact",
        ),
        (
            serde_json::json!({"contact": "+14155550123", "sender": "72404", "who": " "}),
            "bad_request",
            "who",
        ),
        (
            serde_json::json!({"contact": "+14155550123", "sender": "72404", "who": "jane", "at": "yesterday"}),
            "bad_request",
            "at",
        ),
        (
            serde_json::json!({"contact": 14155550123u64, "sender": "72404", "who": "jane"}),
            "bad_request",
            "contact",
        ),
    ];
    for (body, code, field) in cases {
        let refused = post(&d, "/v1/optouts", &body);
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert_eq!(error_of(&refused), (code.into(), field.into()), "{body}");
    }

    // Listing: everything, one contact (an unencoded + in a query string arrives as a
    // space and is read back), one brand, and page by page.
    let all = get(&d, "/v1/optouts").json();
    let pairs: Vec<(String, String)> = all["optouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["contact"].as_str().unwrap().into(),
                r["sender"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("+14155550123".into(), "+18005550100".into()),
            ("+14155550199".into(), "brand:Acme".into()),
        ]
    );
    assert_eq!(all["next"], Value::Null);
    let one = get(&d, "/v1/optouts?contact=+14155550123").json();
    assert_eq!(one["optouts"].as_array().unwrap().len(), 1);
    assert_eq!(one["optouts"][0], record);
    let acme = get(&d, "/v1/optouts?sender=brand:Acme").json();
    assert_eq!(acme["optouts"][0]["contact"], "+14155550199");
    let first = get(&d, "/v1/optouts?limit=1").json();
    assert_eq!(first["optouts"][0], record);
    let next = first["next"].as_str().unwrap();
    let second = get(&d, &format!("/v1/optouts?limit=1&after={next}")).json();
    assert_eq!(second["optouts"][0]["contact"], "+14155550199");
    let last = get(
        &d,
        &format!(
            "/v1/optouts?limit=1&after={}",
            second["next"].as_str().unwrap()
        ),
    );
    assert_eq!(last.json()["optouts"], serde_json::json!([]));
    assert_eq!(last.json()["next"], Value::Null);
    let too_many = get(&d, "/v1/optouts?limit=5000");
    assert_eq!(error_of(&too_many), ("bad_request".into(), "limit".into()));
    let forged = get(&d, "/v1/optouts?after=zz");
    assert_eq!(error_of(&forged), ("bad_request".into(), "after".into()));

    // One pair: read, lift, gone.
    let path = "/v1/optouts/+14155550123/+18005550100";
    assert_eq!(get(&d, path).json(), record);
    assert_eq!(delete(&d, path).status, 204);
    let gone = delete(&d, path);
    assert_eq!((gone.status, error_of(&gone).0), (404, "not_found".into()));
    assert_eq!(get(&d, path).status, 404);
    let left = get(&d, "/v1/optouts").json();
    assert_eq!(left["optouts"].as_array().unwrap().len(), 1);

    // The administration needs the token.
    for (method, path) in [
        ("GET", "/v1/optouts"),
        ("POST", "/v1/optouts"),
        ("DELETE", "/v1/optouts/+14155550199/brand:Acme"),
        ("GET", "/v1/optouts/export"),
        ("POST", "/v1/optouts/import"),
    ] {
        let stranger = http(
            d.api,
            method,
            path,
            &[("Authorization", "Bearer nope")],
            b"",
        );
        assert_eq!(stranger.status, 401, "{method} {path}");
    }
    assert_eq!(
        get(&d, "/v1/optouts").json()["optouts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn export(d: &Daemon) -> String {
    let reply = get(d, "/v1/optouts/export");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    reply.body
}

#[test]
fn the_list_round_trips_through_csv_and_a_bad_file_imports_nothing() {
    let first = Daemon::start(SETUP, &[]);
    for (contact, sender) in [
        ("+14155550101", "72404"),
        ("+14155550102", "brand:Acme"),
        ("+4915123456789", "+18005550100"),
    ] {
        assert_eq!(
            post(&first, "/v1/optouts", &stop(contact, sender)).status,
            201
        );
    }
    let exported = export(&first);
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 4, "{exported}");
    assert_eq!(lines[0], "contact,sender,keyword,source,at");
    assert!(
        lines[1].starts_with("+14155550101,72404,STOP,admin:jane,"),
        "{exported}"
    );

    let second = Daemon::start(SETUP, &[]);
    assert_eq!(
        export(&second).lines().count(),
        1,
        "a new store exports the header only"
    );
    let imported = post_csv(&second, &exported);
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(
        imported.json(),
        serde_json::json!({"rows": 3, "imported": 3, "already_opted_out": 0})
    );
    assert_eq!(export(&second), exported, "the same list, byte for byte");
    let again = post_csv(&second, &exported).json();
    assert_eq!(
        (&again["imported"], &again["already_opted_out"]),
        (&0.into(), &3.into())
    );

    // Bad rows are reported by line, and nothing of the file is imported.
    let bad = "contact,sender,keyword,source,at\n\
               +14155550201,72404,STOP,sms,2026-03-01T12:00:00Z\n\
               4155550202,72404,STOP,sms,2026-03-01T12:00:00Z\n\
               +14155550203,+14155550100,STOP,sms,2026-03-01T12:00:00Z\n\
               +14155550204,72404,STOP,sms,last tuesday\n";
    let refused = post_csv(&second, bad);
    assert_eq!(refused.status, 400, "{}", refused.body);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "bad_request");
    let rows: Vec<(u64, &str)> = error["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [(3, "contact"), (4, "sender"), (5, "at")]);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("nothing imported")
    );
    assert_eq!(
        export(&second),
        exported,
        "nothing of the bad file was imported"
    );

    let header = post_csv(&second, "phone,sender\n+14155550201,72404\n");
    assert_eq!(error_of(&header).0, "bad_request");
}

#[test]
fn a_large_import_passes_the_body_limit_and_exports_across_pages() {
    let d = Daemon::start(SETUP, &[]);
    // 2,500 rows: about 150 KB, over the API's usual 64 KiB body limit, and more than
    // two pages of the export.
    let mut csv = String::from("contact,sender,keyword,source,at\n");
    for i in 0..2500 {
        csv.push_str(&format!(
            "+1415555{i:04},brand:Acme,STOP,import,2026-03-01T12:00:00Z\n"
        ));
    }
    assert!(csv.len() > 64 * 1024);
    let imported = post_csv(&d, &csv);
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.json()["imported"], 2500);
    assert_eq!(export(&d), csv);
    let too_large = http(
        d.api,
        "POST",
        "/v1/optouts",
        &[TOKEN, ("Content-Type", "application/json")],
        csv.as_bytes(),
    );
    assert_eq!(too_large.status, 413, "other routes keep the usual limit");
}

#[test]
fn an_opt_out_survives_a_restart_of_the_daemon() {
    let mut d = Daemon::start(SETUP, &[]);
    let added = post(&d, "/v1/optouts", &stop("+14155550123", "72404"));
    assert_eq!(added.status, 201, "{}", added.body);
    let record = added.json();

    d.restart(&[]);

    let path = "/v1/optouts/+14155550123/72404";
    let kept = get(&d, path);
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(
        kept.json(),
        record,
        "who, when, keyword and source are kept"
    );
    let again = post(&d, "/v1/optouts", &stop("+14155550123", "72404"));
    assert_eq!(again.status, 200, "the restarted daemon still knows it");
}
