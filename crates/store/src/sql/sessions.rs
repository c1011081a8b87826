//! Sessions of the admin console, kept by the hash of their id.

use super::SqlStore;
use super::rows::{self, ms};
use crate::{ConsoleSession, SessionStore, StoreError};
use invitd_core::SecretHash;
use sqlx::Row;
use time::OffsetDateTime;

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        id_hash: &SecretHash,
        key_hash: &SecretHash,
        now: OffsetDateTime,
        idle_since: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        // Sessions nobody used within the idle limit are gone for good.
        sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1")
            .bind(ms(idle_since))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, key_hash, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(id_hash.as_bytes().to_vec())
        .bind(key_hash.as_bytes().to_vec())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    async fn find_session(
        &self,
        id_hash: &SecretHash,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let row = sqlx::query(
            "SELECT key_hash, created_at, last_seen_at FROM console_sessions WHERE id_hash = $1",
        )
        .bind(id_hash.as_bytes().to_vec())
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key: Vec<u8> = row.try_get("key_hash")?;
        let key_hash = SecretHash::from_slice(&key)
            .ok_or_else(|| StoreError::corrupt("a session's key hash is not 32 bytes"))?;
        Ok(Some(ConsoleSession {
            key_hash,
            created_at: rows::time(&row, "created_at")?,
            last_seen_at: rows::time(&row, "last_seen_at")?,
        }))
    }

    async fn touch_session(
        &self,
        id_hash: &SecretHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(ms(now))
            .bind(id_hash.as_bytes().to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    async fn end_session(&self, id_hash: &SecretHash) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash.as_bytes().to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}
