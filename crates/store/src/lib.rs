//! Storage for invitd: the [`Store`] trait that the server talks to (the
//! sum of one trait per aggregate: tenants, keys, invitations, outbox,
//! webhooks, events, console sessions, idempotency, the installation, each
//! defined in `aggregates.rs` and summed here by a blanket impl), the records it reads and writes, and its one
//! implementation for SQLite and PostgreSQL ([`sql::SqlStore`]), which
//! implements each aggregate's trait in the `sql` file of its name.
//! Migrations run at [`open`] (`sql::migrate`): on SQLite with rusqlite
//! (failures are [`StoreError::MigrateSqlite`]), on PostgreSQL with sqlx's
//! migrator (failures are [`StoreError::Migrate`]); [`testing`] gives tests
//! a fresh PostgreSQL database.
//!
//! The traits speak in whole domain operations ("apply this lifecycle
//! decision atomically", "insert these invitations with their emails"), not
//! in rows, so that each backend can make them atomic its own way: SQLite
//! funnels every write through one writer connection; PostgreSQL locks
//! rows.

mod aggregates;
mod error;
mod model;
mod stats;
/// The store traits, for `use invitd_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        EventStore, IdempotencyStore, InstallationStore, InvitationStore, KeyStore, OutboxStore,
        SessionStore, Store, TenantStore, WebhookStore,
    };
}
pub mod sql;
pub mod testing;

pub use aggregates::*;
pub use error::StoreError;
pub use model::*;
pub use stats::{Backlog, PoolStats, StatusCounts};

/// Opens the store named by a database URL (`sqlite://…`, created if
/// needed, or `postgres://…`) and runs the migrations.
pub async fn open(
    url: &str,
    options: &OpenOptions,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    Ok(std::sync::Arc::new(sql::SqlStore::open(url, options).await?))
}

/// A database URL with any password replaced, fit for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// SQLite: connections kept for reads (every write goes through the
    /// one writer thread).
    pub read_connections: u32,
    /// SQLite: the longest a unit of work (a request with an
    /// `Idempotency-Key`, a bulk call) may leave the writer thread waiting
    /// for its next write, in all, before it is rolled back.
    pub unit_bound: std::time::Duration,
    /// PostgreSQL: connections in the pool.
    pub pool_size: u32,
    /// PostgreSQL: longest a statement may run.
    pub statement_timeout: std::time::Duration,
    /// Run migrations on open.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            read_connections: 8,
            unit_bound: std::time::Duration::from_secs(3),
            pool_size: 16,
            statement_timeout: std::time::Duration::from_secs(10),
            migrate: true,
        }
    }
}

/// Declares a trait that is the sum of the traits listed (and `'static`),
/// with the blanket impl that gives it to every type implementing them all,
/// so the list is written once.
macro_rules! sum_trait {
    ($(#[$doc:meta])* $name:ident = $first:ident $(+ $part:ident)*) => {
        $(#[$doc])*
        pub trait $name: $first $(+ $part)* + 'static {}

        impl<T> $name for T where T: $first $(+ $part)* + 'static {}
    };
}

sum_trait! {
    /// Everything a store does: the sum of the traits above, one per
    /// aggregate. Every method is one atomic unit. An `Arc<dyn Store>` offers
    /// every method as it is; code generic over a store imports
    /// `invitd_store::prelude::*`.
    Store = InstallationStore
        + TenantStore
        + KeyStore
        + InvitationStore
        + OutboxStore
        + WebhookStore
        + EventStore
        + SessionStore
        + IdempotencyStore
}

/// A unit of work: every store write made inside [`Unit::scope`] joins one
/// database transaction, which [`Store::commit_unit`] commits (together with
/// the request's idempotent answer). Dropped without committing, it rolls
/// back.
#[derive(Clone)]
pub struct Unit(sql::tx::SharedUnit);

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unit")
    }
}
