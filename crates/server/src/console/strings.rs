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
    // One tenant.
    ("tenant_counts", "Invitations by status"),
    ("tenant_counts_total", "in all"),
    ("tenant_invitations", "Invitations"),
    ("tenant_webhooks", "Webhooks"),
    ("tenant_settings", "Settings"),
    ("tenant_settings_saved", "Settings saved."),
    (
        "tenant_read_only",
        "This key may read these settings; changing them needs the scope tenants:admin.",
    ),
    (
        "tenant_form_hint",
        "An empty text field clears that setting; an empty number field leaves it as it is.",
    ),
    ("setting_name", "Name"),
    ("setting_name_hint", "Shown to invitees in emails and on the accept page."),
    ("setting_language", "Language"),
    (
        "setting_language_hint",
        "The language (a tag such as en or pt-BR) of emails and the accept page for invitations that name none. Empty: English.",
    ),
    ("setting_lifetime", "Invitation lifetime (days)"),
    ("setting_lifetime_hint", "How long a new invitation stays valid: 1 to 30 days."),
    ("setting_cooldown", "Resend cooldown (seconds)"),
    (
        "setting_cooldown_hint",
        "Least time between two sends of one invitation, in seconds: 0 to 604800 (7 days).",
    ),
    ("setting_max_resends", "Maximum resends"),
    ("setting_max_resends_hint", "Most resends of one invitation per window: 0 to 1000."),
    ("setting_redirect", "Accept redirect URL"),
    (
        "setting_redirect_hint",
        "Where the accept page sends an invitee who accepted (http or https). Empty: none.",
    ),
    ("setting_logo", "Logo URL"),
    ("setting_logo_hint", "An https address of an image shown on the accept page. Empty: none."),
    ("setting_accent", "Accent colour"),
    (
        "setting_accent_hint",
        "Six hex digits after #, such as #1f6feb, for the accept page's heading and buttons. Empty: the default blue.",
    ),
    ("setting_not_set", "Not set"),
    ("setting_whole_number", "must be a whole number"),
    ("save_settings", "Save settings"),
    ("preview_title", "Accept page preview"),
    (
        "preview_hint",
        "How the accept page looks with the saved logo and accent colour (the colour follows what you type when the page's script runs).",
    ),
    ("preview_label", "Preview of the accept page"),
    ("preview_heading", "You're invited"),
    ("preview_line", "Someone invited you to join. Will you accept?"),
    ("preview_accept", "Accept"),
    ("preview_decline", "Decline"),
    // Invitations.
    ("invitations_title", "Invitations"),
    // One invitation.
    ("invitation_title", "Invitation"),
    // Webhooks.
    ("webhooks_title", "Webhooks"),
    // API keys.
    ("keys_title", "API keys"),
    (
        "keys_intro",
        "Keys sign in to the API and to this console. A key's secret is shown once, when it is made; only its first characters (the hint) are kept in view.",
    ),
    ("key_name", "Name"),
    ("key_hint", "Hint"),
    ("key_scopes", "Scopes"),
    ("key_tenants", "Tenants"),
    ("key_all_tenants", "all"),
    ("key_created", "Created"),
    ("key_status", "Status"),
    ("key_active", "Active"),
    ("key_revoke", "Revoke"),
    ("key_revoked_notice", "The key is revoked: it no longer signs in."),
    ("no_keys", "This key sees no other keys."),
    ("key_create_title", "Create a key"),
    (
        "key_name_hint",
        "Who or what uses it, such as the app or the person (at most 200 characters).",
    ),
    ("key_scopes_hint", "A key can grant only the scopes it holds itself."),
    ("key_tenants_field", "Tenants (comma-separated ids)"),
    ("key_tenants_hint", "Empty: every tenant."),
    ("key_tenants_hint_bound", "Ids of tenants this key reaches; at least one."),
    ("key_create", "Create key"),
    ("key_cannot_grant", "This key cannot grant that:"),
    ("key_created_notice", "Key created:"),
    ("key_revoke_title", "Revoke a key"),
    (
        "key_revoke_confirm",
        "Revoke this key? Everything that uses it stops working at once, and it cannot be undone.",
    ),
    (
        "key_revoke_self",
        "This is the key you are signed in with: revoking it ends this session too.",
    ),
    ("key_already_revoked", "This key is already revoked."),
    ("scope_invites_read", "Read invitations, their events, the tenant and its roles"),
    ("scope_invites_write", "Create, change, resend and revoke invitations"),
    ("scope_tenants_admin", "Change tenants, roles and webhooks"),
    ("scope_keys_admin", "Create, list and revoke API keys"),
];

/// The text of `key` (the key itself if it is missing, so a gap shows on
/// the page instead of breaking it).
pub fn text(key: &str) -> &'static str {
    EN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or_else(|| {
        tracing::warn!(key, "console string missing");
        "?"
    })
}
