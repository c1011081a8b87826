//! The installation as a whole: migrations, health, its secret, and what
//! is waiting (for metrics).

use super::conn::{Arg, Cols, FromCols, Number};
use super::rows::{self, ms};
use super::tx::write;
use super::{Db, SqlStore};
use crate::{Backlog, InstallationStore, PoolStats, StoreError};
use time::OffsetDateTime;

impl FromCols for Backlog {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        let count =
            |name: &str| -> Result<u64, StoreError> { Ok(row.col::<i64>(name)?.max(0) as u64) };
        Ok(Backlog {
            emails_due: count("emails")?,
            oldest_email_due_at: rows::opt_time(row, "oldest_email")?,
            webhooks_due: count("hooks")?,
            oldest_webhook_due_at: rows::opt_time(row, "oldest_hook")?,
            disabled_endpoints: count("disabled")?,
        })
    }
}

/// The one text column of `installation_secret`'s read.
struct Text(String);

impl FromCols for Text {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        row.col_at(0).map(Text)
    }
}

#[async_trait::async_trait]
impl InstallationStore for SqlStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations().await
    }

    async fn backlog(&self, now: OffsetDateTime) -> Result<Backlog, StoreError> {
        let sql = "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1) AS emails, \
             (SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1) AS oldest_email, \
             (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1) AS hooks, \
             (SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1) AS oldest_hook, \
             (SELECT COUNT(*) FROM webhook_endpoints WHERE enabled = 0) AS disabled";
        self.read_opt(sql, &[Arg::int(ms(now))])
            .await?
            .ok_or_else(|| StoreError::corrupt("the backlog query returned no row"))
    }

    /// The connections that serve traffic: on SQLite the readers and the
    /// writer thread's one, on PostgreSQL the pool's.
    fn pool_stats(&self) -> PoolStats {
        match &self.db {
            Db::Sqlite(lite) => {
                let writer = lite.writer.stats();
                let (open, idle) = lite.readers.counts();
                PoolStats {
                    connections: open as u32 + 1,
                    idle: idle as u32,
                    writes_waiting: writer.queued,
                    writer_queue: writer.queued,
                    writer_batches: writer.batches + writer.sessions,
                    writer_jobs: writer.jobs,
                }
            }
            Db::Postgres(pg) => PoolStats {
                connections: pg.pool.size(),
                idle: pg.pool.num_idle() as u32,
                writes_waiting: pg.waiting(),
                writer_queue: 0,
                writer_batches: 0,
                writer_jobs: 0,
            },
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Bounded, so a readiness probe answers while the database is away.
        let read = self.read_opt::<Number>("SELECT 1", &[]);
        match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
            Ok(result) => result.map(drop),
            Err(_) => Err(StoreError::Unavailable("no answer to a read within 3 s".into())),
        }
    }

    /// Readiness: a real write (the one row of `readiness` updated and
    /// committed), so a full disk, a read-only file or a held lock show.
    async fn probe_write(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        write!(self, 1, |conn| {
            let sql = "UPDATE readiness SET probed_at = $1 WHERE id = 1";
            conn.execute(sql, &[Arg::int(ms(now))]).await.map(drop)
        })
    }

    async fn installation_secret(&self, candidate: &str) -> Result<String, StoreError> {
        let candidate = [Arg::text(candidate)];
        write!(self, 1, |conn| {
            let keep =
                "INSERT INTO installation (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";
            conn.execute(keep, &candidate).await?;
            let read = "SELECT secret FROM installation WHERE id = 1";
            let Text(secret) = conn
                .first(read, &[])
                .await?
                .ok_or_else(|| StoreError::corrupt("the installation secret is missing"))?;
            Ok(secret)
        })
    }
}
