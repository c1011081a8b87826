//! Schema migrations: the SQL files under `migrations/`, one folder per
//! database, built into the binary and applied in order when the store
//! opens.
//!
//! Both databases keep the same record, the table `_sqlx_migrations`: one
//! row per applied file with its version, its description (from the file
//! name), whether it succeeded, the SHA-384 of its text and how long it
//! took. The start stops when a file was changed after it was applied,
//! when a row says a migration failed, or when a row names a version this
//! build has no file for.
//!
//! - SQLite runs its migrations here, on a rusqlite connection of its own,
//!   without sqlx. Each file runs in its own `BEGIN IMMEDIATE` transaction
//!   together with its row. Once the write lock is held, the record is read
//!   again, so when several processes open a new file at once, each file
//!   still runs once and the others skip it. The rows are the ones sqlx's
//!   migrator wrote (same table, columns, descriptions and checksums),
//!   because earlier invitd versions migrated SQLite with sqlx: their
//!   databases are carried on as they are, nothing runs twice.
//! - PostgreSQL runs sqlx's migrator. It holds an advisory lock, so of
//!   several processes starting at once one migrates and the others wait.
//!
//! Databases made by invitd's first runner (table `invitd_migrations`) are
//! bridged once, on either database: their versions are recorded in
//! `_sqlx_migrations` with the checksums of the same files, and the old
//! table is dropped.

use super::conn::from_rusqlite;
use super::{Db, SqlStore};
use crate::StoreError;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha384};
use sqlx::migrate::{Migrate, Migration, MigrationType, Migrator};
use sqlx::{Executor, Row, SqlSafeStr};
use std::borrow::Cow;
use std::time::{Duration, Instant};

use sqlx::PgConnection;

/// (version, file name without `.sql`, SQL) of each migration, in order.
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
    12 "0012_idempotency_body_encoding",
);

/// A migration's description, made from its file name the way sqlx does
/// it: what follows the first `_`, with every `_` turned into a space
/// (`0002_delivery_attempts` gives `delivery attempts`).
fn description(name: &str) -> String {
    name.split_once('_').map_or(name, |(_, rest)| rest).replace('_', " ")
}

/// A migration's checksum, computed the way sqlx does it: SHA-384 of the
/// file's text, byte for byte.
fn checksum(sql: &str) -> Vec<u8> {
    Sha384::digest(sql.as_bytes()).to_vec()
}

impl SqlStore {
    pub(super) async fn run_migrations(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(lite) => {
                let path = lite.path.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = rusqlite::Connection::open(&path).map_err(from_rusqlite)?;
                    migrate_sqlite(&mut conn)
                })
                .await
                .map_err(|e| StoreError::MigrateSqlite(format!("the migrations stopped: {e}")))?
            }
            Db::Postgres(pg) => {
                let mut conn = pg.pool.acquire().await?;
                let result = migrate_postgres(&mut conn).await;
                if result.is_err() {
                    // A failed migration may leave its connection inside a
                    // transaction: close it rather than hand it back to the
                    // pool.
                    // (sqlx's `close_hard` of a detached connection did not
                    // return here.)
                    conn.close_on_drop();
                }
                result
            }
        }
    }
}

/// How long a SQLite migration waits for another connection's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The record of applied migrations, as sqlx's migrator creates it.
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// One row of `_sqlx_migrations`, the columns the checks need.
struct Applied {
    version: i64,
    success: bool,
    checksum: Vec<u8>,
}

/// Brings a SQLite database up to date: bridges the first runner's record
/// if there is one, then applies every file not yet recorded, each in its
/// own `BEGIN IMMEDIATE` transaction together with its row.
pub(super) fn migrate_sqlite(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    conn.busy_timeout(SQLITE_BUSY_TIMEOUT).map_err(from_rusqlite)?;
    // As on the store's other connections, and as when sqlx ran these.
    conn.execute_batch("PRAGMA foreign_keys = ON").map_err(from_rusqlite)?;
    bridge_old_runner_sqlite(conn)?;
    conn.execute_batch(SQLITE_TABLE).map_err(from_rusqlite)?;
    // Read without the write lock: on most starts everything is applied
    // already and no lock is needed.
    let applied = applied_sqlite(conn)?;
    check_applied(&applied, SQLITE)?;
    for &(version, name, sql) in SQLITE {
        if applied.iter().any(|a| a.version == version) {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(from_rusqlite)?;
        // Another process may have applied it while this one waited for the
        // lock. Dropping `tx` rolls back the empty transaction.
        let now_applied = applied_sqlite(&tx)?;
        check_applied(&now_applied, SQLITE)?;
        if now_applied.iter().any(|a| a.version == version) {
            continue;
        }
        let started = Instant::now();
        tx.execute_batch(sql).map_err(|e| {
            StoreError::MigrateSqlite(format!(
                "while applying migration {version} ({}): {e}",
                description(name)
            ))
        })?;
        // Nanoseconds, as sqlx records them.
        let took = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?1, ?2, TRUE, ?3, ?4)",
            params![version, description(name), checksum(sql), took],
        )
        .map_err(from_rusqlite)?;
        tx.commit().map_err(from_rusqlite)?;
        tracing::info!(version, description = %description(name), "applied migration");
    }
    Ok(())
}

