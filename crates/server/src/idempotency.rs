//! `Idempotency-Key` on the native API's writes: the first answer to a key
//! is stored and replayed for every repeat with the same body; the same key
//! with another body is refused (422). Keys are scoped to the API key that
//! sent them and to the method and path, and remembered for 24 hours.
//!
//! The answer is stored in the same database transaction as the writes it
//! describes (the request runs as one [`Unit`]), so after a crash a retry
//! finds either nothing (nothing happened; it runs now) or the original
//! answer. Concurrent requests with one key each run, and the first to
//! commit wins: the others' writes are rolled back and they answer with the
//! winner's answer.
//!
//! The key is looked at only for a matched route (this is a route layer, so
//! an unknown path or method is refused first) and an authenticated caller:
//! an unauthenticated request goes straight to its handler's 401 and writes
//! nothing.
//!
//! Stored: successes and deterministic refusals (4xx other than 401, 403,
//! 408 and 429). Not stored, so a retry runs again: 5xx, authentication
//! failures, timeouts and rate limits; the writes such a request made (if
//! any) commit as they would without a key.

use crate::auth::{Caller, presented_key};
use crate::error::Error;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use invitd_store::{IdempotentAnswer, StoredAnswer, Unit, UnitOutcome};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";

fn storable(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 408 | 429))
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE)
        || !req.headers().contains_key(HEADER)
    {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // Unauthenticated: the handler answers 401; nothing is looked up or
    // stored.
    let (Ok(caller), Some(secret)) =
        (Caller::from_request_parts(&mut parts, &state).await, presented_key(&parts))
    else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    // The handler's `Caller` extractor takes it from here: one lookup.
    parts.extensions.insert(caller);
    let key = match parts.headers.get(HEADER).map(|v| v.to_str()) {
        Some(Ok(k))
            if (1..=255).contains(&k.len()) && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            k.to_string()
        }
        _ => {
            return Error::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
                .into_response();
        }
    };
    let scope =
        format!("{} {} {}", hex::encode(secret.hash().as_bytes()), parts.method, parts.uri.path());
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return Error::PayloadTooLarge.into_response(),
    };
    let request_hash: [u8; 32] = Sha256::digest(&bytes).into();
    let store = &state.store;
    match store.idempotency_lookup(&scope, &key, state.clock.now()).await {
        Err(e) => return Error::from(e).into_response(),
        Ok(Some(stored)) => return replay(stored, &request_hash),
        Ok(None) => {}
    }
    let unit = Unit::new();
    let response = unit.scope(next.run(Request::from_parts(parts, Body::from(bytes)))).await;
    let (rparts, rbody) = response.into_parts();
    let rbytes: Bytes = match axum::body::to_bytes(rbody, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            // Dropping the unit rolls its writes back.
            return Error::Internal(anyhow::anyhow!("reading response body: {e}")).into_response();
        }
    };
    let answer = storable(rparts.status).then(|| IdempotentAnswer {
        scope: &scope,
        key: &key,
        request_hash: &request_hash,
        status: rparts.status.as_u16(),
        body: &rbytes,
        now: state.clock.now(),
    });
    match store.commit_unit(unit, answer).await {
        Ok(UnitOutcome::Committed) => {
            // Emails queued by the request were invisible to the worker
            // until now.
            state.outbox_notify.notify_one();
            Response::from_parts(rparts, Body::from(rbytes))
        }
        Ok(UnitOutcome::Taken(first)) => replay(first, &request_hash),
        // The writes did not happen: the client may retry with the key.
        Err(e) => Error::from(e).into_response(),
    }
}

/// The stored answer, or 422 when it answered another request body.
fn replay(stored: StoredAnswer, request_hash: &[u8; 32]) -> Response {
    if stored.request_hash.as_slice() != request_hash.as_slice() {
        return Error::IdempotencyMismatch.into_response();
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type =
        if status.is_success() { "application/json" } else { "application/problem+json" };
    let mut response = (status, stored.body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
