//! `/v1` webhook endpoints and the event log.

use super::dto::{EventView, InvitationView};
use crate::auth::Caller;
use crate::error::{Error, Problem};
use crate::extract::{Json, Path, Query};
use crate::service::webhooks::{EventQuery, NewWebhook, WebhookPatch};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use invitd_store::{WebhookAttempt, WebhookEndpoint};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    /// Subscribed event types; empty: all.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Set when invitd disabled the endpoint after failing for too long.
    pub disabled_reason: Option<String>,
    /// When the current run of failures began, if failing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&WebhookEndpoint> for WebhookView {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: verify deliveries with any Standard Webhooks library.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub delivery_id: i64,
    /// `evt_<n>`, the `webhook-id` the receiver saw.
    pub event_id: String,
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub attempted_at: OffsetDateTime,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl From<&WebhookAttempt> for AttemptView {
    fn from(a: &WebhookAttempt) -> Self {
        Self {
            delivery_id: a.delivery_id,
            event_id: format!("evt_{}", a.event_id),
            event_type: a.event_type.clone(),
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            error: a.error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One event of the log, with the invitation as it was then (if any).
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedEvent {
    #[serde(flatten)]
    pub event: EventView,
    pub invitation_id: Option<Uuid>,
    pub invitation: Option<InvitationView>,
}

/// A page of the event log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<LoggedEvent>,
    pub next_cursor: Option<String>,
}

fn secret_view(e: &WebhookEndpoint) -> WebhookWithSecret {
    WebhookWithSecret { webhook: WebhookView::from(e), secret: e.secret.expose().to_string() }
}

/// Subscribe an http(s) URL to the tenant's invitation events. The answer
/// carries the signing `secret`, shown this once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks", operation_id = "create_webhook", tag = "webhooks", params(("tenant" = String, Path)), request_body = NewWebhook,
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 201, body = WebhookWithSecret, description = "Subscribed; `secret` is shown this once")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(req): Json<NewWebhook>,
) -> Result<(StatusCode, crate::extract::Json<WebhookWithSecret>), Error> {
    let e = state.service().create_webhook(&caller, &tenant, req).await?;
    Ok((StatusCode::CREATED, crate::extract::Json(secret_view(&e))))
}

/// The tenant's webhook endpoints.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks", operation_id = "list_webhooks", tag = "webhooks", params(("tenant" = String, Path)),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = WebhookList, description = "The tenant's endpoints")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<crate::extract::Json<WebhookList>, Error> {
    let list = state.service().list_webhooks(&caller, &tenant).await?;
    Ok(crate::extract::Json(WebhookList { webhooks: list.iter().map(WebhookView::from).collect() }))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks", params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = WebhookView, description = "The endpoint")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<crate::extract::Json<WebhookView>, Error> {
    Ok(crate::extract::Json(WebhookView::from(
        &state.service().webhook(&caller, &tenant, id).await?,
    )))
}

/// Change the URL, the event types, or enable/disable; enabling clears a
/// disable by invitd.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/webhooks/{id}", operation_id = "update_webhook", tag = "webhooks", params(("tenant" = String, Path), ("id" = Uuid, Path)), request_body = WebhookPatch,
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = WebhookView, description = "The endpoint as changed")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(patch): Json<WebhookPatch>,
) -> Result<crate::extract::Json<WebhookView>, Error> {
    Ok(crate::extract::Json(WebhookView::from(
        &state.service().update_webhook(&caller, &tenant, id, patch).await?,
    )))
}

/// Remove an endpoint, with its pending deliveries.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks", params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, Error> {
    state.service().delete_webhook(&caller, &tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; the old one stops at once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks/{id}/rotate-secret", operation_id = "rotate_webhook_secret", tag = "webhooks", params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = WebhookWithSecret, description = "The new secret, shown this once")))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<crate::extract::Json<WebhookWithSecret>, Error> {
    Ok(crate::extract::Json(secret_view(
        &state.service().rotate_webhook_secret(&caller, &tenant, id).await?,
    )))
}

/// A test event queued for one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestQueued {
    /// `evt_<n>`: the `webhook-id` the receiver will see.
    pub event_id: String,
    /// `webhook.test`.
    pub event_type: String,
    /// The delivery, as `…/attempts` lists it once tried.
    pub delivery_id: i64,
}

/// Send a signed `webhook.test` event to this endpoint alone (enabled or
/// not, whatever it subscribes to). The webhook worker delivers it like any
/// other (same signature, address checks and retries); its attempts show
/// in `…/attempts`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/webhooks/{id}/test", operation_id = "send_webhook_test", tag = "webhooks", params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 202, body = TestQueued, description = "Queued for delivery")))]
pub async fn send_test(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<(StatusCode, crate::extract::Json<TestQueued>), Error> {
    let queued = state.service().send_webhook_test(&caller, &tenant, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        crate::extract::Json(TestQueued {
            event_id: format!("evt_{}", queued.event_id),
            event_type: invitd_core::EventType::WebhookTest.as_str().to_string(),
            delivery_id: queued.delivery_id,
        }),
    ))
}

/// Every delivery attempt to this endpoint, newest first: status code,
/// duration, error.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/webhooks/{id}/attempts", operation_id = "list_webhook_attempts", tag = "webhooks", params(("tenant" = String, Path), ("id" = Uuid, Path), AttemptQuery),
    security(("bearer" = ["tenants:admin"])),
    responses(
        (status = 200, body = AttemptList, description = "Delivery attempts, newest first")))]
pub async fn attempts(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    Query(q): Query<AttemptQuery>,
) -> Result<crate::extract::Json<AttemptList>, Error> {
    let list = state.service().webhook_attempts(&caller, &tenant, id, q.limit).await?;
    Ok(crate::extract::Json(AttemptList { attempts: list.iter().map(AttemptView::from).collect() }))
}

fn event_page(events: Vec<invitd_store::Event>, next_cursor: Option<String>) -> EventPage {
    EventPage {
        events: events
            .iter()
            .map(|e| LoggedEvent {
                event: EventView::from(e),
                invitation_id: e.invitation_id,
                invitation: e
                    .snapshot
                    .as_ref()
                    .map(|inv| InvitationView::with_write(inv, false, e.at, None)),
            })
            .collect(),
        next_cursor,
    }
}

/// The tenant's audit trail, newest first: every invitation event and
/// every administrative change (tenant, roles, webhooks), with actor, time,
/// client address and user agent.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/events", operation_id = "list_tenant_events", tag = "events", params(("tenant" = String, Path), EventQuery),
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = EventPage, description = "A page of events, newest first")))]
pub async fn tenant_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<EventQuery>,
) -> Result<crate::extract::Json<EventPage>, Error> {
    let (events, next) = state.service().events(&caller, Some(&tenant), q).await?;
    Ok(crate::extract::Json(event_page(events, next)))
}

/// The installation's own audit trail (API keys created and revoked),
/// newest first. Needs `keys:admin` on a key for all tenants.
#[utoipa::path(get, path = "/v1/events", operation_id = "list_installation_events", tag = "events", params(EventQuery),
    security(("bearer" = ["keys:admin"])),
    responses(
        (status = 200, body = EventPage, description = "A page of events, newest first"),
        (status = 403, body = Problem, description = "`forbidden`: needs `keys:admin` on a key for all tenants.")))]
pub async fn installation_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<EventQuery>,
) -> Result<crate::extract::Json<EventPage>, Error> {
    let (events, next) = state.service().events(&caller, None, q).await?;
    Ok(crate::extract::Json(event_page(events, next)))
}
