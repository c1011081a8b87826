//! The email outbox: claiming due emails, recording how each send went,
//! and the attempts of an invitation's emails.

use super::SqlStore;
use super::args::{Arg, bind_all};
use super::events::{Happened, record};
use super::invitations::update_invitation;
use super::rows::{self, from_ms, ms, to_json};
use crate::{
    Audit, DeliveryAttempt, DeliveryOutcome, OutboxEmail, OutboxItem, OutboxStore, StoreError,
};
use invitd_core::Invitation;
use invitd_core::TenantId;
use sqlx::AnyConnection;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// Queues an email of an invitation (with [`outbox_args`]).
pub(super) const INSERT_OUTBOX: &str = "INSERT INTO outbox (invitation_number, tenant_id, kind, state, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6)";

pub(super) fn outbox_args(inv: &Invitation, email: &OutboxEmail, now: OffsetDateTime) -> Vec<Arg> {
    vec![
        Arg::int(inv.number),
        Arg::text(inv.tenant_id.as_str()),
        Arg::text(&email.kind),
        Arg::text(to_json(&email.payload)),
        Arg::int(ms(now)),
        Arg::int(ms(now)),
    ]
}

/// Queues an email of an invitation, in the caller's transaction.
pub(super) async fn insert_outbox(
    conn: &mut AnyConnection,
    inv: &Invitation,
    email: &OutboxEmail,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let args = outbox_args(inv, email, now);
    bind_all(sqlx::query(INSERT_OUTBOX), &args).execute(conn).await?;
    Ok(())
}

#[async_trait::async_trait]
impl OutboxStore for SqlStore {
    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut tx = self.write().await?;
        let sql = format!(
            "UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $3) ORDER BY next_attempt_at, id LIMIT $4{}) RETURNING id, invitation_number, tenant_id, kind, attempts, payload, (SELECT id FROM invitations WHERE number = outbox.invitation_number) AS invitation_id",
            self.dialect.skip_locked()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now + lease))
            .bind(ms(now))
            .bind(ms(now))
            .bind(limit as i64)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let payload: Option<String> = row.try_get("payload")?;
            items.push(OutboxItem {
                id: row.try_get("id")?,
                invitation_id: rows::uuid(&row, "invitation_id")?,
                tenant_id: rows::tenant_id(&row, "tenant_id")?,
                kind: row.try_get("kind")?,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                payload: serde_json::from_str(payload.as_deref().unwrap_or("null"))
                    .map_err(StoreError::corrupt)?,
            });
        }
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn finish_outbox(
        &self,
        item: &OutboxItem,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        // Only a row still pending is ours to finish: a resend may have
        // superseded it while it was being sent.
        let (state, error, next): (&str, Option<&str>, Option<OffsetDateTime>) = match outcome {
            DeliveryOutcome::Sent { .. } => ("sent", None, None),
            DeliveryOutcome::Retry { error, retry_at } => ("pending", Some(error), Some(*retry_at)),
            DeliveryOutcome::Failed { error } => ("failed", Some(error), None),
        };
        let updated = sqlx::query(
            "UPDATE outbox SET state = $1, attempts = attempts + 1, last_error = $2, claimed_until = NULL, next_attempt_at = COALESCE($3, next_attempt_at), sent_at = CASE WHEN $4 = 'sent' THEN $5 ELSE sent_at END, payload = CASE WHEN $6 = 'pending' THEN payload ELSE NULL END WHERE id = $7 AND state = 'pending' RETURNING invitation_number",
        )
        .bind(state)
        .bind(error)
        .bind(next.map(ms))
        .bind(state)
        .bind(ms(now))
        .bind(state)
        .bind(item.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = updated else {
            tx.commit().await?;
            return Ok(());
        };
        let number: i64 = row.try_get("invitation_number")?;
        let (attempt_outcome, detail) = match outcome {
            DeliveryOutcome::Sent { reply } => ("sent", reply.as_str()),
            DeliveryOutcome::Retry { error, .. } => ("retry", error.as_str()),
            DeliveryOutcome::Failed { error } => ("failed", error.as_str()),
        };
        sqlx::query("INSERT INTO delivery_attempts (outbox_id, invitation_number, attempted_at, outcome, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(item.id)
            .bind(number)
            .bind(ms(now))
            .bind(attempt_outcome)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "SELECT {} FROM invitations WHERE number = $1{}",
            rows::INVITATION_COLUMNS,
            self.dialect.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(number).fetch_one(&mut *tx).await?;
        let current = rows::invitation(&row)?;
        let result = outcome.result();
        let updated = current.record_delivery(result, now);
        // The row is locked (or the write serialized): its status holds.
        update_invitation(&mut tx, &updated, current.status).await?;
        if let Some(event) = result.event() {
            let data = match outcome {
                DeliveryOutcome::Failed { error } => {
                    serde_json::json!({"outbox_id": item.id, "error": error})
                }
                _ => serde_json::json!({"outbox_id": item.id, "kind": item.kind}),
            };
            let audit = Audit::system();
            record(&mut tx, Happened { inv: &updated, event, audit: &audit, at: now, data: &data })
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_delivery_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let rows = rows::in_tenant(
            "SELECT a.outbox_id, o.kind, a.attempted_at, a.outcome, a.detail FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id JOIN invitations i ON i.number = a.invitation_number WHERE i.id = $1 AND i.tenant_id = $2 ORDER BY a.id",
            id,
            tenant,
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryAttempt {
                    outbox_id: row.try_get("outbox_id")?,
                    kind: row.try_get("kind")?,
                    attempted_at: from_ms(row.try_get("attempted_at")?)?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
