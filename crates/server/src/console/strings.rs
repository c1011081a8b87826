//! Every word the console shows, in one place, so a translation is one
//! file. Templates read them as `t.<key>`; handlers through [`text`].
//! Sections belong to the pages that use them.

/// English, the console's only language for now.
pub const EN: &[(&str, &str)] = &[
    // The frame every page shares.
    ("product", "invitd console"),
    ("nav_tenants", "Tenants"),
    ("nav_keys", "API keys"),
    ("signed_in_as", "Signed in as"),
    ("sign_out", "Sign out"),
    ("skip_to_content", "Skip to content"),
    ("times_in_utc", "Times are in UTC."),
    ("back", "Back"),
    ("cancel", "Cancel"),
    ("save", "Save"),
    ("search", "Search"),
    ("apply", "Apply"),
    ("clear", "Clear"),
    ("next_page", "Next page"),
    ("first_page", "First page"),
    ("none_yet", "Nothing here yet."),
    ("copy", "Copy"),
    ("copied", "Copied"),
    ("shown_once", "Copy it now: it is shown only this once."),
    // Signing in.
    ("sign_in_title", "Sign in"),
    (
        "sign_in_intro",
        "Sign in with an API key. The console can do what the key's scopes and tenants allow, and records every action under the key's name.",
    ),
    ("api_key", "API key"),
    ("sign_in", "Sign in"),
    ("key_not_accepted", "That key was not accepted"),
    ("too_many_attempts", "Too many sign-in attempts from your address. Try again in a minute."),
    ("signed_out", "You are signed out."),
    ("session_ended", "Your session ended. Sign in again."),
    // Errors.
    ("error_title", "Something is not right"),
    ("error_forbidden", "This key may not do that. It lacks the scope"),
    ("error_not_found", "Not found: it does not exist, or this key does not reach it."),
    ("error_invalid", "Please correct the fields below."),
    (
        "error_unavailable",
        "The service cannot reach its database or mail right now. Try again in a moment.",
    ),
    ("error_expired_form", "This form is no longer valid. Reload the page and try again."),
    ("error_other", "That did not work."),
    // Statuses, as words (the colour only repeats them).
    ("status_pending", "Pending"),
    ("status_accepted", "Accepted"),
    ("status_declined", "Declined"),
    ("status_revoked", "Revoked"),
    ("status_expired", "Expired"),
    // Tenants.
    ("tenants_title", "Tenants"),
    ("tenants_search", "Find a tenant"),
    ("tenant_id", "Id"),
    ("tenant_name", "Name"),
    ("tenant_language", "Language"),
    ("tenant_created", "Created"),
    ("no_tenants", "This key reaches no tenants."),
    // Finding a person across tenants.
    ("find_title", "A person's invitations"),
    ("find_label", "Find a person's invitations by email address"),
    ("find_hint", "The whole address, in any tenant this key reaches."),
    ("find", "Find"),
    ("find_none", "No invitations to this address in the tenants this key reaches."),
    ("col_tenant", "Tenant"),
    ("col_email", "Email"),
    ("col_status", "Status"),
    ("col_delivery", "Email"),
    ("col_created", "Created"),
    ("col_last_sent", "Last sent"),
    // Delivery states, as words.
    ("delivery_queued", "Queued"),
    ("delivery_sent", "Sent"),
    ("delivery_failed", "Failed"),
    ("delivery_not_sent", "Not sent (the host app delivers the link)"),
    // Invitations.
    ("invitations_title", "Invitations"),
    // One invitation.
    ("invitation_title", "Invitation"),
    // Webhooks.
    ("webhooks_title", "Webhooks"),
    // API keys.
    ("keys_title", "API keys"),
];

/// The text of `key` (the key itself if it is missing, so a gap shows on
/// the page instead of breaking it).
pub fn text(key: &str) -> &'static str {
    EN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or_else(|| {
        tracing::warn!(key, "console string missing");
        "?"
    })
}
