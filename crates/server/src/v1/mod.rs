//! The native `/v1` API.

mod address;
mod bulk;
pub mod dto;
mod invitations;
mod keys;
mod tenants;
pub mod webhooks;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every `/v1` route, each documented by its handler's annotation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tenants::create))
        .routes(routes!(tenants::rotate_ticket_secret))
        .routes(routes!(tenants::get, tenants::update))
        .routes(routes!(tenants::list_roles, tenants::create_role))
        .routes(routes!(invitations::create, invitations::list))
        .routes(routes!(invitations::get, bulk::update))
        .routes(routes!(bulk::revoke))
        .routes(routes!(bulk::resend))
        .routes(routes!(invitations::resend))
        .routes(routes!(invitations::revoke))
        .routes(routes!(invitations::events))
        .routes(routes!(invitations::deliveries))
        .routes(routes!(address::list))
        .routes(routes!(address::accept_all))
        .routes(routes!(invitations::lookup))
        .routes(routes!(invitations::accept))
        .routes(routes!(invitations::decline))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::send_test))
        .routes(routes!(webhooks::attempts))
        .routes(routes!(webhooks::tenant_events))
        .routes(routes!(webhooks::installation_events))
}
