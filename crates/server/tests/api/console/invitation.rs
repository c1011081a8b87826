//! One invitation in the console: its fields, audit trail, email and
//! webhook deliveries; resend and revoke through their confirmation pages;
//! what keys without the scopes or the tenant get.

use super::Console;
use crate::harness::*;
use crate::webhooks::{Receiver, pump, subscribe};
use serde_json::json;

fn page_of(id: &str) -> String {
    format!("/admin/tenants/acme/invitations/{id}")
}

/// A key named `name` with these scopes on acme; its secret.
async fn named_key(app: &TestApp, name: &str, scopes: &[&str]) -> String {
    let body = json!({"name": name, "scopes": scopes, "tenants": ["acme"]});
    let created = app.post("/v1/keys", body).await.expect(201);
    created["secret"].as_str().unwrap().to_string()
}

/// A page's HTML with the slashes minijinja escapes (`&#x2f;`) put back,
/// as a browser reads them.
fn plain(got: super::Got) -> String {
    got.html.replace("&#x2f;", "/")
}

/// The part of a page under the heading `title` (up to the next one).
fn section<'a>(html: &'a str, title: &str) -> &'a str {
    let start = html.find(&format!(">{title}</h2>")).unwrap_or_else(|| panic!("{title}: {html}"));
    let rest = &html[start..];
    &rest[..rest[5..].find("<h2").map_or(rest.len(), |end| end + 5)]
}

async fn shows_every_field_the_audit_trail_and_the_email_attempts() {
    let app = spawn_app().await;
    let body = json!({
        "emails": ["Ann@Example.com"], "roles": ["editor"], "message": "Welcome aboard",
        "purpose": "Quarterly review", "language": "de", "location_ids": ["loc-7"],
        "metadata": {"team": "blue"}, "inviter": {"email": "boss@example.com", "account_id": "acct-1"},
    });
    let created = app.create("acme", body).await.expect(201);
    let inv = &created["invitations"][0];
    let (id, token) = (inv["id"].as_str().unwrap(), token_of(inv));
    let console = Console::signed_in(&app, &app.key).await;
    let html = &plain(console.get(&page_of(id)).await.expect(200));
    for shown in [
        "Ann@Example.com",
        ">Pending</span>",
        "Editor (<code>editor</code>)",
        "Welcome aboard",
        "Quarterly review",
        "<dd>de</dd>",
        "<code>loc-7</code>",
        "boss@example.com",
        "<code>acct-1</code>",
        "&quot;team&quot;: &quot;blue&quot;",
        "<dl class=\"facts\">",
        "Queued",
        "Times resent",
        id,
    ] {
        assert!(html.contains(shown), "{shown} missing: {html}");
    }
    // Breadcrumbs down to the invitation.
    for crumb in [
        "<a href=\"/admin/tenants\">Tenants</a>",
        "<a href=\"/admin/tenants/acme\">Acme Inc</a>",
        "<a href=\"/admin/tenants/acme/invitations\">Invitations</a>",
        "<span aria-current=\"page\">Ann@Example.com</span>",
    ] {
        assert!(html.contains(crumb), "{crumb} missing: {html}");
    }
    assert!(!html.contains(&token) && !html.contains("/i/"), "never the token or its link");
    let audit = section(html, "Audit trail");
    assert!(audit.contains("Invited") && audit.contains("API key “test-admin”"), "{audit}");
    assert!(section(html, "Email deliveries").contains("No delivery attempt yet."));
    assert!(section(html, "Webhook deliveries").contains("No webhook delivery"));
    // The full-scope key may act on it.
    assert!(html.contains(&format!("href=\"{}/resend\"", page_of(id))), "{html}");
    assert!(html.contains(&format!("href=\"{}/revoke\"", page_of(id))), "{html}");

    assert_eq!(app.deliver().await, 1);
    let html = plain(console.get(&page_of(id)).await.expect(200));
    let emails = section(&html, "Email deliveries");
    assert!(emails.contains("<span class=\"badge badge-sent\">Sent</span>"), "{emails}");
    let audit = section(&html, "Audit trail");
    assert!(audit.contains("Email sent") && audit.contains("invitd (automatic)"), "{audit}");
    assert!(audit.find("Invited") < audit.find("Email sent"), "oldest first: {audit}");
    assert!(html.contains("Sent · 1 attempts"), "{html}");
}
both!(shows_every_field_the_audit_trail_and_the_email_attempts);

