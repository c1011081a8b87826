//! `/v1` invitation routes.

use super::dto::*;
use crate::auth::Caller;
use crate::error::{Error, Problem};
use crate::extract::{Json, OptionalJson, Path, Query};
use crate::service::invitations::{CreateInvitations, ListQuery, ResendOptions, accept_url};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

/// Invite one or more addresses.
///
/// Unknown roles or an invalid common field refuse the whole call; each
/// address that cannot be invited is listed in `failures` with a code
/// (`invalid_email`, `duplicate_in_request`, `already_pending`,
/// `quota_exceeded` with `retry_after_seconds`). Answers 201 when at least
/// one invitation was created, 200 when none was, and 429 `quota_exceeded`
/// when none was because the tenant's quota (or the inviter's) is used up.
/// Each created invitation carries its `accept_url`, shown this once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations", operation_id = "create_invitations", tag = "invitations",
    params(("tenant" = String, Path)),
    request_body = CreateInvitations,
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 201, body = CreateInvitationsResponse, description = "At least one invitation created; each carries its `accept_url`, shown this once"),
        (status = 200, body = CreateInvitationsResponse, description = "None created; `failures` says why for each address"),
        (status = 400, body = Problem, description = "`unknown_role`: `roles` names a role the tenant does not have."),
        (status = 429, body = Problem, description = "`quota_exceeded`: nothing was created, the tenant's (or the inviter's) new invitations per 24 hours being used up; `Retry-After` says when one more fits.")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(req): Json<CreateInvitations>,
) -> Result<(StatusCode, crate::extract::Json<CreateInvitationsResponse>), Error> {
    let out = state.service().create_invitations(&caller, &tenant, req).await?;
    let now = state.clock.now();
    let invitations: Vec<InvitationView> = out
        .with_links(&state.config.public_url)
        .map(|(inv, url)| InvitationView::new(inv, &caller, now, Some(url)))
        .collect();
    let status = if invitations.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((
        status,
        crate::extract::Json(CreateInvitationsResponse { invitations, failures: out.failures }),
    ))
}

/// List invitations, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations", operation_id = "list_invitations", tag = "invitations",
    params(("tenant" = String, Path), ListQuery),
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = InvitationPage, description = "A page of invitations, newest first")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<crate::extract::Json<InvitationPage>, Error> {
    let (page, next_cursor) = state.service().list_invitations(&caller, &tenant, q).await?;
    let now = state.clock.now();
    Ok(crate::extract::Json(InvitationPage {
        invitations: page.iter().map(|i| InvitationView::new(i, &caller, now, None)).collect(),
        next_cursor,
    }))
}

/// One invitation.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations/{id}", operation_id = "get_invitation", tag = "invitations",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = InvitationView, description = "The invitation")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    let inv = state.service().get_invitation(&caller, &tenant, id).await?;
    Ok(crate::extract::Json(InvitationView::new(&inv, &caller, state.clock.now(), None)))
}

/// Resend: a new token (the old link stops working), the expiry extended by
/// the tenant's lifetime, back to pending if expired, and a new email.
/// Refused with 429 and `Retry-After` inside the cooldown or past the
/// window's maximum; 409 once accepted, declined or revoked.
///
/// The body is optional: `send_email: false` queues no email (the host app
/// delivers the new `accept_url`; the cooldown, which spaces emails, does
/// not apply, the window's maximum does), and `redirect_url` changes the
/// invitation's landing page (`null`: back to the tenant's).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations/{id}/resend", operation_id = "resend_invitation", tag = "invitations",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    request_body(content = Option<ResendOptions>, description = "Optional; an empty body resends with an email to the same landing page."),
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 200, body = InvitationView, description = "Resent; `accept_url` is the new link, shown this once"),
        (status = 409, body = Problem, description = "`invitation_already_accepted`, `invitation_already_declined` or `invitation_revoked`: the invitation is answered or revoked."),
        (status = 429, body = Problem, description = "`resend_cooldown` or `resend_limit_reached`: `Retry-After` says when a resend is possible again.")))]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    OptionalJson(options): OptionalJson<ResendOptions>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    let (inv, token) = state.service().resend_with_options(&caller, &tenant, id, options).await?;
    let url = accept_url(&state.config.public_url, &token);
    Ok(crate::extract::Json(InvitationView::new(&inv, &caller, state.clock.now(), Some(url))))
}

