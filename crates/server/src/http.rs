//! The HTTP/1.1 listener: an accept loop over hyper that keeps slow and
//! idle clients from holding the server.
//!
//! Each connection is in one of three phases, and a watchdog closes it when
//! its phase lasts too long:
//!
//! * reading a request head (from the accept, or from the first byte of a
//!   following request, until the head is complete): the header timeout;
//! * idle between keep-alive requests: the idle timeout;
//! * serving a request (from a complete head until the response has been
//!   written): the handler gets the request timeout, after which it is
//!   cancelled and answered `408 request_timeout` (body reads included);
//!   a response the client does not read is cut off after twice that.
//!
//! hyper's own `header_read_timeout` starts when a connection goes idle and
//! runs until the next head is complete, so it cannot tell an idle
//! keep-alive connection from a slow head; it is set to the sum of both as a
//! backstop, and the watchdog applies each limit on its own.
//!
//! Open connections are capped with a semaphore. At the cap, the loop stops
//! accepting until a connection closes (new ones wait in the kernel's
//! backlog rather than being reset), and logs one warning per minute while
//! that goes on.

use crate::error::Error;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// The listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` turns true, then stops
/// accepting, lets in-flight requests finish and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut connections = JoinSet::new();
    let mut last_full_warning: Option<Instant> = None;
    let mut last_accept_error: Option<Instant> = None;
    loop {
        // A slot first: at the cap, nothing more is accepted.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if last_full_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    last_full_warning = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: new connections wait until one closes \
                         (INVITD_HTTP_MAX_CONNECTIONS)"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    _ = reap(&mut connections) => continue,
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = reap(&mut connections) => continue,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it
                // was accepted: wait a moment rather than spin.
                if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    last_accept_error = Some(Instant::now());
                    tracing::warn!(error = %e, "cannot accept a connection");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            serve_connection(stream, peer, app, limits, shutdown).await;
            drop(slot);
        });
    }
    // Stop accepting; in-flight requests finish, idle connections close.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Collects finished connection tasks; pending while there are none.
async fn reap(connections: &mut JoinSet<()>) {
    match connections.join_next().await {
        Some(_) => {}
        None => std::future::pending().await,
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new(limits));
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = Tracked {
        app,
        peer,
        activity: activity.clone(),
        request_timeout: limits.request_timeout,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout + limits.idle_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let deadline = activity.deadline();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if activity.deadline() <= Instant::now() {
                    tracing::debug!(phase = activity.phase_name(), "closing a connection that ran out of time");
                    return;
                }
            }
            _ = activity.changed.notified() => {}
            _ = shutdown.wait_for(|stop| *stop), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What a connection is doing, and since when.
struct Activity {
    state: Mutex<State>,
    changed: Notify,
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
}

impl Activity {
    fn new(limits: Limits) -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                busy: 0,
                since: now,
                head_since: Some(now),
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
    fn deadline(&self) -> Instant {
        let limits = self.limits;
        self.with(|s| {
            if s.busy > 0 {
                s.since + limits.request_timeout * 2
            } else if let Some(head) = s.head_since {
                head + limits.header_timeout
            } else {
                s.since + limits.idle_timeout
            }
        })
    }

    fn phase_name(&self) -> &'static str {
        self.with(|s| match (s.busy, s.head_since) {
            (0, Some(_)) => "reading a request head",
            (0, None) => "idle",
            _ => "writing a response",
        })
    }

    /// Bytes arrived: on an idle connection, a request head has started.
    fn on_read(&self) {
        let started = self.with(|s| {
            let idle = s.busy == 0 && s.head_since.is_none();
            if idle {
                s.head_since = Some(Instant::now());
            }
            idle
        });
        if started {
            self.changed.notify_one();
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.with(|s| {
            s.busy += 1;
            s.since = Instant::now();
            s.head_since = None;
        });
        self.changed.notify_one();
        InFlight(self.clone())
    }
}

/// A request in flight; dropped when its response body is done.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.with(|s| {
            s.busy = s.busy.saturating_sub(1);
            if s.busy == 0 {
                s.since = Instant::now();
            }
        });
        self.0.changed.notify_one();
    }
}

/// The socket, reporting reads to the connection's [`Activity`].
struct Watched {
    inner: tokio::net::TcpStream,
    activity: Arc<Activity>,
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
struct Tracked {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    request_timeout: Duration,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started();
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        let timeout = self.request_timeout;
        Box::pin(async move {
            let response = match tokio::time::timeout(timeout, app.oneshot(req)).await {
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
            Ok(response.map(|body| TrackedBody {
                inner: body,
                _in_flight: in_flight,
            }))
        })
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

/// Raises this process's soft limit on open files to its hard limit, so
/// the connection cap, not the descriptor limit, is what bounds
/// connections. Returns the soft limit in force afterwards.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(
                from = limit.rlim_cur as u64,
                to = limit.rlim_max as u64,
                "raised the open files limit"
            );
            return Some(limit.rlim_max as u64);
        }
        tracing::info!(
            soft = limit.rlim_cur as u64,
            hard = limit.rlim_max as u64,
            "could not raise the open files limit"
        );
    }
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

/// The current soft limit on open files, if known.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0)
        .then_some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn open_files_limit() -> Option<u64> {
    None
}

/// Descriptors kept back from the connection cap for the database pool,
/// SMTP and webhook clients, templates and logs.
const RESERVED_FILES: u64 = 256;

/// The connection cap in force: the configured one, lowered so that
/// accepting never runs out of file descriptors.
pub fn effective_max_connections(configured: usize) -> usize {
    let Some(files) = open_files_limit() else {
        return configured.max(1);
    };
    let room = usize::try_from(files.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(usize::MAX);
    if configured > room {
        tracing::warn!(
            configured,
            open_files_limit = files,
            using = room,
            "INVITD_HTTP_MAX_CONNECTIONS is above what the open files limit allows; lowered"
        );
        room
    } else {
        configured.max(1)
    }
}
