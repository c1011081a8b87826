//! The one SQL store, for SQLite and PostgreSQL alike: the same queries
//! (numbered `$N` parameters, which both accept) through sqlx's `Any`
//! driver, with the few differences spelled out in [`Dialect`].
//!
//! On SQLite every write goes through one writer connection with
//! `BEGIN IMMEDIATE` (SQLite allows one writer at a time; queuing in-process
//! is cheaper than busy-waiting on the file lock), reads through a pool in
//! WAL mode. On PostgreSQL one pool serves both, and rows a write depends on
//! are locked with `FOR UPDATE`, so the rules hold across processes.

mod admin;
mod invitations;
mod migrate;
mod outbox;
mod rows;
pub(crate) mod unit;
mod webhooks;

use crate::{OpenOptions, StoreError};
use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// What differs between the two databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Starts a write transaction. SQLite takes the write lock at once, so a
    /// read-then-write inside it cannot be overtaken (also by another
    /// process on the same file, such as the CLI).
    fn begin(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Locks the rows a write depends on (SQLite's write lock already
    /// covers the whole database).
    fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Locks rows to claim, passing over those another process holds.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A condition: the JSON array in `invitations.roles` holds `$n`.
    fn has_role(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(invitations.roles) WHERE json_each.value = ${n})"
            ),
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(invitations.roles::jsonb) AS r(role) WHERE r.role = ${n})"
            ),
        }
    }
}

pub struct SqlStore {
    writer: AnyPool,
    reader: AnyPool,
    dialect: Dialect,
}

/// SQLite settings applied to every connection.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000;";

impl SqlStore {
    /// Opens the database at `url` (`sqlite://…`, created if missing, or
    /// `postgres://…`).
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let store = if url.starts_with("sqlite:") {
            Self::open_sqlite(url, options).await?
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::open_postgres(url, options).await?
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {}; use sqlite://path or postgres://…",
                crate::redact_url(url)
            )));
        };
        if options.migrate {
            store.run_migrations().await?;
        }
        Ok(store)
    }

    async fn open_sqlite(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let path = url
            .trim_start_matches("sqlite:")
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::Config(
                "SQLite needs a file: sqlite://path/to/invitd.db".into(),
            ));
        }
        // SQLite creates a missing file but not a missing folder.
        if let Some(parent) = std::path::Path::new(&path).parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Config(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let with_pragmas = |pool: AnyPoolOptions| {
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
        };
        let writer = with_pragmas(AnyPoolOptions::new().max_connections(1).min_connections(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect(&format!("sqlite://{path}?mode=rwc"))
            .await?;
        let reader =
            with_pragmas(AnyPoolOptions::new().max_connections(options.read_connections.max(1)))
                .acquire_timeout(Duration::from_secs(30))
                .connect(&format!("sqlite://{path}?mode=ro"))
                .await?;
        Ok(Self {
            writer,
            reader,
            dialect: Dialect::Sqlite,
        })
    }

    async fn open_postgres(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        // One connection first, so an unreachable server, a refused login or
        // a missing database is reported as such, not as a pool timeout.
        let probe = tokio::time::timeout(
            Duration::from_secs(10),
            <sqlx::AnyConnection as sqlx::Connection>::connect(url),
        )
        .await
        .map_err(|_| {
            StoreError::Config("no answer from the database server within 10 s".into())
        })??;
        sqlx::Connection::close(probe).await?;
        let timeout_ms = options.statement_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(options.pool_size.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        "SET statement_timeout = {timeout_ms}"
                    )))
                    .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            dialect: Dialect::Postgres,
        })
    }
}

/// Maps a unique-constraint violation to `Conflict`, anything else through.
fn conflict_on_unique(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => e.into(),
    }
}

