//! The one SQL store, for SQLite and PostgreSQL alike: the same queries
//! (numbered `$N` parameters, which both accept) through sqlx's `Any`
//! driver, with the few differences spelled out in [`Dialect`].
//!
//! On SQLite every write goes through one writer connection with
//! `BEGIN IMMEDIATE` (SQLite allows one writer at a time; queuing in-process
//! is cheaper than busy-waiting on the file lock), reads through a pool in
//! WAL mode. The hottest write, creating invitations outside an idempotent
//! request, runs on a writer thread of its own with group commit
//! (`writer.rs`), with the same statements and arguments (`args.rs`). On PostgreSQL one pool serves both, and rows a write depends on
//! are locked with `FOR UPDATE`, so the rules hold across processes.

mod args;
mod by_address;
mod counts;
mod events;
mod exec;
mod expiry;
mod idempotency;
mod installation;
mod invitation_webhooks;
mod invitations;
mod keys;
mod migrate;
mod outbox;
mod quota;
mod readers;
mod rows;
mod sessions;
mod statements;
mod tenants;
mod test_event;
pub(crate) mod tx;
mod webhook_jobs;
mod webhooks;
mod writer;

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
    /// Writes waiting to begin, for metrics.
    writes_waiting: std::sync::atomic::AtomicU64,
    /// SQLite: the thread that runs the hot writes with group commit.
    sqlite_writer: Option<writer::Writer>,
    /// SQLite: connections for the reads on every request's path.
    sqlite_readers: Option<readers::Readers>,
    /// SQLite: whose turn it is to write, the sqlx writer's or the thread's.
    write_turn: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// SQLite: the file, which the migrations open on their own connection.
    sqlite_path: Option<String>,
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
        // `then` follows the common settings: the sqlx readers serve only
        // the reads off every request's path (see `readers.rs`), so they
        // keep a small page cache; the writers keep a large one.
        let with_pragmas = |pool: AnyPoolOptions, then: &'static str| {
            pool.after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    if !then.is_empty() {
                        conn.execute(then).await?;
                    }
                    Ok(())
                })
            })
        };
        let writer = with_pragmas(AnyPoolOptions::new().max_connections(1).min_connections(1), "")
            .acquire_timeout(Duration::from_secs(30))
            .connect(&format!("sqlite://{path}?mode=rwc"))
            .await?;
        let reader = with_pragmas(
            AnyPoolOptions::new().max_connections(options.read_connections.max(1)),
            "PRAGMA cache_size = -2000;",
        )
        .acquire_timeout(Duration::from_secs(30))
        .connect(&format!("sqlite://{path}?mode=ro"))
        .await?;
        let write_turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
        let sqlite_writer = Some(writer::Writer::start(&path, SQLITE_PRAGMAS, write_turn.clone())?);
        Ok(Self {
            writer,
            reader,
            dialect: Dialect::Sqlite,
            writes_waiting: Default::default(),
            sqlite_writer,
            sqlite_readers: Some(readers::Readers::new(&path, options.read_connections as usize)),
            write_turn: Some(write_turn),
            sqlite_path: Some(path),
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
            writes_waiting: Default::default(),
            sqlite_writer: None,
            sqlite_readers: None,
            write_turn: None,
            sqlite_path: None,
        })
    }
}

impl SqlStore {
    /// The SQLite writer thread, for a write that does not belong to an
    /// idempotent unit (whose writes share the unit's sqlx transaction).
    fn thread_writer(&self) -> Option<&writer::Writer> {
        self.sqlite_writer.as_ref().filter(|_| !tx::in_unit())
    }

    /// Claims for `tx` the due rows that `select` finds (its `$1` is `now`,
    /// its `$2` the most rows to take), passing over rows another process
    /// has locked and locking the rest (PostgreSQL; on SQLite the write
    /// lock covers them).
    async fn claim_due(
        &self,
        tx: &mut sqlx::AnyConnection,
        select: &str,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let sql = format!("{select}{}", self.dialect.skip_locked());
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows::ms(now))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .await?;
        Ok(rows)
    }
}

/// Maps a unique-constraint violation to `Conflict`, anything else through.
fn conflict_on_unique(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => e.into(),
    }
}
