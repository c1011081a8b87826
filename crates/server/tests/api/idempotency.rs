//! `Idempotency-Key` on create, resend and revoke.

use crate::harness::*;
use reqwest::Method;
use serde_json::json;

both! {
async fn a_replayed_create_returns_the_first_answer_and_creates_once() {
    let app = spawn_app().await;
    let body = json!({"emails": ["ann@example.com", "bob@example.com"], "roles": ["editor"]});
    let path = "/v1/tenants/acme/invitations";
    let first = app
        .call(
            Method::POST,
            path,
            Some(&app.key),
            Some(&body),
            &[("idempotency-key", "create-1")],
        )
        .await;
    assert_eq!(first.status, 201);
    let replay = app
        .call(
            Method::POST,
            path,
            Some(&app.key),
            Some(&body),
            &[("idempotency-key", "create-1")],
        )
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.body, first.body);
    let list = app.get(path).await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(app.deliver().await, 2, "one email each, not two");
    // The same key with another body is refused and changes nothing.
    let other = json!({"emails": ["carol@example.com"], "roles": ["editor"]});
    app.call(
        Method::POST,
        path,
        Some(&app.key),
        Some(&other),
        &[("idempotency-key", "create-1")],
    )
    .await
    .problem(422, "idempotency_key_reused");
    assert_eq!(
        app.get(path).await.expect(200)["invitations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Another API key has its own key space.
    let second = app.key_with(&["invites:write", "invites:read"], None).await;
    app.call(
        Method::POST,
        path,
        Some(&second),
        Some(&other),
        &[("idempotency-key", "create-1")],
    )
    .await
    .expect(201);
    // Bad keys are refused.
    app.call(
        Method::POST,
        path,
        Some(&app.key),
        Some(&other),
        &[("idempotency-key", "has space")],
    )
    .await
    .problem(400, "invalid_request");
}
}

both! {
async fn replayed_resend_and_revoke() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one("ann@example.com").await;
    app.advance(time::Duration::minutes(5));
    let path = format!("/v1/tenants/acme/invitations/{id}/resend");
    let first = app
        .call(
            Method::POST,
            &path,
            Some(&app.key),
            Some(&json!({})),
            &[("idempotency-key", "r-1")],
        )
        .await
        .expect(200);
    let again = app
        .call(
            Method::POST,
            &path,
            Some(&app.key),
            Some(&json!({})),
            &[("idempotency-key", "r-1")],
        )
        .await
        .expect(200);
    assert_eq!(first["accept_url"], again["accept_url"]);
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/invitations/{id}"))
            .await
            .expect(200)["resend_count"],
        1
    );
    let path = format!("/v1/tenants/acme/invitations/{id}/revoke");
    let first = app
        .call(
            Method::POST,
            &path,
            Some(&app.key),
            Some(&json!({})),
            &[("idempotency-key", "v-1")],
        )
        .await
        .expect(200);
    let again = app
        .call(
            Method::POST,
            &path,
            Some(&app.key),
            Some(&json!({})),
            &[("idempotency-key", "v-1")],
        )
        .await
        .expect(200);
    assert_eq!(first, again);
    // Without the key, a second revoke is a conflict.
    app.post(&path, json!({}))
        .await
        .problem(409, "invitation_revoked");
}
}
