//! The email outbox and idempotency keys .

use super::SqlStore;
use super::rows::{self, from_ms, ms};
use super::webhooks::record;
use crate::{Audit, DeliveryAttempt, DeliveryOutcome, IdempotencyBegin, OutboxItem, StoreError};
use invitd_core::{EventType, TenantId};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long an answered idempotency key is remembered.
const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);
/// A keyed request still unanswered after this is taken to have died.
const IDEMPOTENCY_STALE: time::Duration = time::Duration::minutes(1);

/// request hash, answered status, answered body, created at (ms).
type StoredKey = (Vec<u8>, Option<i64>, Option<Vec<u8>>, i64);

impl SqlStore {
    pub(super) async fn claim_outbox_impl(
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
                tenant_id: TenantId::parse(row.try_get::<String, _>("tenant_id")?)
                    .map_err(StoreError::corrupt)?,
                kind: row.try_get("kind")?,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                payload: serde_json::from_str(payload.as_deref().unwrap_or("null"))
                    .map_err(StoreError::corrupt)?,
            });
        }
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    pub(super) async fn finish_outbox_impl(
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
        let delivery_state = match outcome {
            DeliveryOutcome::Sent { .. } => "sent",
            DeliveryOutcome::Retry { .. } => "queued",
            DeliveryOutcome::Failed { .. } => "failed",
        };
        sqlx::query(
            "UPDATE invitations SET delivery_state = $1, delivery_attempts = delivery_attempts + 1, delivery_last_error = $2, delivery_sent_at = CASE WHEN $3 = 'sent' THEN $4 ELSE delivery_sent_at END WHERE number = $5",
        )
        .bind(delivery_state)
        .bind(error)
        .bind(delivery_state)
        .bind(ms(now))
        .bind(number)
        .execute(&mut *tx)
        .await?;
        let event = match outcome {
            DeliveryOutcome::Sent { .. } => Some((
                EventType::Sent,
                serde_json::json!({"outbox_id": item.id, "kind": item.kind}),
            )),
            DeliveryOutcome::Failed { error } => Some((
                EventType::DeliveryFailed,
                serde_json::json!({"outbox_id": item.id, "error": error}),
            )),
            DeliveryOutcome::Retry { .. } => None,
        };
        if let Some((event, data)) = event {
            let sql = format!(
                "SELECT {} FROM invitations WHERE number = $1",
                rows::INVITATION_COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(number)
                .fetch_one(&mut *tx)
                .await?;
            record(
                &mut tx,
                &rows::invitation(&row)?,
                event,
                &Audit::system(),
                now,
                &data,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn list_delivery_attempts_impl(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.outbox_id, o.kind, a.attempted_at, a.outcome, a.detail FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id JOIN invitations i ON i.number = a.invitation_number WHERE i.id = $1 AND i.tenant_id = $2 ORDER BY a.id",
        )
        .bind(rows::id(id))
        .bind(tenant.as_str())
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

    pub(super) async fn idempotency_begin_impl(
        &self,
        scope: &str,
        key: &str,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<IdempotencyBegin, StoreError> {
        let mut tx = self.write().await?;
        let insert = "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING RETURNING created_at";
        let inserted: Option<(i64,)> = sqlx::query_as(insert)
            .bind(scope)
            .bind(key)
            .bind(hash.as_slice())
            .bind(ms(now))
            .fetch_optional(&mut *tx)
            .await?;
        if inserted.is_some() {
            tx.commit().await?;
            return Ok(IdempotencyBegin::Fresh);
        }
        // Seen before (possibly just now, by another process).
        let sql = format!(
            "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2{}",
            self.dialect.for_update()
        );
        let existing: Option<StoredKey> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((stored_hash, status, body, created_at)) = existing else {
            // Deleted between the two statements: the caller may retry.
            tx.commit().await?;
            return Ok(IdempotencyBegin::InProgress);
        };
        let created_at = from_ms(created_at)?;
        let expired = created_at + IDEMPOTENCY_TTL <= now;
        let abandoned = status.is_none() && created_at + IDEMPOTENCY_STALE <= now;
        if expired || abandoned {
            sqlx::query("UPDATE idempotency_keys SET request_hash = $1, status = NULL, body = NULL, created_at = $2 WHERE scope = $3 AND key = $4")
                .bind(hash.as_slice())
                .bind(ms(now))
                .bind(scope)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(IdempotencyBegin::Fresh);
        }
        tx.commit().await?;
        if stored_hash.as_slice() != hash.as_slice() {
            return Ok(IdempotencyBegin::Mismatch);
        }
        Ok(match (status, body) {
            (Some(status), Some(body)) => IdempotencyBegin::Replay {
                status: status as u16,
                body,
            },
            _ => IdempotencyBegin::InProgress,
        })
    }

    pub(super) async fn idempotency_finish_impl(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4",
        )
        .bind(status as i64)
        .bind(body)
        .bind(scope)
        .bind(key)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(super) async fn idempotency_abandon_impl(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
