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

pub mod access;
mod activity;
mod open_files;
pub mod request_id;

use activity::{Activity, Tracked, Watched};
pub use open_files::{effective_max_connections, open_files_limit, raise_open_files_limit};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

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
    let slots = Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
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
    let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
    let service =
        Tracked { app, peer, activity: activity.clone(), request_timeout: limits.request_timeout };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout + limits.idle_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    // One timer for the connection's life, set again only when it fires
    // early or a change moves the deadline before it.
    let timer = tokio::time::sleep_until(activity.arm());
    tokio::pin!(timer);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = timer.as_mut() => {
                if activity.deadline() <= Instant::now() {
                    tracing::debug!(phase = activity.phase_name(), "closing a connection that ran out of time");
                    return;
                }
                timer.as_mut().reset(activity.arm());
            }
            _ = activity.changed.notified() => {
                timer.as_mut().reset(activity.arm());
            }
            _ = shutdown.wait_for(|stop| *stop), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
