//! `Idempotency-Key` on the native API's writes: the first answer to a key
//! is stored and replayed for every repeat with the same body; the same key
//! with another body is refused (422). Keys are scoped to the API key that
//! sent them and to the method and path, and remembered for 24 hours.
//!
//! Stored: successes and deterministic refusals (4xx other than 401, 403
//! and 429). Not stored, so a retry runs again: 5xx, authentication
//! failures and rate limits.

use crate::auth::presented_key;
use crate::error::Error;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use invitd_store::IdempotencyBegin;
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";

fn storable(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 408 | 429))
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE) {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw_key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) => {
            k.to_string()
        }
        _ => {
            return Error::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
            .into_response();
        }
    };
    let (parts, body) = req.into_parts();
    let Some(secret) = presented_key(&parts) else {
        // Unauthenticated: let the handler refuse it.
        return next.run(Request::from_parts(parts, body)).await;
    };
    let scope = format!(
        "{} {} {}",
        hex::encode(secret.hash().as_bytes()),
        parts.method,
        parts.uri.path()
    );
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return Error::PayloadTooLarge.into_response(),
    };
    let request_hash: [u8; 32] = Sha256::digest(&bytes).into();
    let store = &state.store;
    match store
        .idempotency_begin(&scope, &key, &request_hash, state.clock.now())
        .await
    {
        Err(e) => Error::from(e).into_response(),
        Ok(IdempotencyBegin::Mismatch) => Error::IdempotencyMismatch.into_response(),
        Ok(IdempotencyBegin::InProgress) => Error::IdempotencyInProgress.into_response(),
        Ok(IdempotencyBegin::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let content_type = if status.is_success() {
                "application/json"
            } else {
                "application/problem+json"
            };
            let mut response = (status, body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyBegin::Fresh) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (rparts, rbody) = response.into_parts();
            let rbytes = match axum::body::to_bytes(rbody, usize::MAX).await {
                Ok(b) => b,
                Err(e) => {
                    let _ = store.idempotency_abandon(&scope, &key).await;
                    return Error::Internal(anyhow::anyhow!("reading response body: {e}"))
                        .into_response();
                }
            };
            let outcome = if storable(rparts.status) {
                store
                    .idempotency_finish(&scope, &key, rparts.status.as_u16(), &rbytes)
                    .await
            } else {
                store.idempotency_abandon(&scope, &key).await
            };
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "could not record the idempotent answer");
            }
            Response::from_parts(rparts, Body::from(rbytes))
        }
    }
}
