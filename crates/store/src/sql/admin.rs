//! Tenants, roles and API keys , and the audit-event writer that
//! every write shares.

use super::rows::{self, ms, to_json};
use super::{SqlStore, conflict_on_unique};
use crate::{ApiKey, Audit, Role, StoreError, Tenant};
use invitd_core::{SecretHash, TenantId};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Appends one audit event (not about an invitation).
pub(super) async fn insert_event(
    conn: &mut AnyConnection,
    tenant: Option<&TenantId>,
    invitation_number: Option<i64>,
    event_type: &str,
    audit: &Audit,
    at: OffsetDateTime,
    data: &serde_json::Value,
) -> Result<(), StoreError> {
    insert_event_returning(
        conn,
        tenant,
        invitation_number,
        event_type,
        audit,
        at,
        data,
        None,
    )
    .await?;
    Ok(())
}

/// Appends one audit event; its id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_event_returning(
    conn: &mut AnyConnection,
    tenant: Option<&TenantId>,
    invitation_number: Option<i64>,
    event_type: &str,
    audit: &Audit,
    at: OffsetDateTime,
    data: &serde_json::Value,
    snapshot: Option<&str>,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO events (tenant_id, invitation_number, type, actor, ip, user_agent, at, data, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tenant.map(TenantId::as_str))
    .bind(invitation_number)
    .bind(event_type)
    .bind(to_json(&audit.actor))
    .bind(audit.ip.as_deref())
    .bind(audit.user_agent.as_deref())
    .bind(ms(at))
    .bind(to_json(data))
    .bind(snapshot)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

fn tenant_settings(t: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "name": t.name,
        "language": t.language.as_ref().map(|l| l.as_str()),
        "lifetime_days": t.lifetime_days,
        "resend_cooldown_secs": t.resend_cooldown_secs,
        "max_resends": t.max_resends,
        "resend_window_secs": t.resend_window_secs,
        "accept_redirect_url": t.accept_redirect_url,
    })
}

impl SqlStore {
    pub(super) async fn create_tenant_impl(
        &self,
        t: &Tenant,
        roles: &[Role],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO tenants (id, name, language, lifetime_days, resend_cooldown_secs, max_resends, resend_window_secs, accept_redirect_url, created_at, updated_at, logo_url, accent_color, ticket_secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(t.id.as_str())
        .bind(&t.name)
        .bind(t.language.as_ref().map(|l| l.as_str()))
        .bind(t.lifetime_days)
        .bind(t.resend_cooldown_secs)
        .bind(t.max_resends as i64)
        .bind(t.resend_window_secs)
        .bind(t.accept_redirect_url.as_deref())
        .bind(ms(t.created_at))
        .bind(ms(t.updated_at))
        .bind(t.logo_url.as_deref())
        .bind(t.accent_color.as_deref())
        .bind(t.ticket_secret.as_ref().map(|s| s.expose()))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, "a tenant with this id exists"))?;
        for role in roles {
            insert_role(&mut tx, &t.id, role).await?;
        }
        insert_event(
            &mut tx,
            Some(&t.id),
            None,
            "tenant.created",
            audit,
            t.created_at,
            &tenant_settings(t),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn get_tenant_impl(&self, id: &TenantId) -> Result<Tenant, StoreError> {
        let sql = format!("SELECT {} FROM tenants WHERE id = $1", rows::TENANT_COLUMNS);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound)?;
        rows::tenant(&row)
    }

    pub(super) async fn list_tenants_impl(&self) -> Result<Vec<Tenant>, StoreError> {
        let sql = format!("SELECT {} FROM tenants ORDER BY id", rows::TENANT_COLUMNS);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::tenant).collect()
    }

    pub(super) async fn update_tenant_impl(
        &self,
        t: &Tenant,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE tenants SET name = $1, language = $2, lifetime_days = $3, resend_cooldown_secs = $4, max_resends = $5, resend_window_secs = $6, accept_redirect_url = $7, updated_at = $8, logo_url = $10, accent_color = $11, ticket_secret = $12 WHERE id = $9",
        )
        .bind(&t.name)
        .bind(t.language.as_ref().map(|l| l.as_str()))
        .bind(t.lifetime_days)
        .bind(t.resend_cooldown_secs)
        .bind(t.max_resends as i64)
        .bind(t.resend_window_secs)
        .bind(t.accept_redirect_url.as_deref())
        .bind(ms(t.updated_at))
        .bind(t.id.as_str())
        .bind(t.logo_url.as_deref())
        .bind(t.accent_color.as_deref())
        .bind(t.ticket_secret.as_ref().map(|s| s.expose()))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        insert_event(
            &mut tx,
            Some(&t.id),
            None,
            "tenant.updated",
            audit,
            t.updated_at,
            &tenant_settings(t),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn installation_secret_impl(
        &self,
        candidate: &str,
    ) -> Result<String, StoreError> {
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

    pub(super) async fn list_roles_impl(&self, tenant: &TenantId) -> Result<Vec<Role>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, name, rank FROM roles WHERE tenant_id = $1 ORDER BY rank, id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(id, name, rank)| {
                Ok(Role {
                    id: invitd_core::RoleId::parse(id).map_err(StoreError::corrupt)?,
                    name,
                    rank: rank as i32,
                })
            })
            .collect()
    }

    pub(super) async fn create_role_impl(
        &self,
        tenant: &TenantId,
        role: &Role,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let exists: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        insert_role(&mut tx, tenant, role).await?;
        let data =
            serde_json::json!({"role": role.id.as_str(), "name": role.name, "rank": role.rank});
        insert_event(
            &mut tx,
            Some(tenant),
            None,
            "role.created",
            audit,
            at,
            &data,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_api_key_impl(
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
        insert_event(
            &mut tx,
            None,
            None,
            "api_key.created",
            audit,
            key.created_at,
            &data,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn find_api_key_impl(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<ApiKey>, StoreError> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL",
            rows::KEY_COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash.as_bytes())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    pub(super) async fn list_api_keys_impl(&self) -> Result<Vec<ApiKey>, StoreError> {
        let sql = format!(
            "SELECT {} FROM api_keys ORDER BY created_at, id",
            rows::KEY_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(rows::api_key).collect()
    }

    pub(super) async fn revoke_api_key_impl(
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
            &mut tx,
            None,
            None,
            "api_key.revoked",
            audit,
            now,
            &serde_json::json!({"key_id": id, "name": key.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }
}

async fn insert_role(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    role: &Role,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO roles (tenant_id, id, name, rank) VALUES ($1, $2, $3, $4)")
        .bind(tenant.as_str())
        .bind(role.id.as_str())
        .bind(&role.name)
        .bind(role.rank)
        .execute(conn)
        .await
        .map_err(|e| conflict_on_unique(e, "a role with this id exists"))?;
    Ok(())
}
