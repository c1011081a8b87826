//! The installation as a whole: migrations, health, its secret, and what
//! is waiting (for metrics).

use super::rows::{self, ms};
use super::{Dialect, SqlStore};
use crate::{Backlog, InstallationStore, PoolStats, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

#[async_trait::async_trait]
impl InstallationStore for SqlStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations().await
    }

    async fn backlog(&self, now: OffsetDateTime) -> Result<Backlog, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1) AS emails, \
             (SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1) AS oldest_email, \
             (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1) AS hooks, \
             (SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1) AS oldest_hook, \
             (SELECT COUNT(*) FROM webhook_endpoints WHERE enabled = 0) AS disabled",
        )
        .bind(ms(now))
        .fetch_one(&self.reader)
        .await?;
        let count = |name: &str| -> Result<u64, StoreError> {
            Ok(row.try_get::<i64, _>(name)?.max(0) as u64)
        };
        let at = |name: &str| rows::opt_time(&row, name);
        Ok(Backlog {
            emails_due: count("emails")?,
            oldest_email_due_at: at("oldest_email")?,
            webhooks_due: count("hooks")?,
            oldest_webhook_due_at: at("oldest_hook")?,
            disabled_endpoints: count("disabled")?,
        })
    }

    fn pool_stats(&self) -> PoolStats {
        let (mut connections, mut idle) = (self.reader.size(), self.reader.num_idle() as u32);
        if self.dialect == Dialect::Sqlite {
            connections += self.writer.size();
            idle += self.writer.num_idle() as u32;
        }
        let writer = self.sqlite_writer.as_ref().map(|w| w.stats()).unwrap_or_default();
        PoolStats {
            connections,
            idle,
            writes_waiting: self.writes_waiting.load(std::sync::atomic::Ordering::Relaxed),
            writer_queue: writer.queued,
            writer_batches: writer.batches,
            writer_jobs: writer.jobs,
        }
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
    /// Readiness: a real write (the one row of `readiness` updated and
    /// committed), so a full disk, a read-only file or a held lock show.
    async fn probe_write(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE readiness SET probed_at = $1 WHERE id = 1")
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    async fn installation_secret(&self, candidate: &str) -> Result<String, StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO installation (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate)
        .execute(&mut *tx)
        .await?;
        let (secret,): (String,) = sqlx::query_as("SELECT secret FROM installation WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(secret)
    }
}
