//! One invitation, for the support person asking "did this person get it?":
//! every field of the invitation, its audit trail, its email delivery
//! attempts and its webhook deliveries, with "Resend" and "Revoke" when the
//! key may do them (each through a confirmation page, see [`actions`]).
//! The token and the accept link are never shown.

mod actions;

use super::render::{Page, error_page, when};
use super::session::Session;
use super::strings::text;
use crate::auth::Scope;
use crate::error::Error;
use crate::service::invitations::role_labels;
use crate::state::AppState;
use crate::view::InvitationView;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use invitd_core::{Actor, Invitation, LifecycleError};
use invitd_store::{DeliveryAttempt, Event, InvitationWebhookDelivery, Role, Tenant};
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants/{tenant}/invitations/{id}", get(show))
        .route(
            "/admin/tenants/{tenant}/invitations/{id}/resend",
            get(actions::confirm_resend).post(actions::resend),
        )
        .route(
            "/admin/tenants/{tenant}/invitations/{id}/revoke",
            get(actions::confirm_revoke).post(actions::revoke),
        )
}

/// The page's own path.
fn path_of(tenant: &Tenant, id: Uuid) -> String {
    format!("/admin/tenants/{}/invitations/{id}", tenant.id)
}

/// The breadcrumbs down to the invitation (a link when `linked`).
fn crumbs(tenant: &Tenant, inv: &Invitation, linked: bool) -> Vec<Value> {
    let base = format!("/admin/tenants/{}", tenant.id);
    let mut crumbs = vec![
        context! { label => text("nav_tenants"), href => "/admin/tenants" },
        context! { label => &tenant.name, href => &base },
        context! { label => text("invitations_title"), href => format!("{base}/invitations") },
    ];
    let href = linked.then(|| path_of(tenant, inv.id));
    crumbs.push(context! { label => &inv.email, href => href });
    crumbs
}

/// The tenant and the invitation named by a console path, if the key reads
/// invitations there; an id that is not a UUID is not found.
async fn load(
    state: &AppState,
    session: &Session,
    tenant: &str,
    id: &str,
) -> Result<(Tenant, Invitation), Error> {
    let service = state.service();
    let tenant = service.tenant_with(&session.caller, Scope::InvitesRead, tenant).await?;
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound("invitation"))?;
    let inv = service.get_invitation_in(&tenant.id, id).await?;
    Ok((tenant, inv))
}

/// What the page says besides the invitation: a notice after an action,
/// or why one was refused (with the status the refusal answers).
struct Said {
    status: StatusCode,
    notice: Option<&'static str>,
    alert: Option<String>,
    retry_after: Option<u64>,
}

impl Said {
    fn nothing() -> Self {
        Said { status: StatusCode::OK, notice: None, alert: None, retry_after: None }
    }

    /// A refused resend or revoke, in words.
    fn refused(e: &LifecycleError) -> Self {
        let (key, secs) = match e {
            LifecycleError::ResendCooldown { retry_after_secs } => {
                ("inv_refused_cooldown", Some(*retry_after_secs))
            }
            LifecycleError::ResendLimit { retry_after_secs } => {
                ("inv_refused_limit", Some(*retry_after_secs))
            }
            LifecycleError::AlreadyAccepted => ("inv_refused_accepted", None),
            LifecycleError::AlreadyDeclined => ("inv_refused_declined", None),
            LifecycleError::Revoked => ("inv_refused_revoked", None),
            LifecycleError::Expired => ("inv_refused_expired", None),
        };
        let line = text(key).replace("{secs}", &secs.unwrap_or_default().to_string());
        Said {
            status: Error::Lifecycle(e.clone()).status(),
            notice: None,
            alert: Some(line),
            retry_after: secs,
        }
    }
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    done: Option<String>,
}

/// `GET /admin/tenants/{tenant}/invitations/{id}`.
async fn show(
    State(state): State<AppState>,
    session: Session,
    Path((tenant, id)): Path<(String, String)>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let notice = match query.done.as_deref() {
        Some("resent") => Some(text("inv_done_resent")),
        Some("revoked") => Some(text("inv_done_revoked")),
        _ => None,
    };
    match load(&state, &session, &tenant, &id).await {
        Ok((tenant, inv)) => {
            page(&state, &session, &tenant, &inv, Said { notice, ..Said::nothing() }).await
        }
        Err(e) => error_page(&e, Some(&session)),
    }
}

