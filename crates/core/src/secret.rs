//! Secrets (accept-link tokens and API keys): minted from the OS random
//! source, shown once, stored only as a SHA-256 hash, never printed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A raw secret. `Debug` and `Display` print it redacted; the only way to the
/// text is [`Secret::expose`], so every place that shows it is greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS source failing is not recoverable; a zero secret would be
    // worse than a crash, so refuse loudly.
    #[allow(clippy::expect_used)]
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).expect("operating system random source failed");
    bytes
}

/// Bytes of randomness in a minted secret: 256 bits, well past the 128 the
/// spec asks for.
const SECRET_BYTES: usize = 32;

impl Secret {
    /// Mints a new secret with the given prefix (`""` for link tokens,
    /// `"ik_"` for API keys) from the operating system's random source.
    pub fn generate(prefix: &str) -> Self {
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<SECRET_BYTES>())))
    }

    /// Wraps a secret made elsewhere: presented by a caller, read back from
    /// the database, or of a format of its own (a webhook's `whsec_`).
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }

    /// True when the secret has the shape this service mints (prefix plus 43
    /// base64url characters); lets lookups reject garbage without a query.
    pub fn looks_minted(&self, prefix: &str) -> bool {
        self.0.strip_prefix(prefix).is_some_and(|rest| {
            rest.len() == 43
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// SHA-256 of a secret: what the stores keep and index. The default (all
/// zeros) matches no token.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(raw: &str) -> Self {
        Self(Sha256::digest(raw.as_bytes()).into())
    }
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Constant-time comparison.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secrets_are_unique_long_and_redacted() {
        let a = Secret::generate("ik_");
        let b = Secret::generate("ik_");
        assert_ne!(a, b);
        assert!(a.looks_minted("ik_"));
        assert!(!a.looks_minted(""));
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
        assert_eq!(a.to_string(), "<redacted>");
        assert!(!format!("{:?}", a.hash()).contains(&a.expose()[3..10]));
        assert!(a.hash().matches(&Secret::new(a.expose()).hash()));
        assert!(!a.hash().matches(&b.hash()));
    }
}

/// A value kept out of `Debug` output, and so out of logs: it prints
/// `"***"`. It serializes as the value itself (an email body, an accept
/// link, a bearer token in the configuration).
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Hidden<T>(pub T);

impl<T> std::ops::Deref for Hidden<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Hidden<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl<T> From<T> for Hidden<T> {
    fn from(value: T) -> Self {
        Hidden(value)
    }
}

impl From<&str> for Hidden<String> {
    fn from(value: &str) -> Self {
        Hidden(value.to_string())
    }
}
