//! Resending and revoking one invitation, each confirmed on a page of its
//! own (the console works without JavaScript): `GET …/resend` asks,
//! `POST …/resend` does it as the signed-in key and goes back to the
//! invitation's page with a notice. A refusal of the lifecycle (too soon,
//! too often, already answered) shows on the invitation's page with its
//! 4xx status.

use super::{Said, crumbs, load, page, path_of};
use crate::auth::Scope;
use crate::console::render::{Page, error_page, see_other};
use crate::console::session::{Empty, Posted, Session};
use crate::console::strings::text;
use crate::error::Error;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use invitd_core::Invitation;
use invitd_store::Tenant;
use minijinja::context;

/// The two actions of the page.
#[derive(Clone, Copy)]
enum Action {
    Resend,
    Revoke,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Resend => "resend",
            Action::Revoke => "revoke",
        }
    }
}

/// `GET …/resend`.
pub(super) async fn confirm_resend(
    State(state): State<AppState>,
    session: Session,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    confirm(&state, &session, &tenant, &id, Action::Resend).await
}

/// `GET …/revoke`.
pub(super) async fn confirm_revoke(
    State(state): State<AppState>,
    session: Session,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    confirm(&state, &session, &tenant, &id, Action::Revoke).await
}

/// `POST …/resend`.
pub(super) async fn resend(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    act(&state, &posted.session, &tenant, &id, Action::Resend).await
}

/// `POST …/revoke`.
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    act(&state, &posted.session, &tenant, &id, Action::Revoke).await
}

/// The page that asks before acting: for a key that may change
/// invitations, about an invitation still open.
async fn confirm(
    state: &AppState,
    session: &Session,
    tenant: &str,
    id: &str,
    action: Action,
) -> Response {
    if let Err(e) = session.caller.require(Scope::InvitesWrite) {
        return error_page(&e, Some(session));
    }
    let (tenant, inv) = match load(state, session, tenant, id).await {
        Ok(found) => found,
        Err(e) => return error_page(&e, Some(session)),
    };
    // Resend and revoke share their precondition: the invitation is open
    // (pending or expired), not answered or revoked.
    if let Err(refused) = inv.revoke(state.clock.now()) {
        return page(state, session, &tenant, &inv, Said::refused(&refused)).await;
    }
    confirm_page(session, &tenant, &inv, action)
}

fn confirm_page(session: &Session, tenant: &Tenant, inv: &Invitation, action: Action) -> Response {
    let name = action.name();
    let key = |part: &str| text(&format!("inv_confirm_{name}{part}"));
    let mut trail = crumbs(tenant, inv, true);
    trail.push(context! { label => text(&format!("inv_{name}")) });
    Page::new(
        "confirm.html",
        key("_title"),
        context! {
            section => "tenants",
            crumbs => trail,
            heading => key("_title"),
            question => key("").replace("{email}", &inv.email),
            hint => key("_hint"),
            button => key("_button"),
            danger => matches!(action, Action::Revoke),
            action => format!("{}/{name}", path_of(tenant, inv.id)),
            back => path_of(tenant, inv.id),
        },
    )
    .render(Some(session))
}

/// Does the action as the session's key, then back to the invitation.
async fn act(
    state: &AppState,
    session: &Session,
    tenant: &str,
    id: &str,
    action: Action,
) -> Response {
    let service = state.service();
    let caller = &session.caller;
    let done = async {
        // The write scope first: a key without it learns nothing more.
        caller.require(Scope::InvitesWrite)?;
        // `load` checked the tenant; the write scope is checked above.
        let (tenant, inv) = load(state, session, tenant, id).await?;
        let audit = caller.audit();
        let result = match action {
            Action::Resend => service.resend_in(&tenant, inv.id, None, &audit).await.map(|_| ()),
            Action::Revoke => service.revoke_in(&tenant.id, inv.id, &audit).await.map(|_| ()),
        };
        Ok::<_, Error>((tenant, inv, result))
    };
    match done.await {
        Ok((tenant, inv, Ok(()))) => {
            let done = match action {
                Action::Resend => "resent",
                Action::Revoke => "revoked",
            };
            see_other(&format!("{}?done={done}", path_of(&tenant, inv.id)))
        }
        Ok((tenant, inv, Err(Error::Lifecycle(refused)))) => {
            page(state, session, &tenant, &inv, Said::refused(&refused)).await
        }
        Ok((_, _, Err(e))) | Err(e) => error_page(&e, Some(session)),
    }
}
