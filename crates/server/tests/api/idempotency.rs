//! `Idempotency-Key` on create, resend and revoke.

use crate::harness::*;
use reqwest::Method;
use serde_json::json;

async fn a_replayed_create_returns_the_first_answer_and_creates_once() {
    let app = spawn_app().await;
    let body = json!({"emails": ["ann@example.com", "bob@example.com"], "roles": ["editor"]});
    let path = "/v1/tenants/acme/invitations";
    let first = app.with_idempotency_key("create-1").post(path, body.clone()).await;
    assert_eq!(first.status, 201);
    let replay = app.with_idempotency_key("create-1").post(path, body.clone()).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.body, first.body);
    let list = app.get(path).await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(app.deliver().await, 2, "one email each, not two");
    // The same key with another body is refused and changes nothing.
    let other = json!({"emails": ["carol@example.com"], "roles": ["editor"]});
    app.with_idempotency_key("create-1")
        .post(path, other.clone())
        .await
        .problem(422, "idempotency_key_reused");
    assert_eq!(app.get(path).await.expect(200)["invitations"].as_array().unwrap().len(), 2);
    // Another API key has its own key space.
    let second = app.key_with(&["invites:write", "invites:read"], None).await;
    app.with_key(&second)
        .with_idempotency_key("create-1")
        .post(path, other.clone())
        .await
        .expect(201);
    // Bad keys are refused.
    app.with_idempotency_key("has space")
        .post(path, other.clone())
        .await
        .problem(400, "invalid_request");
}
both!(a_replayed_create_returns_the_first_answer_and_creates_once);

async fn replayed_resend_and_revoke() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one_ready_to_resend("ann@example.com").await;
    let path = format!("/v1/tenants/acme/invitations/{id}/resend");
    let first = app.with_idempotency_key("r-1").post(&path, json!({})).await.expect(200);
    let again = app.with_idempotency_key("r-1").post(&path, json!({})).await.expect(200);
    assert_eq!(first["accept_url"], again["accept_url"]);
    assert_eq!(app.invitation("acme", &id).await.expect(200)["resend_count"], 1);
    let path = format!("/v1/tenants/acme/invitations/{id}/revoke");
    let first = app.with_idempotency_key("v-1").post(&path, json!({})).await.expect(200);
    let again = app.with_idempotency_key("v-1").post(&path, json!({})).await.expect(200);
    assert_eq!(first, again);
    // Without the key, a second revoke is a conflict.
    app.post(&path, json!({})).await.problem(409, "invitation_revoked");
}
both!(replayed_resend_and_revoke);

/// Rows in the idempotency table, read straight from the database.
async fn stored_keys(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM idempotency_keys";
    match app.database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.query_row(sql, [], |row| row.get(0)).unwrap()
        }
        None => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

async fn the_key_is_looked_at_only_after_routing_and_authentication() {
    let app = spawn_app().await;
    let path = "/v1/tenants/acme/invitations";
    let body = json!({"emails": ["ann@example.com"], "roles": ["editor"]});
    // Unauthenticated: 401, whatever the key header says, and nothing stored.
    for header in ["", "made-up-1"] {
        app.call(Method::POST, path, None, Some(&body), &[("idempotency-key", header)])
            .await
            .problem(401, "unauthorized");
        app.call(
            Method::POST,
            path,
            Some("ik_not_a_real_key"),
            Some(&body),
            &[("idempotency-key", header)],
        )
        .await
        .problem(401, "unauthorized");
    }
    // A method the route does not have: 405 before the key is looked at.
    let reply =
        app.call(Method::PUT, path, Some(&app.key), Some(&body), &[("idempotency-key", "")]).await;
    assert_eq!(reply.status, 405, "body: {}", reply.body);
    let reply = app
        .call(Method::PUT, path, Some(&app.key), Some(&body), &[("idempotency-key", "k-405")])
        .await;
    assert_eq!(reply.status, 405, "body: {}", reply.body);
    assert_eq!(stored_keys(&app).await, 0, "nothing may be written");
    // Authenticated, the empty key is a bad request.
    app.with_idempotency_key("").post(path, body.clone()).await.problem(400, "invalid_request");
    assert_eq!(stored_keys(&app).await, 0);
}
both!(the_key_is_looked_at_only_after_routing_and_authentication);

async fn concurrent_requests_with_one_key_get_one_answer() {
    let app = spawn_app().await;
    let path = "/v1/tenants/acme/invitations";
    let body = json!({"emails": ["ann@example.com", "bob@example.com"], "roles": ["editor"]});
    let calls =
        (0..6).map(|_| async { app.with_idempotency_key("same").post(path, body.clone()).await });
    let replies = futures::future::join_all(calls).await;
    let first = &replies[0];
    for reply in &replies {
        assert_eq!(reply.status, 201, "body: {}", reply.body);
        assert_eq!(reply.body, first.body, "every caller sees the one answer");
    }
    let list = app.get(path).await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(stored_keys(&app).await, 1);
}
both!(concurrent_requests_with_one_key_get_one_answer);
