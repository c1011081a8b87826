//! The webhook worker's bookkeeping, one body over [`Exec`] for both
//! databases: leasing due deliveries (a cap per endpoint,
//! one invitation's events in order) and recording an attempt (disabling an
//! endpoint that only fails).

use super::conn::{Arg, Cols, Exec, FromCols};
use super::events::{NewEvent, insert_event};
use super::rows::{self, ms};
use super::webhook_rows::ENDPOINT_COLUMNS;
use crate::{Audit, StoreError, WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome};
use invitd_core::EventType;
use time::OffsetDateTime;

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
pub(super) async fn claim_in(
    conn: &mut impl Exec,
    now: OffsetDateTime,
    lease: time::Duration,
    limit: u32,
    per_endpoint: usize,
) -> Result<Vec<WebhookJob>, StoreError> {
    let sql = format!(
        "SELECT d.id, d.endpoint_id, d.attempts FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1) AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.invitation_number = d.invitation_number AND e.state = 'pending' AND e.id < d.id) ORDER BY d.id LIMIT $2{}",
        conn.dialect().skip_locked()
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
pub(super) async fn finish_in(
    conn: &mut impl Exec,
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
        conn.dialect().for_update()
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
