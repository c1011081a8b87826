//! Tenant admin invitation resend (seed 004) and its `Result` envelope.

use crate::harness::*;
use reqwest::Method;
use serde_json::json;

const ENVELOPE: &[(&str, Kind)] = &[
    ("isSuccess", Kind::Bool),
    ("isFailure", Kind::Bool),
    ("error", Kind::Null),
    ("value", Kind::Object),
];
const MODEL: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("email", Kind::Str),
    ("status", Kind::Str),
    ("createdAt", Kind::Str),
    ("expiresAt", Kind::Str),
    ("tenantId", Kind::Str),
    ("roles", Kind::Strs),
    ("resendCount", Kind::Int),
];

#[track_caller]
fn assert_success(body: &serde_json::Value) {
    let mut envelope = body.clone();
    let value = envelope["value"].take();
    envelope["value"] = json!({});
    assert_shape(&envelope, ENVELOPE);
    assert_eq!(body["isSuccess"], true);
    assert_eq!(body["isFailure"], false);
    for model in value.as_array().expect("value is an array") {
        assert_shape(model, MODEL);
        date(&model["createdAt"]);
    }
}

#[track_caller]
fn assert_failure(reply: Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let b = &reply.body;
    assert_eq!(b["isSuccess"], false);
    assert_eq!(b["isFailure"], true);
    assert!(b["value"].is_null());
    assert_eq!(b["error"]["code"], code, "{b}");
    assert!(b["error"]["message"].is_string());
    assert!(b["error"]["info"].is_array());
}

async fn the_seed_example_resends_and_answers_the_envelope() {
    let app = spawn_app().await;
    app.post("/v1/tenants", json!({"id": "1024", "name": "Tenant 1024"})).await.expect(201);
    let created = app.create("1024", viewers(&["someone@example.com"])).await.expect(201);
    let n = created["invitations"][0]["number"].as_i64().unwrap();
    app.advance(time::Duration::minutes(2));
    // The example's path: PUT /api/tenant/1024/invitations/resend?id=…
    let body = app.put(&format!("/api/tenant/1024/invitations/resend?id={n}")).await.expect(200);
    assert_success(&body);
    let model = &body["value"][0];
    assert_eq!(model["id"], n);
    assert_eq!(model["email"], "someone@example.com");
    assert_eq!(model["status"], "Pending");
    assert_eq!(model["tenantId"], "1024");
    assert_eq!(model["resendCount"], 1);
    // The documented path.
    app.advance(time::Duration::minutes(2));
    let body =
        app.put(&format!("/tenant/1024/admin/user/invitation/resend?id={n}")).await.expect(200);
    assert_success(&body);
    assert_eq!(body["value"][0]["resendCount"], 2);
}
both!(the_seed_example_resends_and_answers_the_envelope);

async fn every_documented_error() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let n = app.invitation("acme", &id).await.expect(200)["number"].as_i64().unwrap();
    let path = |q: &str| format!("/tenant/acme/admin/user/invitation/resend{q}");
    assert_failure(app.put(&path("")).await, 400, "ValidationError");
    assert_failure(app.put(&path("?id=abc")).await, 400, "ValidationError");
    assert_failure(app.put(&path("?id=-4")).await, 400, "ValidationError");
    assert_failure(
        app.call(Method::PUT, &path(&format!("?id={n}")), None, None, &[]).await,
        401,
        "Unauthorized",
    );
    assert_failure(
        app.call(Method::PUT, &path(&format!("?id={n}")), Some("ik_bad"), None, &[]).await,
        401,
        "Unauthorized",
    );
    let globex = app.key_with(&["invites:read", "invites:write"], Some(&["globex"])).await;
    assert_failure(
        app.call(Method::PUT, &path(&format!("?id={n}")), Some(&globex), None, &[]).await,
        403,
        "Forbidden",
    );
    let reader = app.key_with(&["invites:read"], None).await;
    assert_failure(
        app.call(Method::PUT, &path(&format!("?id={n}")), Some(&reader), None, &[]).await,
        403,
        "Forbidden",
    );
    assert_failure(app.put(&path("?id=987654")).await, 404, "NotFound");
    // Another tenant's invitation number is not found here.
    let g = app.create("globex", viewers(&["g@example.com"])).await.expect(201);
    let gn = g["invitations"][0]["number"].as_i64().unwrap();
    assert_failure(app.put(&path(&format!("?id={gn}"))).await, 404, "NotFound");
    // Within the cooldown, and once accepted: only pending invitations can be resent.
    assert_failure(app.put(&path(&format!("?id={n}"))).await, 400, "ResendTooSoon");
    app.accept(&token).await.expect(200);
    app.advance(time::Duration::minutes(2));
    let reply = app.put(&path(&format!("?id={n}"))).await;
    assert_eq!(reply.body["error"]["message"], "Only pending invitations can be resent.");
    assert_failure(reply, 400, "InvalidState");
}
both!(every_documented_error);
