//! The tenants a key reaches, and one person's invitations across them
//! (what support is asked about first: "did this person get it?").

use super::render::{Page, error_page, when};
use super::session::Session;
use super::strings::text;
use crate::error::Error;
use crate::service::address::AddressQuery;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use serde::Deserialize;

/// Past this many tenants the list offers a search box.
const SEARCH_PAST: usize = 20;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/admin/tenants", get(list)).route("/admin/find", get(find))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
}

/// `GET /admin/tenants`: by name, searchable by name or id.
async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Response {
    let tenants = match state.service().list_tenants(&session.caller).await {
        Ok(tenants) => tenants,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let searchable = tenants.len() > SEARCH_PAST;
    let q = query.q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let shown: Vec<_> = tenants
        .iter()
        .filter(|t| {
            q.as_ref().is_none_or(|q| {
                t.name.to_lowercase().contains(q) || t.id.as_str().contains(q.as_str())
            })
        })
        .map(|t| {
            context! {
                id => t.id.as_str(),
                name => &t.name,
                language => t.language.as_ref().map(|l| l.as_str().to_string()),
                created_at => when(t.created_at),
            }
        })
        .collect();
    Page::new(
        "tenants.html",
        text("tenants_title"),
        context! { section => "tenants", tenants => shown, searchable => searchable || q.is_some(), q => q },
    )
    .render(Some(&session))
}

#[derive(Deserialize, Default)]
struct FindQuery {
    email: Option<String>,
    cursor: Option<String>,
}

/// `GET /admin/find?email=`: an address's invitations in every tenant the
/// key reaches, newest first, each linking to its page.
async fn find(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<FindQuery>,
) -> Response {
    let email = query.email.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    let Some(email) = email else { return super::render::see_other("/admin/tenants") };
    let service = state.service();
    let q = AddressQuery { email: Some(email.clone()), cursor: query.cursor, ..Default::default() };
    let (found, next) = match service.address_invitations(&session.caller, q).await {
        Ok(found) => found,
        Err(Error::Invalid(fields)) => {
            let line = fields.first().map(|f| f.message.clone()).unwrap_or_default();
            let page = Page::new(
                "find.html",
                text("find_title"),
                context! { section => "tenants", email => email, error => line },
            );
            return page.status(axum::http::StatusCode::BAD_REQUEST).render(Some(&session));
        }
        Err(e) => return error_page(&e, Some(&session)),
    };
    let names = match service.list_tenants(&session.caller).await {
        Ok(tenants) => tenants.into_iter().map(|t| (t.id, t.name)).collect::<Vec<_>>(),
        Err(e) => return error_page(&e, Some(&session)),
    };
    let now = state.clock.now();
    let rows: Vec<_> = found
        .iter()
        .map(|inv| {
            let tenant = names.iter().find(|(id, _)| *id == inv.tenant_id);
            context! {
                href => format!("/admin/tenants/{}/invitations/{}", inv.tenant_id.as_str(), inv.id),
                tenant => tenant.map(|(_, name)| name.clone()).unwrap_or_else(|| inv.tenant_id.as_str().to_string()),
                email => &inv.email,
                status => inv.status_at(now).as_str(),
                delivery => text(&format!("delivery_{}", inv.delivery_state.as_str())),
                created_at => when(inv.created_at),
                sent_at => inv.delivery_sent_at.map(when),
            }
        })
        .collect();
    let next = next.map(|cursor| {
        serde_urlencoded::to_string([("email", email.as_str()), ("cursor", cursor.as_str())])
            .map(|q| format!("/admin/find?{q}"))
            .unwrap_or_default()
    });
    Page::new(
        "find.html",
        text("find_title"),
        context! { section => "tenants", email => email, rows => rows, next => next },
    )
    .render(Some(&session))
}
