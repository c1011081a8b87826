//! Shared state of the running server.

use crate::config::Config;
use invitd_core::{Clock, SecretHash};
use invitd_store::{ApiKey, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What the faces, the workers and the command line share: one `Arc`, so
/// the clone every request makes (extractors, the service) is one atomic
/// increment rather than one per field (a clone and drop per field showed
/// in the profile of every request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    /// Woken when an email is queued, so the worker sends it at once.
    pub outbox_notify: Arc<Notify>,
    pub keys: Arc<KeyCache>,
    /// Signs the accept page's form nonces; the same in every process on
    /// the database (stored there).
    pub form_key: Arc<Vec<u8>>,
    /// Whether writes have been failing for want of the database.
    pub write_health: Arc<WriteHealth>,
    /// Counts the console's refused sign-ins per client address.
    pub sign_in_limiter: Arc<crate::ratelimit::RateLimiter>,
    /// Whether a console session's last use is being written now (one at a
    /// time, so a database refusing writes is not queued a pile of them).
    pub session_touch: Arc<std::sync::atomic::AtomicBool>,
}

/// Remembers a request refused because the database was unavailable
/// (503), until a write succeeds or [`WriteHealth::MEMORY`] passes, for
/// readiness: a nearly full disk may still have room for the readiness
/// probe's one small write but not for an invitation.
#[derive(Debug, Default)]
pub struct WriteHealth {
    last_fault: std::sync::Mutex<Option<Instant>>,
}

impl WriteHealth {
    pub const MEMORY: Duration = Duration::from_secs(10);

    pub fn fault(&self) {
        if let Ok(mut last) = self.last_fault.lock() {
            *last = Some(Instant::now());
        }
    }

    pub fn success(&self) {
        if let Ok(mut last) = self.last_fault.lock() {
            *last = None;
        }
    }

    /// A fault within [`WriteHealth::MEMORY`] with no success since.
    pub fn failing(&self) -> bool {
        self.last_fault
            .lock()
            .ok()
            .and_then(|last| *last)
            .is_some_and(|at| at.elapsed() < Self::MEMORY)
    }
}

/// A short-lived cache of API-key lookups, so a busy caller does not cost a
/// query per request. A key revoked in this process is forgotten at once;
/// one revoked by another process (the CLI, a second server) stops working
/// within [`KeyCache::TTL`].
/// A lookup's answer (None: no such key) and when it was made.
type CachedKey = (Option<ApiKey>, Instant);

#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<[u8; 32], CachedKey>>,
}

impl KeyCache {
    pub const TTL: Duration = Duration::from_secs(2);
    const MAX_ENTRIES: usize = 10_000;

    pub async fn find(
        &self,
        store: &dyn Store,
        hash: &SecretHash,
    ) -> Result<Option<ApiKey>, StoreError> {
        if let Ok(entries) = self.entries.read()
            && let Some((key, at)) = entries.get(&hash.0)
            && at.elapsed() < Self::TTL
        {
            return Ok(key.clone());
        }
        let key = store.find_api_key(hash).await?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash.0, (key.clone(), Instant::now()));
        }
        Ok(key)
    }

    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}
