//! API keys, for a key with `keys:admin`: the keys it may see, a form that
//! makes a new one (whose secret only the answer to that post shows, once)
//! and revoking one through a confirmation page.

use super::render::{Page, error_page, see_other, when};
use super::session::{Empty, Posted, Session};
use super::strings::text;
use crate::auth::Scope;
use crate::error::{Error, FieldError};
use crate::service::keys::NewKey;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use invitd_core::Secret;
use invitd_store::ApiKey;
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/keys", get(list).post(create))
        .route("/admin/keys/{id}/revoke", get(confirm_revoke).post(revoke))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    done: Option<String>,
}

/// The "Create a key" form as posted (`scopes` repeats, one per ticked
/// box, so the body is read as a list of pairs).
#[derive(Default)]
struct KeyForm {
    name: String,
    scopes: Vec<String>,
    tenants: String,
}

impl KeyForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = KeyForm::default();
        for (field, value) in pairs {
            match field.as_str() {
                "name" => form.name = value,
                "scopes" => form.scopes.push(value),
                "tenants" => form.tenants = value,
                _ => {}
            }
        }
        form
    }

    /// What the service is asked to make: an empty tenants field is every
    /// tenant.
    fn request(&self) -> NewKey {
        let tenants: Vec<String> = self
            .tenants
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        NewKey {
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            tenants: (!tenants.is_empty()).then_some(tenants),
        }
    }
}

/// A key as a row of the table.
fn row(k: &ApiKey) -> Value {
    context! {
        id => k.id.to_string(),
        name => &k.name,
        hint => &k.hint,
        scopes => k.scopes.join(", "),
        tenants => k.tenants.as_ref().map(|ts| {
            ts.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
        }),
        created_at => when(k.created_at),
        revoked_at => k.revoked_at.map(when),
    }
}

/// What the page shows besides the list: the form (as posted, with its
/// errors), a new key's secret, a notice.
#[derive(Default)]
struct Shown<'a> {
    form: KeyForm,
    errors: Vec<FieldError>,
    created: Option<(&'a ApiKey, &'a Secret)>,
    notice: Option<&'static str>,
}

fn page(session: &Session, keys: &[ApiKey], shown: Shown<'_>) -> Page {
    let caller = &session.caller;
    // A key can grant only the scopes it holds: only those are offered.
    let scopes: Vec<Value> = Scope::ALL
        .iter()
        .filter(|s| caller.has(**s))
        .map(|s| {
            let name = s.as_str();
            context! {
                name => name,
                id => format!("scope-{}", name.replace(':', "-")),
                label => text(&format!("scope_{}", name.replace(':', "_"))),
                checked => shown.form.scopes.iter().any(|c| c == name),
            }
        })
        .collect();
    let error_of = |field: &str| {
        let found: Vec<&str> =
            shown.errors.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect();
        (!found.is_empty()).then(|| found.join("; "))
    };
    let general: Vec<String> = shown
        .errors
        .iter()
        .filter(|e| !["name", "scopes", "tenants"].contains(&e.field.as_str()))
        .map(|e| e.message.clone())
        .collect();
    Page::new(
        "keys.html",
        text("keys_title"),
        context! {
            section => "keys",
            keys => keys.iter().rev().map(row).collect::<Vec<_>>(),
            scopes => scopes,
            bound => caller.key.tenants.is_some(),
            form => context! {
                name => &shown.form.name,
                tenants => &shown.form.tenants,
            },
            errors => context! {
                any => !shown.errors.is_empty(),
                name => error_of("name"),
                scopes => error_of("scopes"),
                tenants => error_of("tenants"),
                general => general,
            },
            created => shown.created.map(|(key, secret)| context! {
                name => &key.name,
                secret => secret.expose(),
            }),
            notice => shown.notice,
        },
    )
}

/// `GET /admin/keys`: the list and the form; never a secret.
async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Response {
    let keys = match state.service().list_keys(&session.caller).await {
        Ok(keys) => keys,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let notice = (query.done.as_deref() == Some("revoked")).then(|| text("key_revoked_notice"));
    page(&session, &keys, Shown { notice, ..Shown::default() }).render(Some(&session))
}

/// `POST /admin/keys`: makes the key and answers with its secret, this
/// once; refused input comes back in the form (400, nothing made).
async fn create(State(state): State<AppState>, posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { session, form } = posted;
    let form = KeyForm::from_pairs(form);
    if let Err(e) = session.caller.require(Scope::KeysAdmin) {
        return error_page(&e, Some(&session));
    }
    let service = state.service();
    let outcome = service.create_key(&session.caller, form.request()).await;
    let keys = match service.list_keys(&session.caller).await {
        Ok(keys) => keys,
        Err(e) => return error_page(&e, Some(&session)),
    };
    let (status, errors) = match outcome {
        Ok((key, secret)) => {
            let created = Some((&key, &secret));
            return page(&session, &keys, Shown { created, ..Shown::default() })
                .render(Some(&session));
        }
        Err(Error::Invalid(errors)) => (StatusCode::BAD_REQUEST, errors),
        // Asking for more than the caller has (a scope it lacks, every
        // tenant from a tenant-bound key): said in the form.
        Err(Error::Forbidden(what)) => (
            StatusCode::FORBIDDEN,
            vec![FieldError {
                field: "form".into(),
                message: format!("{} {what}.", text("key_cannot_grant")),
            }],
        ),
        Err(e) => return error_page(&e, Some(&session)),
    };
    page(&session, &keys, Shown { form, errors, ..Shown::default() })
        .status(status)
        .render(Some(&session))
}

/// The key `id` names, among those the caller may see (404 otherwise).
async fn find(state: &AppState, session: &Session, id: &str) -> Result<ApiKey, Error> {
    let keys = state.service().list_keys(&session.caller).await?;
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound("key"))?;
    keys.into_iter().find(|k| k.id == id).ok_or(Error::NotFound("key"))
}

/// `GET /admin/keys/{id}/revoke`: asks before revoking.
async fn confirm_revoke(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let key = match find(&state, &session, &id).await {
        Ok(key) => key,
        Err(e) => return error_page(&e, Some(&session)),
    };
    Page::new(
        "key_revoke.html",
        text("key_revoke_title"),
        context! {
            section => "keys",
            crumbs => vec![
                context! { label => text("keys_title"), href => "/admin/keys" },
                context! { label => &key.name },
            ],
            key => row(&key),
            own => key.id == session.caller.key.id,
        },
    )
    .render(Some(&session))
}

/// `POST /admin/keys/{id}/revoke`: revokes, then back to the list.
async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> Response {
    let session = posted.session;
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(&Error::NotFound("key"), Some(&session));
    };
    match state.service().revoke_key(&session.caller, id).await {
        Ok(_) => see_other("/admin/keys?done=revoked"),
        Err(e) => error_page(&e, Some(&session)),
    }
}
