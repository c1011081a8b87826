//! The invitee's whole experience in a real browser: invite over the API,
//! receive the email in a real SMTP server, open its link in headless
//! Chromium (JavaScript off), click, and check what the host app and `/v1`
//! see. Screenshots of every page, at desktop and phone width, land in
//! `target/browser-artifacts/`.
//!
//! Needs Debian's `chromium` and `npm ci` in `browser/`; runs when
//! `INVITD_BROWSER_TESTS=1` (`bash browser/run.sh` does all of it).

use crate::accept_page::verify_ticket;
use crate::harness::*;
use serde_json::{Value, json};
use std::path::PathBuf;

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `browser/drive.mjs` on one link.
async fn drive(url: &str, click: Option<&str>, name: &str) -> Value {
    run_script("drive.mjs", json!({"url": url, "click": click, "name": name})).await
}

/// Runs a script of `browser/` with `spec` (plus the artifacts folder) and
/// reads the JSON it prints.
async fn run_script(name: &str, mut spec: Value) -> Value {
    spec["dir"] = json!(artifacts());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../browser").join(name);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node").arg(script).arg(spec.to_string()).output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "browser run failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The accept link in an email received by the SMTP server.
fn link_for(messages: &[Value], to: &str) -> String {
    let m = messages
        .iter()
        .find(|m| m["envelope_recipients"][0] == to)
        .unwrap_or_else(|| panic!("no email to {to}"));
    let text = m["text"].as_str().unwrap();
    let start = text.find("http://").unwrap();
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// A server whose links a browser can open, sending its emails to a real
/// SMTP server (the inbox) from its background worker.
async fn mailing_app() -> (TestApp, Inbox) {
    let port = smtp_port();
    let inbox = Inbox::start(port).await;
    let app = spawn_app_with(Options {
        mail_url: Some(format!("smtp://127.0.0.1:{port}")),
        run_worker: true,
        real_links: true,
        ..Default::default()
    })
    .await;
    (app, inbox)
}

/// A host app's landing page that the accept redirect goes to.
async fn host_app() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/welcome",
        axum::routing::get(|| async {
            axum::response::Html(
                "<!DOCTYPE html><title>Host app</title><h1>Signed in to the host app</h1>",
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/welcome")
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser test skipped: run `bash browser/run.sh` (needs chromium and node)"
)]
async fn an_invitee_accepts_declines_and_meets_an_expired_link_in_chromium() {
    let (app, inbox) = mailing_app().await;
    let welcome = host_app().await;
    let tenant = app
        .post("/v1/tenants", json!({"id": "studio", "name": "Studio Nord", "language": "de", "accent_color": "#0a7d5a", "accept_redirect_url": welcome}))
        .await
        .expect(201);
    let secret = tenant["ticket_secret"].as_str().unwrap().to_string();
    for (email, lang) in
        [("anna@example.com", "de"), ("ben@example.com", "en"), ("chloe@example.com", "fr")]
    {
        app.create("studio", json!({"emails": [email], "roles": ["editor"], "language": lang, "message": "Schön, dass du dabei bist!\nBis bald.", "inviter": {"email": "lea@studio-nord.example"}}))
            .await
            .expect(201);
    }
    app.create(
        "acme",
        json!({"emails": ["diego@example.com"], "roles": ["viewer"], "language": "es"}),
    )
    .await
    .expect(201);
    let messages = inbox.wait_for(4).await;

    // Accept, in German, then the host app receives a ticket.
    let anna =
        drive(&link_for(&messages, "anna@example.com"), Some("accept"), "1-invitation-de").await;
    assert_eq!(anna["status"], 200);
    assert_eq!(anna["lang"], "de");
    let text = anna["text"].as_str().unwrap();
    assert!(text.contains("Sie sind zu Studio Nord eingeladen"), "{text}");
    assert!(text.contains("lea@studio-nord.example hat Sie eingeladen"), "{text}");
    assert!(text.contains("Schön, dass du dabei bist!"));
    assert_eq!(anna["headers"]["referrer-policy"], "no-referrer");
    let final_url = anna["finalUrl"].as_str().unwrap();
    assert!(final_url.starts_with(&format!("{welcome}?ticket=")), "{final_url}");
    assert!(anna["finalText"].as_str().unwrap().contains("Signed in to the host app"));
    let claims = verify_ticket(final_url.split("ticket=").nth(1).unwrap(), &secret, "studio");
    assert_eq!(claims["email"], "anna@example.com");
    assert_eq!(claims["tenant"], "studio");
    let listed = app.get("/v1/tenants/studio/invitations?email=anna@example.com").await.expect(200);
    assert_eq!(listed["invitations"][0]["status"], "accepted");

    // Decline, in English.
    let ben = drive(&link_for(&messages, "ben@example.com"), Some("decline"), "2-decline-en").await;
    assert_eq!(ben["lang"], "en");
    assert_eq!(ben["finalStatus"], 200);
    assert!(ben["finalText"].as_str().unwrap().contains("Invitation declined"));
    let listed = app.get("/v1/tenants/studio/invitations?email=ben@example.com").await.expect(200);
    assert_eq!(listed["invitations"][0]["status"], "declined");

    // Accept without a redirect URL: a confirmation page, in Spanish.
    let diego =
        drive(&link_for(&messages, "diego@example.com"), Some("accept"), "3-accept-es").await;
    assert_eq!(diego["finalStatus"], 200);
    assert!(diego["finalText"].as_str().unwrap().contains("Invitación aceptada"));

    // The same links again: already answered.
    let again = drive(&link_for(&messages, "ben@example.com"), None, "4-already-declined-en").await;
    assert_eq!(again["status"], 410);
    assert!(again["text"].as_str().unwrap().contains("already declined"));
    assert!(!again["text"].as_str().unwrap().contains("ben@example.com"));

    // Expired, in French.
    app.advance(time::Duration::days(8));
    let chloe = drive(&link_for(&messages, "chloe@example.com"), None, "5-expired-fr").await;
    assert_eq!(chloe["status"], 410);
    assert_eq!(chloe["lang"], "fr");
    assert!(chloe["text"].as_str().unwrap().contains("Cette invitation a expiré"));
    assert!(!chloe["text"].as_str().unwrap().contains("chloe@example.com"));
    inbox.stop();
}

/// A support person's walk through the admin console: sign in, invite
/// through the form, find one by address, resend it (a new delivery
/// attempt appears), revoke another, see the tenant, webhook and key
/// pages, sign out; a read-only key sees no buttons and is refused when it
/// posts anyway.
#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "browser test skipped: run `bash browser/run.sh` (needs chromium and node)"
)]
async fn a_support_person_finds_resends_and_revokes_in_the_console() {
    let (app, inbox) = mailing_app().await;
    // A support person resends right after creating, in this test.
    app.patch("/v1/tenants/acme", json!({"resend_cooldown_seconds": 0})).await.expect(200);
    let readonly = app.key_with(&["invites:read"], None).await;
    let emails = ["mia@example.com", "noah@example.com", "olivia@example.com"];
    let out = run_script(
        "console.mjs",
        json!({
            "base": app.base, "key": app.key, "readonlyKey": readonly,
            "tenant": "acme", "tenantName": "Acme Inc",
            "emails": emails, "find": "mia@example.com", "revoke": "noah@example.com",
        }),
    )
    .await;
    let text = |field: &str| out[field].as_str().unwrap_or_default().to_string();
    assert!(text("wrongKey").contains("That key was not accepted"), "{out}");
    assert!(text("tenantsText").contains("Acme Inc"), "{out}");
    // With JavaScript on, times are in the browser's zone (Berlin here),
    // and the footer says which.
    assert!(text("footer").contains("Times are in Europe/Berlin."), "{out}");
    let local = text("localTime");
    assert!(!local.is_empty() && !local.ends_with("UTC"), "not shown in local time: {out}");
    assert!(text("created").contains("mia@example.com"), "{out}");
    assert!(text("created").contains("not-an-address"), "{out}");
    assert_eq!(out["searchRows"], 1, "{out}");
    // The page itself shows the resend's email among the deliveries.
    let page = text("afterResendText");
    let deliveries = page.split("Email deliveries").nth(1).unwrap_or_default();
    assert!(deliveries.contains("Resend"), "no resend delivery on the page: {page}");
    assert!(text("afterRevoke").contains("Revoked"), "{out}");
    assert!(text("signedOut").contains("You are signed out."), "{out}");
    assert!(text("afterSignOutUrl").contains("/admin/sign-in"), "{out}");
    assert_eq!(out["readonlyButtons"], 0, "{out}");
    assert_eq!(out["readonlyPostStatus"], 403, "{out}");
    for step in out["steps"].as_array().unwrap() {
        assert_eq!(step["overflow"], false, "page wider than a phone: {step}");
    }
    // What the API sees afterwards.
    let mia = app.get("/v1/tenants/acme/invitations?email=mia@example.com").await.expect(200);
    let mia = &mia["invitations"][0];
    let id = mia["id"].as_str().unwrap();
    let deliveries =
        app.get(&format!("/v1/tenants/acme/invitations/{id}/deliveries")).await.expect(200);
    let attempts = deliveries["attempts"].as_array().map(Vec::len).unwrap_or(0);
    assert!(attempts >= 2, "the resend made a second delivery attempt: {deliveries}");
    let noah = app.get("/v1/tenants/acme/invitations?email=noah@example.com").await.expect(200);
    assert_eq!(noah["invitations"][0]["status"], "revoked");
    let events = app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await.expect(200);
    assert!(events.to_string().contains("test-admin"), "the console acted as the key: {events}");
    inbox.stop();
}
