//! Creating invitations, per-email failures, validation, listing.

use crate::harness::*;
use serde_json::{Value, json};

async fn create_returns_links_once_and_get_never_shows_them() {
    let app = spawn_app().await;
    let body = app
        .create(
            "acme",
            json!({
                "emails": ["Ann@Example.com", "bob@example.com"],
                "roles": ["editor", "viewer"],
                "message": "Welcome!", "purpose": "Q3 planning", "language": "de",
                "expires_in_days": 3, "metadata": {"team": "blue"},
                "inviter": {"account_id": "u-7", "email": "lead@acme.test"}
            }),
        )
        .await
        .expect(201);
    assert_eq!(body["failures"], json!([]));
    let invs = body["invitations"].as_array().unwrap();
    assert_eq!(invs.len(), 2);
    let ann = &invs[0];
    assert_eq!(ann["email"], "Ann@Example.com");
    assert_eq!(ann["roles"], json!(["editor", "viewer"]));
    assert_eq!(ann["status"], "pending");
    assert_eq!(ann["language"], "de");
    assert_eq!(ann["metadata"], json!({"team": "blue"}));
    assert_eq!(ann["inviter"], json!({"account_id": "u-7", "email": "lead@acme.test"}));
    assert_eq!(ann["delivery"]["state"], "queued");
    assert_eq!(
        ann["capabilities"],
        json!({"can_resend": true, "can_revoke": true, "can_change_roles": true})
    );
    assert!(ann["number"].as_i64().unwrap() >= 1);
    let created = time::OffsetDateTime::parse(
        ann["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        ann["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires - created, time::Duration::days(3));
    let token = token_of(ann);
    assert!(token.len() >= 43, "at least 256 bits, base64url");
    assert!(ann["accept_url"].as_str().unwrap().starts_with("http://invitd.test/i/"));

    let got = app
        .get(&format!("/v1/tenants/acme/invitations/{}", ann["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert!(got.get("accept_url").is_none());
    assert!(!got.to_string().contains(&token), "GET must not reveal the token");
    assert_eq!(got["email"], "Ann@Example.com");
    let list = app.get("/v1/tenants/acme/invitations").await.expect(200);
    assert!(!list.to_string().contains(&token));
}
both!(create_returns_links_once_and_get_never_shows_them);

async fn bulk_reports_each_failed_email_and_creates_the_rest() {
    let app = spawn_app().await;
    app.invite(&["taken@example.com"]).await;
    let body = app
        .post("/v1/tenants/acme/invitations", json!({
            "emails": ["new@example.com", "not-an-email", "TAKEN@example.com", "New@Example.com", "other@example.com"],
            "roles": ["viewer"]
        }))
        .await
        .expect(201);
    let created: Vec<_> = body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created, ["new@example.com", "other@example.com"]);
    let failures = body["failures"].as_array().unwrap();
    let codes: Vec<(&str, &str)> = failures
        .iter()
        .map(|f| (f["email"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert!(codes.contains(&("not-an-email", "invalid_email")));
    assert!(codes.contains(&("TAKEN@example.com", "already_pending")));
    assert!(codes.contains(&("New@Example.com", "duplicate_in_request")));
    assert!(failures.iter().all(|f| f["message"].is_string()));

    // Nothing created at all: 200, not 201.
    let body = app.post("/v1/tenants/acme/invitations", viewers(&["bad"])).await.expect(200);
    assert_eq!(body["invitations"], json!([]));

    // The same address in another tenant is independent.
    app.create("globex", viewers(&["taken@example.com"])).await.expect(201);
}
both!(bulk_reports_each_failed_email_and_creates_the_rest);

async fn invalid_calls_are_refused_whole_and_change_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({"emails": ["a@example.com"], "roles": ["editor", "wizard"]}), "unknown_role"),
        (json!({"emails": ["a@example.com"], "roles": []}), "invalid_request"),
        (json!({"emails": [], "roles": ["editor"]}), "invalid_request"),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "expires_in_days": 31}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "expires_in_days": 0}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "metadata": [1, 2]}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "metadata": {"big": "x".repeat(9000)}}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "message": "m".repeat(2001)}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "language": "not a language"}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "inviter": {"email": "nope"}}),
            "invalid_request",
        ),
        (
            json!({"emails": ["a@example.com"], "roles": ["editor"], "surprise": true}),
            "malformed_json",
        ),
        (json!({"emails": "a@example.com", "roles": ["editor"]}), "malformed_json"),
    ];
    for (body, code) in cases {
        let reply = app.create("acme", body.clone()).await;
        assert_eq!(reply.status.as_u16(), 400, "{body}: {}", reply.body);
        reply.problem(400, code);
    }
    let many: Vec<String> = (0..1001).map(|i| format!("u{i}@example.com")).collect();
    app.create("acme", json!({"emails": many, "roles": ["editor"]}))
        .await
        .problem(400, "invalid_request");
    let list = app.get("/v1/tenants/acme/invitations").await.expect(200);
    assert_eq!(list["invitations"], json!([]), "nothing may be stored by a refused call");
    assert!(app.emails().is_empty());
    assert_eq!(app.deliver().await, 0, "nothing may be queued by a refused call");
}
both!(invalid_calls_are_refused_whole_and_change_nothing);

