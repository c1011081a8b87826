//! What callers send to invite and to list, and what a create answers
//! before each face shapes it.

use crate::openapi::fields;
use invitd_core::{Invitation, Secret};
use invitd_store::Tenant;
use serde::Deserialize;

/// Who sent the invitation, as the host app knows them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Inviter {
    #[schema(schema_with = fields::inviter_account_id)]
    pub account_id: Option<String>,
    /// The inviter's email address.
    pub email: Option<String>,
}

/// A request to invite one or more addresses with the same roles.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitations {
    /// 1 to 1,000 addresses; one that is not a valid address is listed in
    /// `failures`, the others are invited.
    #[schema(min_items = 1, max_items = 1000)]
    pub emails: Vec<String>,
    /// Role ids from the tenant's catalogue; at least one.
    #[schema(schema_with = fields::invitation_roles)]
    pub roles: Vec<String>,
    /// Optional restriction to locations or resources (opaque ids).
    #[serde(default)]
    #[schema(schema_with = fields::location_ids)]
    pub location_ids: Vec<String>,
    #[schema(schema_with = fields::message)]
    pub message: Option<String>,
    #[schema(schema_with = fields::purpose)]
    pub purpose: Option<String>,
    #[schema(schema_with = fields::invitation_language)]
    pub language: Option<String>,
    /// Days until the link expires (1–30); the tenant's lifetime when absent.
    #[schema(minimum = 1, maximum = 30)]
    pub expires_in_days: Option<i64>,
    /// A JSON object of at most 8 KiB, returned as given.
    #[schema(schema_with = fields::metadata)]
    pub metadata: Option<serde_json::Value>,
    pub inviter: Option<Inviter>,
    /// `false`: invitd sends no email; the host app delivers the
    /// `accept_url` of the answer itself (delivery state `not_sent`).
    /// Default true.
    pub send_email: Option<bool>,
    #[schema(schema_with = fields::invitation_redirect_url)]
    pub redirect_url: Option<String>,
}

/// Options of a resend; an empty body resends as before (with an email,
/// to the same landing page).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendOptions {
    /// `false`: no email; the host app delivers the new `accept_url`
    /// itself. Default true.
    pub send_email: Option<bool>,
    /// A new landing page for this invitation; `null` goes back to the
    /// tenant's `accept_redirect_url`; absent keeps the current one.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = fields::invitation_redirect_url)]
    pub redirect_url: Option<Option<String>>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The accept link for a token.
pub fn accept_url(public_url: &str, token: &invitd_core::Secret) -> String {
    format!("{}/i/{}", public_url.trim_end_matches('/'), token.expose())
}

/// One created invitation with the token of its link.
pub struct Created {
    pub invitation: Invitation,
    pub token: Secret,
}

/// An address that was not invited, and why.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub email: String,
    /// `invalid_email`, `duplicate_in_request`, `already_pending` or
    /// `quota_exceeded`.
    pub code: String,
    pub message: String,
    /// `quota_exceeded`: seconds until the quota has room for one more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl Failure {
    pub fn new(email: String, code: &str, message: impl Into<String>) -> Self {
        Failure { email, code: code.into(), message: message.into(), retry_after_seconds: None }
    }
}

pub struct CreateOutput {
    pub tenant: Tenant,
    pub created: Vec<Created>,
    pub failures: Vec<Failure>,
}

impl CreateOutput {
    /// Each created invitation with its accept link, for the answer that
    /// shows the link this once.
    pub fn with_links<'a>(
        &'a self,
        public_url: &'a str,
    ) -> impl Iterator<Item = (&'a Invitation, String)> + 'a {
        let link = |c: &'a Created| (&c.invitation, accept_url(public_url, &c.token));
        self.created.iter().map(link)
    }
}

/// List filters as the API receives them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending`, `accepted`, `declined`, `revoked` or `expired` (as of now).
    #[param(pattern = "^(pending|accepted|declined|revoked|expired)$")]
    pub status: Option<String>,
    /// Exact address, compared case-insensitively.
    pub email: Option<String>,
    /// Invitations granting this role.
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]([^\\u0000-\\u001F\\u007F-\\u009F/]*[^\\u0000-\\u001F\\u007F-\\u009F/ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?$"
    )]
    pub role: Option<String>,
    /// RFC 3339; only invitations created after it.
    #[param(format = DateTime)]
    pub created_after: Option<String>,
    /// RFC 3339; only invitations created before it.
    #[param(format = DateTime)]
    pub created_before: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^n\\+?0*[1-9][0-9]*$")]
    pub cursor: Option<String>,
}
