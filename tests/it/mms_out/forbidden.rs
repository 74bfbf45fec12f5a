//! Attachment URLs that lead inside the gateway's network — its own loopback, private
//! and link-local ranges, their IPv6 spellings, a name that resolves there, a redirect
//! there — are refused with `422 media_url_forbidden` before any connection, unless
//! `[mms] fetch_allow` names the place.
//!
//! Every request these tests cause goes to loopback. The other ranges are refused
//! before anything is sent, and that is what the tests assert: a connection attempt
//! would end in `media_unreachable` (nothing answers there), never in this code.

use serde_json::json;

use super::{
    CONTACT, MMS_SENDER, MediaServer, Mmsc, accepted_id, error_of, start_fetching, stored_files,
};
use crate::harness::{Daemon, Reply, free_port, http_get};
use crate::pipeline::send_mt;

/// `POST /v1/messages` with one attachment at `url`.
fn send(d: &Daemon, url: &str) -> Reply {
    send_mt(
        d,
        json!({"from": MMS_SENDER, "to": CONTACT, "text": "see attached",
               "media": [{"url": url, "content_type": "image/jpeg"}]}),
        None,
    )
}

/// `server`'s URL that redirects to `to` (brackets escaped: they may not stand in a
/// query as they are).
fn redirect(server: &MediaServer, to: &str) -> String {
    let to = to.replace('[', "%5B").replace(']', "%5D");
    server.url(&format!("/redirect?to={to}"))
}

/// Asserts that `reply` refuses `url` as forbidden.
fn assert_forbidden(reply: &Reply, url: &str) {
    let (status, code, field, _, _) = error_of(reply);
    assert_eq!(
        (status, code.as_str(), field.as_str()),
        (422, "media_url_forbidden", "media[0]"),
        "{url}: {}",
        reply.body
    );
}

/// `smsbridge_mms_mt_media_fetches_total{result="forbidden"}`, when exported.
fn forbidden_fetches(d: &Daemon) -> Option<u64> {
    let (status, text) = http_get(d.admin, "/metrics");
    assert_eq!(status, 200);
    let series = "smsbridge_mms_mt_media_fetches_total{result=\"forbidden\"} ";
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .map(|v| v.parse().unwrap())
}

/// Without `fetch_allow`, the media server on loopback is out of reach in every
/// spelling of its address and by name; the answer is the same at a port where nothing
/// listens, and the server never sees a request.
#[test]
fn loopback_urls_are_refused_without_a_connection() {
    let media = MediaServer::start();
    let d = start_fetching(Mmsc::Embedded, free_port(), "", "");
    assert_eq!(forbidden_fetches(&d), Some(0));
    let listening = media.addr.port().to_string();
    let closed = free_port().to_string();
    let spellings = [
        "http://127.0.0.1:PORT/media/photo.jpg",
        "http://127.1.2.3:PORT/media/photo.jpg",
        "http://2130706433:PORT/media/photo.jpg",
        "http://[::1]:PORT/media/photo.jpg",
        "http://[::ffff:127.0.0.1]:PORT/media/photo.jpg",
        "http://localhost:PORT/media/photo.jpg",
        "https://localhost:PORT/media/photo.jpg",
        "http://0.0.0.0:PORT/media/photo.jpg",
        "http://[::]:PORT/media/photo.jpg",
    ];
    for spelling in spellings {
        let answers = [&listening, &closed].map(|port| {
            let url = spelling.replace("PORT", port);
            let reply = send(&d, &url);
            assert_forbidden(&reply, &url);
            reply.body.replace(port.as_str(), "PORT")
        });
        // Nothing in the answer tells whether a server listens there.
        assert_eq!(answers[0], answers[1], "{spelling}");
    }
    assert_eq!(media.hits(), 0);
    assert_eq!(stored_files(&d), Vec::<String>::new());
    assert_eq!(forbidden_fetches(&d), Some(2 * spellings.len() as u64));
}

