//! What callers send about tenants and roles, and the checks every value
//! passes before it is stored.

use crate::error::Error;
use crate::openapi::fields;
use invitd_core::{Language, limits};
use invitd_store::Tenant;
use serde::Deserialize;

/// Settings a tenant is created with; unset ones take the defaults.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    #[schema(schema_with = fields::tenant_id)]
    pub id: String,
    #[schema(schema_with = fields::name)]
    pub name: String,
    #[schema(schema_with = fields::tenant_language)]
    pub language: Option<String>,
    /// Days an invitation stays valid (1–30; default 7).
    #[schema(minimum = 1, maximum = 30)]
    pub invitation_lifetime_days: Option<i64>,
    /// Least seconds between two sends of one invitation (0–604800;
    /// default 60).
    #[schema(minimum = 0, maximum = 604800)]
    pub resend_cooldown_seconds: Option<i64>,
    /// Most resends per window (0–1000; default 5).
    #[schema(minimum = 0, maximum = 1000)]
    pub max_resends: Option<u32>,
    /// The window `max_resends` counts in, in seconds (60–2592000; default
    /// 86400).
    #[schema(minimum = 60, maximum = 2592000)]
    pub resend_window_seconds: Option<i64>,
    #[schema(schema_with = fields::redirect_url)]
    pub accept_redirect_url: Option<String>,
    #[schema(schema_with = fields::logo_url)]
    pub logo_url: Option<String>,
    #[schema(schema_with = fields::accent_color)]
    pub accent_color: Option<String>,
    #[schema(schema_with = fields::redirect_origins)]
    pub allowed_redirect_origins: Option<Vec<String>>,
    /// Refuse an answer by token whose `account_email` is not the invited
    /// address (409 `email_mismatch`); default false: only record it.
    pub require_matching_email: Option<bool>,
    /// New invitations per rolling 24 hours (0–10000000); past it a create
    /// answers `quota_exceeded`. Null: the operator's default (unlimited
    /// unless set).
    #[schema(minimum = 0, maximum = 10000000)]
    pub invitations_per_day: Option<u32>,
    /// New invitations per rolling 24 hours by one `inviter.account_id`
    /// (0–10000000). Null: the operator's default (unlimited unless set).
    #[schema(minimum = 0, maximum = 10000000)]
    pub invitations_per_inviter_per_day: Option<u32>,
}

/// Changes to a tenant; absent fields stay, `null` clears the optional ones.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    #[schema(schema_with = fields::name_change)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = fields::language_change)]
    pub language: Option<Option<String>>,
    /// 1–30. Null: unchanged.
    #[schema(minimum = 1, maximum = 30)]
    pub invitation_lifetime_days: Option<i64>,
    /// 0–604800. Null: unchanged.
    #[schema(minimum = 0, maximum = 604800)]
    pub resend_cooldown_seconds: Option<i64>,
    /// 0–1000. Null: unchanged.
    #[schema(minimum = 0, maximum = 1000)]
    pub max_resends: Option<u32>,
    /// 60–2592000. Null: unchanged.
    #[schema(minimum = 60, maximum = 2592000)]
    pub resend_window_seconds: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = fields::redirect_url_change)]
    pub accept_redirect_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = fields::logo_url_change)]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = fields::accent_color_change)]
    pub accent_color: Option<Option<String>>,
    /// The whole list, replacing the old one. Null: unchanged.
    #[schema(schema_with = fields::redirect_origins)]
    pub allowed_redirect_origins: Option<Vec<String>>,
    /// Null: unchanged.
    pub require_matching_email: Option<bool>,
    /// 0–10000000. Null: back to the operator's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 0, maximum = 10000000)]
    pub invitations_per_day: Option<Option<u32>>,
    /// 0–10000000. Null: back to the operator's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 0, maximum = 10000000)]
    pub invitations_per_inviter_per_day: Option<Option<u32>>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None).
pub(super) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A role to add to a tenant's catalogue.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    #[schema(schema_with = fields::role_id)]
    pub id: String,
    #[schema(schema_with = fields::name)]
    pub name: String,
    /// Orders roles; higher grants more (default 0).
    #[serde(default)]
    pub rank: i32,
}

pub(super) fn check_name(name: &str) -> Result<String, Error> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > limits::MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("must be 1 to {} characters", limits::MAX_NAME_CHARS),
        ));
    }
    // Names are one line: they go into email subjects.
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be one line without control characters"));
    }
    Ok(trimmed.to_string())
}

pub(super) fn check_url(url: &str) -> Result<String, Error> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.chars().count() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url.to_string())
    } else {
        Err(Error::invalid("accept_redirect_url", "must be an http(s) URL"))
    }
}

pub(super) fn check_logo(url: &str) -> Result<String, Error> {
    let ok = url.starts_with("https://")
        && url.chars().count() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if ok { Ok(url.to_string()) } else { Err(Error::invalid("logo_url", "must be an https URL")) }
}

pub(super) fn check_color(color: &str) -> Result<String, Error> {
    let ok = color.len() == 7
        && color.starts_with('#')
        && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(color.to_ascii_lowercase())
    } else {
        Err(Error::invalid("accent_color", "must be a colour like #1f6feb"))
    }
}

/// A new secret for signing accept tickets.
pub fn new_ticket_secret() -> invitd_core::Secret {
    invitd_core::Secret::generate("ts_")
}

/// Checks the numeric settings of a tenant.
pub(super) fn check_settings(t: &Tenant) -> Result<(), Error> {
    let mut errors = Vec::new();
    if !(1..=limits::MAX_LIFETIME_DAYS).contains(&t.lifetime_days) {
        errors.push((
            "invitation_lifetime_days",
            format!("must be 1 to {}", limits::MAX_LIFETIME_DAYS),
        ));
    }
    if !(0..=7 * 24 * 3600).contains(&t.resend_cooldown_secs) {
        errors.push(("resend_cooldown_seconds", "must be 0 to 604800".to_string()));
    }
    if t.max_resends > 1000 {
        errors.push(("max_resends", "must be 0 to 1000".to_string()));
    }
    if !(60..=30 * 24 * 3600).contains(&t.resend_window_secs) {
        errors.push(("resend_window_seconds", "must be 60 to 2592000".to_string()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(
            errors
                .into_iter()
                .map(|(f, m)| crate::error::FieldError { field: f.into(), message: m })
                .collect(),
        ))
    }
}

pub(super) fn parse_language(field: &str, s: &str) -> Result<Language, Error> {
    Language::parse(s).map_err(|e| Error::invalid(field, e.reason))
}
