//! The admin console at `/admin`: pages rendered on the server (minijinja,
//! like the accept page) that work without JavaScript, for support staff
//! who sign in with an API key. Every action goes through the same service
//! layer as `/v1`, with the key's scopes and tenants, and is recorded in
//! the audit trail with the key as actor.
//!
//! - [`session`]: signing in and out, the session cookie, CSRF;
//! - [`render`]: templates, the shared frame, styles, security headers;
//! - [`strings`]: every word the console shows;
//! - one module per area: `tenants` (the list), `tenant` (one tenant's
//!   settings and counts), `invitations` (the table and the form for new
//!   ones), `invitation` (one invitation and its actions), `webhooks`,
//!   `keys`.

mod invitation;
mod invitations;
mod keys;
pub mod render;
pub mod session;
mod signed_in;
pub mod strings;
mod tenant;
mod tenants;
mod webhooks;

pub use session::sign_in_limiter;

use crate::state::AppState;
use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/", get(home))
        .route("/admin/sign-in", get(session::sign_in_form).post(session::sign_in))
        .route("/admin/sign-out", post(session::sign_out))
        .route("/admin/assets/console.css", get(render::css))
        .route("/admin/assets/console.js", get(render::js))
        .merge(tenants::routes())
        .merge(tenant::routes())
        .merge(invitations::routes())
        .merge(invitation::routes())
        .merge(webhooks::routes())
        .merge(keys::routes())
}

/// `/admin`: the tenants, once signed in.
async fn home(_session: session::Session) -> Response {
    render::see_other("/admin/tenants")
}
