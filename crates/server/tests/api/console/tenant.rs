//! One tenant's page: its invitations counted by status, its settings (a
//! form for `tenants:admin`, read-only otherwise) and the preview.

use super::Console;
use crate::harness::*;
use serde_json::json;
use time::Duration;

async fn the_page_counts_invitations_by_effective_status() {
    let app = spawn_app().await;
    // One invited six days before the others: it expires first.
    app.invite_one("old@example.com").await;
    app.advance(Duration::days(6));
    let invited = app
        .invite(&[
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com",
        ])
        .await;
    app.advance(Duration::days(2));
    app.accept(&token_of(&invited[0])).await.expect(200);
    app.decline(&token_of(&invited[1])).await.expect(200);
    app.revoke("acme", invited[2]["id"].as_str().unwrap()).await.expect(200);
    let secret = app.post("/v1/tenants/acme/ticket-secret", json!({})).await.expect(200);
    let console = Console::signed_in(&app, &app.key).await;
    let page = console.get("/admin/tenants/acme").await.expect(200);
    let html = &page.html;
    for (status, word, n) in [
        ("pending", "Pending", 2),
        ("accepted", "Accepted", 1),
        ("declined", "Declined", 1),
        ("revoked", "Revoked", 1),
        ("expired", "Expired", 1),
    ] {
        let link = format!(
            "<a href=\"/admin/tenants/acme/invitations?status={status}\"><strong>{n}</strong> {word}</a>"
        );
        assert!(html.contains(&link), "{link} missing from {html}");
    }
    assert!(html.contains("<strong>6</strong> in all"), "{html}");
    assert!(html.contains("<ul class=\"counts\""));
    assert!(html.contains("href=\"/admin/tenants/acme/invitations\""));
    assert!(html.contains("href=\"/admin/tenants/acme/webhooks\""));
    // Breadcrumbs: Tenants / Acme Inc.
    let crumbs = &html[html.find("<nav class=\"crumbs\"").expect("crumbs")..];
    let crumbs = &crumbs[..crumbs.find("</nav>").unwrap()];
    assert!(crumbs.contains("admin&#x2f;tenants\">Tenants</a>"), "{crumbs}");
    assert!(crumbs.contains("<span aria-current=\"page\">Acme Inc</span>"), "{crumbs}");
    assert!(!html.contains(secret["ticket_secret"].as_str().unwrap()), "no ticket secret");
    // The other tenant's page counts its own (none).
    let globex = console.get("/admin/tenants/globex").await.expect(200);
    assert!(globex.html.contains("<strong>0</strong> in all"), "{}", globex.html);
    console.get("/admin/tenants/nope").await.expect(404);
}
both!(the_page_counts_invitations_by_effective_status);

/// The settings form's fields, all filled.
fn settings<'a>(accent: &'a str, logo: &'a str, lifetime: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Acme Two"),
        ("language", "de"),
        ("invitation_lifetime_days", lifetime),
        ("resend_cooldown_seconds", "120"),
        ("max_resends", "3"),
        ("accept_redirect_url", "https://app.acme.example/welcome"),
        ("logo_url", logo),
        ("accent_color", accent),
    ]
}

async fn settings_are_saved_shown_and_audited() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let form = console.get("/admin/tenants/acme").await.expect(200);
    assert!(form.html.contains("<form method=\"post\" action=\"/admin/tenants/acme\""));
    assert!(form.html.contains("<label for=\"accent_color\">Accent colour</label>"));
    assert!(form.html.contains("Resend cooldown (seconds)"));
    assert!(
        form.html.contains("data-preview=\"preview\" data-preview-var=\"--preview-accent\""),
        "{}",
        form.html
    );
    assert!(form.html.contains("id=\"preview\""));
    let logo = "https://cdn.acme.example/logo.png";
    let fields = settings("#AA3300", logo, "14");
    let saved =
        console.post("/admin/tenants/acme", "/admin/tenants/acme", &fields).await.expect(303);
    assert_eq!(saved.location(), Some("/admin/tenants/acme?done=saved"));
    let page = console.get("/admin/tenants/acme?done=saved").await.expect(200);
    assert!(page.html.contains("<p class=\"notice\" role=\"status\">Settings saved.</p>"));
    // The preview in the saved colour (through the page's nonce'd style).
    assert!(page.html.contains("#preview { --preview-accent: #aa3300; }"), "{}", page.html);
    // (The template escapes `/` in attributes, which browsers read back.)
    let escaped = logo.replace('/', "&#x2f;");
    assert!(page.html.contains(&format!("<img src=\"{escaped}\"")), "{}", page.html);
    assert!(page.html.contains("<span aria-current=\"page\">Acme Two</span>"));
    let t = app.get("/v1/tenants/acme").await.expect(200);
    assert_eq!(t["name"], "Acme Two");
    assert_eq!(t["language"], "de");
    assert_eq!(t["invitation_lifetime_days"], 14);
    assert_eq!(t["resend_cooldown_seconds"], 120);
    assert_eq!(t["max_resends"], 3);
    assert_eq!(t["accept_redirect_url"], "https://app.acme.example/welcome");
    assert_eq!(t["logo_url"], logo);
    assert_eq!(t["accent_color"], "#aa3300");
    let events = app.get("/v1/tenants/acme/events").await.expect(200);
    let updated = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "tenant.updated")
        .expect("a tenant.updated event");
    assert_eq!(updated["actor"]["kind"], "api_key");
    assert_eq!(updated["actor"]["name"], "test-admin");
    // Empty text fields clear; empty numbers leave the setting as it is.
    let mut cleared = settings("", "", "");
    cleared.retain(|(k, _)| *k != "language");
    cleared.push(("language", ""));
    console.post("/admin/tenants/acme", "/admin/tenants/acme", &cleared).await.expect(303);
    let t = app.get("/v1/tenants/acme").await.expect(200);
    assert_eq!((t["logo_url"].is_null(), t["accent_color"].is_null()), (true, true));
    assert!(t["language"].is_null());
    assert_eq!(t["invitation_lifetime_days"], 14);
    let page = console.get("/admin/tenants/acme").await.expect(200);
    assert!(!page.html.contains("--preview-accent: #"), "no saved colour, no style");
}
both!(settings_are_saved_shown_and_audited);

