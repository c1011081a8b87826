//! The seed-compatible faces create through the same service, so quotas
//! hold them too: a refused address is a failed one, and a call that
//! created nothing answers 429 in the face's own error shape with
//! `Retry-After`.

use super::retry_after;
use crate::harness::*;
use serde_json::{Value, json};

/// A POST with the key as the face's client sends it, and extra headers.
async fn face_post(
    app: &TestApp,
    path: &str,
    auth: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    let mut req =
        app.client.post(format!("{}{path}", app.base)).header("authorization", auth).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    Reply { status, headers, body: resp.json().await.unwrap_or(Value::Null) }
}

async fn wix_bulk_fails_the_addresses_past_the_quota() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 2})).await.expect(200);
    let bulk = |emails: Value| {
        let app = &app;
        async move {
            let body = json!({"policyIds": ["viewer"], "emails": emails});
            face_post(app, "/invites/site-invite/bulk", &app.key, &[("wix-site-id", "acme")], body)
                .await
        }
    };
    let reply = bulk(json!(["a@example.com", "b@example.com", "c@example.com"])).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["invites"].as_array().unwrap().len(), 2);
    assert_eq!(reply.body["failedEmails"], json!(["c@example.com"]));

    let reply = bulk(json!(["d@example.com"])).await;
    assert_eq!(reply.status.as_u16(), 429, "{}", reply.body);
    assert_eq!(retry_after(&reply), 86400);
    assert!(reply.body["message"].is_string());
    let app_error = &reply.body["details"]["applicationError"];
    assert_eq!(app_error["code"], "QUOTA_EXCEEDED");
    assert_eq!(app_error["data"]["retryAfterSeconds"], 86400);
}
both!(wix_bulk_fails_the_addresses_past_the_quota);

async fn workspace_create_answers_429_past_the_quota() {
    let app = spawn_app().await;
    // The faces name the API key as the inviter: its own quota applies.
    app.patch("/v1/tenants/acme", json!({"invitations_per_inviter_per_day": 1})).await.expect(200);
    let auth = format!("Bearer {}", app.key);
    let create = |email: &'static str| {
        let (app, auth) = (&app, auth.clone());
        async move {
            face_post(
                app,
                "/api/v1/invites/",
                &auth,
                &[("x-workspace-id", "acme")],
                json!({"email": email}),
            )
            .await
        }
    };
    let first = create("a@example.com").await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.body);
    let refused = create("b@example.com").await;
    assert_eq!(refused.status.as_u16(), 429, "{}", refused.body);
    assert_eq!(retry_after(&refused), 86400);
    assert_eq!(refused.body["code"], "quota_exceeded");
    assert!(refused.body["detail"].as_str().unwrap().contains("inviter's quota of 1"));
    // Another inviter through /v1 is not held to the key's quota.
    let body = json!({"emails": ["c@example.com"], "roles": ["viewer"], "inviter": {"account_id": "someone"}});
    app.create("acme", body).await.expect(201);
}
both!(workspace_create_answers_429_past_the_quota);
