//! What every request leaves behind: a request id (the client's
//! `x-request-id` if it sent a usable one, else a new one) that is returned
//! on the response, named in problem documents and in the request's log
//! lines; and one access line per request at `info`, with the matched route
//! (never the raw path, so accept-link tokens stay out of logs).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Duration;

/// The header a request id travels in, both ways.
pub const HEADER: &str = "x-request-id";

/// A request's id.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: RequestId;
}

impl RequestId {
    /// The client's id when it is 1 to 128 visible ASCII characters (so it
    /// is safe in a header and a log line); otherwise a new UUIDv7.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let given = headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()));
        Self(given.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string))
    }

    /// The id of the request being answered on this task, if any.
    pub fn current() -> Option<String> {
        CURRENT.try_with(|id| id.0.clone()).ok()
    }

    /// Runs `f` as the answer to the request with this id.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }
}

/// The route a response answered, copied from the request for the access
/// line (which is written after the response leaves the router).
#[derive(Debug, Clone)]
pub struct Route(pub String);

/// A router layer: remembers the matched route on the response.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| Route(p.as_str().to_string()));
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Sets the id on the response and writes the access line.
pub fn finish(
    response: &mut Response,
    id: &RequestId,
    method: &Method,
    peer: SocketAddr,
    took: Duration,
) {
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(HEADER, value);
    }
    let route = response.extensions().get::<Route>().map_or("-", |r| r.0.as_str());
    let status: StatusCode = response.status();
    crate::metrics::http_request(method.as_str(), route, status.as_u16(), took);
    tracing::info!(
        target: "invitd::access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        duration_ms = (took.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        request_id = %id.0,
        client = %peer.ip(),
        "request"
    );
}
