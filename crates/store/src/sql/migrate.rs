//! Migrations, run by sqlx's migrator: each file once, in order, in its own
//! transaction, recorded in `_sqlx_migrations` with its checksum, so a
//! migration edited after it was applied stops the start instead of being
//! skipped silently. On PostgreSQL the migrator holds an advisory lock, so
//! of several processes starting at once one migrates and the others wait.
//!
//! The files are embedded with `include_str!` and handed to the migrator as
//! it would read them from disk (`<version>_<description>.sql`), without
//! the `migrate!` macro's proc-macro dependency.
//!
//! Databases made before, by invitd's own runner (table
//! `invitd_migrations`), are bridged once: their applied versions are
//! recorded in `_sqlx_migrations` with the checksums of the same files, and
//! the old table is dropped.

use super::{Db, Dialect, SqlStore};
use crate::StoreError;
use sqlx::migrate::{Migrate, Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, Connection, Executor, Row, SqlSafeStr};
use std::borrow::Cow;
use std::time::Duration;

/// (version, description, SQL) of each migration, in order.
type Files = &'static [(i64, &'static str, &'static str)];

/// The migrations, named once: each dialect's copy of a file is embedded
/// from its own folder.
macro_rules! migrations {
    ($($version:literal $name:literal,)*) => {
        const SQLITE: Files = &[$(($version, $name, include_str!(concat!("../../migrations/sqlite/", $name, ".sql"))),)*];
        const POSTGRES: Files = &[$(($version, $name, include_str!(concat!("../../migrations/postgres/", $name, ".sql"))),)*];
    };
}

migrations!(
    1 "0001_init",
    2 "0002_delivery_attempts",
    3 "0003_status_index",
    4 "0004_branding_and_secrets",
    5 "0005_webhooks",
    6 "0006_readiness",
    7 "0007_host_app_features",
    8 "0008_address_index",
    9 "0009_quotas",
    10 "0010_console_sessions",
    11 "0011_invitation_webhooks_index",
);

/// The migrator for a dialect.
pub(super) fn migrator(dialect: Dialect) -> Migrator {
    let files = match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, name, sql)| {
                // The description as sqlx derives it from a file name.
                let description =
                    name.split_once('_').map_or(*name, |(_, rest)| rest).replace('_', " ");
                Migration::new(
                    *version,
                    Cow::Owned(description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl SqlStore {
    pub(super) async fn run_migrations(&self) -> Result<(), StoreError> {
        let migrator = migrator(self.dialect);
        // SQLite has no advisory lock: when two processes migrate one new
        // file at once, the one that loses the race sees its migration
        // refused and tries again, finding it applied.
        let mut attempt = 0;
        loop {
            sqlx::any::install_default_drivers();
            let url = match &self.db {
                Db::Sqlite(lite) => format!("sqlite://{}?mode=rwc", lite.path),
                Db::Postgres(pg) => pg.url.clone(),
            };
            let mut conn = AnyConnection::connect(&url).await?;
            let result = async {
                bridge_old_runner(&mut conn, self.dialect, &migrator).await?;
                // `run_direct` is `run` without its `Acquire` bound, which async
                // trait methods cannot prove.
                migrator.run_direct(None, &mut conn, false).await?;
                Ok::<_, StoreError>(())
            }
            .await;
            let Err(e) = result else {
                return Ok(());
            };
            // A failed migration may leave its connection inside a
            // transaction: close it rather than hand it back to the pool.
            let _ = conn.close_hard().await;
            if self.dialect != Dialect::Sqlite || attempt >= 3 {
                return Err(e);
            }
            attempt += 1;
            tracing::debug!(error = %e, "migration raced another process; again");
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
    }
}

/// Imports the versions applied by invitd's former migration runner, once,
/// in one transaction.
async fn bridge_old_runner(
    conn: &mut AnyConnection,
    dialect: Dialect,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    let (begin, old_table) = match dialect {
        Dialect::Sqlite => (
            "BEGIN IMMEDIATE",
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'invitd_migrations'",
        ),
        Dialect::Postgres => (
            "BEGIN",
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'invitd_migrations' AND table_schema = current_schema()",
        ),
    };
    conn.execute(begin).await?;
    let imported = async {
        if dialect == Dialect::Postgres {
            // Processes starting at once bridge one after the other.
            conn.execute("SELECT pg_advisory_xact_lock(7386152093)")
                .await?;
        }
        if conn.fetch_optional(old_table).await?.is_none() {
            return Ok(false);
        }
        conn.ensure_migrations_table(&migrator.table_name).await?;
        let applied = sqlx::query("SELECT version FROM invitd_migrations")
            .fetch_all(&mut *conn)
            .await?;
        for row in applied {
            let version: i64 = row.try_get("version")?;
            let Some(migration) = migrator.iter().find(|m| m.version == version) else {
                continue;
            };
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, 0) ON CONFLICT (version) DO NOTHING",
            )
            .bind(version)
            .bind(migration.description.as_ref())
            .bind(migration.checksum.as_ref())
            .execute(&mut *conn)
            .await?;
        }
        conn.execute("DROP TABLE invitd_migrations").await?;
        Ok::<_, StoreError>(true)
    }
    .await;
    match imported {
        Ok(bridged) => {
            conn.execute("COMMIT").await?;
            if bridged {
                tracing::info!("recorded the migrations applied by the former runner");
            }
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}