/// Private, link-local (the cloud metadata service), carrier-grade NAT, multicast,
/// broadcast, unique-local and reserved addresses, written plainly or as IPv6, and
/// redirects to them from a server the allow list admits: all refused by the address
/// check, so nothing is sent to any of them.
#[test]
fn addresses_inside_the_network_are_refused_before_any_connection() {
    let media = MediaServer::start();
    let d = start_fetching(
        Mmsc::Embedded,
        free_port(),
        r#"fetch_allow = ["127.0.0.1"]"#,
        "",
    );
    let redirected = |to: &str| redirect(&media, to);
    let urls = [
        "http://10.0.0.1/a.jpg".to_owned(),
        "http://10.255.1.2:8080/a.jpg".to_owned(),
        "http://172.16.0.1/a.jpg".to_owned(),
        "http://172.31.255.254/a.jpg".to_owned(),
        "http://192.168.1.1/a.jpg".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://100.64.0.1/a.jpg".to_owned(),
        "http://100.127.255.254/a.jpg".to_owned(),
        "http://224.0.0.1/a.jpg".to_owned(),
        "http://239.255.255.250:1900/a.jpg".to_owned(),
        "http://255.255.255.255/a.jpg".to_owned(),
        "http://240.0.0.1/a.jpg".to_owned(),
        "http://198.18.0.1/a.jpg".to_owned(),
        "http://192.0.2.1/a.jpg".to_owned(),
        "http://[fd00::1]/a.jpg".to_owned(),
        "http://[fe80::1]/a.jpg".to_owned(),
        "http://[ff02::1]/a.jpg".to_owned(),
        "http://[::ffff:10.0.0.1]/a.jpg".to_owned(),
        "http://[::ffff:169.254.169.254]/latest/meta-data/".to_owned(),
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/".to_owned(),
        redirected("http://169.254.169.254/latest/meta-data/"),
        redirected("http://10.0.0.1/a.jpg"),
        redirected("http://[::ffff:192.168.0.1]/a.jpg"),
    ];
    for url in &urls {
        assert_forbidden(&send(&d, url), url);
    }
    // Only the three redirects' first hops reached the allowed server.
    assert_eq!(media.hits(), 3);
    assert_eq!(forbidden_fetches(&d), Some(urls.len() as u64));
}

/// With `fetch_allow = ["127.0.0.1"]`, a redirect is followed on that address but not
/// to another loopback address, where a second server sees no request.
#[test]
fn a_redirect_may_not_lead_past_the_allow_list() {
    let allowed = MediaServer::start();
    let other = MediaServer::start_on("127.0.0.2");
    let d = start_fetching(
        Mmsc::Embedded,
        free_port(),
        r#"fetch_allow = ["127.0.0.1"]"#,
        "",
    );
    let via = |to: String| redirect(&allowed, &to);
    accepted_id(&send(&d, &via(allowed.url("/media/photo.jpg"))));
    assert_eq!(allowed.hits(), 2);
    for url in [
        via(other.url("/media/photo.jpg")),
        via(format!(
            "http://[::1]:{}/media/photo.jpg",
            other.addr.port()
        )),
        via(format!(
            "http://[::ffff:127.0.0.2]:{}/media/photo.jpg",
            other.addr.port()
        )),
        other.url("/media/photo.jpg"),
    ] {
        assert_forbidden(&send(&d, &url), &url);
    }
    assert_eq!(other.hits(), 0);
    assert_eq!(allowed.hits(), 5);
}

/// A host name in the allow list is reached whatever it resolves to, a network by
/// address; the address a name resolves to is not thereby allowed when written itself.
#[test]
fn hosts_and_networks_in_the_allow_list_are_reached() {
    let by_name = MediaServer::start();
    let by_network = MediaServer::start_on("127.0.0.2");
    let d = start_fetching(
        Mmsc::Embedded,
        free_port(),
        r#"fetch_allow = ["LocalHost", "127.0.0.2/32"]"#,
        "",
    );
    let port = by_name.addr.port();
    accepted_id(&send(
        &d,
        &format!("http://localhost:{port}/media/photo.jpg"),
    ));
    accepted_id(&send(&d, &by_network.url("/media/photo.jpg")));
    let written = by_name.url("/media/photo.jpg");
    assert_forbidden(&send(&d, &written), &written);
    assert_eq!((by_name.hits(), by_network.hits()), (1, 1));
}
