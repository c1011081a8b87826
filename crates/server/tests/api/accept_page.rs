//! The accept page over HTTP: what it shows, what it refuses, and the
//! ticket it hands to the tenant.

use crate::harness::*;
use serde_json::{Value, json};

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) struct PageReply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) html: String,
}

pub(crate) async fn page(app: &TestApp, token: &str, lang: Option<&str>) -> PageReply {
    let mut req = no_redirects().get(format!("{}/i/{token}", app.base));
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let resp = req.send().await.unwrap();
    PageReply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        html: resp.text().await.unwrap(),
    }
}

/// Posts the page's form as a browser would after a click.
pub(crate) async fn answer(
    app: &TestApp,
    token: &str,
    nonce: &str,
    answer: &str,
    extra: &[(&str, &str)],
) -> PageReply {
    // What a browser sends for a form on our page under no-referrer;
    // `extra` replaces any of these.
    let mut headers = vec![("origin", "null"), ("sec-fetch-site", "same-origin")];
    headers.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    headers.extend_from_slice(extra);
    let mut req = no_redirects()
        .post(format!("{}/i/{token}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("nonce={}&answer={answer}", nonce.replace('.', "%2E")));
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    PageReply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        html: resp.text().await.unwrap(),
    }
}

/// Invites `email` and opens its page; (id, token, the form's nonce).
async fn invite_and_open(app: &TestApp, email: &str) -> (String, String, String) {
    let (id, token) = app.invite_one(email).await;
    let nonce = nonce_of(&page(app, &token, None).await.html);
    (id, token, nonce)
}

pub(crate) fn nonce_of(html: &str) -> String {
    let start =
        html.find("name=\"nonce\" value=\"").expect("a form") + "name=\"nonce\" value=\"".len();
    html[start..].split('"').next().unwrap().to_string()
}

#[track_caller]
fn assert_security_headers(p: &PageReply) {
    assert_eq!(p.headers["referrer-policy"], "no-referrer");
    assert_eq!(p.headers["x-content-type-options"], "nosniff");
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("frame-ancestors 'none'")
            && csp.contains("base-uri 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

/// Verifies an HS256 JWT with the `jsonwebtoken` crate, so the ticket is
/// checked by a JWT library and not by code of ours, and returns its claims.
/// The audience must be the tenant, as a host app checks it. Expiry is the
/// test's to check: the server's clock is the test clock.
pub fn verify_ticket(jwt: &str, secret: &str, tenant: &str) -> Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(jwt).expect("a compact JWT");
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.set_audience(&[tenant]);
    jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .expect("signature")
        .claims
}

async fn the_page_shows_the_invitation_in_its_language_and_changes_nothing() {
    let app = spawn_app().await;
    app.patch(
        "/v1/tenants/acme",
        json!({"logo_url": "https://cdn.acme.test/logo.png", "accent_color": "#AA3355"}),
    )
    .await
    .expect(200);
    let created = app
        .post("/v1/tenants/acme/invitations", json!({"emails": ["ann@example.com"], "roles": ["editor"], "language": "de", "message": "Hallo <b>Ann</b>", "purpose": "Q3", "inviter": {"email": "lead@acme.test"}}))
        .await
        .expect(201);
    let (id, token) = (
        created["invitations"][0]["id"].as_str().unwrap().to_string(),
        token_of(&created["invitations"][0]),
    );
    let p = page(&app, &token, None).await;
    assert_eq!(p.status, 200);
    assert_security_headers(&p);
    assert!(p.html.contains("<html lang=\"de\">"));
    assert!(p.html.contains("Sie sind zu Acme Inc eingeladen"));
    assert!(
        p.html.contains("lead@acme.test hat Sie eingeladen, Acme Inc als Bearbeiter beizutreten.")
    );
    assert!(
        p.html.contains("Hallo &lt;b&gt;Ann&lt;&#x2f;b&gt;")
            || p.html.contains("Hallo &lt;b&gt;Ann&lt;/b&gt;"),
        "escaped message"
    );
    assert!(p.html.contains("Zweck: Q3"));
    assert!(p.html.contains("Einladung annehmen") && p.html.contains("Ablehnen"));
    assert!(p.html.contains("src=\"https://cdn.acme.test/logo.png\""));
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    let style_nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(p.html.contains(&format!(
        "<style nonce=\"{style_nonce}\">:root {{ --accent: #aa3355; }}</style>"
    )));
    // HEAD and GET again: nothing changes, nothing is recorded.
    let head = no_redirects().head(format!("{}/i/{token}", app.base)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    page(&app, &token, None).await;
    let events = app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await.expect(200);
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "pending");
    let css = app.client.get(format!("{}/assets/accept.css", app.base)).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}
both!(the_page_shows_the_invitation_in_its_language_and_changes_nothing);

async fn accepting_redirects_with_a_signed_ticket() {
    let app = spawn_app().await;
    let tenant = app.post("/v1/tenants", json!({"id": "beta", "name": "Beta", "accept_redirect_url": "https://app.beta.test/welcome?from=invite"})).await.expect(201);
    let secret = tenant["ticket_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ts_"));
    assert!(
        !app.get("/v1/tenants/beta").await.expect(200).to_string().contains(&secret),
        "GET never shows the secret"
    );
    let created = app
        .create("beta", json!({"emails": ["Ann@Example.com"], "roles": ["admin", "viewer"]}))
        .await
        .expect(201);
    let inv = &created["invitations"][0];
    let token = token_of(inv);
    let nonce = nonce_of(&page(&app, &token, None).await.html);
    let done = answer(&app, &token, &nonce, "accept", &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.headers["referrer-policy"], "no-referrer");
    let location = done.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://app.beta.test/welcome?from=invite&ticket="),
        "{location}"
    );
    let claims = verify_ticket(location.split("ticket=").nth(1).unwrap(), &secret, "beta");
    // The check can fail: another key does not verify it.
    let mut lenient = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    lenient.validate_exp = false;
    assert!(
        jsonwebtoken::decode::<Value>(
            location.split("ticket=").nth(1).unwrap(),
            &jsonwebtoken::DecodingKey::from_secret(b"another secret"),
            &lenient
        )
        .is_err()
    );
    assert_eq!(claims["sub"], inv["id"]);
    assert_eq!(claims["tenant"], "beta");
    assert_eq!(claims["aud"], "beta");
    // A host app checking for another tenant refuses it.
    let mut elsewhere = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    elsewhere.validate_exp = false;
    elsewhere.set_audience(&["acme"]);
    let ticket = location.split("ticket=").nth(1).unwrap();
    assert!(
        jsonwebtoken::decode::<Value>(
            ticket,
            &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            &elsewhere
        )
        .is_err()
    );
    assert_eq!(claims["email"], "Ann@Example.com");
    assert_eq!(claims["roles"], json!(["admin", "viewer"]));
    assert_eq!(claims["iss"], "http://invitd.test");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert!(claims["jti"].is_string());
    let native = app
        .get(&format!("/v1/tenants/beta/invitations/{}", inv["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(native["status"], "accepted");
    let events = app
        .get(&format!("/v1/tenants/beta/invitations/{}/events", inv["id"].as_str().unwrap()))
        .await
        .expect(200);
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "invitation.accepted");
    assert_eq!(last["actor"]["kind"], "invitee");
    assert_eq!(last["ip"], "127.0.0.1");
    // Rotating the secret: new tickets use the new one.
    let rotated = app.post("/v1/tenants/beta/ticket-secret", json!({})).await.expect(200);
    assert_ne!(rotated["ticket_secret"], secret.as_str());
    // Answering again: already accepted.
    let again = answer(&app, &token, &nonce, "accept", &[]).await;
    assert_eq!(again.status, 410);
    assert!(again.html.contains("already accepted"));
}
both!(accepting_redirects_with_a_signed_ticket);

async fn without_a_redirect_accepting_and_declining_confirm_on_the_page() {
    let app = spawn_app().await;
    let (ann, ann_token, nonce) = invite_and_open(&app, "ann@example.com").await;
    let done = answer(&app, &ann_token, &nonce, "accept", &[]).await;
    assert_eq!(done.status, 200);
    assert!(done.html.contains("Invitation accepted") && done.html.contains("Welcome to Acme Inc"));
    assert_security_headers(&done);
    assert_eq!(app.invitation("acme", &ann).await.expect(200)["status"], "accepted");
    let (bob, bob_token, nonce) = invite_and_open(&app, "bob@example.com").await;
    let done = answer(&app, &bob_token, &nonce, "decline", &[]).await;
    assert_eq!(done.status, 200);
    assert!(done.html.contains("Invitation declined"));
    assert_eq!(app.invitation("acme", &bob).await.expect(200)["status"], "declined");
    let closed = page(&app, &bob_token, None).await;
    assert_eq!(closed.status, 410);
    assert!(closed.html.contains("already declined"));
    assert!(!closed.html.contains("bob@example.com"));
}
both!(without_a_redirect_accepting_and_declining_confirm_on_the_page);

async fn closed_and_unknown_links_get_their_pages() {
    let app = spawn_app().await;
    let (revoked, revoked_token) = app.invite_one("r@example.com").await;
    app.revoke("acme", &revoked).await.expect(200);
    let (_, expired_token) = app.invite_one("e@example.com").await;
    let (replaced, old_token) = app.invite_one("p@example.com").await;
    app.advance(time::Duration::minutes(2));
    app.resend("acme", &replaced).await.expect(200);
    app.advance(time::Duration::days(8));
    let cases = [
        (revoked_token.as_str(), 410, "This invitation was withdrawn", "r@example.com"),
        (expired_token.as_str(), 410, "This invitation has expired", "e@example.com"),
        (old_token.as_str(), 410, "A newer invitation was sent", "p@example.com"),
        ("A".repeat(43).leak() as &str, 404, "Invitation not found", "@"),
        ("not-a-token", 404, "Invitation not found", "@"),
    ];
    for (token, status, text, email) in cases {
        let p = page(&app, token, None).await;
        assert_eq!(p.status, status, "{text}");
        assert!(p.html.contains(text), "{text}: {}", p.html);
        assert!(!p.html.contains(email), "no address on {text}");
        assert!(!p.html.contains("<form"), "no buttons on {text}");
        assert_security_headers(&p);
    }
    // Pages without an invitation follow the browser's language.
    let p = page(&app, "not-a-token", Some("fr-CH,fr;q=0.9")).await;
    assert!(p.html.contains("Invitation introuvable"));
}
both!(closed_and_unknown_links_get_their_pages);

async fn answers_not_from_the_page_are_refused() {
    let app = spawn_app().await;
    let (id, token, nonce) = invite_and_open(&app, "ann@example.com").await;
    let (_, _, other_nonce) = invite_and_open(&app, "bob@example.com").await;
    let refused = [
        answer(&app, &token, "", "accept", &[]).await,
        answer(&app, &token, "123.abc", "accept", &[]).await,
        answer(&app, &token, &other_nonce, "accept", &[]).await,
        answer(&app, &token, &nonce, "maybe", &[]).await,
        answer(&app, &token, &nonce, "accept", &[("sec-fetch-site", "cross-site")]).await,
        answer(&app, &token, &nonce, "accept", &[("origin", "https://evil.test")]).await,
    ];
    for r in refused {
        assert_eq!(r.status, 403, "{}", r.html);
        assert!(r.html.contains("Please try again"));
    }
    app.advance(time::Duration::hours(3));
    assert_eq!(answer(&app, &token, &nonce, "accept", &[]).await.status, 403, "a stale form");
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "pending");
}
both!(answers_not_from_the_page_are_refused);

#[test]
fn tokens_never_reach_access_logs() {
    assert_eq!(invitd_server::loggable_path("/i/abcDEF_123"), "/i/<redacted>");
    assert_eq!(invitd_server::loggable_path("/v1/tenants/acme"), "/v1/tenants/acme");
}

async fn starting_roles_read_in_the_invitees_language_in_the_email_and_on_the_page() {
    let app = spawn_app().await;
    app.post(
        "/v1/tenants",
        json!({"id": "nord", "name": "Nord", "language": "de", "accent_color": "#0a7d5a"}),
    )
    .await
    .expect(201);
    app.post("/v1/tenants/nord/roles", json!({"id": "lektor", "name": "Lektorat"}))
        .await
        .expect(201);
    let created = app
        .create("nord", json!({"emails": ["anna@example.com"], "roles": ["editor", "lektor"]}))
        .await
        .expect(201);
    let token = token_of(&created["invitations"][0]);
    app.deliver_all().await;
    let email = app.emails().into_iter().find(|e| e.contains("anna@example.com")).unwrap();
    assert!(email.contains("Bearbeiter, Lektorat"), "{email}");
    assert!(!email.contains("Editor"), "{email}");
    assert!(email.contains("#0a7d5a"), "the tenant's accent colour: {email}");
    let html = page(&app, &token, None).await.html;
    assert!(html.contains("Bearbeiter, Lektorat"), "{html}");
    // In French, the same starting role reads in French.
    let fr = app
        .create(
            "nord",
            json!({"emails": ["paul@example.com"], "roles": ["owner"], "language": "fr"}),
        )
        .await
        .expect(201);
    let html = page(&app, &token_of(&fr["invitations"][0]), None).await.html;
    assert!(html.contains("Propriétaire"), "{html}");
}
both!(starting_roles_read_in_the_invitees_language_in_the_email_and_on_the_page);
