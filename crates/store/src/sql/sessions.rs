//! Sessions of the admin console, kept by the hash of their id.

use super::SqlStore;
use super::conn::{Arg, Cols, FromCols};
use super::rows;
use super::rows::ms;
use super::tx::write;
use crate::{ConsoleSession, SessionStore, StoreError};
use invitd_core::SecretHash;
use time::OffsetDateTime;

impl FromCols for ConsoleSession {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        let key: Vec<u8> = row.col("key_hash")?;
        let key_hash = SecretHash::from_slice(&key)
            .ok_or_else(|| StoreError::corrupt("a session's key hash is not 32 bytes"))?;
        Ok(ConsoleSession {
            key_hash,
            created_at: rows::time(row, "created_at")?,
            last_seen_at: rows::time(row, "last_seen_at")?,
        })
    }
}

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        id_hash: &SecretHash,
        key_hash: &SecretHash,
        now: OffsetDateTime,
        idle_since: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let session =
            [Arg::blob(id_hash.as_bytes()), Arg::blob(key_hash.as_bytes()), Arg::int(ms(now))];
        write!(self, 2, |conn| {
            // Sessions nobody used within the idle limit are gone for good.
            let sweep = "DELETE FROM console_sessions WHERE last_seen_at < $1";
            conn.execute(sweep, &[Arg::int(ms(idle_since))]).await?;
            let sql = "INSERT INTO console_sessions (id_hash, key_hash, created_at, last_seen_at) VALUES ($1, $2, $3, $3)";
            conn.execute(sql, &session).await.map(drop)
        })
    }

    async fn find_session(
        &self,
        id_hash: &SecretHash,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let sql =
            "SELECT key_hash, created_at, last_seen_at FROM console_sessions WHERE id_hash = $1";
        self.read_opt(sql, &[Arg::blob(id_hash.as_bytes())]).await
    }

    async fn touch_session(
        &self,
        id_hash: &SecretHash,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let args = [Arg::int(ms(now)), Arg::blob(id_hash.as_bytes())];
        write!(self, 1, |conn| {
            let sql = "UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2";
            conn.execute(sql, &args).await.map(drop)
        })
    }

    async fn end_session(&self, id_hash: &SecretHash) -> Result<(), StoreError> {
        let args = [Arg::blob(id_hash.as_bytes())];
        write!(self, 1, |conn| {
            conn.execute("DELETE FROM console_sessions WHERE id_hash = $1", &args).await.map(drop)
        })
    }
}