async fn bad_settings_come_back_with_their_errors_and_change_nothing() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let before = app.get("/v1/tenants/acme").await.expect(200);
    let path = "/admin/tenants/acme";
    let ok_logo = "https://cdn.acme.example/logo.png";
    let cases = [
        (settings("blue", ok_logo, "14"), "accent_color", "must be a colour like #1f6feb"),
        (settings("#aa3300", "http://cdn.acme.example/logo.png", "14"), "logo_url", "https URL"),
        (settings("#aa3300", ok_logo, "45"), "invitation_lifetime_days", "must be 1 to 30"),
        (settings("#aa3300", ok_logo, "two"), "invitation_lifetime_days", "whole number"),
    ];
    for (fields, field, message) in cases {
        let got = console.post(path, path, &fields).await.expect(400);
        let html = &got.html;
        let marked =
            format!("aria-invalid=\"true\" aria-describedby=\"{field}-error {field}-hint\"");
        assert!(html.contains(&marked), "{field}: {html}");
        let error = format!("<span class=\"field-error\" id=\"{field}-error\">");
        let at = html.find(&error).unwrap_or_else(|| panic!("{field} error missing: {html}"));
        assert!(html[at..].split("</span>").next().unwrap().contains(message), "{field}: {html}");
        assert!(html.contains("role=\"alert\">Please correct the fields below."));
        // What was typed comes back, to be corrected.
        assert!(html.contains("value=\"Acme Two\""));
        // The preview keeps the saved look: no style from refused input.
        assert!(!html.contains("--preview-accent: blue"));
    }
    assert_eq!(app.get("/v1/tenants/acme").await.expect(200), before, "nothing changed");
}
both!(bad_settings_come_back_with_their_errors_and_change_nothing);

async fn a_key_without_tenants_admin_reads_the_settings_only() {
    let app = spawn_app().await;
    let key = app.key_with(&["invites:read"], Some(&["acme"])).await;
    let console = Console::signed_in(&app, &key).await;
    let page = console.get("/admin/tenants/acme").await.expect(200);
    assert!(!page.html.contains("action=\"/admin/tenants/acme\""), "no form: {}", page.html);
    assert!(page.html.contains("changing them needs the scope tenants:admin"));
    assert!(page.html.contains("<dt>Invitation lifetime (days)</dt><dd>7</dd>"), "{}", page.html);
    assert!(!page.html.contains("/admin/tenants/acme/webhooks"), "webhooks need tenants:admin");
    assert!(page.html.contains("<strong>0</strong> in all"));
    // A post made anyway is refused, and changes nothing.
    let fields = settings("#aa3300", "", "14");
    let refused = console.post("/admin/tenants/acme", "/admin/tenants/acme", &fields).await;
    let refused = refused.expect(403);
    assert!(refused.html.contains("tenants:admin"), "{}", refused.html);
    // Even with a malformed number, the scope is what is refused.
    let bad = settings("#aa3300", "", "x");
    console.post("/admin/tenants/acme", "/admin/tenants/acme", &bad).await.expect(403);
    let t = app.get("/v1/tenants/acme").await.expect(200);
    assert_eq!((t["name"].as_str(), t["accent_color"].is_null()), (Some("Acme Inc"), true));
    // A tenant the key does not reach is not found.
    console.get("/admin/tenants/globex").await.expect(404);
}
both!(a_key_without_tenants_admin_reads_the_settings_only);
