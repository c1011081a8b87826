//! The email outbox: claiming due emails, recording how each send went,
//! and the attempts of an invitation's emails.

use super::SqlStore;
use super::conn::{Arg, Cols, Exec, FromCols, Number};
use super::events::{Happened, record};
use super::rows::{self, ms};
use super::statements::update_invitation;
use super::tx::write;
use crate::{Audit, DeliveryAttempt, DeliveryOutcome, OutboxItem, OutboxStore, StoreError};
use invitd_core::Invitation;
use invitd_core::TenantId;
use time::OffsetDateTime;
use uuid::Uuid;

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
    now: OffsetDateTime,
    lease: time::Duration,
    limit: u32,
) -> Result<Vec<OutboxItem>, StoreError> {
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at, id LIMIT $3{}) RETURNING id, invitation_number, tenant_id, kind, attempts, payload, (SELECT id FROM invitations WHERE number = outbox.invitation_number) AS invitation_id",
        conn.dialect().skip_locked()
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
        conn.dialect().for_update()
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
        write!(self, limit as usize, |conn| claim_in(conn, now, lease, limit).await)
    }

    async fn finish_outbox(
        &self,
        item: &OutboxItem,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // The row's id and kind, not its payload, go to the write.
        let (id, kind, outcome) = (item.id, item.kind.clone(), outcome.clone());
        write!(self, 1, |conn| finish_in(conn, Sent { id, kind: &kind }, &outcome, now).await)
    }

    async fn list_delivery_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let sql = "SELECT a.outbox_id, o.kind, a.attempted_at, a.outcome, a.detail FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id JOIN invitations i ON i.number = a.invitation_number WHERE i.id = $1 AND i.tenant_id = $2 ORDER BY a.id";
        self.read_all(sql, &rows::in_tenant(id, tenant)).await
    }
}

impl FromCols for DeliveryAttempt {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        Ok(DeliveryAttempt {
            outbox_id: row.col("outbox_id")?,
            kind: row.col("kind")?,
            attempted_at: rows::time(row, "attempted_at")?,
            outcome: row.col("outcome")?,
            detail: row.col("detail")?,
        })
    }
}
