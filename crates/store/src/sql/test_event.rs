//! A test event for one webhook endpoint: a `webhook.test` event in the
//! audit trail with one delivery, to that endpoint alone, which the webhook
//! worker sends like any other (same signing, address checks, retries).

use super::conn::Arg;
use super::conn::{Exec, Number};
use super::events::{NewEvent, insert_event};
use super::rows::{self, ms};
use crate::{Audit, QueuedTest, StoreError, WebhookEndpoint};
use invitd_core::EventType;
use time::OffsetDateTime;

/// Queues a test delivery (see [`crate::WebhookStore::queue_webhook_test`])
/// in the caller's transaction.
pub(super) async fn queue_in(
    conn: &mut impl Exec,
    endpoint: &WebhookEndpoint,
    at: OffsetDateTime,
    audit: &Audit,
) -> Result<QueuedTest, StoreError> {
    let id = rows::id(endpoint.id);
    // Locked, so a concurrent delete cannot leave a delivery without its
    // endpoint.
    let sql = format!(
        "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2{}",
        conn.dialect().for_update()
    );
    let here = [Arg::blob(id.clone()), Arg::text(endpoint.tenant_id.as_str())];
    if conn.first::<Number>(&sql, &here).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let data = serde_json::json!({"webhook_id": endpoint.id, "url": endpoint.url});
    let event =
        NewEvent::admin(Some(&endpoint.tenant_id), EventType::WebhookTest, audit, at, &data);
    let event_id = insert_event(conn, event).await?;
    let delivery = [Arg::blob(id), Arg::int(event_id), Arg::int(ms(at))];
    let insert = "INSERT INTO webhook_deliveries (endpoint_id, event_id, invitation_number, state, next_attempt_at, created_at) VALUES ($1, $2, NULL, 'pending', $3, $3) RETURNING id";
    match conn.first::<Number>(insert, &delivery).await? {
        Some(Number(delivery_id)) => Ok(QueuedTest { event_id, delivery_id }),
        None => Err(StoreError::corrupt("a webhook delivery insert returned no id")),
    }
}