async fn a_thousand_emails_in_one_call() {
    let app = spawn_app().await;
    let emails: Vec<String> = (0..1000).map(|i| format!("user{i}@example.com")).collect();
    let body = app
        .post("/v1/tenants/acme/invitations", json!({"emails": emails, "roles": ["viewer"]}))
        .await
        .expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 1000);
}
both!(a_thousand_emails_in_one_call);

async fn list_filters_and_paginates_newest_first() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.invite(&[&format!("p{i}@example.com")]).await;
        app.advance(time::Duration::seconds(1));
    }
    app.create("acme", viewers(&["viewer@example.com"])).await.expect(201);

    let seen =
        Value::from(app.all_pages("/v1/tenants/acme/invitations?limit=2", "invitations").await);
    assert_eq!(
        strings(&seen, "email"),
        [
            "viewer@example.com",
            "p4@example.com",
            "p3@example.com",
            "p2@example.com",
            "p1@example.com",
            "p0@example.com"
        ]
    );

    let by_role = app.get("/v1/tenants/acme/invitations?role=viewer").await.expect(200);
    assert_eq!(by_role["invitations"].as_array().unwrap().len(), 1);
    let by_email = app.get("/v1/tenants/acme/invitations?email=P3@EXAMPLE.com").await.expect(200);
    assert_eq!(by_email["invitations"][0]["email"], "p3@example.com");

    let third = app.get("/v1/tenants/acme/invitations?email=p2@example.com").await.expect(200);
    let t = third["invitations"][0]["created_at"].as_str().unwrap().to_string();
    let after = app
        .get(&format!("/v1/tenants/acme/invitations?created_after={}", urlencode(&t)))
        .await
        .expect(200);
    assert_eq!(after["invitations"].as_array().unwrap().len(), 3);
    let before = app
        .get(&format!("/v1/tenants/acme/invitations?created_before={}", urlencode(&t)))
        .await
        .expect(200);
    assert_eq!(before["invitations"].as_array().unwrap().len(), 2);

    let (id, token) = app.invite_one("answer@example.com").await;
    app.decline(&token).await.expect(200);
    let declined = app.get("/v1/tenants/acme/invitations?status=declined").await.expect(200);
    assert_eq!(declined["invitations"][0]["id"], id.as_str());
    assert_eq!(
        app.get("/v1/tenants/acme/invitations?status=pending").await.expect(200)["invitations"]
            .as_array()
            .unwrap()
            .len(),
        6
    );

    for bad in [
        "status=maybe",
        "limit=0",
        "limit=201",
        "cursor=xyz",
        "created_after=yesterday",
        "colour=red",
    ] {
        app.get(&format!("/v1/tenants/acme/invitations?{bad}"))
            .await
            .problem(400, "invalid_request");
    }
}
both!(list_filters_and_paginates_newest_first);

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}
