//! API keys, stored by the hash of their secret.

use super::args::Arg;
use super::events::{NewEvent, insert_event};
use super::rows::{self, ms, to_json};
use super::{SqlStore, conflict_on_unique};
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
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, name, secret_hash, hint, scopes, tenants, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(rows::id(key.id))
        .bind(&key.name)
        .bind(hash.as_bytes())
        .bind(&key.hint)
        .bind(to_json(&key.scopes))
        .bind(key.tenants.as_ref().map(to_json))
        .bind(ms(key.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, "key exists"))?;
        let data = serde_json::json!({"key_id": key.id, "name": key.name, "scopes": key.scopes, "tenants": key.tenants});
        tx.commit_with(NewEvent::admin(
            None,
            EventType::ApiKeyCreated,
            audit,
            key.created_at,
            &data,
        ))
        .await
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.reader).await?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        audit: &Audit,
    ) -> Result<ApiKey, StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(ms(now))
            .bind(rows::id(id))
            .execute(&mut *tx)
            .await?;
        let sql = format!("SELECT {} FROM api_keys WHERE id = $1", rows::KEY_COLUMNS);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows::id(id))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let key = rows::api_key(&row)?;
        insert_event(
            &mut *tx,
            NewEvent::admin(
                None,
                EventType::ApiKeyRevoked,
                audit,
                now,
                &serde_json::json!({"key_id": id, "name": key.name}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }
}
