//! Health: liveness, readiness (reads and writes), and the memory of
//! requests refused for want of the database that readiness consults.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers a read and takes a write (one small
/// committed update), each within 3 s, so a full disk, a read-only or
/// locked file and a lost connection all read as not ready; and no request
/// was refused for want of the database lately (see `WriteHealth`). When not
/// ready: 503 `unavailable`, a problem document with `Retry-After`.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations", responses((status = 200, description = "Ready: the database answers reads and takes writes", body = String)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let bound = std::time::Duration::from_secs(3);
    let check = async {
        if state.write_health.failing() {
            return Err(invitd_store::StoreError::Unavailable(
                "a request was refused for want of the database, and no write succeeded since"
                    .into(),
            ));
        }
        state.store.ping().await?;
        match tokio::time::timeout(bound, state.store.probe_write(state.clock.now())).await {
            Ok(result) => result,
            Err(_) => {
                Err(invitd_store::StoreError::Unavailable("no write was taken within 3 s".into()))
            }
        }
    };
    match check.await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            crate::error::Error::Unavailable.into_response()
        }
    }
}

/// Feeds [`crate::state::WriteHealth`]: a 503 is a fault, a successful
/// write a recovery.
pub async fn track_write_health(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let write = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let readiness = req.uri().path() == "/readyz";
    let response = next.run(req).await;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && !readiness {
        state.write_health.fault();
    } else if write && response.status().is_success() {
        state.write_health.success();
    }
    response
}