use crate::{
    ApiKey, Audit, CreateOutcome, Decide, DeliveryAttempt, DeliveryOutcome, Event, EventFilter,
    IdempotentAnswer, InvitationFilter, NewInvitation, OutboxItem, Role, Store, StoredAnswer,
    Target, Tenant, TokenMatch, Unit, UnitOutcome, WebhookAttempt, WebhookEndpoint, WebhookJob,
    WebhookOutcome,
};
use invitd_core::{Invitation, SecretHash, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        // Bounded, so a readiness probe answers while the database is away.
        match tokio::time::timeout(
            std::time::Duration::from_secs(3),
            sqlx::query("SELECT 1").execute(&self.reader),
        )
        .await
        {
            Ok(result) => {
                result?;
                Ok(())
            }
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }
    async fn installation_secret(&self, candidate: &str) -> Result<String, StoreError> {
        self.installation_secret_impl(candidate).await
    }
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        roles: &[Role],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.create_tenant_impl(tenant, roles, audit).await
    }
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant, StoreError> {
        self.get_tenant_impl(id).await
    }
    async fn update_tenant(&self, tenant: &Tenant, audit: &Audit) -> Result<(), StoreError> {
        self.update_tenant_impl(tenant, audit).await
    }
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.list_tenants_impl().await
    }
    async fn list_roles(&self, tenant: &TenantId) -> Result<Vec<Role>, StoreError> {
        self.list_roles_impl(tenant).await
    }
    async fn create_role(
        &self,
        tenant: &TenantId,
        role: &Role,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.create_role_impl(tenant, role, at, audit).await
    }
    async fn create_api_key(
        &self,
        key: &ApiKey,
        hash: &SecretHash,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.create_api_key_impl(key, hash, audit).await
    }
    async fn find_api_key(&self, hash: &SecretHash) -> Result<Option<ApiKey>, StoreError> {
        self.find_api_key_impl(hash).await
    }
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.list_api_keys_impl().await
    }
    async fn revoke_api_key(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<ApiKey, StoreError> {
        self.revoke_api_key_impl(id, now, audit).await
    }
    async fn create_invitations(
        &self,
        items: Vec<NewInvitation>,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        self.create_invitations_impl(items, now, audit).await
    }
    async fn get_invitation(&self, tenant: &TenantId, id: Uuid) -> Result<Invitation, StoreError> {
        self.get_invitation_impl(tenant, id).await
    }
    async fn get_invitation_by_number(
        &self,
        tenant: Option<&TenantId>,
        number: i64,
    ) -> Result<Invitation, StoreError> {
        self.get_invitation_by_number_impl(tenant, number).await
    }
    async fn list_invitations(
        &self,
        tenant: &TenantId,
        filter: &InvitationFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>, StoreError> {
        self.list_invitations_impl(tenant, filter, now).await
    }
    async fn find_by_token(&self, hash: &SecretHash) -> Result<TokenMatch, StoreError> {
        self.find_by_token_impl(hash).await
    }
    async fn transition(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
    ) -> Result<Invitation, StoreError> {
        self.transition_impl(target, decide, audit).await
    }
    async fn list_invitation_events(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<Event>, StoreError> {
        self.list_invitation_events_impl(tenant, id).await
    }
    async fn list_delivery_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        self.list_delivery_attempts_impl(tenant, id).await
    }
    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        self.claim_outbox_impl(now, lease, limit).await
    }
    async fn finish_outbox(
        &self,
        item: &OutboxItem,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.finish_outbox_impl(item, outcome, now).await
    }
    async fn create_webhook(
        &self,
        endpoint: &WebhookEndpoint,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.create_webhook_impl(endpoint, audit).await
    }
    async fn get_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<WebhookEndpoint, StoreError> {
        self.get_webhook_impl(tenant, id).await
    }
    async fn list_webhooks(&self, tenant: &TenantId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.list_webhooks_impl(tenant).await
    }
    async fn update_webhook(
        &self,
        endpoint: &WebhookEndpoint,
        change: &str,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.update_webhook_impl(endpoint, change, audit).await
    }
    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.delete_webhook_impl(tenant, id, at, audit).await
    }
    async fn claim_webhooks(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
        per_endpoint: usize,
    ) -> Result<Vec<WebhookJob>, StoreError> {
        self.claim_webhooks_impl(now, lease, limit, per_endpoint)
            .await
    }
    async fn finish_webhook(
        &self,
        job: &WebhookJob,
        attempt: &WebhookAttempt,
        outcome: &WebhookOutcome,
        disable_after: time::Duration,
    ) -> Result<(), StoreError> {
        self.finish_webhook_impl(job, attempt, outcome, disable_after)
            .await
    }
    async fn list_webhook_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<WebhookAttempt>, StoreError> {
        self.list_webhook_attempts_impl(tenant, id, limit).await
    }
    async fn expire_due(&self, now: OffsetDateTime, limit: u32) -> Result<usize, StoreError> {
        self.expire_due_impl(now, limit).await
    }
    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        self.list_events_impl(filter).await
    }
    async fn probe_write(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        self.probe_write_impl(now).await
    }
    async fn idempotency_lookup(
        &self,
        scope: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        self.idempotency_lookup_impl(scope, key, now).await
    }
    async fn commit_unit(
        &self,
        unit: Unit,
        answer: Option<IdempotentAnswer<'_>>,
    ) -> Result<UnitOutcome, StoreError> {
        self.commit_unit_impl(unit, answer).await
    }
}