/// Revoke a pending or expired invitation; the record is kept.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations/{id}/revoke", operation_id = "revoke_invitation", tag = "invitations",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 200, body = InvitationView, description = "Revoked"),
        (status = 409, body = Problem, description = "`invitation_already_accepted`, `invitation_already_declined` or `invitation_revoked`: the invitation is answered or revoked.")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    let inv = state.service().revoke(&caller, &tenant, id).await?;
    Ok(crate::extract::Json(InvitationView::new(&inv, &caller, state.clock.now(), None)))
}

/// The audit trail of one invitation, oldest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations/{id}/events", operation_id = "list_invitation_events", tag = "invitations",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = EventList, description = "The invitation's events, oldest first")))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<crate::extract::Json<EventList>, Error> {
    let events = state.service().invitation_events(&caller, &tenant, id).await?;
    Ok(crate::extract::Json(EventList { events: events.iter().map(EventView::from).collect() }))
}

/// Every attempt to deliver the invitation's emails: when, how it went,
/// and what the mail server said.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations/{id}/deliveries", operation_id = "list_invitation_deliveries", tag = "invitations",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = DeliveryAttemptList, description = "Every delivery attempt, oldest first")))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<crate::extract::Json<DeliveryAttemptList>, Error> {
    let attempts = state.service().delivery_attempts(&caller, &tenant, id).await?;
    Ok(crate::extract::Json(DeliveryAttemptList {
        attempts: attempts.iter().map(DeliveryAttemptView::from).collect(),
    }))
}

/// Look an invitation up by the token of its link (for host apps that
/// render their own accept page). 410 `token_replaced` for a link replaced
/// by a resend.
#[utoipa::path(post, path = "/v1/invitations/lookup", operation_id = "lookup_token", tag = "tokens",
    request_body = TokenRequest,
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = InvitationView, description = "The invitation the token opens"),
        (status = 409, body = Problem, description = "`token_replaced`: a resend replaced this link.")))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<TokenRequest>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    let inv = state.service().lookup_token(&caller, &req.token).await?;
    Ok(crate::extract::Json(InvitationView::new(&inv, &caller, state.clock.now(), None)))
}

/// Accept by token, once. 410 when expired, 409 when already answered or
/// revoked; of two concurrent accepts exactly one succeeds. With
/// `account_email` and the tenant's `require_matching_email`, another
/// address than the invited one is refused (409 `email_mismatch`) and the
/// invitation stays pending; without the setting it is recorded.
#[utoipa::path(post, path = "/v1/invitations/accept", operation_id = "accept_token", tag = "tokens",
    request_body = AnswerRequest,
    // Answering looks the token up first, which takes invites:read.
    security(("bearer" = ["invites:write", "invites:read"])),
    responses(
        (status = 200, body = InvitationView, description = "Accepted"),
        (status = 409, body = Problem, description = "`token_replaced`, `invitation_already_accepted`, `invitation_already_declined` or `invitation_revoked`; `email_mismatch`: `account_email` is not the invited address (shown masked) and the tenant requires a match."),
        (status = 410, body = Problem, description = "`invitation_expired`: the invitation expired.")))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<AnswerRequest>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    answer(state, caller, req, true).await
}

/// Decline by token, once. Same refusals as accept, `email_mismatch`
/// included.
#[utoipa::path(post, path = "/v1/invitations/decline", operation_id = "decline_token", tag = "tokens",
    request_body = AnswerRequest,
    // Answering looks the token up first, which takes invites:read.
    security(("bearer" = ["invites:write", "invites:read"])),
    responses(
        (status = 200, body = InvitationView, description = "Declined"),
        (status = 409, body = Problem, description = "`token_replaced`, `invitation_already_accepted`, `invitation_already_declined` or `invitation_revoked`; `email_mismatch`: `account_email` is not the invited address (shown masked) and the tenant requires a match."),
        (status = 410, body = Problem, description = "`invitation_expired`: the invitation expired.")))]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<AnswerRequest>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    answer(state, caller, req, false).await
}

/// Accept (`accept`) or decline by token, answered as the invitation.
async fn answer(
    state: AppState,
    caller: Caller,
    req: AnswerRequest,
    accept: bool,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    let AnswerRequest { token, account_id, account_email } = req;
    let service = state.service();
    let inv =
        service.answer_by_token_as(&caller, &token, accept, account_id, account_email).await?;
    Ok(crate::extract::Json(InvitationView::new(&inv, &caller, state.clock.now(), None)))
}