/// Renders the invitation's page, reading what happened to it.
async fn page(
    state: &AppState,
    session: &Session,
    tenant: &Tenant,
    inv: &Invitation,
    said: Said,
) -> Response {
    let service = state.service();
    let caller = &session.caller;
    // `load` checked the key and read the invitation: the rest is read at
    // once, without checking again.
    let read = tokio::try_join!(
        service.catalogue(tenant),
        service.invitation_records_in(&tenant.id, inv.id)
    );
    let (catalogue, records) = match read {
        Ok(read) => read,
        Err(e) => return error_page(&e, Some(session)),
    };
    let (events, emails, hooks) = (records.events, records.emails, records.webhooks);
    let view = InvitationView::new(inv, caller, state.clock.now(), None);
    let values = context! {
        section => "tenants",
        crumbs => crumbs(tenant, inv, false),
        here => path_of(tenant, inv.id),
        inv => facts(inv, &view, tenant, &catalogue),
        can_resend => view.capabilities.can_resend,
        can_revoke => view.capabilities.can_revoke,
        events => events.iter().map(event).collect::<Vec<_>>(),
        emails => emails.iter().map(email).collect::<Vec<_>>(),
        hooks => hooks.iter().map(hook).collect::<Vec<_>>(),
        notice => said.notice,
        alert => said.alert,
    };
    let title = format!("{} · {}", text("invitation_title"), inv.email);
    let mut response =
        Page::new("invitation.html", title, values).status(said.status).render(Some(session));
    if let Some(v) = said.retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Every field of the invitation, as the page shows it.
fn facts(inv: &Invitation, view: &InvitationView, tenant: &Tenant, catalogue: &[Role]) -> Value {
    let labels = role_labels(&inv.roles, catalogue, "en");
    let roles: Vec<Value> = inv
        .roles
        .iter()
        .zip(labels)
        .map(|(id, label)| context! { id => id.as_str(), label => label })
        .collect();
    let metadata = match &inv.metadata {
        serde_json::Value::Object(map) if map.is_empty() => None,
        other => serde_json::to_string_pretty(other).ok(),
    };
    let delivery = inv.delivery_state.as_str();
    context! {
        id => inv.id.to_string(),
        number => inv.number,
        email => &inv.email,
        status => view.status.as_str(),
        roles => roles,
        delivery => delivery,
        delivery_word => text(&format!("inv_delivery_{delivery}")),
        delivery_attempts => inv.delivery_attempts,
        delivery_sent_at => inv.delivery_sent_at.map(when),
        delivery_last_error => &inv.delivery_last_error,
        language => &inv.language,
        tenant_language => inv.language_or(tenant.language.as_ref()),
        message => &inv.message,
        purpose => &inv.purpose,
        inviter_email => &inv.inviter_email,
        inviter_account => &inv.inviter_account_id,
        locations => &inv.location_ids,
        metadata => metadata,
        redirect_url => &inv.redirect_url,
        accepted_by => &inv.accepted_by,
        accepted_email => &inv.accepted_email,
        created_at => when(inv.created_at),
        expires_at => when(inv.expires_at),
        last_sent_at => inv.last_sent_at.map(when),
        accepted_at => inv.accepted_at.map(when),
        declined_at => inv.declined_at.map(when),
        revoked_at => inv.revoked_at.map(when),
        resend_count => inv.resend_count,
    }
}

/// Who acted, in words.
fn actor(actor: &Actor) -> String {
    match actor {
        Actor::ApiKey { name, .. } => format!("{} “{name}”", text("inv_actor_key")),
        Actor::Invitee { account_id: Some(account) } => {
            format!("{} {account}", text("inv_actor_invitee_account"))
        }
        Actor::Invitee { account_id: None } => text("inv_actor_invitee").to_string(),
        Actor::System => text("inv_actor_system").to_string(),
        Actor::Operator => text("inv_actor_operator").to_string(),
    }
}

/// A word for a code, from the strings under `prefix`, else the code.
fn word(prefix: &str, code: &str) -> String {
    super::strings::text_or(&format!("{prefix}{code}"), code).to_string()
}

fn event(e: &Event) -> Value {
    let details = match &e.data {
        serde_json::Value::Object(map) if map.is_empty() => None,
        serde_json::Value::Null => None,
        data => Some(data.to_string()),
    };
    context! {
        what => word("inv_event_", &e.event_type),
        kind => &e.event_type,
        at => when(e.at),
        who => actor(&e.actor),
        ip => &e.ip,
        user_agent => &e.user_agent,
        details => details,
    }
}

fn email(a: &DeliveryAttempt) -> Value {
    // A retry is still under way: it wears the colour of "pending".
    let badge = if a.outcome == "retry" { "pending" } else { a.outcome.as_str() };
    context! {
        at => when(a.attempted_at),
        kind => word("inv_emails_kind_", &a.kind),
        outcome => word("inv_outcome_", &a.outcome),
        badge => badge,
        detail => &a.detail,
    }
}

fn hook(d: &InvitationWebhookDelivery) -> Value {
    let last = d.last_attempt.as_ref().map(|a| {
        context! {
            at => when(a.attempted_at),
            status_code => a.status_code,
            duration_ms => a.duration_ms,
            error => &a.error,
        }
    });
    context! {
        url => &d.endpoint_url,
        event => word("inv_event_", &d.event_type),
        kind => &d.event_type,
        state => &d.state,
        state_word => word("inv_webhook_", &d.state),
        attempts => d.attempts,
        last => last,
    }
}
