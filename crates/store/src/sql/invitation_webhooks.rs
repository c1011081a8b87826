//! The webhook deliveries of one invitation's events, for the console's
//! page of that invitation: where each went, its state and its latest
//! attempt.

use super::SqlStore;
use super::conn::{Cols, FromCols};
use super::rows;
use super::webhook_rows::attempt;
use crate::{InvitationWebhookDelivery, StoreError};
use invitd_core::TenantId;
use uuid::Uuid;

/// Deliveries found through the invitation's number (indexed by
/// `webhook_deliveries_invitation`), each joined to its latest attempt
/// (indexed by `webhook_attempts_delivery`).
const SQL: &str = "SELECT d.id, d.endpoint_id, w.url, d.event_id, ev.type, d.state, d.attempts, d.created_at, d.delivered_at, a.attempted_at, a.status_code, a.duration_ms, a.error FROM invitations i JOIN webhook_deliveries d ON d.invitation_number = i.number JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.tenant_id = i.tenant_id JOIN events ev ON ev.id = d.event_id LEFT JOIN webhook_attempts a ON a.id = (SELECT MAX(x.id) FROM webhook_attempts x WHERE x.delivery_id = d.id) WHERE i.id = $1 AND i.tenant_id = $2 ORDER BY d.id";

impl FromCols for InvitationWebhookDelivery {
    fn from_cols(r: &impl Cols) -> Result<Self, StoreError> {
        let delivery_id: i64 = r.col("id")?;
        let event_id: i64 = r.col("event_id")?;
        let event_type: String = r.col("type")?;
        // The latest attempt's columns are NULL when none was made yet.
        let last_attempt = match r.col::<Option<i64>>("attempted_at")? {
            None => None,
            Some(_) => Some(attempt(r, delivery_id, event_id, event_type.clone())?),
        };
        Ok(InvitationWebhookDelivery {
            delivery_id,
            endpoint_id: rows::uuid(r, "endpoint_id")?,
            endpoint_url: r.col("url")?,
            event_id,
            event_type,
            state: r.col("state")?,
            attempts: r.col::<i64>("attempts")?.max(0) as u32,
            created_at: rows::time(r, "created_at")?,
            delivered_at: rows::opt_time(r, "delivered_at")?,
            last_attempt,
        })
    }
}

/// See [`crate::WebhookStore::list_invitation_webhook_deliveries`].
pub(super) async fn list(
    store: &SqlStore,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Vec<InvitationWebhookDelivery>, StoreError> {
    store.read_all(SQL, &rows::in_tenant(id, tenant)).await
}
