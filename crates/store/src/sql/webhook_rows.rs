//! Webhook endpoints and attempts as rows: the columns, their reading, and
//! an endpoint's settings as statement arguments.

use super::conn::{Arg, Cols, FromCols};
use super::events::Subject;
use super::rows::{self, ms};
use crate::{StoreError, WebhookAttempt, WebhookEndpoint};
use invitd_core::{Secret, TenantId};

/// `,a,b,` for `[a, b]`, `,*,` for every type.
fn types_column(types: &[String]) -> String {
    if types.is_empty() { ",*,".into() } else { format!(",{},", types.join(",")) }
}

fn types_of(column: &str) -> Vec<String> {
    column.split(',').filter(|t| !t.is_empty() && *t != "*").map(str::to_string).collect()
}

pub(super) const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, secret, event_types, enabled, disabled_reason, failing_since, created_at, updated_at";

impl FromCols for WebhookEndpoint {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
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
}

/// An endpoint's changeable fields, in this order: url, secret,
/// event_types, enabled, disabled_reason, failing_since, updated_at.
pub(super) fn settings_args(e: &WebhookEndpoint) -> Vec<Arg> {
    vec![
        Arg::text(&e.url),
        Arg::text(e.secret.expose()),
        Arg::text(types_column(&e.event_types)),
        Arg::int(i64::from(e.enabled)),
        Arg::opt_text(e.disabled_reason.as_deref()),
        Arg::int(e.failing_since.map(ms)),
        Arg::int(ms(e.updated_at)),
    ]
}

/// An endpoint's events say what it sends where.
impl Subject for WebhookEndpoint {
    fn event_subject(&self) -> (&TenantId, serde_json::Value) {
        let data = serde_json::json!({"webhook_id": self.id, "url": self.url, "event_types": self.event_types, "enabled": self.enabled});
        (&self.tenant_id, data)
    }
}

/// An attempt from a row with its `attempted_at`, `status_code`,
/// `duration_ms` and `error` columns, of the delivery and event named.
pub(super) fn attempt(
    r: &impl Cols,
    delivery_id: i64,
    event_id: i64,
    event_type: String,
) -> Result<WebhookAttempt, StoreError> {
    Ok(WebhookAttempt {
        delivery_id,
        event_id,
        event_type,
        attempted_at: rows::time(r, "attempted_at")?,
        status_code: r.col::<Option<i64>>("status_code")?.map(|c| c as u16),
        duration_ms: r.col::<Option<i64>>("duration_ms")?.unwrap_or(0).max(0) as u64,
        error: r.col("error")?,
    })
}

/// An attempt with its delivery and event, from a row that has them.
impl FromCols for WebhookAttempt {
    fn from_cols(r: &impl Cols) -> Result<Self, StoreError> {
        attempt(r, r.col("delivery_id")?, r.col("event_id")?, r.col("type")?)
    }
}
