//! What every request leaves behind: a request id (`request_id.rs`: the
//! client's `x-request-id` if it sent a usable one, else a new one) that is
//! returned on the response, named in problem documents and in the
//! request's log lines; and one access line per request at `info`, with the matched route
//! (never the raw path, so accept-link tokens stay out of logs).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Duration;

pub use super::request_id::{HEADER, RequestId};

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
