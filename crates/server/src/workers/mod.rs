//! The background workers: each runs until shutdown, wakes on a signal or a
//! poll, and exposes `run_once()` so tests drive it step by step.

pub mod expiry;
pub mod mail;
pub mod webhooks;

use invitd_store::StoreError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The loop every worker runs until shutdown: a round, again at once while
/// the round says more may be due, otherwise after `poll` or a wake-up. A
/// failed round is logged and tried again at the next turn.
pub(crate) async fn run_rounds<F, Fut>(
    name: &'static str,
    poll: Duration,
    wake: Option<Arc<Notify>>,
    mut shutdown: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, StoreError>>,
{
    loop {
        match round().await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "{name} round failed"),
        }
        let woken = async {
            match &wake {
                Some(notify) => notify.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
