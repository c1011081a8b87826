//! The email outbox: claiming due emails, recording how each send went,
//! and the attempts of an invitation's emails.

use super::args::Arg;
use super::events::{Happened, record};
use super::exec::{Exec, Number, OnThread, ready};
use super::invitations::update_invitation;
use super::readers::FromCols;
use super::rows::{self, Cols, from_ms, ms, to_json};
use super::{Dialect, SqlStore};
use crate::{
    Audit, DeliveryAttempt, DeliveryOutcome, OutboxEmail, OutboxItem, OutboxStore, StoreError,
};
use invitd_core::Invitation;
use invitd_core::TenantId;
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

impl FromCols for OutboxItem {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        let payload: Option<String> = row.col("payload")?;
        Ok(OutboxItem {
            id: row.col("id")?,
            invitation_id: rows::uuid(row, "invitation_id")?,
            tenant_id: rows::tenant_id(row, "tenant_id")?,
            kind: row.col("kind")?,
            attempts: row.col::<i64>("attempts")? as u32,
            payload: serde_json::from_str(payload.as_deref().unwrap_or("null"))
                .map_err(StoreError::corrupt)?,
        })
    }
}

/// Leases up to `limit` due emails until `now + lease`.
async fn claim_in(
    conn: &mut impl Exec,
    dialect: Dialect,
    now: OffsetDateTime,
    lease: time::Duration,
    limit: u32,
) -> Result<Vec<OutboxItem>, StoreError> {
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at, id LIMIT $3{}) RETURNING id, invitation_number, tenant_id, kind, attempts, payload, (SELECT id FROM invitations WHERE number = outbox.invitation_number) AS invitation_id",
        dialect.skip_locked()
    );
    let args = [Arg::int(ms(now + lease)), Arg::int(ms(now)), Arg::int(i64::from(limit))];
    let mut items: Vec<OutboxItem> = conn.all(&sql, &args).await?;
    items.sort_by_key(|i| i.id);
    Ok(items)
}

/// Which outbox row an outcome is about: its id and kind (not its payload,
/// which the outcome does not need).
struct Sent<'a> {
    id: i64,
    kind: &'a str,
}

/// Records how sending `item` went: the outbox row, the attempt, and the
/// invitation's delivery state with its event.
async fn finish_in(
    conn: &mut impl Exec,
    dialect: Dialect,
    item: Sent<'_>,
    outcome: &DeliveryOutcome,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    // Only a row still pending is ours to finish: a resend may have
    // superseded it while it was being sent.
    let (state, error, next): (&str, Option<&str>, Option<OffsetDateTime>) = match outcome {
        DeliveryOutcome::Sent { .. } => ("sent", None, None),
        DeliveryOutcome::Retry { error, retry_at } => ("pending", Some(error), Some(*retry_at)),
        DeliveryOutcome::Failed { error } => ("failed", Some(error), None),
    };
    let finish = [
        Arg::text(state),
        Arg::opt_text(error),
        Arg::int(next.map(ms)),
        Arg::int(ms(now)),
        Arg::int(item.id),
    ];
    let sql = "UPDATE outbox SET state = $1, attempts = attempts + 1, last_error = $2, claimed_until = NULL, next_attempt_at = COALESCE($3, next_attempt_at), sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END, payload = CASE WHEN $1 = 'pending' THEN payload ELSE NULL END WHERE id = $5 AND state = 'pending' RETURNING invitation_number";
    let Some(Number(number)) = conn.first(sql, &finish).await? else {
        return Ok(());
    };
    let (attempt_outcome, detail) = match outcome {
        DeliveryOutcome::Sent { reply } => ("sent", reply.as_str()),
        DeliveryOutcome::Retry { error, .. } => ("retry", error.as_str()),
        DeliveryOutcome::Failed { error } => ("failed", error.as_str()),
    };
    let attempt = [
        Arg::int(item.id),
        Arg::int(number),
        Arg::int(ms(now)),
        Arg::text(attempt_outcome),
        Arg::text(detail),
    ];
    conn.execute("INSERT INTO delivery_attempts (outbox_id, invitation_number, attempted_at, outcome, detail) VALUES ($1, $2, $3, $4, $5)", &attempt).await?;
    let sql = format!(
        "SELECT {} FROM invitations WHERE number = $1{}",
        rows::INVITATION_COLUMNS,
        dialect.for_update()
    );
    let current: Invitation = conn
        .first(&sql, &[Arg::int(number)])
        .await?
        .ok_or_else(|| StoreError::corrupt("an outbox row without its invitation"))?;
    let result = outcome.result();
    let updated = current.record_delivery(result, now);
    // The row is locked (or the write serialized): its status holds.
    update_invitation(conn, &updated, current.status).await?;
    if let Some(event) = result.event() {
        let data = match outcome {
            DeliveryOutcome::Failed { error } => {
                serde_json::json!({"outbox_id": item.id, "error": error})
            }
            _ => serde_json::json!({"outbox_id": item.id, "kind": item.kind}),
        };
        let audit = Audit::system();
        record(conn, Happened { inv: &updated, event, audit: &audit, at: now, data: &data })
            .await?;
    }
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
        if let Some(writer) = self.thread_writer() {
            return writer
                .run(limit as usize, move |conn| {
                    ready(claim_in(&mut OnThread(conn), Dialect::Sqlite, now, lease, limit))
                })
                .await;
        }
        let mut tx = self.write().await?;
        let items = claim_in(&mut *tx, self.dialect, now, lease, limit).await?;
        tx.commit().await?;
        Ok(items)
    }

    async fn finish_outbox(
        &self,
        item: &OutboxItem,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if let Some(writer) = self.thread_writer() {
            let (id, kind, outcome) = (item.id, item.kind.clone(), outcome.clone());
            return writer
                .run(1, move |conn| {
                    let item = Sent { id, kind: &kind };
                    ready(finish_in(&mut OnThread(conn), Dialect::Sqlite, item, &outcome, now))
                })
                .await;
        }
        let mut tx = self.write().await?;
        let sent = Sent { id: item.id, kind: &item.kind };
        finish_in(&mut *tx, self.dialect, sent, outcome, now).await?;
        tx.commit().await
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
