//! Authentication by default: the API asks for a bearer token unless the file says
//! `[api] auth = "none"` (loopback only), tokens are long, the admin listener and the
//! simulator stay on loopback unless told otherwise, and the OpenAPI document declares
//! what is configured.

use std::process::Command;

use serde_json::Value;

use crate::harness::{AUTH, Daemon, base_config, binary, http};

/// `smsbridge check-config` on `text`: the exit code and stderr.
fn check_config(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smsbridge.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(binary())
        .args(["check-config", path.to_str().unwrap()])
        .env_remove("SMSBRIDGE_API_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A token long enough.
const GOOD: &str = "0123456789abcdef0123456789abcdef";

/// The base sections with the API left without a token.
fn open_config(dir: &std::path::Path) -> String {
    base_config(dir).replace("token_env = \"SMSBRIDGE_API_TOKEN\"", "auth = \"none\"")
}

#[test]
fn a_file_without_a_token_or_auth_none_is_refused_with_the_fix() {
    let (code, err) = check_config("[instance]\n[api]\nlisten = \"127.0.0.1:8080\"\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("smsbridge.toml: api.token: missing"), "{err}");
    assert!(err.contains("token_file"), "{err}");
    assert!(err.contains("auth = \"none\""), "{err}");
}

#[test]
fn a_short_token_is_refused_by_its_key_without_printing_it() {
    let short = &GOOD[..31];
    let (code, err) = check_config(&format!("[instance]\n[api]\ntoken = \"{short}\"\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("api.token: the token is too short: it must be at least 32"),
        "{err}"
    );
    assert!(!err.contains(short), "the token is printed: {err}");

    let (code, err) = check_config(&format!("[instance]\n[api]\ntoken = \"{GOOD}\"\n"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_request_without_or_with_a_wrong_token_gets_401_json_and_a_challenge() {
    let d = Daemon::start("", &[]);
    for headers in [&[][..], &[("Authorization", "Bearer wrong")][..]] {
        let reply = http(d.api, "GET", "/v1/openapi.json", headers, b"");
        assert_eq!(reply.status, 401, "{headers:?}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        assert_eq!(reply.json()["error"]["code"], "unauthorized");
    }
    let reply = http(d.api, "GET", "/v1/openapi.json", &[AUTH], b"");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn auth_none_serves_loopback_with_a_warning_and_no_security_in_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let text = open_config(dir.path());
    let mut d = Daemon::start_config(dir, &text, &[]);
    let warning = "the API accepts requests without a token ([api] auth = \"none\")";
    assert_eq!(d.saw_or_wait_for_message(warning)["level"], "WARN");
    let reply = http(d.api, "GET", "/v1/openapi.json", &[], b"");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let doc = reply.json();
    assert_eq!(doc["security"], Value::Null, "{doc}");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"], Value::Null);
    let send = &doc["paths"]["/v1/messages"]["post"]["responses"];
    assert_eq!(send["401"], Value::Null, "{send}");
}

#[test]
fn the_document_declares_the_bearer_scheme_when_a_token_is_set() {
    let d = Daemon::start("", &[]);
    let doc = http(d.api, "GET", "/v1/openapi.json", &[AUTH], b"").json();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
}

#[test]
fn auth_none_beyond_loopback_is_refused() {
    let (code, err) =
        check_config("[instance]\n[api]\nlisten = \"0.0.0.0:8080\"\nauth = \"none\"\n");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("api.auth: `auth = \"none\"` is only allowed on loopback"),
        "{err}"
    );
}

#[test]
fn the_admin_and_the_simulator_stay_on_loopback_unless_allowed() {
    let api = format!("[api]\ntoken = \"{GOOD}\"\n");
    let (code, err) = check_config(&format!(
        "[instance]\n{api}[admin]\nlisten = \"0.0.0.0:9090\"\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("admin.listen: 0.0.0.0:9090 reaches beyond"),
        "{err}"
    );
    assert!(err.contains("allow_remote = true"), "{err}");

    // Allowed beyond loopback, the admin listener needs its own token.
    let (code, err) = check_config(&format!(
        "[instance]\n{api}[admin]\nlisten = \"0.0.0.0:9090\"\nallow_remote = true\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("admin.token: missing"), "{err}");
    let (code, err) = check_config(&format!(
        "[instance]\n{api}[admin]\nlisten = \"0.0.0.0:9090\"\nallow_remote = true\n\
         token = \"{GOOD}\"\n"
    ));
    assert_eq!(code, 0, "{err}");

    let (code, err) = check_config(&format!(
        "[instance]\n{api}[simulator]\nlisten = \"0.0.0.0:2775\"\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("simulator.listen: 0.0.0.0:2775 reaches beyond"),
        "{err}"
    );
    let (code, err) = check_config(&format!(
        "[instance]\n{api}[simulator]\nlisten = \"0.0.0.0:2775\"\nallow_remote = true\n"
    ));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_admin_token_guards_status_and_metrics_but_not_the_probes() {
    let admin = format!("allow_remote = true\ntoken = \"{GOOD}\"\n");
    let d = Daemon::start_with_listeners("", &admin, "");
    let bearer = format!("Bearer {GOOD}");
    for path in ["/status", "/metrics"] {
        let anonymous = http(d.admin, "GET", path, &[], b"");
        assert_eq!(anonymous.status, 401, "{path}");
        assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
        assert_eq!(anonymous.json()["error"]["code"], "unauthorized");
        // The API's token is not the admin's.
        assert_eq!(http(d.admin, "GET", path, &[AUTH], b"").status, 401);
        let reply = http(
            d.admin,
            "GET",
            path,
            &[("Authorization", bearer.as_str())],
            b"",
        );
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    for path in ["/healthz", "/readyz"] {
        assert_eq!(http(d.admin, "GET", path, &[], b"").status, 200, "{path}");
    }
}
