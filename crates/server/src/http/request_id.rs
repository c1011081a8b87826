//! A request's id: the client's `x-request-id` if it sent a usable one,
//! else a new one, known to everything the request's task runs (problem
//! documents name it) without this file needing any other.

use axum::http::HeaderMap;

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
