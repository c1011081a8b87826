//! The tenants a key reaches.

use super::render::{Page, error_page, when};
use super::session::Session;
use super::strings::text;
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
    Router::new().route("/admin/tenants", get(list))
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
