//! The carrier simulator's MMSC side (`[mmsc]` in the simulator's own file,
//! `[simulator.mmsc]` embedded in the gateway's): where it listens for SubmitReq, where
//! it sends DeliverReq and DeliveryReportReq, and which reports it sends.
//!
//! Reports follow a deterministic rule so tests and demos know what to expect: a
//! destination starting with `rejected_prefix` is reported `Rejected`, one starting
//! with `expired_prefix` `Expired`, every other `Retrieved`. A report the gateway does
//! not take (down, restarting, answering an error) is retried as a real MMSC would:
//! `report_attempts` times, pausing `report_retry`, doubling up to `report_retry_max`.
//! With `hold_reports` every report waits until released (tests and demos decide when
//! the gateway hears of a delivery).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::simulator::SimulatorConfigError;

/// `[mmsc]` as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMmsc {
    /// Address SubmitReq is posted to (path `/mm7`); default 127.0.0.1:8082.
    pub listen: Option<String>,
    /// The gateway's MM7 endpoint URL for DeliverReq and DeliveryReportReq. Embedded,
    /// the default is the gateway's own `[mms] listen` with path `/mm7`.
    pub gateway_url: Option<String>,
    /// Basic auth the simulator presents to the gateway.
    pub gateway_username: Option<String>,
    pub gateway_password: Option<String>,
    /// Basic auth SubmitReq must carry; absent = any.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Delay between SubmitRsp and the DeliveryReportReq; default "0s".
    pub report_delay: Option<String>,
    /// Attempts at one report before it is given up; default 5.
    pub report_attempts: Option<u32>,
    /// First pause between report attempts, doubling; default "100ms".
    pub report_retry: Option<String>,
    /// The longest pause between report attempts; default "5s".
    pub report_retry_max: Option<String>,
    /// Keep every report until released; default false.
    pub hold_reports: Option<bool>,
    /// Destinations with this prefix are reported `Rejected`.
    pub rejected_prefix: Option<String>,
    /// Destinations with this prefix are reported `Expired`.
    pub expired_prefix: Option<String>,
    /// Where the files attached to generated DeliverReq come from; default
    /// "fixtures/mms/media".
    pub media_dir: Option<PathBuf>,
    /// The MM7 schema of generated requests: "6.8.0" (default) or "5.3.0".
    pub version: Option<String>,
    /// The largest SubmitReq read; default 10 MiB.
    pub max_request_bytes: Option<usize>,
}

/// Validated `[mmsc]`.
#[derive(Clone, PartialEq, Eq)]
pub struct MmscConfig {
    pub listen: SocketAddr,
    pub gateway_url: Option<String>,
    pub gateway_credentials: Option<(String, String)>,
    pub credentials: Option<(String, String)>,
    pub report_delay: Duration,
    pub report_attempts: u32,
    pub report_retry: Duration,
    pub report_retry_max: Duration,
    pub hold_reports: bool,
    pub rejected_prefix: Option<String>,
    pub expired_prefix: Option<String>,
    pub media_dir: PathBuf,
    /// True for REL-5-MM7-1-2 (5.3.0), false for REL-6-MM7-1-4 (6.8.0).
    pub rel5: bool,
    pub max_request_bytes: usize,
}

impl std::fmt::Debug for MmscConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmscConfig")
            .field("listen", &self.listen)
            .field("gateway_url", &self.gateway_url)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .field("report_delay", &self.report_delay)
            .field("report_attempts", &self.report_attempts)
            .field("report_retry", &self.report_retry)
            .field("report_retry_max", &self.report_retry_max)
            .field("hold_reports", &self.hold_reports)
            .field("rejected_prefix", &self.rejected_prefix)
            .field("expired_prefix", &self.expired_prefix)
            .field("media_dir", &self.media_dir)
            .field("rel5", &self.rel5)
            .finish_non_exhaustive()
    }
}

impl Default for MmscConfig {
    fn default() -> Self {
        Self::try_from(RawMmsc::default()).expect("the defaults are valid")
    }
}

