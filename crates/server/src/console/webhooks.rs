//! A tenant's webhook endpoints: the list, one endpoint with its recent
//! delivery attempts, and its actions (send a test event, enable, disable,
//! rotate the signing secret). Everything goes through the same service
//! calls as `/v1/tenants/{tenant}/webhooks` (scope `tenants:admin`); a new
//! secret is shown only in the response to the POST that made it.

use super::render::{Page, error_page, see_other, when};
use super::session::{Empty, Posted, Session};
use super::strings::text;
use crate::error::Error;
use crate::service::webhooks::WebhookPatch;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use invitd_store::{WebhookAttempt, WebhookEndpoint};
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

/// How many attempts the endpoint page shows, newest first.
const ATTEMPTS_SHOWN: u32 = 50;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants/{tenant}/webhooks", get(list))
        .route("/admin/tenants/{tenant}/webhooks/{id}", get(show))
        .route("/admin/tenants/{tenant}/webhooks/{id}/test", post(send_test))
        .route("/admin/tenants/{tenant}/webhooks/{id}/enable", post(enable))
        .route("/admin/tenants/{tenant}/webhooks/{id}/disable", get(confirm_disable).post(disable))
        .route(
            "/admin/tenants/{tenant}/webhooks/{id}/rotate-secret",
            get(confirm_rotate).post(rotate),
        )
}

/// An endpoint id from the path: one that is not a UUID names nothing.
fn endpoint_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::NotFound("webhook"))
}

/// The breadcrumbs down to the tenant's webhooks; the list itself is the
/// last, unlinked, crumb unless `linked`.
async fn crumbs(state: &AppState, session: &Session, tenant: &str, linked: bool) -> Vec<Value> {
    // The name is decoration: the id stands in if the key cannot read it.
    let name = match state.service().get_tenant(&session.caller, tenant).await {
        Ok(t) => t.name,
        Err(_) => tenant.to_string(),
    };
    let list = format!("/admin/tenants/{tenant}/webhooks");
    vec![
        context! { label => text("tenants_title"), href => "/admin/tenants" },
        context! { label => name, href => format!("/admin/tenants/{tenant}") },
        context! { label => text("webhooks_title"), href => linked.then_some(list) },
    ]
}

/// What the pages show of an endpoint (never its secret).
fn endpoint_view(e: &WebhookEndpoint) -> Value {
    context! {
        id => e.id.to_string(),
        url => &e.url,
        event_types => &e.event_types,
        state => if e.enabled { "enabled" } else { "disabled" },
        enabled => e.enabled,
        disabled_reason => &e.disabled_reason,
        failing_since => e.failing_since.map(when),
        created_at => when(e.created_at),
        updated_at => when(e.updated_at),
    }
}

fn attempt_view(a: &WebhookAttempt) -> Value {
    context! {
        attempted_at => when(a.attempted_at),
        event_id => format!("evt_{}", a.event_id),
        event_type => &a.event_type,
        status_code => a.status_code,
        error => &a.error,
        duration_ms => a.duration_ms,
        outcome => if a.error.is_none() { "delivered" } else { "failed" },
    }
}

/// `GET /admin/tenants/{tenant}/webhooks`: every endpoint with its state.
async fn list(
    State(state): State<AppState>,
    session: Session,
    Path(tenant): Path<String>,
) -> Response {
    let endpoints = match state.service().list_webhooks(&session.caller, &tenant).await {
        Ok(list) => list,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let crumbs = crumbs(&state, &session, &tenant, false).await;
    Page::new(
        "webhooks.html",
        text("webhooks_title"),
        context! {
            section => "tenants",
            crumbs => crumbs,
            tenant => &tenant,
            endpoints => endpoints.iter().map(endpoint_view).collect::<Vec<_>>(),
        },
    )
    .render(Some(&session))
}

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

/// The notice after an action, by its `?done=` word.
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "test" => Some(text("webhook_done_test")),
        "enabled" => Some(text("webhook_done_enabled")),
        "disabled" => Some(text("webhook_done_disabled")),
        _ => None,
    }
}

