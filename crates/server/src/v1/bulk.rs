//! `/v1` routes that act on many invitations of a tenant at once (revoke
//! and resend in bulk) and that change one (`PATCH`).

use super::dto::InvitationView;
use crate::auth::Caller;
use crate::error::{Error, Problem};
use crate::extract::{Json, Path};
use crate::service::bulk::{BulkAction, BulkFailure, BulkSelection};
use crate::service::change::InvitationPatch;
use crate::service::invitations::accept_url;
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The answer to a bulk revoke or resend: each invitation acted on, and
/// each item that was not, with why.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    /// Revoked, or resent (each with its new `accept_url`, shown this once).
    pub invitations: Vec<InvitationView>,
    pub failures: Vec<BulkFailure>,
}

/// Revoke many invitations of the tenant, named by address (each
/// address's newest invitation) or by id, in one transaction.
///
/// Pending and expired invitations are revoked; each item that is not is
/// listed in `failures` with a code (`not_found`, `not_pending` when it was
/// accepted, declined or already revoked, `invalid_email`,
/// `duplicate_in_request`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations/revoke", operation_id = "revoke_invitations", tag = "invitations",
    params(("tenant" = String, Path)),
    request_body = BulkSelection,
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 200, body = BulkResponse, description = "Every item answered: revoked in `invitations`, the others in `failures`")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(req): Json<BulkSelection>,
) -> Result<crate::extract::Json<BulkResponse>, Error> {
    bulk(state, caller, tenant, BulkAction::Revoke, req).await
}

/// Resend many invitations of the tenant, named by address (each
/// address's newest invitation) or by id, in one transaction.
///
/// Each is resent as by the single resend (a new link, a new expiry, a new
/// email); each item that is not is listed in `failures` with a code
/// (`not_found`, `not_pending`, `resend_cooldown` or
/// `resend_limit_reached` with `retry_after_seconds`, `invalid_email`,
/// `duplicate_in_request`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations/resend", operation_id = "resend_invitations", tag = "invitations",
    params(("tenant" = String, Path)),
    request_body = BulkSelection,
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 200, body = BulkResponse, description = "Every item answered: resent in `invitations` (each with its new `accept_url`, shown this once), the others in `failures`")))]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(req): Json<BulkSelection>,
) -> Result<crate::extract::Json<BulkResponse>, Error> {
    bulk(state, caller, tenant, BulkAction::Resend, req).await
}

async fn bulk(
    state: AppState,
    caller: Caller,
    tenant: String,
    action: BulkAction,
    req: BulkSelection,
) -> Result<crate::extract::Json<BulkResponse>, Error> {
    let out = state.service().bulk(&caller, &tenant, action, req).await?;
    let now = state.clock.now();
    let public_url = &state.config.public_url;
    let invitations = out
        .done
        .iter()
        .map(|(inv, token)| {
            let url = token.as_ref().map(|t| accept_url(public_url, t));
            InvitationView::new(inv, &caller, now, url)
        })
        .collect();
    Ok(crate::extract::Json(BulkResponse { invitations, failures: out.failures }))
}

/// Change a pending invitation: its roles, message, metadata or expiry.
///
/// Absent fields stay. The link and its token stay valid and no email is
/// sent (resend sends one with the new terms). Recorded as an
/// `invitation.updated` event with the changed fields before and after; a
/// change that changes nothing records nothing.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/invitations/{id}", operation_id = "update_invitation", tag = "invitations",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    request_body = InvitationPatch,
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 200, body = InvitationView, description = "The invitation as changed"),
        (status = 400, body = Problem, description = "`unknown_role`: `roles` names a role the tenant does not have."),
        (status = 409, body = Problem, description = "`invitation_already_accepted`, `invitation_already_declined` or `invitation_revoked`: only a pending invitation can be changed."),
        (status = 410, body = Problem, description = "`invitation_expired`: the invitation expired; resend it instead.")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(req): Json<InvitationPatch>,
) -> Result<crate::extract::Json<InvitationView>, Error> {
    let inv = state.service().change_invitation(&caller, &tenant, id, req).await?;
    Ok(crate::extract::Json(InvitationView::new(&inv, &caller, state.clock.now(), None)))
}
