//! How each connection is watched: the phase it is in (reading a head,
//! idle, serving) and since when, fed by the socket and the service
//! wrappers here; the listener's watchdog reads it.

use super::Limits;
use super::access::{self, RequestId};

use crate::error::Error;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tower::ServiceExt;

/// What a connection is doing, and since when.
pub(super) struct Activity {
    state: Mutex<State>,
    pub(super) changed: Notify,
    limits: Limits,
}

#[derive(Clone, Copy)]
struct State {
    /// Requests handed to the application whose responses are not written.
    busy: usize,
    /// When the last request started, or the connection went idle.
    since: Instant,
    /// When the current request head started (first byte, or the accept).
    head_since: Option<Instant>,
    /// When the watchdog's timer is set to fire. A change that moves the
    /// deadline later leaves it alone (the watchdog finds time left, and
    /// sets it again); only one that moves it earlier wakes the watchdog,
    /// so a busy keep-alive connection costs no timer work per request.
    armed: Instant,
}

impl State {
    fn deadline(&self, limits: Limits) -> Instant {
        if self.busy > 0 {
            self.since + limits.request_timeout * 2
        } else if let Some(head) = self.head_since {
            head + limits.header_timeout
        } else {
            self.since + limits.idle_timeout
        }
    }
}

impl Activity {
    pub(super) fn new(limits: Limits) -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                busy: 0,
                since: now,
                head_since: Some(now),
                armed: now + limits.header_timeout,
            }),
            changed: Notify::new(),
            limits,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// When the current phase runs out.
    pub(super) fn deadline(&self) -> Instant {
        let limits = self.limits;
        self.with(|s| s.deadline(limits))
    }

    /// The current phase's deadline, recorded as the time the watchdog's
    /// timer is now set to.
    pub(super) fn arm(&self) -> Instant {
        let limits = self.limits;
        self.with(|s| {
            s.armed = s.deadline(limits);
            s.armed
        })
    }

    /// Applies a change and wakes the watchdog only if it moved the
    /// deadline before the time its timer is set to.
    fn update(&self, f: impl FnOnce(&mut State)) {
        let limits = self.limits;
        let earlier = self.with(|s| {
            f(s);
            s.deadline(limits) < s.armed
        });
        if earlier {
            self.changed.notify_one();
        }
    }

    pub(super) fn phase_name(&self) -> &'static str {
        self.with(|s| match (s.busy, s.head_since) {
            (0, Some(_)) => "reading a request head",
            (0, None) => "idle",
            _ => "writing a response",
        })
    }

    /// Bytes arrived: on an idle connection, a request head has started.
    fn on_read(&self) {
        self.update(|s| {
            if s.busy == 0 && s.head_since.is_none() {
                s.head_since = Some(Instant::now());
            }
        });
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.update(|s| {
            s.busy += 1;
            s.since = Instant::now();
            s.head_since = None;
        });
        InFlight(self.clone())
    }
}

/// A request in flight; dropped when its response body is done.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|s| {
            s.busy = s.busy.saturating_sub(1);
            if s.busy == 0 {
                s.since = Instant::now();
            }
        });
    }
}

/// The socket, reporting reads to the connection's [`Activity`].
pub(super) struct Watched {
    pub(super) inner: tokio::net::TcpStream,
    pub(super) activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The application as hyper calls it: the client's address for
/// `ConnectInfo`, the request timeout, and the in-flight mark.
#[derive(Clone)]
pub(super) struct Tracked {
    pub(super) app: Router,
    pub(super) peer: SocketAddr,
    pub(super) activity: Arc<Activity>,
    pub(super) request_timeout: Duration,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started();
        let started = std::time::Instant::now();
        let id = RequestId::from_headers(req.headers());
        let method = req.method().clone();
        let peer = self.peer;
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(id.clone());
        let app = self.app.clone();
        let timeout = self.request_timeout;
        Box::pin(id.clone().scope(async move {
            let mut response = match tokio::time::timeout(timeout, app.oneshot(req)).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => {
                    tracing::info!(
                        seconds = timeout.as_secs_f64(),
                        "request cancelled: not finished within the request timeout"
                    );
                    let mut response = Error::RequestTimeout.into_response();
                    // The rest of a half-read body is still on the wire.
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    response
                }
            };
            access::finish(&mut response, &id, &method, peer, started.elapsed());
            Ok(response.map(|body| TrackedBody { inner: body, _in_flight: in_flight }))
        }))
    }
}

/// A response body that marks the request finished when it is dropped
/// (written out, or abandoned with its connection).
pub struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
