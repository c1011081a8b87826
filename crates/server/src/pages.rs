//! Operational endpoints and the accept-link landing page (a plain stub
//! until the full accept page lands: it says what the link is for and how
//! the invitation stands, and changes nothing).

use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = String), (status = 503, body = String)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /i/{token}`: the landing page of an accept link. Reads only.
pub async fn accept_link(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let (status, body) = match state.service().find_token(&token).await {
        Ok(inv) => {
            let tenant = state.store.get_tenant(&inv.tenant_id).await.map(|t| t.name).unwrap_or_default();
            let status = inv.status_at(state.clock.now());
            (StatusCode::OK, format!(
                "<h1>Invitation to {}</h1><p>Status: {}.</p><p>The full accept page is coming; until then the host app accepts through <code>POST /v1/invitations/accept</code>.</p>",
                escape(&tenant), status.as_str()))
        }
        Err(crate::error::Error::Conflict { .. }) => (StatusCode::GONE, "<h1>This link was replaced</h1><p>A newer invitation was sent; use the link in the latest email.</p>".to_string()),
        Err(crate::error::Error::NotFound(_)) => (StatusCode::NOT_FOUND, "<h1>Unknown invitation link</h1>".to_string()),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "<h1>Please try again shortly</h1>".to_string()),
    };
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Invitation</title></head><body>{body}</body></html>"
    );
    let mut response = (status, Html(page)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
