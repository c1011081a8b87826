//! The installation as a whole: migrations, health and its secret.

use super::SqlStore;
use super::rows::ms;
use crate::{InstallationStore, StoreError};
use time::OffsetDateTime;

#[async_trait::async_trait]
impl InstallationStore for SqlStore {
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
