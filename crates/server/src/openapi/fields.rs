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

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
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
