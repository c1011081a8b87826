//! Webhook endpoints, and the deliveries queued for them: leasing due
//! deliveries, recording attempts, disabling an endpoint that only fails.

use super::events::Subject;
use super::exec::{OnThread, ready};
use super::readers::FromCols;
use super::rows::{self, AnyQuery, Cols, ms};
use super::webhook_jobs::{claim_in, finish_in};
use super::{Dialect, SqlStore, test_event};
use crate::{
    Audit, QueuedTest, StoreError, WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome,
    WebhookStore,
};
use invitd_core::{EventType, Secret, TenantId};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// `,a,b,` for `[a, b]`, `,*,` for every type.
fn types_column(types: &[String]) -> String {
    if types.is_empty() { ",*,".into() } else { format!(",{},", types.join(",")) }
}

fn types_of(column: &str) -> Vec<String> {
    column.split(',').filter(|t| !t.is_empty() && *t != "*").map(str::to_string).collect()
}

pub(super) const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, secret, event_types, enabled, disabled_reason, failing_since, created_at, updated_at";

fn endpoint(row: &impl Cols) -> Result<WebhookEndpoint, StoreError> {
    let types: String = row.col("event_types")?;
    Ok(WebhookEndpoint {
        id: rows::uuid(row, "id")?,
        tenant_id: rows::tenant_id(row, "tenant_id")?,
        url: row.col("url")?,
        secret: Secret::new(row.col::<String>("secret")?),
        event_types: types_of(&types),
        enabled: row.col::<i64>("enabled")? == 1,
        disabled_reason: row.col("disabled_reason")?,
        failing_since: rows::opt_time(row, "failing_since")?,
        created_at: rows::time(row, "created_at")?,
        updated_at: rows::time(row, "updated_at")?,
    })
}

impl FromCols for WebhookEndpoint {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        endpoint(row)
    }
}

/// Binds an endpoint's changeable fields, in this order: url, secret,
/// event_types, enabled, disabled_reason, failing_since, updated_at.
fn bind_settings<'q>(q: AnyQuery<'q>, e: &'q WebhookEndpoint) -> AnyQuery<'q> {
    q.bind(&e.url)
        .bind(e.secret.expose())
        .bind(types_column(&e.event_types))
        .bind(i64::from(e.enabled))
        .bind(e.disabled_reason.as_deref())
        .bind(e.failing_since.map(ms))
        .bind(ms(e.updated_at))
}

/// An endpoint's events say what it sends where.
impl Subject for WebhookEndpoint {
    fn event_subject(&self) -> (&TenantId, serde_json::Value) {
        let data = serde_json::json!({"webhook_id": self.id, "url": self.url, "event_types": self.event_types, "enabled": self.enabled});
        (&self.tenant_id, data)
    }
}

