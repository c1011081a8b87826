//! Webhook endpoints, and the deliveries queued for them: leasing due
//! deliveries, recording attempts, disabling an endpoint that only fails.

use super::conn::{Arg, Exec};
use super::events::insert_about;
use super::rows::{self, ms};
use super::tx::write;
use super::webhook_jobs::{claim_in, finish_in};
use super::webhook_rows::{ENDPOINT_COLUMNS, settings_args};
use super::{SqlStore, test_event};
use crate::{
    Audit, QueuedTest, StoreError, WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome,
    WebhookStore,
};
use invitd_core::{EventType, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

/// Deletes the endpoint `id` of `tenant` with its deliveries and attempts,
/// and records it (see [`WebhookStore::delete_webhook`]).
async fn delete_in(
    conn: &mut impl Exec,
    (tenant, id): (&TenantId, Uuid),
    at: OffsetDateTime,
    audit: &Audit,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2{}",
        conn.dialect().for_update()
    );
    let e: WebhookEndpoint =
        conn.first(&sql, &rows::in_tenant(id, tenant)).await?.ok_or(StoreError::NotFound)?;
    for sql in [
        "DELETE FROM webhook_attempts WHERE endpoint_id = $1",
        "DELETE FROM webhook_deliveries WHERE endpoint_id = $1",
        "DELETE FROM webhook_endpoints WHERE id = $1",
    ] {
        conn.execute(sql, &[Arg::blob(rows::id(id))]).await?;
    }
    insert_about(conn, &e, EventType::WebhookDeleted, audit, at).await
}

#[async_trait::async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, e: &WebhookEndpoint, audit: &Audit) -> Result<(), StoreError> {
        let (e, audit) = (e.clone(), audit.clone());
        write!(self, 2, |conn| {
            let sql = "INSERT INTO webhook_endpoints (url, secret, event_types, enabled, disabled_reason, failing_since, updated_at, id, tenant_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
            let mut args = settings_args(&e);
            args.extend([
                Arg::blob(rows::id(e.id)),
                Arg::text(e.tenant_id.as_str()),
                Arg::int(ms(e.created_at)),
            ]);
            conn.execute(sql, &args).await?;
            insert_about(conn, &e, EventType::WebhookCreated, &audit, e.created_at).await
        })
    }

    async fn get_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<WebhookEndpoint, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2"
        );
        self.read_opt(&sql, &rows::in_tenant(id, tenant)).await?.ok_or(StoreError::NotFound)
    }

    async fn list_webhooks(&self, tenant: &TenantId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id"
        );
        self.read_all(&sql, &[Arg::text(tenant.as_str())]).await
    }

    async fn update_webhook(
        &self,
        e: &WebhookEndpoint,
        change: EventType,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let (e, audit) = (e.clone(), audit.clone());
        write!(self, 2, |conn| {
            let sql = "UPDATE webhook_endpoints SET url = $1, secret = $2, event_types = $3, enabled = $4, disabled_reason = $5, failing_since = $6, updated_at = $7 WHERE id = $8 AND tenant_id = $9";
            let mut args = settings_args(&e);
            args.extend([Arg::blob(rows::id(e.id)), Arg::text(e.tenant_id.as_str())]);
            if conn.execute(sql, &args).await? == 0 {
                return Err(StoreError::NotFound);
            }
            insert_about(conn, &e, change, &audit, e.updated_at).await
        })
    }

    async fn delete_webhook(
        &self,
        tenant: &TenantId,
        id: Uuid,
        at: OffsetDateTime,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let (tenant, audit) = (tenant.clone(), audit.clone());
        write!(self, 4, |conn| delete_in(conn, (&tenant, id), at, &audit).await)
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
        write!(self, limit as usize, |conn| {
            claim_in(conn, now, lease, limit, per_endpoint).await
        })
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
        // The delivery and its endpoint, not the event (the job's largest
        // part), go to the write.
        let (id, endpoint) = (job.delivery_id, job.endpoint.clone());
        let (attempt, outcome) = (attempt.clone(), outcome.clone());
        write!(self, 1, |conn| {
            finish_in(conn, (id, &endpoint), &attempt, &outcome, disable_after).await
        })
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
        let (endpoint, audit) = (endpoint.clone(), audit.clone());
        write!(self, 2, |conn| test_event::queue_in(conn, &endpoint, at, &audit).await)
    }

    async fn list_webhook_attempts(
        &self,
        tenant: &TenantId,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<WebhookAttempt>, StoreError> {
        let sql = "SELECT a.delivery_id, ev.id AS event_id, ev.type, a.attempted_at, a.status_code, a.duration_ms, a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN events ev ON ev.id = d.event_id JOIN webhook_endpoints w ON w.id = a.endpoint_id WHERE a.endpoint_id = $1 AND w.tenant_id = $2 ORDER BY a.id DESC LIMIT $3";
        let [id, tenant] = rows::in_tenant(id, tenant);
        self.read_all(sql, &[id, tenant, Arg::int(i64::from(limit))]).await
    }
}
