//! `[mms]` (the MM7 endpoint, media validation, the media store and its signed URLs)
//! and each carrier's `[carriers.mm7]` table (how its MMSC proves who it is).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::connections::{
    Connections, DEFAULT_MM7_MAX_CONNECTIONS, RawConnections, validate_connections,
};
use super::error::KeyPath;
use super::secret::{RawSecret, Secret};

const MIB: usize = 1_048_576;

/// `[mms]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMms {
    pub enabled: Option<bool>,
    pub listen: Option<String>,
    pub tls: Option<RawMmsTls>,
    pub max_message_bytes: Option<usize>,
    pub max_part_bytes: Option<usize>,
    pub max_parts: Option<usize>,
    pub allowed_content_types: Option<Vec<String>>,
    pub max_concurrent_requests: Option<usize>,
    pub request_timeout: Option<String>,
    pub media_dir: Option<PathBuf>,
    pub media_base_url: Option<String>,
    pub url_secret: Option<String>,
    pub url_secret_file: Option<PathBuf>,
    pub url_secret_env: Option<String>,
    pub url_ttl: Option<String>,
    /// How long fetching one attachment of an MT from the core may take.
    pub fetch_timeout: Option<String>,
    /// A media file named by no message is deleted only once it was not put for this.
    pub media_grace: Option<String>,
    /// Media files the purge looks at per round.
    pub media_purge_batch: Option<usize>,
    /// How long fetching all the attachments of one MT request may take.
    pub fetch_total_timeout: Option<String>,
    /// Hosts and networks attachment fetches may reach besides public addresses.
    pub fetch_allow: Option<Vec<String>>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub max_connections: Option<usize>,
}

/// `[mms.tls]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMmsTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// `[carriers.mm7]` as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCarrierMm7 {
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub allow: Option<Vec<String>>,
    // The outbound keys: how MT MMS reach the carrier's MMSC (see `super::mm7`).
    /// The MMSC's MM7 URL SubmitReq is posted to.
    pub mmsc_url: Option<String>,
    /// HTTP basic auth towards the MMSC.
    pub mmsc_username: Option<String>,
    pub mmsc_password: Option<String>,
    pub mmsc_password_file: Option<PathBuf>,
    pub mmsc_password_env: Option<String>,
    /// Our VASP and VAS ids as the carrier assigned them (SenderIdentification).
    pub vasp_id: Option<String>,
    pub vas_id: Option<String>,
    /// The MM7 schema spoken: "6.8.0" (REL-6-MM7-1-4) or "5.3.0" (REL-5-MM7-1-2).
    pub version: Option<String>,
    /// The largest SubmitReq content, in bytes, for any sender.
    pub max_message_bytes: Option<usize>,
    /// Smaller limits per sender kind (`longcode`, `shortcode`, `toll_free`).
    #[serde(default)]
    pub max_message_bytes_by_kind: std::collections::BTreeMap<String, usize>,
    /// Attachments per message at most.
    pub max_attachments: Option<usize>,
    /// The whole SubmitReq exchange (connect, send, answer).
    pub submit_timeout: Option<String>,
    pub connect_timeout: Option<String>,
    /// The largest SubmitRsp read; a longer answer is an unknown outcome.
    pub max_response_bytes: Option<usize>,
}

