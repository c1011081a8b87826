//! `/v1` routes about one person's invitations across tenants: the list of
//! an address's invitations and accepting all of its pending ones.

use super::dto::{InvitationPage, InvitationView};
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::{Json, Query};
use crate::service::address::{AcceptAll, AddressQuery};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

/// The invitations an accept-all call accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedList {
    /// Newest first; empty when the address had no pending invitation.
    pub invitations: Vec<InvitationView>,
}

/// One address's invitations in every tenant the key reaches, newest
/// first, with cursor pagination (the "you have 3 pending invitations"
/// screen).
#[utoipa::path(get, path = "/v1/invitations", operation_id = "list_address_invitations", tag = "invitations",
    params(AddressQuery),
    security(("bearer" = ["invites:read"])),
    responses(
        (status = 200, body = InvitationPage, description = "A page of the address's invitations, newest first")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AddressQuery>,
) -> Result<crate::extract::Json<InvitationPage>, Error> {
    let (page, next_cursor) = state.service().address_invitations(&caller, q).await?;
    let now = state.clock.now();
    Ok(crate::extract::Json(InvitationPage {
        invitations: page.iter().map(|i| InvitationView::new(i, &caller, now, None)).collect(),
        next_cursor,
    }))
}

/// Accept every pending, unexpired invitation of an address in the tenants
/// the key reaches, in one transaction, as the account `account_id` (the
/// host app has verified that the address is the person's).
///
/// Each accepted invitation gets its own `invitation.accepted` event and
/// webhooks. At most 1,000 (newest first) per call; of two concurrent
/// calls each invitation is accepted once.
#[utoipa::path(post, path = "/v1/invitations/accept-all", operation_id = "accept_all", tag = "invitations",
    request_body = AcceptAll,
    security(("bearer" = ["invites:write"])),
    responses(
        (status = 200, body = AcceptedList, description = "The invitations accepted by this call")))]
pub async fn accept_all(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<AcceptAll>,
) -> Result<crate::extract::Json<AcceptedList>, Error> {
    let accepted = state.service().accept_all(&caller, req).await?;
    let now = state.clock.now();
    Ok(crate::extract::Json(AcceptedList {
        invitations: accepted.iter().map(|i| InvitationView::new(i, &caller, now, None)).collect(),
    }))
}
