//! The expiry sweep: records pending invitations past their expiry as
//! expired, one event each (the decision is `Invitation::expire`, applied
//! by the store).

use invitd_core::Clock;
use invitd_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Invitations expired per round; a full round goes again at once.
const BATCH: u32 = 500;

/// Runs the expiry sweep until shutdown.
pub async fn sweep(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    every: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    super::run_rounds("expiry", every, None, shutdown, || async {
        let n = store.expire_due(clock.now(), BATCH).await?;
        crate::metrics::invitations("expired", "", n as u64);
        if n > 0 {
            tracing::info!(expired = n, "expiry sweep");
        }
        Ok(n == BATCH as usize)
    })
    .await;
}