fn invalid(key: &str, reason: impl Into<String>) -> SimulatorConfigError {
    SimulatorConfigError {
        key: format!("mmsc.{key}"),
        reason: reason.into(),
    }
}

fn pair(
    user: Option<String>,
    password: Option<String>,
    key: &str,
) -> Result<Option<(String, String)>, SimulatorConfigError> {
    match (user, password) {
        (Some(u), Some(p)) => Ok(Some((u, p))),
        (None, None) => Ok(None),
        _ => Err(invalid(key, "give the user name and the password together")),
    }
}

impl TryFrom<RawMmsc> for MmscConfig {
    type Error = SimulatorConfigError;

    fn try_from(raw: RawMmsc) -> Result<Self, Self::Error> {
        let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:8082");
        let listen = listen_text
            .parse()
            .map_err(|_| invalid("listen", format!("{listen_text:?} is not host:port")))?;
        if let Some(url) = &raw.gateway_url {
            let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(invalid("gateway_url", "must be an http:// or https:// URL"));
            }
        }
        let duration = |key: &str, value: Option<&str>, default: Duration| match value {
            None => Ok(default),
            Some(text) => humantime::parse_duration(text)
                .map_err(|e| invalid(key, format!("{text:?} is not a duration ({e})"))),
        };
        let report_delay = duration("report_delay", raw.report_delay.as_deref(), Duration::ZERO)?;
        let report_retry = duration(
            "report_retry",
            raw.report_retry.as_deref(),
            Duration::from_millis(100),
        )?;
        let report_retry_max = duration(
            "report_retry_max",
            raw.report_retry_max.as_deref(),
            Duration::from_secs(5),
        )?;
        if report_retry.is_zero() || report_retry > report_retry_max {
            return Err(invalid(
                "report_retry",
                "must be more than 0 and not longer than report_retry_max",
            ));
        }
        let report_attempts = raw.report_attempts.unwrap_or(5);
        if !(1..=100_000).contains(&report_attempts) {
            return Err(invalid("report_attempts", "must be 1..=100000"));
        }
        let rel5 = match raw.version.as_deref() {
            None | Some("6.8.0") => false,
            Some("5.3.0") => true,
            Some(other) => {
                return Err(invalid(
                    "version",
                    format!("{other:?}: use \"6.8.0\" or \"5.3.0\""),
                ));
            }
        };
        let max_request_bytes = raw.max_request_bytes.unwrap_or(10 * 1_048_576);
        if !(1_024..=100 * 1_048_576).contains(&max_request_bytes) {
            return Err(invalid("max_request_bytes", "must be 1024..=104857600"));
        }
        Ok(MmscConfig {
            listen,
            gateway_url: raw.gateway_url,
            gateway_credentials: pair(
                raw.gateway_username,
                raw.gateway_password,
                "gateway_username",
            )?,
            credentials: pair(raw.username, raw.password, "username")?,
            report_delay,
            report_attempts,
            report_retry,
            report_retry_max,
            hold_reports: raw.hold_reports.unwrap_or(false),
            rejected_prefix: raw.rejected_prefix.filter(|p| !p.is_empty()),
            expired_prefix: raw.expired_prefix.filter(|p| !p.is_empty()),
            media_dir: raw
                .media_dir
                .unwrap_or_else(|| PathBuf::from("fixtures/mms/media")),
            rel5,
            max_request_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_8082_and_retrieve_everything() {
        let c = MmscConfig::default();
        assert_eq!(c.listen, "127.0.0.1:8082".parse().unwrap());
        assert_eq!(c.rejected_prefix, None);
        assert!(!c.rel5);
    }

    #[test]
    fn half_a_credential_is_refused_with_its_key() {
        let raw = RawMmsc {
            username: Some("vasp".into()),
            ..RawMmsc::default()
        };
        let err = MmscConfig::try_from(raw).unwrap_err();
        assert_eq!(err.key, "mmsc.username");
    }
}
