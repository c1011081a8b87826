//! Schemas of request fields that the derive cannot say: arrays whose
//! items have rules, and free JSON objects. Each says exactly what the
//! service checks.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

/// Any Unicode white space, as Rust's `char::is_whitespace` (and so
/// `str::trim`) knows it.
pub const WHITESPACE: &str =
    "\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/// `^…$` over the identifiers of `invitd_core::ids`: no control
/// character, no `/`, no white space at either end.
pub const OPAQUE_ID: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F/]*[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?$";

/// `^…$` over a one-line name: 1 or more characters that are not all
/// white space, no control characters (the service trims the ends).
const ONE_LINE_NAME: &str = "^[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u001F\\u007F-\\u009F \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?[\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$";

/// `^…$` over an http(s) URL without white space or control characters.
const HTTP_URL: &str = "^https?://[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*$";

/// `^…$` over an https URL that can stand in an HTML attribute.
const HTTPS_URL: &str = "^https://[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\"]*$";

/// `^…$` over a language tag as `invitd_core::Language` parses it.
const LANGUAGE: &str = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A string that may also be null (an optional field, or a change where
/// null clears it).
fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

fn opaque_id(max: usize, description: &str) -> Schema {
    string()
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(OPAQUE_ID))
        .description(Some(description))
        .into()
}

/// `id` of a new tenant.
pub fn tenant_id() -> Schema {
    opaque_id(
        128,
        "Chosen by the host app: 1–128 characters, no control characters,\nno `/`, no white space at either end.",
    )
}

/// `id` of a new role.
pub fn role_id() -> Schema {
    opaque_id(64, "1–64 characters, no control characters, no `/`, no white space at\neither end.")
}

fn name_schema(base: ObjectBuilder, description: &str) -> Schema {
    base.min_length(Some(1)).pattern(Some(ONE_LINE_NAME)).description(Some(description)).into()
}

/// `name` of a new tenant or role.
pub fn name() -> Schema {
    name_schema(string(), "One line; 1–200 characters once trimmed.")
}

/// `name` of a tenant change.
pub fn name_change() -> Schema {
    name_schema(nullable_string(), "One line; 1–200 characters once trimmed. Null: unchanged.")
}

/// An optional string setting of a tenant (null clears it in a change,
/// whose schema carries no description).
fn setting(max: Option<usize>, pattern: &str, description: Option<&str>) -> Schema {
    nullable_string().max_length(max).pattern(Some(pattern)).description(description).into()
}

/// `language` of a new tenant.
pub fn tenant_language() -> Schema {
    setting(
        Some(35),
        LANGUAGE,
        Some("Default language of its emails (`en`, `de`, `es`, `fr`, `pt`, …)."),
    )
}

/// `language` of a tenant change.
pub fn language_change() -> Schema {
    setting(Some(35), LANGUAGE, None)
}

/// `accept_redirect_url` of a new tenant.
pub fn redirect_url() -> Schema {
    setting(
        Some(2048),
        HTTP_URL,
        Some(
            "Where the accept page sends the invitee after accepting, with a\nsigned ticket: an http(s) URL of at most 2048 characters.",
        ),
    )
}

/// `accept_redirect_url` of a tenant change.
pub fn redirect_url_change() -> Schema {
    setting(Some(2048), HTTP_URL, None)
}

/// `logo_url` of a new tenant.
pub fn logo_url() -> Schema {
    setting(
        Some(2048),
        HTTPS_URL,
        Some(
            "An https URL of the tenant's logo, shown on the accept page (at\nmost 2048 characters).",
        ),
    )
}

/// `logo_url` of a tenant change.
pub fn logo_url_change() -> Schema {
    setting(Some(2048), HTTPS_URL, None)
}

/// `^…$` over free text: no control characters but tab and line breaks.
const TEXT: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

fn text(max: usize, description: &str) -> Schema {
    setting(Some(max), TEXT, Some(description))
}

/// `account_id` of an inviter.
pub fn inviter_account_id() -> Schema {
    text(200, "The host app's account id (at most 200 characters).")
}

/// `account_id` of the person accepting by token.
pub fn accepting_account_id() -> Schema {
    text(200, "The host app's account id of the person accepting (at most 200\ncharacters).")
}

/// `message` of new invitations.
pub fn message() -> Schema {
    text(2000, "A personal message shown in the email (at most 2,000 characters).")
}

/// `purpose` of new invitations.
pub fn purpose() -> Schema {
    text(500, "Why the invitation is sent (at most 500 characters).")
}

/// `language` of new invitations.
pub fn invitation_language() -> Schema {
    setting(
        Some(35),
        LANGUAGE,
        Some("The email's language (a tag such as `en` or `pt-BR`); the tenant's\nwhen absent."),
    )
}

const COLOR: &str = "^#[0-9A-Fa-f]{6}$";

/// `accent_color` of a new tenant.
pub fn accent_color() -> Schema {
    setting(None, COLOR, Some("The accept page's accent colour, `#rrggbb`."))
}

/// `accent_color` of a tenant change.
pub fn accent_color_change() -> Schema {
    setting(None, COLOR, None)
}

/// `allowed_redirect_origins` of a tenant: at most 50 http(s) origins.
pub fn redirect_origins() -> Schema {
    array(true)
        .items(string().max_length(Some(2048)).pattern(Some("^https?://[^/?#@\\u0000-\\u0020\\u007F-\\u00A0]+/?$")))
        .max_items(Some(crate::service::redirects::MAX_REDIRECT_ORIGINS))
        .description(Some(
            "Origins (`https://app.example.com`) an invitation's `redirect_url` may point at, besides the origin of `accept_redirect_url`; at most 50.",
        ))
        .into()
}

/// `redirect_url` of new invitations and of a resend.
pub fn invitation_redirect_url() -> Schema {
    setting(
        Some(2048),
        HTTP_URL,
        Some(
            "This invitation's landing page: the accept page sends the invitee here with the ticket,\ninstead of to the tenant's `accept_redirect_url`. Its origin must be among the\ntenant's `allowed_redirect_origins` (or be the origin of `accept_redirect_url`).",
        ),
    )
}

/// `account_email` of an answer by token.
pub fn account_email() -> Schema {
    nullable_string()
        .max_length(Some(254))
        .description(Some(
            "The address the host app has verified for the signed-in user. With the tenant's\n`require_matching_email`, another address than the invited one is refused\n(409 `email_mismatch`); otherwise it is recorded on the acceptance.",
        ))
        .into()
}

fn array(nullable: bool) -> ArrayBuilder {
    if nullable {
        ArrayBuilder::new().schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
    } else {
        ArrayBuilder::new()
    }
}

/// `location_ids`: at most 100 ids of 1 to 128 characters.
pub fn location_ids() -> Schema {
    array(false)
        .items(string().min_length(Some(1)).max_length(Some(128)))
        .max_items(Some(invitd_core::limits::MAX_LOCATIONS_PER_INVITATION))
        .description(Some(
            "Optional restriction to locations or resources: at most 100 opaque ids of 1 to 128 characters.",
        ))
        .into()
}

/// `roles` of an invitation: 1 to 32 role ids.
pub fn invitation_roles() -> Schema {
    array(false)
        .items(string())
        .min_items(Some(1))
        .max_items(Some(invitd_core::limits::MAX_ROLES_PER_INVITATION))
        .description(Some(
            "1 to 32 role ids from the tenant's catalogue; an unknown one refuses the call (`unknown_role`).",
        ))
        .into()
}

fn event_type_list(nullable: bool) -> Schema {
    let names: Vec<&str> =
        invitd_core::EventType::subscribable().map(invitd_core::EventType::as_str).collect();
    array(nullable)
        .items(string().enum_values(Some(names)))
        .description(Some("Event types to receive; empty: all of them."))
        .into()
}

/// `event_types` of a new endpoint.
pub fn event_types() -> Schema {
    event_type_list(false)
}

/// `event_types` of a change (null: unchanged).
pub fn event_types_change() -> Schema {
    event_type_list(true)
}

/// `scopes` of a new key: at least one known scope (surrounding white
/// space is forgiven, as the service trims).
pub fn scopes() -> Schema {
    let known = "(invites:read|invites:write|tenants:admin|keys:admin)";
    array(false)
        .items(string().pattern(Some(format!("^[{WHITESPACE}]*{known}[{WHITESPACE}]*$"))))
        .min_items(Some(1))
        .description(Some(
            "At least one of `invites:read`, `invites:write`, `tenants:admin`, `keys:admin`.",
        ))
        .into()
}

/// `tenants` of a new key: absent or null for all tenants, else at
/// least one tenant id.
pub fn key_tenants() -> Schema {
    array(true)
        .items(string().min_length(Some(1)).max_length(Some(128)).pattern(Some(OPAQUE_ID)))
        .min_items(Some(1))
        .description(Some(
            "The tenants the key reaches (existing tenant ids); absent or null: all tenants.",
        ))
        .into()
}

/// `metadata`: a JSON object (of at most 8 KiB) or null.
pub fn metadata() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some("A JSON object of at most 8 KiB, returned as given."))
        .into()
}