/// `[mms]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mms {
    pub enabled: bool,
    /// The MM7 endpoint carriers post to.
    pub listen: SocketAddr,
    /// TLS for the endpoint; plain HTTP without.
    pub tls: Option<MmsTls>,
    /// A whole MM7 request, as received.
    pub max_message_bytes: usize,
    /// One attachment.
    pub max_part_bytes: usize,
    /// Parts in one request (per multipart level).
    pub max_parts: usize,
    /// Media types accepted (`image/jpeg`, or a whole family as `image/*`).
    pub allowed_content_types: Vec<String>,
    /// MM7 requests handled at once; more wait for a slot.
    pub max_concurrent_requests: usize,
    /// How long a carrier may take to send one request.
    pub request_timeout: Duration,
    /// Where media files are kept.
    pub media_dir: PathBuf,
    /// The start of the media URLs given to the core (`https://host:port`); without
    /// it, `http://` and the API listener's bound address.
    pub media_base_url: Option<String>,
    /// The key that signs media URLs (required when MMS is enabled).
    pub url_secret: Option<Secret>,
    /// How long a media URL stays valid.
    pub url_ttl: Duration,
    /// The carriers with a `[carriers.mm7]` table, in file order.
    pub carriers: Vec<CarrierMm7>,
    /// How long fetching one attachment of an MT from the core may take.
    pub fetch_timeout: Duration,
    /// A media file named by no message is deleted only once it was not put for this
    /// long (longer than any gap between writing a file and committing its message).
    pub media_grace: Duration,
    /// Media files the purge looks at per round (each `[store] purge_interval`).
    pub media_purge_batch: usize,
    /// How long fetching all the attachments of one `POST /v1/messages` may take (they
    /// are fetched before the answer, so this is shorter than `[api] request_timeout`).
    pub fetch_total_timeout: Duration,
    /// What attachment fetches may reach besides public addresses.
    pub fetch_allow: FetchAllow,
    /// The MM7 listener's header-read and idle timeouts and its connection cap (a TLS
    /// handshake counts towards the header-read timeout).
    pub connections: Connections,
}

/// `[mms] fetch_allow`, validated: the private hosts and networks attachment fetches
/// may reach (fetches reach only public addresses otherwise, so that a URL in
/// `POST /v1/messages` cannot make the gateway read its own admin page or the cloud
/// metadata service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchAllow {
    /// Networks, an address alone being a network of one.
    pub networks: Vec<IpNet>,
    /// Host names (lower case, no final dot), allowed whatever they resolve to.
    pub hosts: Vec<String>,
}

impl FetchAllow {
    /// Whether `ip` is in one of the networks.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// Whether the host name `host` is one of the hosts (names match whole, in any case).
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// `[mms.tls]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmsTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// A carrier's MMSC credentials, validated: HTTP basic auth, an address allow list,
/// or both (both must then hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierMm7 {
    /// The carrier's name (`[[carriers]] name`).
    pub carrier: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Addresses and networks its MMSC posts from; empty = any.
    pub allow: Vec<IpNet>,
}

/// An address or a network in CIDR form (`192.0.2.0/24`, `2001:db8::/32`, `10.1.2.3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the network (IPv4-mapped IPv6 peers count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{s:?}: the prefix must be 0 to {max}")),
            },
        };
        Ok(IpNet { addr, prefix })
    }
}

/// The default allowed types: images, video, audio, vCard, PDF, plain text and SMIL.
pub const DEFAULT_CONTENT_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/3gpp",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "text/vcard",
    "text/x-vcard",
    "application/pdf",
    "text/plain",
    "application/smil",
];

