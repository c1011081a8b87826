//! Extractors whose rejections are our [`Error`], so a malformed body, path
//! or query string gets the same problem shape as every other error.

use crate::error::Error;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// JSON body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Error::UnsupportedMediaType),
            Err(JsonRejection::BytesRejection(r)) if r.status().as_u16() == 413 => {
                Err(Error::PayloadTooLarge)
            }
            Err(JsonRejection::JsonDataError(e)) => Err(Error::MalformedJson(e.body_text())),
            Err(e) => Err(Error::MalformedJson(e.body_text())),
        }
    }
}

/// A JSON answer. Written into one buffer of its own (4 KiB to start,
/// grown as a `Vec`), which is cheaper than axum's `Json` writing piece by
/// piece into a `BytesMut`: for a page of 50 invitations that was a tenth
/// of the request's CPU.
impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(4096);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => Error::Internal(e.into()).into_response(),
        }
    }
}

/// A JSON body that may be left out: an empty body (or `null`) reads as
/// `T::default()`, so a call that used to take no body keeps working; any
/// other body is read as [`Json`] reads it.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let (parts, body) = req.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(|r| {
                    if r.status().as_u16() == 413 {
                        Error::PayloadTooLarge
                    } else {
                        Error::MalformedJson(r.body_text())
                    }
                })?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        // `null` stands for the default too, as the document says.
        let Json(value) = Json::<Option<T>>::from_request(req, state).await?;
        Ok(OptionalJson(value.unwrap_or_default()))
    }
}

/// An extractor of the request's head that wraps axum's own and answers a
/// rejection as `invalid_request` on `field`.
macro_rules! invalid_as {
    ($(#[$doc:meta])* $name:ident, $field:literal, $($send:ident)?) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<S: Send + Sync, T: DeserializeOwned $(+ $send)?> FromRequestParts<S> for $name<T> {
            type Rejection = Error;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
                axum::extract::$name::<T>::from_request_parts(parts, state)
                    .await
                    .map(|axum::extract::$name(v)| $name(v))
                    .map_err(|e| Error::invalid($field, e.body_text()))
            }
        }
    };
}

invalid_as!(
    /// Path parameters.
    Path, "path", Send
);
invalid_as!(
    /// Query string.
    Query, "query",
);

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        Ok(ClientInfo { ip, user_agent })
    }
}
