//! Validated identifiers and values: once built, they are known to be valid.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value could not be built; `field` names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct IdError {
    pub field: &'static str,
    pub reason: String,
}

fn err(field: &'static str, reason: impl Into<String>) -> IdError {
    IdError { field, reason: reason.into() }
}

/// `s` if it is an opaque id of at most `max` characters.
fn opaque(field: &'static str, s: impl Into<String>, max: usize) -> Result<String, IdError> {
    let s = s.into();
    let len = s.chars().count();
    if len == 0 || len > max {
        return Err(err(field, format!("must be 1 to {max} characters")));
    }
    if s.chars().any(|c| c.is_control() || c == '/') || s.trim() != s {
        return Err(err(
            field,
            "must not contain control characters, slashes or surrounding spaces",
        ));
    }
    Ok(s)
}

/// A tenant id chosen by the host app: 1–128 characters that travel in a URL
/// path segment unchanged: no control characters or whitespace, none of
/// `/ \\ ? # %`, and not the dot segments `.` or `..` (which clients and
/// proxies collapse, making the tenant unreachable).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = opaque("tenant id", s, 128)?;
        if s == "." || s == ".." {
            return Err(err("tenant id", "must not be . or .."));
        }
        if s.chars().any(|c| c.is_whitespace() || matches!(c, '\\' | '?' | '#' | '%')) {
            return Err(err("tenant id", "must not contain spaces, backslashes, ?, # or %"));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A role id within a tenant's catalogue (the Wix API calls them policy ids).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct RoleId(String);

impl RoleId {
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        opaque("role id", s, 64).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_conversions!(TenantId);
string_conversions!(RoleId);
string_conversions!(Language);

/// An email address as the caller gave it (trimmed) and its normalized form
/// (lower-cased), which all matching uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    given: String,
    normalized: String,
}

impl EmailAddress {
    /// Accepts a syntactically valid address of at most 254 characters with a
    /// dotted domain (`user@localhost` is refused: it cannot receive mail from
    /// a hosted service).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let given = raw.trim();
        if given.is_empty() || given.len() > 254 {
            return Err(err("email", "must be 1 to 254 characters"));
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            given,
            email_address::Options::default().without_display_text().without_domain_literal(),
        )
        .map_err(|e| err("email", e.to_string()))?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(err("email", "domain must be a dotted host name"));
        }
        Ok(Self { given: given.to_string(), normalized: given.to_lowercase() })
    }
    pub fn as_given(&self) -> &str {
        &self.given
    }
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// A language tag such as `en`, `de`, `pt-BR`: a 2–3 letter primary subtag
/// and optional alphanumeric subtags. Stored as given; templates fall back
/// from the full tag to its primary subtag to English.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let mut parts = s.split(['-', '_']);
        let primary = parts.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !primary_ok || !rest_ok || s.len() > 35 {
            return Err(err("language", "must be a language tag such as en or pt-BR"));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The primary subtag, lower-cased (`pt` for `pt-BR`).
    pub fn primary(&self) -> String {
        self.0.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_accept_host_app_shapes() {
        for ok in [
            "acme",
            "1024",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "Ünïcode",
            "a.b",
            "...",
            ".hidden",
        ] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(129);
        for bad in [
            "",
            " acme",
            "a/b",
            "a\nb",
            long.as_str(),
            ".",
            "..",
            "%2e",
            "%2E%2E",
            "a\\b",
            "a?b",
            "a#b",
            "a%20b",
            "a b",
            "a\tb",
            "a\u{a0}b",
            "a\u{7f}b",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_normalized() {
        let e = EmailAddress::parse("  Ann.Lee@Example.COM ").unwrap();
        assert_eq!(e.as_given(), "Ann.Lee@Example.COM");
        assert_eq!(e.normalized(), "ann.lee@example.com");
        for bad in ["", "nope", "a@b", "a@@b.com", "Ann <ann@x.com>", "a@[1.2.3.4]"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn languages() {
        assert_eq!(Language::parse("pt-BR").unwrap().primary(), "pt");
        assert!(Language::parse("e").is_err());
        assert!(Language::parse("en-").is_err());
        assert!(Language::parse("english").is_err());
    }
}
