//! API keys, stored by the hash of their secret.

use super::SqlStore;
use super::conn::Arg;
use super::events::{NewEvent, insert_event};
use super::rows::{self, ms, to_json};
use super::tx::write;
use crate::{ApiKey, Audit, KeyStore, StoreError};
use invitd_core::{EventType, SecretHash};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait::async_trait]
impl KeyStore for SqlStore {
    async fn create_api_key(
        &self,
        key: &ApiKey,
        hash: &SecretHash,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let args = vec![
            Arg::blob(rows::id(key.id)),
            Arg::text(&key.name),
            Arg::blob(hash.as_bytes()),
            Arg::text(&key.hint),
            Arg::text(to_json(&key.scopes)),
            Arg::Text(key.tenants.as_ref().map(to_json)),
            Arg::int(ms(key.created_at)),
        ];
        let data = serde_json::json!({"key_id": key.id, "name": key.name, "scopes": key.scopes, "tenants": key.tenants});
        let (audit, at) = (audit.clone(), key.created_at);
        write!(self, 2, |conn| {
            let sql = "INSERT INTO api_keys (id, name, secret_hash, hint, scopes, tenants, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
            conn.execute(sql, &args).await.map_err(|e| e.conflict_as("key exists"))?;
            let event = NewEvent::admin(None, EventType::ApiKeyCreated, &audit, at, &data);
            insert_event(conn, event).await.map(drop)
        })
    }

    async fn find_api_key(&self, hash: &SecretHash) -> Result<Option<ApiKey>, StoreError> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL",
            rows::KEY_COLUMNS
        );
        self.read_opt(&sql, &[Arg::blob(hash.as_bytes())]).await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let sql = format!("SELECT {} FROM api_keys ORDER BY created_at, id", rows::KEY_COLUMNS);
        self.read_all(&sql, &[]).await
    }

    async fn revoke_api_key(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<ApiKey, StoreError> {
        let audit = audit.clone();
        write!(self, 2, |conn| {
            let revoke = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2";
            conn.execute(revoke, &[Arg::int(ms(now)), Arg::blob(rows::id(id))]).await?;
            let sql = format!("SELECT {} FROM api_keys WHERE id = $1", rows::KEY_COLUMNS);
            let key: ApiKey =
                conn.first(&sql, &[Arg::blob(rows::id(id))]).await?.ok_or(StoreError::NotFound)?;
            let data = serde_json::json!({"key_id": id, "name": key.name});
            let event = NewEvent::admin(None, EventType::ApiKeyRevoked, &audit, now, &data);
            insert_event(conn, event).await?;
            Ok(key)
        })
    }
}
