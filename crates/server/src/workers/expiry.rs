//! The expiry sweep: records pending invitations past their expiry as
//! expired, one event each (the decision is `Invitation::expire`, applied
//! by the store).

use invitd_core::Clock;
use invitd_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Runs the expiry sweep until shutdown.
pub async fn sweep(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        loop {
            match store.expire_due(clock.now(), 500).await {
                Ok(500) => {
                    crate::metrics::invitations("expired", "", 500);
                    continue;
                }
                Ok(n) => {
                    crate::metrics::invitations("expired", "", n as u64);
                    if n > 0 {
                        tracing::info!(expired = n, "expiry sweep");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "expiry sweep failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
