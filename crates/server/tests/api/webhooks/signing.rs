//! Webhook signatures, checked by a verifier written here against the
//! published test vector.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// HMAC-SHA256, written out here so signatures are checked independently of
/// the code that makes them.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).chain(message.iter().copied()).collect();
    let inner_hash = Sha256::digest(&inner);
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner_hash.iter().copied()).collect();
    Sha256::digest(&outer).to_vec()
}

/// The Standard Webhooks signature of a message, `v1,<base64>`, written
/// out independently of invitd's signer.
fn standard_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let content = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat();
    format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &content)))
}

/// Verifies a delivery as the Standard Webhooks specification says, over
/// the body bytes the receiver got (not a re-serialisation of them).
pub(crate) fn verify(headers: &axum::http::HeaderMap, raw_body: &[u8], secret: &str) {
    let id = headers["webhook-id"].to_str().unwrap();
    let timestamp = headers["webhook-timestamp"].to_str().unwrap();
    let signatures = headers["webhook-signature"].to_str().unwrap();
    let expected = standard_signature(secret, id, timestamp, raw_body);
    assert!(signatures.split(' ').any(|s| s == expected), "signature {signatures} != {expected}");
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - timestamp.parse::<i64>().unwrap();
    assert!(age.abs() < 600, "timestamp within tolerance");
}

/// The test vector published with the Standard Webhooks specification.
const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const VECTOR_TIMESTAMP: i64 = 1614265330;
const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

#[test]
fn the_verifier_and_the_signer_agree_with_the_published_test_vector() {
    assert_eq!(
        standard_signature(VECTOR_SECRET, VECTOR_ID, &VECTOR_TIMESTAMP.to_string(), VECTOR_BODY),
        VECTOR_SIGNATURE
    );
    let secret = invitd_core::Secret::new(VECTOR_SECRET.to_string());
    assert_eq!(
        invitd_server::webhooks::sign(&secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY).unwrap(),
        VECTOR_SIGNATURE
    );
    // Any other byte of the body, even one space, is another signature.
    assert_ne!(
        standard_signature(
            VECTOR_SECRET,
            VECTOR_ID,
            &VECTOR_TIMESTAMP.to_string(),
            br#"{"test":2432232314}"#
        ),
        VECTOR_SIGNATURE
    );
}

#[test]
fn secrets_that_give_no_key_are_refused_rather_than_signed_with() {
    for bad in ["whsec_", "whsec_not base64!", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        let secret = invitd_core::Secret::new(bad.to_string());
        assert!(
            invitd_server::webhooks::sign(&secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
                .is_err(),
            "{bad}"
        );
    }
}
