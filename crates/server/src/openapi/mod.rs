//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! The annotations declare what is particular to an operation: its success
//! answers and the refusals only it makes (a conflict, an expired link, a
//! rate limit). The refusals every operation of a kind can make (a bad
//! parameter, a missing key, a body that is too large, the database away)
//! are added once, here, by [`complete`], from what the operation takes:
//! path parameters, a query, a body, a method that writes, a key. Every
//! error is an RFC 9457 problem document served as
//! `application/problem+json`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Required, Response, ResponseBuilder,
};

pub use crate::error::PROBLEM_CONTENT_TYPE;

/// The header that makes a write idempotent (see `idempotency.rs`).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

#[derive(OpenApi)]
#[openapi(
    info(title = "invitd", description = "A self-hosted, multi-tenant invitation service. Authenticate with `Authorization: Bearer <api key>`; errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
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
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Paths served on purpose without an OpenAPI operation: the documentation
/// itself, the HTML page behind accept links, and the Prometheus metrics
/// (text exposition format, for scrapers rather than API clients).
pub const UNDOCUMENTED_PATHS: &[&str] =
    &["/openapi.json", "/docs", "/i/{token}", "/assets/accept.css", "/metrics"];

/// Finishes the document built from the routes: adds to every operation the
/// refusals common to its kind, serves every error as a problem document,
/// and gives every answer a description.
pub fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                complete_operation(path, method, operation);
            }
        }
    }
    doc
}

/// What an operation takes, which decides how it can be refused.
struct Shape {
    path_params: bool,
    query: bool,
    body: bool,
    write: bool,
    authenticated: bool,
    database: bool,
    /// Takes the token of an accept link (lookup, accept, decline).
    token: bool,
}

fn shape(path: &str, method: &str, op: &Operation) -> Shape {
    let has_param_in = |place: ParameterIn| {
        op.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == place,
            RefOr::Ref(_) => false,
        })
    };
    Shape {
        path_params: path.contains('{'),
        query: has_param_in(ParameterIn::Query),
        body: op.request_body.is_some(),
        write: matches!(method, "post" | "patch" | "delete"),
        authenticated: op.security.as_ref().is_some_and(|s| !s.is_empty()),
        // Only liveness answers without asking the database.
        database: path != "/healthz",
        token: matches!(
            path,
            "/v1/invitations/lookup" | "/v1/invitations/accept" | "/v1/invitations/decline"
        ),
    }
}

fn complete_operation(path: &str, method: &str, op: &mut Operation) {
    let s = shape(path, method, op);
    describe_path_params(op);
    if s.write && s.authenticated {
        add_idempotency_key(op);
    }
    let mut common: Vec<(u16, String)> = Vec::new();
    if s.path_params || s.query || s.body || s.write {
        let mut causes = Vec::new();
        if s.path_params {
            causes.push("a path parameter is malformed (such as an `id` that is not a UUID)");
        }
        if s.query {
            causes.push("a query parameter is unknown or out of range");
        }
        if s.body {
            causes.push("a field of the body breaks a rule (`errors` lists them)");
        }
        if s.write {
            causes.push("the `Idempotency-Key` header is not 1 to 255 visible ASCII characters");
        }
        let mut text = format!("`invalid_request`: {}.", causes.join("; "));
        if s.body {
            text.push_str(" `malformed_json`: the body is not the JSON object this operation takes (a wrong type, an unknown field, a missing required field).");
        }
        common.push((400, text));
    }
    if s.authenticated {
        common.push((401, "`unauthorized`: no API key, an unknown key or a revoked key.".into()));
        common.push((403, "`forbidden`: the key lacks the scope this operation needs.".into()));
    }
    if s.path_params {
        common.push((
            404,
            "`not_found`: no such resource, or one of a tenant the key does not reach.".into(),
        ));
    }
    if s.token {
        common.push((
            404,
            "`not_found`: no invitation has this token, or its tenant is one the key does not reach."
                .into(),
        ));
    }
    common.push((
        405,
        "`method_not_allowed`: this path does not take this method; the `Allow` header lists the ones it takes.".into(),
    ));
    if s.body || (s.write && s.authenticated) {
        common
            .push((413, "`payload_too_large`: the body is larger than the server accepts.".into()));
    }
    if s.body {
        common.push((
            415,
            "`unsupported_media_type`: the body is not sent as `application/json`.".into(),
        ));
    }
    if s.write && s.authenticated {
        common.push((
            422,
            "`idempotency_key_reused`: this `Idempotency-Key` was used with a different request."
                .into(),
        ));
    }
    if s.token {
        common.push((
            429,
            "Too many token requests from this client; `Retry-After` says when to try again."
                .into(),
        ));
    }
    if s.database {
        common.push((
            503,
            "`unavailable`: the database cannot take the request now (down, unreachable, disk full, locked); nothing changed; retry after `Retry-After` seconds."
                .into(),
        ));
    }
    for (status, text) in common {
        let key = status.to_string();
        match op.responses.responses.get_mut(&key) {
            // Declared by the annotation: its description comes first; a
            // 400 can also have the common causes, with other codes.
            Some(RefOr::T(existing)) => {
                if status == 400 && !existing.description.contains(&text) {
                    existing.description = join(&existing.description, &text);
                }
            }
            Some(RefOr::Ref(_)) => {}
            None => {
                op.responses
                    .responses
                    .insert(key, RefOr::T(ResponseBuilder::new().description(text).build()));
            }
        }
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            finish_response(status, response);
        }
    }
}

fn join(first: &str, second: &str) -> String {
    match first.trim() {
        "" => second.to_string(),
        first if first.ends_with('.') => format!("{first} {second}"),
        first => format!("{first}. {second}"),
    }
}

/// Errors get the problem schema as `application/problem+json` (and
/// `Retry-After` where the server sends it); every answer gets a
/// description.
fn finish_response(status: &str, response: &mut Response) {
    let code: u16 = status.parse().unwrap_or(0);
    if code >= 400 {
        response.content.clear();
        response.content.insert(
            PROBLEM_CONTENT_TYPE.to_string(),
            RefOr::T(ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build()),
        );
        if matches!(code, 429 | 503) {
            response.headers.insert(
                "Retry-After".into(),
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)),
                        ))
                        .description(Some("Seconds to wait before trying again."))
                        .build(),
                ),
            );
        }
    }
    if response.description.trim().is_empty() {
        response.description = axum::http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Answer")
            .to_string();
    }
}

/// Says what the path parameters are, where the annotation did not.
fn describe_path_params(op: &mut Operation) {
    for param in op.parameters.iter_mut().flatten() {
        if let RefOr::T(param) = param
            && param.parameter_in == ParameterIn::Path
            && param.description.is_none()
        {
            param.description = match param.name.as_str() {
                "tenant" => Some("The tenant's id, as chosen when it was created.".into()),
                "id" => Some("The resource's id, a UUID.".into()),
                _ => None,
            };
        }
    }
}

/// Declares the optional `Idempotency-Key` header on a write that lacks it.
fn add_idempotency_key(op: &mut Operation) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.retain(|p| !matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case(IDEMPOTENCY_KEY)));
    params.push(RefOr::T(
        ParameterBuilder::new()
            .name(IDEMPOTENCY_KEY)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes the write safe to retry: the first answer to a key is stored for 24 hours and replayed for every repeat with the same body.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[\\x21-\\x7E]+$")),
            ))
            .build(),
    ));
}

pub mod fields;