#[async_trait::async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, e: &WebhookEndpoint, audit: &Audit) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let q = sqlx::query(
            "INSERT INTO webhook_endpoints (url, secret, event_types, enabled, disabled_reason, failing_since, updated_at, id, tenant_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        );
        bind_settings(q, e)
            .bind(rows::id(e.id))
            .bind(e.tenant_id.as_str())
            .bind(ms(e.created_at))
            .execute(&mut *tx)
            .await?;
        tx.commit_about(e, EventType::WebhookCreated, audit, e.created_at).await
    }

    async fn get_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<WebhookEndpoint, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2"
        );
        let row = rows::in_tenant(sqlx::AssertSqlSafe(sql), id, tenant)
            .fetch_optional(&self.reader)
            .await?;
        endpoint(&row.ok_or(StoreError::NotFound)?)
    }

    async fn list_webhooks(&self, tenant: &TenantId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(endpoint).collect()
    }

    async fn update_webhook(
        &self,
        e: &WebhookEndpoint,
        change: EventType,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let q = sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, secret = $2, event_types = $3, enabled = $4, disabled_reason = $5, failing_since = $6, updated_at = $7 WHERE id = $8 AND tenant_id = $9",
        );
        let done = bind_settings(q, e)
            .bind(rows::id(e.id))
            .bind(e.tenant_id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit_about(e, change, audit, e.updated_at).await
    }

    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let e = {
            let sql = format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2{}",
                self.dialect.for_update()
            );
            let row = rows::in_tenant(sqlx::AssertSqlSafe(sql), id, tenant)
                .fetch_optional(&mut *tx)
                .await?;
            endpoint(&row.ok_or(StoreError::NotFound)?)?
        };
        for sql in [
            "DELETE FROM webhook_attempts WHERE endpoint_id = $1",
            "DELETE FROM webhook_deliveries WHERE endpoint_id = $1",
            "DELETE FROM webhook_endpoints WHERE id = $1",
        ] {
            sqlx::query(sql).bind(rows::id(id)).execute(&mut *tx).await?;
        }
        tx.commit_about(&e, EventType::WebhookDeleted, audit, at).await
    }

    /// Leases due deliveries: for each endpoint, at most `per_endpoint`, and
    /// for each invitation only its oldest undelivered one, so an endpoint
    /// receives one invitation's events in order.
    async fn claim_webhooks(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
        per_endpoint: usize,
    ) -> Result<Vec<WebhookJob>, StoreError> {
        if let Some(writer) = self.thread_writer() {
            return writer
                .run(limit as usize, move |conn| {
                    ready(claim_in(
                        &mut OnThread(conn),
                        Dialect::Sqlite,
                        now,
                        lease,
                        limit,
                        per_endpoint,
                    ))
                })
                .await;
        }
        let mut tx = self.write().await?;
        let jobs = claim_in(&mut *tx, self.dialect, now, lease, limit, per_endpoint).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    /// Records an attempt and its consequences: the delivery's state, and
    /// the endpoint's health as `invitd_core::webhook::after_attempt`
    /// decides it (the failing streak; disabled after `disable_after` of
    /// nothing but failures).
    async fn finish_webhook(
        &self,
        job: &WebhookJob,
        attempt: &WebhookAttempt,
        outcome: &WebhookOutcome,
        disable_after: time::Duration,
    ) -> Result<(), StoreError> {
        if let Some(writer) = self.thread_writer() {
            // The delivery and its endpoint, not the event (the job's
            // largest part), go to the thread.
            let (id, endpoint) = (job.delivery_id, job.endpoint.clone());
            let (attempt, outcome) = (attempt.clone(), outcome.clone());
            return writer
                .run(1, move |conn| {
                    let (conn, about) = (&mut OnThread(conn), (id, &endpoint));
                    ready(finish_in(
                        conn,
                        Dialect::Sqlite,
                        about,
                        &attempt,
                        &outcome,
                        disable_after,
                    ))
                })
                .await;
        }
        let mut tx = self.write().await?;
        let about = (job.delivery_id, &job.endpoint);
        finish_in(&mut *tx, self.dialect, about, attempt, outcome, disable_after).await?;
        tx.commit().await
    }

    async fn list_invitation_webhook_deliveries(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<crate::InvitationWebhookDelivery>, StoreError> {
        super::invitation_webhooks::list(self, tenant, id).await
    }

    async fn queue_webhook_test(
        &self,
        endpoint: &WebhookEndpoint,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<QueuedTest, StoreError> {
        let mut tx = self.write().await?;
        let queued = test_event::queue_in(&mut *tx, self.dialect, endpoint, at, audit).await?;
        tx.commit().await?;
        Ok(queued)
    }

    async fn list_webhook_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<WebhookAttempt>, StoreError> {
        let rows = rows::in_tenant(
            "SELECT a.delivery_id, ev.id AS event_id, ev.type, a.attempted_at, a.status_code, a.duration_ms, a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN events ev ON ev.id = d.event_id JOIN webhook_endpoints w ON w.id = a.endpoint_id WHERE a.endpoint_id = $1 AND w.tenant_id = $2 ORDER BY a.id DESC LIMIT $3",
            id,
            tenant,
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                attempt(r, r.try_get("delivery_id")?, r.try_get("event_id")?, r.try_get("type")?)
            })
            .collect()
    }
}

/// An attempt from a row with its `attempted_at`, `status_code`,
/// `duration_ms` and `error` columns, of the delivery and event named.
pub(super) fn attempt(
    r: &sqlx::any::AnyRow,
    delivery_id: i64,
    event_id: i64,
    event_type: String,
) -> Result<WebhookAttempt, StoreError> {
    Ok(WebhookAttempt {
        delivery_id,
        event_id,
        event_type,
        attempted_at: rows::time(r, "attempted_at")?,
        status_code: r.try_get::<Option<i64>, _>("status_code")?.map(|c| c as u16),
        duration_ms: r.try_get::<Option<i64>, _>("duration_ms")?.unwrap_or(0).max(0) as u64,
        error: r.try_get("error")?,
    })
}