async fn resends_through_the_confirmation_as_the_console_key() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one_ready_to_resend("ann@example.com").await;
    app.deliver().await;
    app.advance(time::Duration::minutes(2));
    let key = named_key(&app, "support-desk", &["invites:read", "invites:write"]).await;
    let console = Console::signed_in(&app, &key).await;
    let confirm = plain(console.get(&format!("{}/resend", page_of(&id))).await.expect(200));
    assert!(confirm.contains("Resend the invitation to ann@example.com?"), "{confirm}");
    assert!(confirm.contains(">Resend invitation</button>"));
    assert!(confirm.contains(&format!("<a href=\"{}\">Cancel</a>", page_of(&id))), "{confirm}");
    let path = format!("{}/resend", page_of(&id));
    let done = console.post(&path, &path, &[]).await.expect(303);
    assert_eq!(done.location(), Some(format!("{}?done=resent", page_of(&id)).as_str()));
    let html = plain(console.get(done.location().unwrap()).await.expect(200));
    assert!(html.contains("<p class=\"notice\" role=\"status\">The invitation was sent again."));
    let audit = section(&html, "Audit trail");
    assert!(audit.contains("Resent") && audit.contains("API key “support-desk”"), "{audit}");
    assert_eq!(app.invitation("acme", &id).await.expect(200)["resend_count"], 1);
    assert_eq!(app.deliver().await, 1);
    let html = plain(console.get(&page_of(&id)).await.expect(200));
    let emails = section(&html, "Email deliveries");
    assert_eq!(emails.matches("badge badge-sent").count(), 2, "{emails}");
    assert!(emails.contains("<td class=\"hide-narrow\">Resend</td>"), "{emails}");

    // Again at once: the cooldown refuses it on the invitation's page.
    let refused = console.post(&path, &path, &[]).await.expect(429);
    assert!(refused.html.contains("It was sent too recently"), "{}", refused.html);
    assert!(refused.headers.get("retry-after").is_some());
    assert!(refused.html.contains("<dl class=\"facts\">"));
    assert_eq!(app.invitation("acme", &id).await.expect(200)["resend_count"], 1);
}
both!(resends_through_the_confirmation_as_the_console_key);

async fn revokes_through_the_confirmation() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one("ann@example.com").await;
    let console = Console::signed_in(&app, &app.key).await;
    let path = format!("{}/revoke", page_of(&id));
    let confirm = console.get(&path).await.expect(200);
    assert!(confirm.html.contains("Revoke the invitation of ann@example.com?"), "{}", confirm.html);
    assert!(confirm.html.contains("class=\"danger\">Revoke invitation</button>"));
    let done = console.post(&path, &path, &[]).await.expect(303);
    assert_eq!(done.location(), Some(format!("{}?done=revoked", page_of(&id)).as_str()));
    let html = plain(console.get(done.location().unwrap()).await.expect(200));
    assert!(html.contains("The invitation was revoked."), "{html}");
    assert!(html.contains(">Revoked</span>"), "{html}");
    assert!(!html.contains("/resend\"") && !html.contains("/revoke\""), "no more buttons");
    assert!(section(&html, "Audit trail").contains("Revoked"));
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "revoked");
    // Asking again, or posting anyway: refused with the reason, not 5xx.
    let again = console.get(&path).await.expect(409);
    assert!(again.html.contains("It was revoked"), "{}", again.html);
    let posted = console.post(&page_of(&id), &path, &[]).await.expect(409);
    assert!(posted.html.contains("It was revoked"), "{}", posted.html);
    let resend = format!("{}/resend", page_of(&id));
    console.post(&page_of(&id), &resend, &[]).await.expect(409);
}
both!(revokes_through_the_confirmation);