pub(super) fn validate_mms(c: &mut Checker, r: &RawMms, state_dir: &Path) -> Mms {
    let path = KeyPath::root().key("mms");
    let enabled = r.enabled.unwrap_or(false);
    let listen = r.listen.as_deref().unwrap_or("127.0.0.1:8081");
    let max_message_bytes = c.range(
        &path.key("max_message_bytes"),
        r.max_message_bytes,
        5 * MIB,
        1_024,
        100 * MIB,
    );
    let max_part_bytes = c.range(
        &path.key("max_part_bytes"),
        r.max_part_bytes,
        max_message_bytes,
        1_024,
        max_message_bytes,
    );
    let url_secret = RawSecret {
        inline: r.url_secret.clone(),
        file: r.url_secret_file.clone(),
        env: r.url_secret_env.clone(),
    }
    .resolve(c, &path, "url_secret", enabled);
    if let Some(secret) = &url_secret
        && secret.expose().len() < 16
    {
        c.error(&path.key("url_secret"), "must be at least 16 characters");
    }
    let media_base_url = r.media_base_url.clone();
    if let Some(url) = &media_base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        c.error(
            &path.key("media_base_url"),
            "must start with http:// or https://",
        );
    }
    Mms {
        enabled,
        listen: c
            .socket_addr(&path.key("listen"), listen)
            .unwrap_or_else(|| ([127, 0, 0, 1], 8081).into()),
        tls: r.tls.as_ref().map(|t| MmsTls {
            cert_file: t.cert_file.clone(),
            key_file: t.key_file.clone(),
        }),
        max_message_bytes,
        max_part_bytes,
        max_parts: c.range(&path.key("max_parts"), r.max_parts, 16, 1, 100),
        allowed_content_types: content_types(c, &path.key("allowed_content_types"), r),
        max_concurrent_requests: c.range(
            &path.key("max_concurrent_requests"),
            r.max_concurrent_requests,
            16,
            1,
            1_024,
        ),
        request_timeout: c.duration(
            &path.key("request_timeout"),
            r.request_timeout.as_deref(),
            Duration::from_secs(60),
            Duration::from_secs(1),
            Duration::from_secs(600),
        ),
        media_dir: state_dir.join(r.media_dir.as_deref().unwrap_or(Path::new("media"))),
        media_base_url: media_base_url.map(|u| u.trim_end_matches('/').to_owned()),
        url_secret,
        url_ttl: c.duration(
            &path.key("url_ttl"),
            r.url_ttl.as_deref(),
            Duration::from_secs(7 * 86_400),
            Duration::from_secs(1),
            Duration::from_secs(365 * 86_400),
        ),
        carriers: Vec::new(),
        fetch_timeout: c.duration(
            &path.key("fetch_timeout"),
            r.fetch_timeout.as_deref(),
            Duration::from_secs(5),
            Duration::from_millis(100),
            Duration::from_secs(600),
        ),
        media_grace: c.duration(
            &path.key("media_grace"),
            r.media_grace.as_deref(),
            Duration::from_secs(3_600),
            Duration::from_secs(60),
            Duration::from_secs(30 * 86_400),
        ),
        media_purge_batch: c.range(
            &path.key("media_purge_batch"),
            r.media_purge_batch,
            10_000,
            1,
            1_000_000,
        ),
        fetch_total_timeout: c.duration(
            &path.key("fetch_total_timeout"),
            r.fetch_total_timeout.as_deref(),
            Duration::from_secs(8),
            Duration::from_millis(100),
            Duration::from_secs(600),
        ),
        fetch_allow: fetch_allow(c, &path.key("fetch_allow"), r),
        connections: validate_connections(
            c,
            &path,
            RawConnections {
                header_read_timeout: r.header_read_timeout.as_deref(),
                idle_timeout: r.idle_timeout.as_deref(),
                max_connections: r.max_connections,
            },
            DEFAULT_MM7_MAX_CONNECTIONS,
        ),
    }
}

/// The attachments of an MT are fetched while the API request waits: their time limit
/// must leave the request time to answer.
pub(super) fn check_fetch_within_request(c: &mut Checker, mms: &Mms, request_timeout: Duration) {
    if mms.enabled && mms.fetch_total_timeout >= request_timeout {
        c.error(
            &KeyPath::root().key("mms").key("fetch_total_timeout"),
            format!(
                "must be shorter than [api] request_timeout ({}): attachments are fetched \
                 before POST /v1/messages answers",
                humantime::format_duration(request_timeout)
            ),
        );
    }
}

fn content_types(c: &mut Checker, path: &KeyPath, r: &RawMms) -> Vec<String> {
    let Some(list) = &r.allowed_content_types else {
        return DEFAULT_CONTENT_TYPES
            .iter()
            .map(|s| s.to_string())
            .collect();
    };
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let t = t.trim().to_ascii_lowercase();
        let ok = t
            .split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !a.contains('*'))
            && !t.contains(';')
            && !t.contains(char::is_whitespace);
        if !ok {
            c.error(
                &path.index(i),
                "must be a media type like image/jpeg, or image/* for a family",
            );
        }
        out.push(t);
    }
    out
}