/// Every row of `_sqlx_migrations`, by version.
fn applied_sqlite(conn: &rusqlite::Connection) -> Result<Vec<Applied>, StoreError> {
    let mut statement = conn
        .prepare("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
        .map_err(from_rusqlite)?;
    let rows = statement
        .query_map([], |row| {
            Ok(Applied { version: row.get(0)?, success: row.get(1)?, checksum: row.get(2)? })
        })
        .map_err(from_rusqlite)?;
    rows.collect::<Result<_, _>>().map_err(from_rusqlite)
}

/// Refuses a record this build cannot carry on from, with the checks sqlx
/// makes, in its order: a migration marked as failed, then a version with
/// no file, then a file changed since it was applied.
fn check_applied(applied: &[Applied], files: Files) -> Result<(), StoreError> {
    if let Some(failed) = applied.iter().find(|a| !a.success) {
        return Err(StoreError::MigrateSqlite(format!(
            "migration {} is recorded as failed (success = false in `_sqlx_migrations`); \
             repair the database by hand, then delete that row",
            failed.version
        )));
    }
    if let Some(unknown) = applied.iter().find(|a| !files.iter().any(|(v, ..)| *v == a.version)) {
        return Err(StoreError::MigrateSqlite(format!(
            "migration {} was previously applied but is missing from this build \
             (was the database migrated by a newer invitd?)",
            unknown.version
        )));
    }
    for &(version, name, sql) in files {
        if applied.iter().any(|a| a.version == version && a.checksum != checksum(sql)) {
            return Err(StoreError::MigrateSqlite(format!(
                "migration {version} ({}) was previously applied but has been modified",
                description(name)
            )));
        }
    }
    Ok(())
}

/// Whether the first runner's table is there.
fn has_old_table_sqlite(conn: &rusqlite::Connection) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'invitd_migrations'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(from_rusqlite)
}

/// Records the versions the first runner applied, once, in one
/// transaction, and drops its table.
fn bridge_old_runner_sqlite(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    if !has_old_table_sqlite(conn)? {
        return Ok(());
    }
    let tx =
        conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_rusqlite)?;
    // Another process may have bridged it while this one waited.
    if !has_old_table_sqlite(&tx)? {
        return Ok(());
    }
    tx.execute_batch(SQLITE_TABLE).map_err(from_rusqlite)?;
    let versions: Vec<i64> = {
        let mut statement =
            tx.prepare("SELECT version FROM invitd_migrations").map_err(from_rusqlite)?;
        let rows = statement.query_map([], |row| row.get(0)).map_err(from_rusqlite)?;
        rows.collect::<Result<_, _>>().map_err(from_rusqlite)?
    };
    for version in versions {
        let Some(&(_, name, sql)) = SQLITE.iter().find(|(v, ..)| *v == version) else {
            continue;
        };
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?1, ?2, TRUE, ?3, 0) ON CONFLICT (version) DO NOTHING",
            params![version, description(name), checksum(sql)],
        )
        .map_err(from_rusqlite)?;
    }
    tx.execute_batch("DROP TABLE invitd_migrations").map_err(from_rusqlite)?;
    tx.commit().map_err(from_rusqlite)?;
    tracing::info!("recorded the migrations applied by the former runner");
    Ok(())
}

/// sqlx's migrator over the PostgreSQL files.
fn postgres_migrator() -> Migrator {
    Migrator::with_migrations(
        POSTGRES
            .iter()
            .map(|&(version, name, sql)| {
                Migration::new(
                    version,
                    Cow::Owned(description(name)),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Brings a PostgreSQL database up to date with sqlx's migrator, after
/// bridging the first runner's record if there is one.
async fn migrate_postgres(conn: &mut PgConnection) -> Result<(), StoreError> {
    let migrator = postgres_migrator();
    bridge_old_runner_postgres(conn, &migrator).await?;
    // `run_direct` is `run` without its `Acquire` bound, which async trait
    // methods cannot prove.
    migrator.run_direct(None, conn, false).await?;
    Ok(())
}

/// Records the versions the first runner applied, once, in one
/// transaction, and drops its table.
async fn bridge_old_runner_postgres(
    conn: &mut PgConnection,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    conn.execute("BEGIN").await?;
    let imported = async {
        // Processes starting at once bridge one after the other.
        conn.execute("SELECT pg_advisory_xact_lock(7386152093)").await?;
        let old_table = "SELECT 1 FROM information_schema.tables WHERE table_name = 'invitd_migrations' AND table_schema = current_schema()";
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::path::Path;

    /// The embedded files, as sqlx itself reads them from a folder.
    async fn resolved_by_sqlx(folder: &str) -> Vec<Migration> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
        Migrator::new(path.as_path()).await.unwrap().iter().cloned().collect()
    }

    /// The SQLite rows must be the ones sqlx's migrator wrote, or the
    /// databases it migrated would be refused as modified.
    #[tokio::test]
    async fn sqlite_records_match_sqlx() {
        let sqlx = resolved_by_sqlx("sqlite").await;
        assert_eq!(sqlx.len(), SQLITE.len(), "every file in migrations/sqlite is listed");
        for (theirs, &(version, name, sql)) in sqlx.iter().zip(SQLITE) {
            assert_eq!(theirs.version, version, "{name}");
            assert_eq!(theirs.description, description(name), "{name}");
            assert_eq!(theirs.checksum.as_ref(), checksum(sql).as_slice(), "{name}");
            assert!(!theirs.no_tx, "{name}: every file runs inside a transaction");
        }
    }

    #[tokio::test]
    async fn postgres_migrator_matches_sqlx() {
        let sqlx = resolved_by_sqlx("postgres").await;
        let ours = postgres_migrator();
        assert_eq!(sqlx.len(), ours.iter().len(), "every file in migrations/postgres is listed");
        for (theirs, ours) in sqlx.iter().zip(ours.iter()) {
            assert_eq!(theirs.version, ours.version);
            assert_eq!(theirs.description, ours.description);
            assert_eq!(theirs.checksum, ours.checksum);
        }
    }
}