async fn a_read_only_key_sees_no_actions_and_cannot_act() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one_ready_to_resend("ann@example.com").await;
    let key = app.key_with(&["invites:read"], Some(&["acme"])).await;
    let console = Console::signed_in(&app, &key).await;
    let page = plain(console.get(&page_of(&id)).await.expect(200));
    assert!(page.contains("ann@example.com"));
    assert!(!page.contains("/resend\"") && !page.contains("/revoke\""), "{page}");
    for action in ["resend", "revoke"] {
        let path = format!("{}/{action}", page_of(&id));
        let got = console.get(&path).await.expect(403);
        assert!(got.html.contains("invites:write"), "{}", got.html);
        console.post(&page_of(&id), &path, &[]).await.expect(403);
    }
    let inv = app.invitation("acme", &id).await.expect(200);
    assert_eq!((inv["status"].as_str(), inv["resend_count"].as_u64()), (Some("pending"), Some(0)));
    let html = plain(console.get(&page_of(&id)).await.expect(200));
    assert!(!section(&html, "Audit trail").contains("Resent"));
}
both!(a_read_only_key_sees_no_actions_and_cannot_act);

async fn keys_without_the_scope_or_the_tenant_and_unknown_ids_get_error_pages() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one("ann@example.com").await;
    let keys_only = app.key_with(&["keys:admin"], None).await;
    let console = Console::signed_in(&app, &keys_only).await;
    let got = console.get(&page_of(&id)).await.expect(403);
    assert!(got.html.contains("invites:read"), "{}", got.html);
    let globex = app.key_with(&["invites:read", "invites:write"], Some(&["globex"])).await;
    let console = Console::signed_in(&app, &globex).await;
    console.get(&page_of(&id)).await.expect(404);
    console.get(&format!("{}/revoke", page_of(&id))).await.expect(404);
    let console = Console::signed_in(&app, &app.key).await;
    for path in [
        page_of("not-a-uuid"),
        page_of(&uuid::Uuid::now_v7().to_string()),
        format!("/admin/tenants/globex/invitations/{id}"),
        format!("/admin/tenants/nope/invitations/{id}"),
        format!("{}/resend", page_of("not-a-uuid")),
    ] {
        let got = console.get(&path).await.expect(404);
        assert!(got.html.contains("Not found"), "{path}: {}", got.html);
    }
    let missing = format!("{}/revoke", page_of(&uuid::Uuid::now_v7().to_string()));
    console.post(&page_of(&id), &missing, &[]).await.expect(404);
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "pending");
}
both!(keys_without_the_scope_or_the_tenant_and_unknown_ids_get_error_pages);

async fn shows_the_webhook_deliveries_of_its_events() {
    let app = crate::webhooks::app().await;
    let receiver = Receiver::start(vec![500]).await;
    subscribe(&app, &receiver.url, json!(["invitation.created"])).await;
    let (id, _) = app.invite_one("ann@example.com").await;
    let console = Console::signed_in(&app, &app.key).await;
    let html = plain(console.get(&page_of(&id)).await.expect(200));
    let hooks = section(&html, "Webhook deliveries");
    assert!(hooks.contains(&receiver.url) && hooks.contains("Invited"), "{hooks}");
    assert!(hooks.contains("<span class=\"badge badge-pending\">Pending</span>"), "{hooks}");
    // The receiver answers 500 first: the delivery waits for its retry.
    pump(&app).await;
    let html = plain(console.get(&page_of(&id)).await.expect(200));
    let hooks = section(&html, "Webhook deliveries");
    assert!(hooks.contains("HTTP 500") && hooks.contains(">Pending</span>"), "{hooks}");
    app.advance(time::Duration::hours(2));
    pump(&app).await;
    let html = plain(console.get(&page_of(&id)).await.expect(200));
    let hooks = section(&html, "Webhook deliveries");
    assert!(hooks.contains("<span class=\"badge badge-delivered\">Delivered</span>"), "{hooks}");
    assert!(
        hooks.contains("HTTP 200") && hooks.contains("<td class=\"hide-narrow\">2</td>"),
        "{hooks}"
    );
    assert_eq!(receiver.seen().len(), 2);
}
both!(shows_the_webhook_deliveries_of_its_events);
