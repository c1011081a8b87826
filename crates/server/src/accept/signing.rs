//! What the accept page signs: the form nonce that proves an answer came
//! from the page invitd served for that token, and the ticket handed to the
//! tenant's redirect URL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use invitd_core::{Invitation, SecretHash};
use sha2::Sha256;
use subtle_compare::constant_time_eq;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// How long a served form can be answered.
pub const FORM_LIFETIME_SECS: i64 = 2 * 3600;
/// How long a ticket is valid: it is meant to be redeemed at once.
pub const TICKET_LIFETIME_SECS: i64 = 300;

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    for p in parts {
        m.update(p);
        m.update(b"\x1f");
    }
    m.finalize().into_bytes().to_vec()
}

mod subtle_compare {
    pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }
}

/// A nonce for the form served for `token`: `<issued unix>.<mac>`.
pub fn form_nonce(key: &[u8], token: &SecretHash, now: OffsetDateTime) -> String {
    let issued = now.unix_timestamp().to_string();
    let tag = mac(key, &[b"accept-form", token.as_bytes(), issued.as_bytes()]);
    format!("{issued}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `nonce` was issued by this installation for `token`, and is
/// still fresh.
pub fn check_form_nonce(key: &[u8], token: &SecretHash, nonce: &str, now: OffsetDateTime) -> bool {
    let Some((issued, tag)) = nonce.split_once('.') else {
        return false;
    };
    let Ok(at) = issued.parse::<i64>() else {
        return false;
    };
    let age = now.unix_timestamp() - at;
    if !(-60..=FORM_LIFETIME_SECS).contains(&age) {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    constant_time_eq(&tag, &mac(key, &[b"accept-form", token.as_bytes(), issued.as_bytes()]))
}

/// Why a ticket could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// The tenant has a ticket secret of no bytes: anyone could sign.
    #[error("the ticket secret is empty")]
    EmptySecret,
    #[error("the ticket claims cannot be encoded: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("the ticket secret cannot key HMAC-SHA256")]
    Key(#[from] hmac::digest::InvalidLength),
}

/// The accept ticket: a JWT (RFC 7519) signed with HS256 and the tenant's
/// ticket secret, so any JWT library can check it. Claims: `iss` (the public
/// URL), `sub` (the invitation id), `tenant`, `email`, `roles`,
/// `account_id`, `iat`, `exp` (five minutes later), `jti`.
pub fn ticket(
    secret: &str,
    issuer: &str,
    inv: &Invitation,
    now: OffsetDateTime,
) -> Result<String, TicketError> {
    if secret.is_empty() {
        return Err(TicketError::EmptySecret);
    }
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": issuer,
        "aud": inv.tenant_id.as_str(),
        "sub": inv.id,
        "tenant": inv.tenant_id.as_str(),
        "email": inv.email,
        "roles": inv.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "account_id": inv.accepted_by,
        "iat": now.unix_timestamp(),
        "exp": now.unix_timestamp() + TICKET_LIFETIME_SECS,
        "jti": uuid::Uuid::now_v7(),
    });
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
    let signing_input = format!("{header}.{payload}");
    let mut m = HmacSha256::new_from_slice(secret.as_bytes())?;
    m.update(signing_input.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    Ok(format!("{signing_input}.{tag}"))
}

/// `url` with `ticket=<ticket>` added to its query.
pub fn with_ticket(url: &str, ticket: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}ticket={ticket}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_bind_to_token_key_and_time() {
        let key = b"installation key";
        let t1 = invitd_core::Secret::generate("").hash();
        let t2 = invitd_core::Secret::generate("").hash();
        let now = OffsetDateTime::now_utc();
        let nonce = form_nonce(key, &t1, now);
        assert!(check_form_nonce(key, &t1, &nonce, now));
        assert!(!check_form_nonce(key, &t2, &nonce, now), "another token");
        assert!(!check_form_nonce(b"other key", &t1, &nonce, now), "another installation");
        assert!(!check_form_nonce(key, &t1, &nonce, now + time::Duration::hours(3)), "too old");
        assert!(!check_form_nonce(key, &t1, "garbage", now));
        assert!(!check_form_nonce(key, &t1, &format!("{}.AAAA", now.unix_timestamp()), now));
    }

    #[test]
    fn tickets_go_into_the_query() {
        assert_eq!(with_ticket("https://a.test/w", "T"), "https://a.test/w?ticket=T");
        assert_eq!(
            with_ticket("https://a.test/w?x=1#top", "T"),
            "https://a.test/w?x=1&ticket=T#top"
        );
    }
}