/// `[mms] fetch_allow`: each entry an address or network (`10.0.0.0/8`), or a host name.
fn fetch_allow(c: &mut Checker, path: &KeyPath, r: &RawMms) -> FetchAllow {
    let mut allow = FetchAllow::default();
    for (i, entry) in r.fetch_allow.iter().flatten().enumerate() {
        let entry = entry.trim();
        match (entry.parse::<IpNet>(), host_name(entry)) {
            (Ok(net), _) => allow.networks.push(net),
            (Err(_), Some(host)) => allow.hosts.push(host),
            // Meant as a network: the address or the prefix is wrong.
            (Err(e), None) if entry.contains('/') && !entry.contains("://") => {
                c.error(&path.index(i), e)
            }
            (Err(_), None) => c.error(
                &path.index(i),
                format!(
                    "{entry:?} must be a host name (media.internal.example) or an address or \
                     network (10.0.0.0/8), without a scheme or port; an internationalised \
                     name in its xn-- form"
                ),
            ),
        }
    }
    allow
}

/// `name` as a DNS host name, lower case without a final dot; `None` when it is not one.
/// A name whose last label is a number (`10`, `0x7f`) is not one: URLs read it as an
/// IPv4 address.
fn host_name(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let last = name.rsplit('.').next()?;
    (name.len() <= 253 && name.split('.').all(label_ok) && !is_number(last)).then_some(name)
}

