//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "invitd", description = "A self-hosted, multi-tenant invitation service. Authenticate with `Authorization: Bearer <api key>`; errors are RFC 9457 problem documents with a stable `code`."),
    modifiers(&BearerAuth),
    tags(
        (name = "invitations", description = "Invite, list, resend, revoke"),
        (name = "tokens", description = "Accept and decline by the token of a link, for host apps that render their own page"),
        (name = "tenants", description = "Tenants and their roles"),
        (name = "keys", description = "API keys"),
        (name = "webhooks", description = "Signed event deliveries (Standard Webhooks)"),
        (name = "events", description = "The audit trail"),
        (name = "operations", description = "Health"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Paths served on purpose without an OpenAPI operation: the documentation
/// itself and the HTML page behind accept links.
pub const UNDOCUMENTED_PATHS: &[&str] =
    &["/openapi.json", "/docs", "/i/{token}", "/assets/accept.css"];
