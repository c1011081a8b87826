//! Operational endpoints.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers a read and takes a write (one small
/// committed update), each within 3 s, so a full disk, a read-only or
/// locked file and a lost connection all read as not ready.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = String), (status = 503, body = String)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let bound = std::time::Duration::from_secs(3);
    let check = async {
        state.store.ping().await?;
        match tokio::time::timeout(bound, state.store.probe_write(state.clock.now())).await {
            Ok(result) => result,
            Err(_) => Err(invitd_store::StoreError::Unavailable(
                sqlx::Error::PoolTimedOut,
            )),
        }
    };
    match check.await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            let mut response =
                (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
            response
        }
    }
}
