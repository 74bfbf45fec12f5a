//! Secrets (bind passwords, API tokens, webhook keys): given inline, read from a file,
//! or taken from an environment variable. A [`Secret`] never prints its value.

use std::fmt;
use std::path::PathBuf;

use super::check::Checker;
use super::error::KeyPath;

/// A secret value. `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (tests and the simulator use this).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that must send it (a bind, an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The three ways to give a secret named `NAME` in a table: `NAME`, `NAME_file`, `NAME_env`.
/// Sections declare the three keys themselves (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`) and hand them over in this struct.
#[derive(Debug, Clone, Default)]
pub struct RawSecret {
    /// The value itself (discouraged outside demos).
    pub inline: Option<String>,
    /// A file whose contents (trailing newline removed) are the value.
    pub file: Option<PathBuf>,
    /// An environment variable that holds the value.
    pub env: Option<String>,
}

impl RawSecret {
    /// Resolves the secret named `name` in the table at `table`; exactly one source may be
    /// given, and none only when `required` is false.
    pub fn resolve(
        &self,
        c: &mut Checker,
        table: &KeyPath,
        name: &str,
        required: bool,
    ) -> Option<Secret> {
        let given = [
            self.inline.is_some(),
            self.file.is_some(),
            self.env.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given > 1 {
            c.error(
                &table.key(name),
                format!("give only one of `{name}`, `{name}_file` and `{name}_env`"),
            );
            return None;
        }
        if let Some(v) = &self.inline {
            return Some(Secret(v.clone()));
        }
        if let Some(path) = &self.file {
            let key = table.key(&format!("{name}_file"));
            return match std::fs::read_to_string(path) {
                Ok(text) => {
                    let value = text.trim_end_matches(['\n', '\r']).to_string();
                    if value.is_empty() {
                        c.error(&key, format!("secret file {} is empty", path.display()));
                        None
                    } else {
                        Some(Secret(value))
                    }
                }
                Err(e) => {
                    c.error(
                        &key,
                        format!("cannot read secret file {}: {e}", path.display()),
                    );
                    None
                }
            };
        }
        if let Some(var) = &self.env {
            let key = table.key(&format!("{name}_env"));
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Some(Secret(v)),
                Ok(_) => {
                    c.error(&key, format!("environment variable {var} is empty"));
                    None
                }
                Err(_) => {
                    c.error(&key, format!("environment variable {var} is not set"));
                    None
                }
            };
        }
        if required {
            c.error(
                &table.key(name),
                format!("missing: give `{name}`, `{name}_file` or `{name}_env`"),
            );
        }
        None
    }
}
