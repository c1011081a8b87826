//! Webhook endpoints, and the deliveries queued for them: leasing due
//! deliveries, recording attempts, disabling an endpoint that only fails.

use super::SqlStore;
use super::events::{NewEvent, Subject, insert_event};
use super::rows::{self, AnyQuery, ms};
use crate::{
    Audit, StoreError, WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome, WebhookStore,
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

const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, secret, event_types, enabled, disabled_reason, failing_since, created_at, updated_at";

fn endpoint(row: &sqlx::any::AnyRow) -> Result<WebhookEndpoint, StoreError> {
    let types: String = row.try_get("event_types")?;
    Ok(WebhookEndpoint {
        id: rows::uuid(row, "id")?,
        tenant_id: rows::tenant_id(row, "tenant_id")?,
        url: row.try_get("url")?,
        secret: Secret::new(row.try_get::<String, _>("secret")?),
        event_types: types_of(&types),
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        disabled_reason: row.try_get("disabled_reason")?,
        failing_since: rows::opt_time(row, "failing_since")?,
        created_at: rows::time(row, "created_at")?,
        updated_at: rows::time(row, "updated_at")?,
    })
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
        let mut tx = self.write().await?;
        let candidates = self.claim_due(
            &mut tx,
            "SELECT d.id, d.endpoint_id, d.attempts FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1) AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.invitation_number = d.invitation_number AND e.state = 'pending' AND e.id < d.id) ORDER BY d.id LIMIT $2",
            now,
            limit,
        )
        .await?;
        let mut taken: Vec<(i64, Vec<u8>, i64)> = Vec::new();
        for row in &candidates {
            let endpoint_id: Vec<u8> = row.try_get("endpoint_id")?;
            if taken.iter().filter(|(_, e, _)| *e == endpoint_id).count() < per_endpoint {
                taken.push((row.try_get("id")?, endpoint_id, row.try_get("attempts")?));
            }
        }
        let mut jobs = Vec::with_capacity(taken.len());
        for (id, endpoint_id, attempts) in taken {
            sqlx::query("UPDATE webhook_deliveries SET claimed_until = $1 WHERE id = $2")
                .bind(ms(now + lease))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
            let e = endpoint(
                &sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&endpoint_id)
                    .fetch_one(&mut *tx)
                    .await?,
            )?;
            let row = sqlx::query(
                "SELECT ev.id, ev.tenant_id, i.id AS invitation_id, ev.type, ev.actor, ev.ip, ev.user_agent, ev.at, ev.data, ev.snapshot FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id LEFT JOIN invitations i ON i.number = ev.invitation_number WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            jobs.push(WebhookJob {
                delivery_id: id,
                attempts: attempts as u32,
                endpoint: e,
                event: rows::event(&row)?,
            });
        }
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
        let now = attempt.attempted_at;
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempted_at, status_code, duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(job.delivery_id)
            .bind(rows::id(job.endpoint.id))
            .bind(ms(now))
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.duration_ms as i64)
            .bind(attempt.error.as_deref())
            .execute(&mut *tx)
            .await?;
        let (state, next) = match outcome {
            WebhookOutcome::Delivered => ("delivered", None),
            WebhookOutcome::Retry { at } => ("pending", Some(*at)),
            WebhookOutcome::Failed => ("failed", None),
        };
        sqlx::query("UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, claimed_until = NULL, next_attempt_at = COALESCE($2, next_attempt_at), delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END WHERE id = $4 AND state = 'pending'")
            .bind(state)
            .bind(next.map(ms))
            .bind(ms(now))
            .bind(job.delivery_id)
            .execute(&mut *tx)
            .await?;
        let id = rows::id(job.endpoint.id);
        let sql = format!(
            "SELECT failing_since, enabled FROM webhook_endpoints WHERE id = $1{}",
            self.dialect.for_update()
        );
        let standing: Option<(Option<i64>, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&id).fetch_optional(&mut *tx).await?;
        if let Some((failing_since, enabled)) = standing {
            let health = invitd_core::webhook::after_attempt(
                matches!(outcome, WebhookOutcome::Delivered),
                failing_since.map(rows::from_ms).transpose()?,
                enabled == 1,
                disable_after,
                now,
            );
            sqlx::query("UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2")
                .bind(health.failing_since.map(ms))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            if let Some(reason) = health.disable {
                sqlx::query("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at = $2 WHERE id = $3").bind(&reason).bind(ms(now)).bind(&id).execute(&mut *tx).await?;
                sqlx::query("UPDATE webhook_deliveries SET state = 'abandoned', claimed_until = NULL WHERE endpoint_id = $1 AND state = 'pending'").bind(&id).execute(&mut *tx).await?;
                let data = serde_json::json!({"webhook_id": job.endpoint.id, "url": job.endpoint.url, "reason": reason});
                insert_event(
                    &mut tx,
                    NewEvent::admin(
                        Some(&job.endpoint.tenant_id),
                        EventType::WebhookDisabled,
                        &Audit::system(),
                        now,
                        &data,
                    ),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
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
                Ok(WebhookAttempt {
                    delivery_id: r.try_get("delivery_id")?,
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("type")?,
                    attempted_at: rows::time(r, "attempted_at")?,
                    status_code: r.try_get::<Option<i64>, _>("status_code")?.map(|c| c as u16),
                    duration_ms: r.try_get::<i64, _>("duration_ms")? as u64,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }
}
