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
    // Invitations.
    ("invitations_title", "Invitations"),
    // One invitation.
    ("invitation_title", "Invitation"),
    // Webhooks.
    ("webhooks_title", "Webhooks"),
    (
        "webhooks_intro",
        "Endpoints that receive this tenant's invitation events, signed. Add or remove them through the API.",
    ),
    ("no_webhooks", "This tenant has no webhook endpoints."),
    ("webhook_title", "Webhook endpoint"),
    ("webhook_id", "Id"),
    ("webhook_url", "URL"),
    ("webhook_events", "Event types"),
    ("webhook_all_events", "All invitation events"),
    ("webhook_state", "State"),
    ("webhook_failing_since", "Failing since"),
    ("webhook_disabled_reason", "Why it is disabled"),
    ("webhook_created", "Created"),
    ("webhook_updated", "Last changed"),
    ("webhook_actions", "Actions"),
    ("webhook_test", "Send test event"),
    (
        "webhook_test_hint",
        "A test event (webhook.test) goes to this endpoint only, signed and retried like any other, even while it is disabled. Its attempts appear below once sent.",
    ),
    ("webhook_enable", "Enable"),
    ("webhook_disable", "Disable"),
    ("webhook_disable_confirm_title", "Disable this endpoint?"),
    (
        "webhook_disable_confirm",
        "While it is disabled, no new events are queued for it, and they are not sent later. You can enable it again at any time.",
    ),
    ("webhook_rotate", "Rotate secret"),
    ("webhook_rotate_confirm_title", "Rotate the signing secret?"),
    (
        "webhook_rotate_confirm",
        "A new secret replaces the current one at once: every delivery from now on is signed with it, so the receiver must be given the new secret.",
    ),
    ("webhook_new_secret_title", "New signing secret"),
    ("webhook_new_secret_intro", "Deliveries are now signed with this secret:"),
    ("webhook_back", "Back to the endpoint"),
    (
        "webhook_done_test",
        "A test event is queued. Its attempt appears below once the worker has sent it; reload the page to see it.",
    ),
    ("webhook_done_enabled", "The endpoint is enabled."),
    ("webhook_done_disabled", "The endpoint is disabled."),
    ("webhook_attempts", "Recent attempts"),
    ("webhook_no_attempts", "No delivery attempts yet."),
    ("attempt_when", "When"),
    ("attempt_event", "Event"),
    ("attempt_result", "Status code or error"),
    ("attempt_duration", "Duration (ms)"),
    ("attempt_outcome", "Outcome"),
    ("status_enabled", "Enabled"),
    ("status_disabled", "Disabled"),
    ("status_delivered", "Delivered"),
    ("status_failed", "Failed"),
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