/// A label URL parsers read as a number: decimal, or hexadecimal after `0x`.
fn is_number(label: &str) -> bool {
    match label.strip_prefix("0x") {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// `[carriers.mm7]` of one carrier.
pub(super) fn validate_carrier_mm7(
    c: &mut Checker,
    path: &KeyPath,
    carrier: &str,
    r: &RawCarrierMm7,
) -> CarrierMm7 {
    let password = RawSecret {
        inline: r.password.clone(),
        file: r.password_file.clone(),
        env: r.password_env.clone(),
    }
    .resolve(c, path, "password", r.username.is_some());
    if r.username.is_none() && password.is_some() {
        c.error(&path.key("username"), "a password needs a username");
    }
    let mut allow = Vec::new();
    for (i, net) in r.allow.iter().flatten().enumerate() {
        match net.parse::<IpNet>() {
            Ok(net) => allow.push(net),
            Err(e) => c.error(&path.key("allow").index(i), e),
        }
    }
    if r.username.is_none() && allow.is_empty() {
        c.error(
            path,
            "an MMSC must be identified: give username and password, or allow, or both",
        );
    }
    CarrierMm7 {
        carrier: carrier.to_owned(),
        username: r.username.clone(),
        password,
        allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_their_addresses() {
        let net: IpNet = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.9".parse().unwrap()));
        let host: IpNet = "2001:db8::1".parse().unwrap();
        assert!(host.contains("2001:db8::1".parse().unwrap()));
        assert!(!host.contains("2001:db8::2".parse().unwrap()));
        let any: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("203.0.113.5".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("example.net".parse::<IpNet>().is_err());
    }
}

#[cfg(test)]
mod file_tests {
    use std::path::Path;

    use super::FetchAllow;
    use crate::config::Config;

    fn load(extra: &str) -> Result<Config, Vec<String>> {
        // The API without a token, after what is under test so its lines keep their
        // numbers.
        let extra = if extra.contains("[api]") {
            extra.replace("[api]\n", "[api]\nauth = \"none\"\n")
        } else {
            format!("{extra}\n[api]\nauth = \"none\"\n")
        };
        let text = format!(
            r#"[instance]
name = "t"
state_dir = "/var/lib/t"

[[carriers]]
name = "acme"
host = "h"
port = 1
system_id = "s"
password = "p"
{extra}
"#
        );
        Config::from_toml(Path::new("t.toml"), &text)
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn mms_defaults_and_carrier_credentials_are_read() {
        let c = load(
            "[carriers.mm7]\nusername = \"u\"\npassword = \"pw\"\nallow = [\"10.0.0.0/8\"]\n\
             [mms]\nenabled = true\nurl_secret = \"0123456789abcdef\"\nmax_part_bytes = 2048\n",
        )
        .unwrap();
        assert!(c.mms.enabled);
        assert_eq!(c.mms.max_part_bytes, 2048);
        assert_eq!(c.mms.media_dir, Path::new("/var/lib/t/media"));
        assert_eq!(c.mms.allowed_content_types.len(), 14);
        assert_eq!(c.mms.carriers.len(), 1);
        assert_eq!(c.mms.carriers[0].carrier, "acme");
        assert_eq!(c.mms.carriers[0].username.as_deref(), Some("u"));
    }

    #[test]
    fn the_fetch_allow_list_reads_networks_and_hosts() {
        let base = "[mms]\nenabled = true\nurl_secret = \"0123456789abcdef\"\n";
        assert_eq!(load(base).unwrap().mms.fetch_allow, FetchAllow::default());
        let c = load(&format!(
            "{base}fetch_allow = [\"10.0.0.0/8\", \"Media.Internal.Example.\", \"fd00::/8\", \
             \"192.168.1.5\", \"files_1.corp\"]\n"
        ))
        .unwrap();
        let allow = &c.mms.fetch_allow;
        assert_eq!(allow.networks.len(), 3);
        assert_eq!(allow.hosts, ["media.internal.example", "files_1.corp"]);
        assert!(allow.allows_address("10.9.8.7".parse().unwrap()));
        assert!(allow.allows_address("::ffff:10.9.8.7".parse().unwrap()));
        assert!(allow.allows_address("fd00::1".parse().unwrap()));
        assert!(allow.allows_address("192.168.1.5".parse().unwrap()));
        assert!(!allow.allows_address("192.168.1.6".parse().unwrap()));
        assert!(!allow.allows_address("127.0.0.1".parse().unwrap()));
        assert!(allow.allows_host("MEDIA.internal.example"));
        assert!(allow.allows_host("media.internal.example."));
        assert!(!allow.allows_host("cdn.media.internal.example"));
        assert!(!allow.allows_host("internal.example"));

        let errors = load(&format!(
            "{base}fetch_allow = [\"10.0.0.0/33\", \"http://media.example\", \
             \"media.example:8080\", \"10.1.2\", \"0x7f.1\", \"médias.example\", \"\"]\n"
        ))
        .unwrap_err()
        .join("\n");
        for expected in [
            "t.toml:14:16: mms.fetch_allow[0]: \"10.0.0.0/33\": the prefix must be 0 to 32",
            "t.toml:14:31: mms.fetch_allow[1]: \"http://media.example\" must be a host name",
            "mms.fetch_allow[2]: \"media.example:8080\" must be a host name",
            "mms.fetch_allow[3]: \"10.1.2\" must be a host name",
            "mms.fetch_allow[4]: \"0x7f.1\" must be a host name",
            "mms.fetch_allow[5]: \"médias.example\" must be a host name",
            "mms.fetch_allow[6]: \"\" must be a host name",
        ] {
            assert!(errors.contains(expected), "{expected:?} not in:\n{errors}");
        }
    }

    #[test]
    fn mms_mistakes_are_located() {
        let errors = load(
            "[carriers.mm7]\nusername = \"u\"\nallow = [\"10.0.0.0/99\"]\n\
             [mms]\nenabled = true\nmax_part_bytes = 10\nallowed_content_types = [\"jpeg\"]\n",
        )
        .unwrap_err();
        let joined = errors.join("\n");
        for expected in [
            "t.toml: carriers[0].mm7.password: missing",
            "t.toml:13:10: carriers[0].mm7.allow[0]: \"10.0.0.0/99\": the prefix must be 0 to 32",
            "t.toml: mms.url_secret: missing",
            "t.toml:16:18: mms.max_part_bytes: must be between 1024 and 5242880",
            "t.toml:17:26: mms.allowed_content_types[0]: must be a media type",
        ] {
            assert!(joined.contains(expected), "{expected:?} not in:\n{joined}");
        }
        let slow = load(
            "[api]\nrequest_timeout = \"5s\"\n\
             [mms]\nenabled = true\nurl_secret = \"0123456789abcdef\"\n\
             fetch_total_timeout = \"5s\"\n",
        )
        .unwrap_err()
        .join("\n");
        assert!(
            slow.contains(
                "mms.fetch_total_timeout: must be shorter than [api] request_timeout (5s)"
            ),
            "{slow}"
        );
        let unidentified = load("[carriers.mm7]\n").unwrap_err().join("\n");
        assert!(
            unidentified.contains("carriers[0].mm7: an MMSC must be identified"),
            "{unidentified}"
        );
    }
}
