//! The one SQL store, for SQLite and PostgreSQL alike: the same queries
//! (numbered `$N` parameters) on each database's own driver, with the few
//! differences spelled out in [`Dialect`]. `conn.rs` is the only file that
//! speaks to a driver.
//!
//! SQLite runs on rusqlite alone: every write on the writer thread
//! (`writer.rs`: group commit, and a session per unit of work), every read
//! on a small pool of read-only connections (`readers.rs`; WAL mode, so a
//! read never waits for the writer). PostgreSQL runs on sqlx's PostgreSQL
//! driver, one pool for both, and rows a write depends on are locked with
//! `FOR UPDATE`, so the rules hold across processes. Which road a write
//! takes is decided in one place (`tx.rs`).

mod by_address;
mod checkpoint;
mod conn;
mod counts;
mod events;
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
mod webhook_rows;
mod webhooks;
mod writer;

pub use conn::Dialect;

use crate::{OpenOptions, StoreError};
use sqlx::Executor;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use std::time::Duration;

pub struct SqlStore {
    db: Db,
}

/// The connections of one database.
enum Db {
    Sqlite(Lite),
    Postgres(Pg),
}

/// PostgreSQL: one pool, and the turns for write transactions. Writes
/// wait for a turn (in the order they asked) rather than for a
/// connection, so a burst of bulk calls queues in the process instead of
/// failing on the pool's acquire timeout, and a few connections stay free
/// for reads.
struct Pg {
    pool: PgPool,
    writes: std::sync::Arc<tokio::sync::Semaphore>,
    /// Writes waiting for a turn now, for metrics.
    waiting: std::sync::atomic::AtomicU64,
}

/// Connections of the PostgreSQL pool kept out of write transactions.
const PG_READ_RESERVE: u32 = 2;

/// SQLite: the writer thread for every write, read-only connections for
/// every read.
struct Lite {
    path: String,
    writer: writer::Writer,
    readers: std::sync::Arc<readers::Readers>,
    _checkpoints: checkpoint::Checkpointer,
}

/// SQLite settings applied to every connection.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000;";

impl SqlStore {
    /// Which database this is.
    fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Opens the database at `url` (`sqlite://…`, created if missing, or
    /// `postgres://…`).
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
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
        let pragmas = format!(
            "{SQLITE_PRAGMAS} PRAGMA wal_autocheckpoint = {};",
            checkpoint::WRITER_BACKSTOP
        );
        let writer = writer::Writer::start(&path, &pragmas, options.unit_bound)?;
        let readers =
            std::sync::Arc::new(readers::Readers::new(&path, options.read_connections as usize));
        let _checkpoints = checkpoint::Checkpointer::start(&path)?;
        Ok(Self { db: Db::Sqlite(Lite { path, writer, readers, _checkpoints }) })
    }

    async fn open_postgres(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        // One connection first, so an unreachable server, a refused login or
        // a missing database is reported as such, not as a pool timeout.
        let probe = tokio::time::timeout(
            Duration::from_secs(10),
            <PgConnection as sqlx::Connection>::connect(url),
        )
        .await
        .map_err(|_| {
            StoreError::Config("no answer from the database server within 10 s".into())
        })??;
        sqlx::Connection::close(probe).await?;
        let timeout_ms = options.statement_timeout.as_millis();
        let pool = PgPoolOptions::new()
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
        let turns = options.pool_size.saturating_sub(PG_READ_RESERVE).max(1) as usize;
        let writes = std::sync::Arc::new(tokio::sync::Semaphore::new(turns));
        let pg = Pg { pool, writes, waiting: Default::default() };
        Ok(Self { db: Db::Postgres(pg) })
    }
}
