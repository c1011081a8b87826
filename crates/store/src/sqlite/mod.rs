//! The SQLite store: one writer connection that every write goes through
//! (SQLite allows one writer at a time; queuing in-process is cheaper than
//! busy-waiting on the file lock), and a pool of readers in WAL mode.

mod admin;
mod invitations;
mod outbox;
mod rows;

use crate::{OpenOptions, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// Migrations in order; each runs once, in a transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_delivery_attempts.sql"),
    ),
];

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000");
        // SQLite creates a missing file but not a missing folder.
        if let Some(parent) = base.get_filename().parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Config(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await?;
        let store = Self { writer, reader };
        if options.migrate {
            store.run_migrations().await?;
        }
        Ok(store)
    }

    async fn run_migrations(&self) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS invitd_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM invitd_migrations")
            .fetch_all(&mut *tx)
            .await?;
        for (version, sql) in MIGRATIONS {
            if applied.iter().any(|(v,)| v == version) {
                continue;
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO invitd_migrations (version, applied_at) VALUES (?, ?)")
                .bind(version)
                .bind(rows::ms(time::OffsetDateTime::now_utc()))
                .execute(&mut *tx)
                .await?;
            tracing::info!(version, "applied migration");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Begins a write transaction that holds the write lock from its start,
    /// so a read-then-write inside it cannot be overtaken (also by another
    /// process on the same file, such as the CLI).
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Maps a unique-constraint violation to `Conflict`, anything else through.
fn conflict_on_unique(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Database(e),
    }
}

use crate::{
    ApiKey, Audit, CreateOutcome, Decide, DeliveryAttempt, DeliveryOutcome, Event,
    IdempotencyBegin, InvitationFilter, NewInvitation, OutboxItem, Role, Store, Target, Tenant,
    TokenMatch,
};
use invitd_core::{Invitation, SecretHash, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
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
        audit: &Audit,
    ) -> Result<(), StoreError> {
        self.create_role_impl(tenant, role, audit).await
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
        tenant: &TenantId,
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
    async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<IdempotencyBegin, StoreError> {
        self.idempotency_begin_impl(scope, key, request_hash, now)
            .await
    }
    async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        self.idempotency_finish_impl(scope, key, status, body).await
    }
    async fn idempotency_abandon(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.idempotency_abandon_impl(scope, key).await
    }
}