/// `GET /admin/tenants/{tenant}/webhooks/{id}`: the endpoint, its recent
/// attempts and its actions.
async fn show(
    State(state): State<AppState>,
    session: Session,
    Path((tenant, id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let service = state.service();
    let found = async {
        let id = endpoint_id(&id)?;
        let endpoint = service.webhook(&session.caller, &tenant, id).await?;
        let attempts =
            service.webhook_attempts(&session.caller, &tenant, id, Some(ATTEMPTS_SHOWN)).await?;
        Ok::<_, Error>((endpoint, attempts))
    };
    let (endpoint, attempts) = match found.await {
        Ok(found) => found,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let mut crumbs = crumbs(&state, &session, &tenant, true).await;
    crumbs.push(context! { label => text("webhook_title") });
    Page::new(
        "webhook.html",
        format!("{} · {}", text("webhook_title"), endpoint.url),
        context! {
            section => "tenants",
            crumbs => crumbs,
            tenant => &tenant,
            endpoint => endpoint_view(&endpoint),
            attempts => attempts.iter().map(attempt_view).collect::<Vec<_>>(),
            notice => notice(done.done.as_deref()),
        },
    )
    .render(Some(&session))
}

/// Where an action on an endpoint sends the browser back to.
fn back(tenant: &str, id: Uuid, done: &str) -> Response {
    see_other(&format!("/admin/tenants/{tenant}/webhooks/{id}?done={done}"))
}

/// `POST …/test`: queues a `webhook.test` event for this endpoint alone.
async fn send_test(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    let session = posted.session;
    let sent = async {
        let id = endpoint_id(&id)?;
        state.service().send_webhook_test(&session.caller, &tenant, id).await?;
        Ok::<_, Error>(id)
    };
    match sent.await {
        Ok(id) => back(&tenant, id, "test"),
        Err(e) => error_page(&e, Some(&session)),
    }
}

/// Enables or disables an endpoint, as `PATCH {"enabled": …}` does.
async fn set_enabled(
    state: &AppState,
    session: &Session,
    tenant: &str,
    id: &str,
    enabled: bool,
) -> Response {
    let changed = async {
        let id = endpoint_id(id)?;
        let patch = WebhookPatch { enabled: Some(enabled), ..WebhookPatch::default() };
        state.service().update_webhook(&session.caller, tenant, id, patch).await?;
        Ok::<_, Error>(id)
    };
    match changed.await {
        Ok(id) => back(tenant, id, if enabled { "enabled" } else { "disabled" }),
        Err(e) => error_page(&e, Some(session)),
    }
}

/// `POST …/enable`: enables it again (clearing a disable by invitd).
async fn enable(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    set_enabled(&state, &posted.session, &tenant, &id, true).await
}

/// `POST …/disable`: disables it.
async fn disable(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    set_enabled(&state, &posted.session, &tenant, &id, false).await
}

/// A confirmation page for a destructive action on an endpoint: `what`
/// names its strings (`webhook_<what>_confirm_title`, `…_confirm`,
/// `webhook_<what>`) and its path.
async fn confirm(
    state: &AppState,
    session: &Session,
    tenant: &str,
    id: &str,
    what: &'static str,
    path: &'static str,
) -> Response {
    let found = async {
        let id = endpoint_id(id)?;
        state.service().webhook(&session.caller, tenant, id).await
    };
    let endpoint = match found.await {
        Ok(endpoint) => endpoint,
        Err(e) => return error_page(&e, Some(session)),
    };
    let href = format!("/admin/tenants/{tenant}/webhooks/{}", endpoint.id);
    let mut crumbs = crumbs(state, session, tenant, true).await;
    crumbs.push(context! { label => text("webhook_title"), href => &href });
    crumbs.push(context! { label => text(&format!("webhook_{what}")) });
    let title = text(&format!("webhook_{what}_confirm_title"));
    Page::new(
        "confirm.html",
        title,
        context! {
            section => "tenants",
            crumbs => crumbs,
            heading => title,
            subject => &endpoint.url,
            question => text(&format!("webhook_{what}_confirm")),
            button => text(&format!("webhook_{what}")),
            danger => true,
            action => format!("{href}/{path}"),
            back => href,
        },
    )
    .render(Some(session))
}

/// `GET …/disable`: asks first.
async fn confirm_disable(
    State(state): State<AppState>,
    session: Session,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    confirm(&state, &session, &tenant, &id, "disable", "disable").await
}

/// `GET …/rotate-secret`: asks first.
async fn confirm_rotate(
    State(state): State<AppState>,
    session: Session,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    confirm(&state, &session, &tenant, &id, "rotate", "rotate-secret").await
}

/// `POST …/rotate-secret`: a new secret, shown in this response only.
async fn rotate(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    let session = posted.session;
    let rotated = async {
        let id = endpoint_id(&id)?;
        state.service().rotate_webhook_secret(&session.caller, &tenant, id).await
    };
    let endpoint = match rotated.await {
        Ok(endpoint) => endpoint,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let href = format!("/admin/tenants/{tenant}/webhooks/{}", endpoint.id);
    let mut crumbs = crumbs(&state, &session, &tenant, true).await;
    crumbs.push(context! { label => text("webhook_title"), href => &href });
    crumbs.push(context! { label => text("webhook_new_secret_title") });
    Page::new(
        "webhook_secret.html",
        text("webhook_new_secret_title"),
        context! {
            section => "tenants",
            crumbs => crumbs,
            endpoint => endpoint_view(&endpoint),
            secret => endpoint.secret.expose(),
            back => href,
        },
    )
    .render(Some(&session))
}
