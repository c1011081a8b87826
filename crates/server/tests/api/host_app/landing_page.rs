//! `redirect_url`: a landing page per invitation, on the tenant's allowed
//! origins only.

use crate::accept_page::{answer, nonce_of, page, verify_ticket};
use crate::harness::*;
use serde_json::{Value, json};

/// Creates tenant beta with a redirect URL and one more allowed origin;
/// its ticket secret.
async fn beta(app: &TestApp) -> String {
    let tenant = app
        .post(
            "/v1/tenants",
            json!({"id": "beta", "name": "Beta",
                   "accept_redirect_url": "https://app.beta.test/welcome",
                   "allowed_redirect_origins": ["https://Promo.Beta.test/"]}),
        )
        .await
        .expect(201);
    assert_eq!(tenant["allowed_redirect_origins"], json!(["https://promo.beta.test"]));
    assert_eq!(tenant["require_matching_email"], false);
    tenant["ticket_secret"].as_str().unwrap().to_string()
}

async fn invite_beta(app: &TestApp, email: &str, redirect: Option<&str>) -> Value {
    let mut body = json!({"emails": [email], "roles": ["viewer"]});
    if let Some(url) = redirect {
        body["redirect_url"] = json!(url);
    }
    app.create("beta", body).await.expect(201)["invitations"][0].clone()
}

/// Accepts on the accept page; the `Location` it redirects to.
async fn accept_on_page(app: &TestApp, token: &str) -> String {
    let opened = page(app, token, None).await;
    let done = answer(app, token, &nonce_of(&opened.html), "accept", &[]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    done.headers["location"].to_str().unwrap().to_string()
}

async fn allowed_origins_are_a_tenant_setting() {
    let app = spawn_app().await;
    let patched = app
        .patch(
            "/v1/tenants/acme",
            json!({"allowed_redirect_origins": ["http://LOCALHOST:3000", "https://a.example.com:443", "https://a.example.com"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        patched["allowed_redirect_origins"],
        json!(["http://localhost:3000", "https://a.example.com"])
    );
    for bad in [
        "a.example.com",
        "https://a.example.com/path",
        "https://u:p@a.example.com",
        "javascript:alert(1)",
    ] {
        let refused = app
            .patch("/v1/tenants/acme", json!({"allowed_redirect_origins": [bad]}))
            .await
            .problem(400, "invalid_request");
        assert_eq!(refused["errors"][0]["field"], "allowed_redirect_origins", "{bad}");
    }
    let many: Vec<String> = (0..51).map(|i| format!("https://h{i}.example.com")).collect();
    app.patch("/v1/tenants/acme", json!({"allowed_redirect_origins": many}))
        .await
        .problem(400, "invalid_request");
    let read = app.get("/v1/tenants/acme").await.expect(200);
    assert_eq!(read["allowed_redirect_origins"], patched["allowed_redirect_origins"], "unchanged");
}
both!(allowed_origins_are_a_tenant_setting);

async fn only_allowed_origins_are_taken() {
    let app = spawn_app().await;
    beta(&app).await;
    for bad in [
        "https://evil.test/phish",
        "https://promo.beta.test.evil.test/",
        "https://app.beta.test:8443/x",
        "http://promo.beta.test/",
        "javascript:alert(1)",
        "//promo.beta.test/x",
    ] {
        let body = json!({"emails": ["ann@example.com"], "roles": ["viewer"], "redirect_url": bad});
        let refused = app.create("beta", body).await.problem(400, "invalid_request");
        assert_eq!(refused["errors"][0]["field"], "redirect_url", "{bad}");
    }
    let listed = app.get("/v1/tenants/beta/invitations").await.expect(200);
    assert_eq!(listed["invitations"], json!([]), "nothing was created");
    // The tenant's own redirect origin is always allowed, and so is one on
    // its list.
    let own = invite_beta(&app, "ann@example.com", Some("https://app.beta.test/other")).await;
    assert_eq!(own["redirect_url"], "https://app.beta.test/other");
    let promo = invite_beta(&app, "bob@example.com", Some("https://PROMO.beta.test/x?y=1")).await;
    let id = promo["id"].as_str().unwrap();
    let read = app.invitation("beta", id).await.expect(200);
    assert_eq!(read["redirect_url"], "https://PROMO.beta.test/x?y=1");
    // A resend to a forbidden origin changes nothing: the link still works.
    app.advance(time::Duration::minutes(2));
    let path = format!("/v1/tenants/beta/invitations/{id}/resend");
    app.post(&path, json!({"redirect_url": "https://evil.test/"}))
        .await
        .problem(400, "invalid_request");
    app.post("/v1/invitations/lookup", json!({"token": token_of(&promo)})).await.expect(200);
    let none = invite_beta(&app, "cat@example.com", None).await;
    assert_eq!(none["redirect_url"], json!(null));
}
both!(only_allowed_origins_are_taken);

async fn the_accept_page_sends_the_invitee_to_the_landing_page() {
    let app = spawn_app().await;
    let secret = beta(&app).await;
    let inv =
        invite_beta(&app, "ann@example.com", Some("https://promo.beta.test/landing?c=7")).await;
    let token = token_of(&inv);
    let csp = page(&app, &token, None).await.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action 'self' https://promo.beta.test;"), "{csp}");
    let location = accept_on_page(&app, &token).await;
    assert!(location.starts_with("https://promo.beta.test/landing?c=7&ticket="), "{location}");
    let claims = verify_ticket(location.split("ticket=").nth(1).unwrap(), &secret, "beta");
    assert_eq!(claims["sub"], inv["id"]);
    assert_eq!(claims["email"], "ann@example.com");

    // Without its own page: the tenant's.
    let plain = invite_beta(&app, "bob@example.com", None).await;
    let location = accept_on_page(&app, &token_of(&plain)).await;
    assert!(location.starts_with("https://app.beta.test/welcome?ticket="), "{location}");

    // A resend can change the page, or (null) go back to the tenant's.
    let cat = invite_beta(&app, "cat@example.com", None).await;
    let path = format!("/v1/tenants/beta/invitations/{}/resend", cat["id"].as_str().unwrap());
    let moved = app
        .post(&path, json!({"redirect_url": "https://promo.beta.test/cat", "send_email": false}))
        .await
        .expect(200);
    assert_eq!(moved["redirect_url"], "https://promo.beta.test/cat");
    let back =
        app.post(&path, json!({"redirect_url": null, "send_email": false})).await.expect(200);
    assert_eq!(back["redirect_url"], json!(null));
    let location = accept_on_page(&app, &token_of(&back)).await;
    assert!(location.starts_with("https://app.beta.test/welcome?ticket="), "{location}");

    // An origin taken off the list is no longer reached: the tenant's page
    // stands in for it.
    let dan = invite_beta(&app, "dan@example.com", Some("https://promo.beta.test/dan")).await;
    app.patch("/v1/tenants/beta", json!({"allowed_redirect_origins": []})).await.expect(200);
    let location = accept_on_page(&app, &token_of(&dan)).await;
    assert!(location.starts_with("https://app.beta.test/welcome?ticket="), "{location}");
}
both!(the_accept_page_sends_the_invitee_to_the_landing_page);
