//! The seed-compatible APIs: each a thin translation of its own requests
//! into the same [`Service`](crate::service::Service) calls `/v1` makes,
//! and of the results and errors back into its own shapes. No rule lives
//! here.

/// A face's error: the native error, which the face's `IntoResponse`
/// renders in the face's own shape.
macro_rules! face_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(crate::error::Error);

        impl From<crate::error::Error> for $name {
            fn from(e: crate::error::Error) -> Self {
                $name(e)
            }
        }
    };
}

pub mod tenant_admin;
pub mod wix;
pub mod workspace;

use crate::auth::Caller;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A face's error response: `body` in the face's own shape with `status`;
/// an internal cause logged once, as `/v1` does; `Retry-After` wherever the
/// native error has one (resend limits, an unavailable database).
pub(crate) fn error_response(
    native: Option<&Error>,
    status: axum::http::StatusCode,
    body: serde_json::Value,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(e) = native {
        e.log();
    }
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = native.and_then(Error::retry_after) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
    }
    response
}

/// The caller, or the native error to render in the face's own shape.
pub struct MaybeCaller(pub Result<Caller, Error>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(Caller::from_request_parts(parts, state).await))
    }
}

/// Parses a JSON body into `T`; an empty body reads as `{}` (the seeds'
/// clients send none for some calls).
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// Routes of all three faces.
pub fn router() -> axum::Router<AppState> {
    wix::router().merge(workspace::router()).merge(tenant_admin::router())
}

/// RFC 3339 with milliseconds, as all three seeds show dates.
pub fn iso(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
