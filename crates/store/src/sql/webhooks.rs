//! Webhook endpoints, and the deliveries queued for them: leasing due
//! deliveries, recording attempts, disabling an endpoint that only fails.

use super::args::Arg;
use super::events::{NewEvent, Subject, insert_event};
use super::exec::{Exec, OnThread, ready};
use super::readers::FromCols;
use super::rows::{self, AnyQuery, Cols, ms};
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

const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, secret, event_types, enabled, disabled_reason, failing_since, created_at, updated_at";

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

/// A due delivery, before the per-endpoint cap.
struct Candidate {
    id: i64,
    endpoint_id: Vec<u8>,
    attempts: i64,
}

impl FromCols for Candidate {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        Ok(Candidate {
            id: row.col("id")?,
            endpoint_id: row.col("endpoint_id")?,
            attempts: row.col("attempts")?,
        })
    }
}

/// An endpoint's standing before an attempt is recorded.
struct Standing {
    failing_since: Option<i64>,
    enabled: i64,
}

impl FromCols for Standing {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        Ok(Standing { failing_since: row.col("failing_since")?, enabled: row.col("enabled")? })
    }
}

/// Leases due deliveries (see [`WebhookStore::claim_webhooks`]).
async fn claim_in(
    conn: &mut impl Exec,
    dialect: Dialect,
    now: OffsetDateTime,
    lease: time::Duration,
    limit: u32,
    per_endpoint: usize,
) -> Result<Vec<WebhookJob>, StoreError> {
    let sql = format!(
        "SELECT d.id, d.endpoint_id, d.attempts FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1) AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.invitation_number = d.invitation_number AND e.state = 'pending' AND e.id < d.id) ORDER BY d.id LIMIT $2{}",
        dialect.skip_locked()
    );
    let candidates: Vec<Candidate> =
        conn.all(&sql, &[Arg::int(ms(now)), Arg::int(i64::from(limit))]).await?;
    let mut taken: Vec<Candidate> = Vec::new();
    for c in candidates {
        if taken.iter().filter(|t| t.endpoint_id == c.endpoint_id).count() < per_endpoint {
            taken.push(c);
        }
    }
    let endpoint_sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
    let event_sql = "SELECT ev.id, ev.tenant_id, i.id AS invitation_id, ev.type, ev.actor, ev.ip, ev.user_agent, ev.at, ev.data, ev.snapshot FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id LEFT JOIN invitations i ON i.number = ev.invitation_number WHERE d.id = $1";
    let mut jobs = Vec::with_capacity(taken.len());
    for Candidate { id, endpoint_id, attempts } in taken {
        let lease_args = [Arg::int(ms(now + lease)), Arg::int(id)];
        conn.execute("UPDATE webhook_deliveries SET claimed_until = $1 WHERE id = $2", &lease_args)
            .await?;
        let gone = || StoreError::corrupt("a webhook delivery without its endpoint or event");
        let endpoint =
            conn.first(&endpoint_sql, &[Arg::blob(endpoint_id)]).await?.ok_or_else(gone)?;
        let event = conn.first(event_sql, &[Arg::int(id)]).await?.ok_or_else(gone)?;
        jobs.push(WebhookJob { delivery_id: id, attempts: attempts as u32, endpoint, event });
    }
    Ok(jobs)
}

/// Records an attempt (see [`WebhookStore::finish_webhook`]).
async fn finish_in(
    conn: &mut impl Exec,
    dialect: Dialect,
    (delivery_id, endpoint): (i64, &WebhookEndpoint),
    attempt: &WebhookAttempt,
    outcome: &WebhookOutcome,
    disable_after: time::Duration,
) -> Result<(), StoreError> {
    let now = attempt.attempted_at;
    let id = rows::id(endpoint.id);
    let recorded = [
        Arg::int(delivery_id),
        Arg::blob(id.clone()),
        Arg::int(ms(now)),
        Arg::int(attempt.status_code.map(i64::from)),
        Arg::int(attempt.duration_ms as i64),
        Arg::opt_text(attempt.error.as_deref()),
    ];
    conn.execute("INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempted_at, status_code, duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6)", &recorded).await?;
    let (state, next) = match outcome {
        WebhookOutcome::Delivered => ("delivered", None),
        WebhookOutcome::Retry { at } => ("pending", Some(*at)),
        WebhookOutcome::Failed => ("failed", None),
    };
    let delivery =
        [Arg::text(state), Arg::int(next.map(ms)), Arg::int(ms(now)), Arg::int(delivery_id)];
    conn.execute("UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, claimed_until = NULL, next_attempt_at = COALESCE($2, next_attempt_at), delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END WHERE id = $4 AND state = 'pending'", &delivery).await?;
    let sql = format!(
        "SELECT failing_since, enabled FROM webhook_endpoints WHERE id = $1{}",
        dialect.for_update()
    );
    let Some(standing) = conn.first::<Standing>(&sql, &[Arg::blob(id.clone())]).await? else {
        return Ok(());
    };
    let health = invitd_core::webhook::after_attempt(
        matches!(outcome, WebhookOutcome::Delivered),
        standing.failing_since.map(rows::from_ms).transpose()?,
        standing.enabled == 1,
        disable_after,
        now,
    );
    let failing = [Arg::int(health.failing_since.map(ms)), Arg::blob(id.clone())];
    conn.execute("UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2", &failing).await?;
    if let Some(reason) = health.disable {
        let off = [Arg::text(&reason), Arg::int(ms(now)), Arg::blob(id.clone())];
        conn.execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at = $2 WHERE id = $3", &off).await?;
        conn.execute("UPDATE webhook_deliveries SET state = 'abandoned', claimed_until = NULL WHERE endpoint_id = $1 AND state = 'pending'", &[Arg::blob(id)]).await?;
        let data =
            serde_json::json!({"webhook_id": endpoint.id, "url": endpoint.url, "reason": reason});
        let system = Audit::system();
        let event = NewEvent::admin(
            Some(&endpoint.tenant_id),
            EventType::WebhookDisabled,
            &system,
            now,
            &data,
        );
        insert_event(conn, event).await?;
    }
    Ok(())
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
