//! Workspace invites (seed 003), and one invitation seen through every API.

use crate::harness::*;
use serde_json::{Value, json};

/// `WorkspaceInviteDetail`: the thirteen required fields, typed.
const DETAIL: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("token", Kind::Str),
    ("email", Kind::Str),
    ("role", Kind::Str),
    ("role_display", Kind::Str),
    ("status", Kind::Str),
    ("message", Kind::Str),
    ("created_at", Kind::Str),
    ("expires_at", Kind::Str),
    ("accepted_at", Kind::OptStr),
    ("invited_by_email", Kind::Str),
    ("workspace_name", Kind::Str),
    ("is_expired", Kind::Bool),
];

#[track_caller]
fn assert_detail(v: &Value) {
    assert_shape(v, DETAIL);
    assert!(uuid::Uuid::parse_str(v["token"].as_str().unwrap()).is_ok(), "token is a uuid");
    assert!(["1", "2", "3", "4"].contains(&v["role"].as_str().unwrap()));
    let display = ["Viewer", "Editor", "Admin", "Owner"]
        [v["role"].as_str().unwrap().parse::<usize>().unwrap() - 1];
    assert_eq!(v["role_display"], display);
    assert!(
        ["pending", "accepted", "cancelled", "expired"].contains(&v["status"].as_str().unwrap())
    );
    date(&v["created_at"]);
    date(&v["expires_at"]);
    assert!(v["invited_by_email"].as_str().unwrap().contains('@'));
}

/// As the seed's Python example sends it: `requests.post(url, json={},
/// headers={"Content-Type": "application/json"})`, plus our key.
async fn post(app: &TestApp, path: &str, key: Option<&str>, body: &str) -> Reply {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    Reply { status, headers, body: resp.json().await.unwrap_or(Value::Null) }
}

#[track_caller]
fn assert_error(reply: Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert!(reply.body["detail"].is_string(), "JSON body with a detail: {}", reply.body);
}

async fn number_of(app: &TestApp, id: &str) -> i64 {
    app.invitation("acme", id).await.expect(200)["number"].as_i64().unwrap()
}

async fn the_seed_resend_example_works_and_extends_the_expiry() {
    let app = spawn_app().await;
    let created = app
        .post("/v1/tenants/acme/invitations", json!({"emails": ["ann@example.com"], "roles": ["admin"], "message": "Join us", "inviter": {"email": "lead@acme.test"}}))
        .await
        .expect(201);
    let inv = &created["invitations"][0];
    let link_token = token_of(inv);
    let n = inv["number"].as_i64().unwrap();
    app.advance(time::Duration::days(1));
    let reply = post(&app, &format!("/api/v1/invites/{n}/resend/"), Some(&app.key), "{}").await;
    let body = reply.expect(200);
    assert_detail(&body);
    assert_eq!(body["id"], n);
    assert_eq!(body["token"], inv["id"], "token identifies the invitation");
    assert_ne!(body["token"].as_str().unwrap(), link_token, "never a link secret");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["role"], "3");
    assert_eq!(body["role_display"], "Admin");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["message"], "Join us");
    assert_eq!(body["invited_by_email"], "lead@acme.test");
    assert_eq!(body["workspace_name"], "Acme Inc");
    assert_eq!(body["is_expired"], false);
    assert!(body["accepted_at"].is_null());
    assert!(date(&body["expires_at"]) > date(&inv["expires_at"]), "extended expiry");
    // A key that may only write resends (and gets its answer) too.
    let writer = app.key_with(&["invites:write"], Some(&["acme"])).await;
    app.advance(time::Duration::minutes(2));
    let by_writer =
        post(&app, &format!("/api/v1/invites/{n}/resend/"), Some(&writer), "{}").await.expect(200);
    assert_detail(&by_writer);
    let made = post(&app, "/api/v1/invites/", Some(&writer), r#"{"email": "w@example.com"}"#)
        .await
        .expect(201);
    assert_detail(&made);
    assert_eq!(
        app.get(&format!("/v1/tenants/acme/invitations/{}", inv["id"].as_str().unwrap()))
            .await
            .expect(200)["resend_count"],
        2
    );
    // Without the trailing slash too, and an empty body.
    app.advance(time::Duration::minutes(2));
    assert_detail(
        &post(&app, &format!("/api/v1/invites/{n}/resend"), Some(&app.key), "").await.expect(200),
    );
}
both!(the_seed_resend_example_works_and_extends_the_expiry);

async fn resend_errors_have_the_seed_statuses() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let n = number_of(&app, &id).await;
    app.accept(&token).await.expect(200);
    assert_error(
        post(&app, &format!("/api/v1/invites/{n}/resend/"), Some(&app.key), "{}").await,
        400,
    );
    assert_error(post(&app, "/api/v1/invites/abc/resend/", Some(&app.key), "{}").await, 400);
    assert_error(post(&app, "/api/v1/invites/0/resend/", Some(&app.key), "{}").await, 400);
    assert_error(post(&app, &format!("/api/v1/invites/{n}/resend/"), None, "{}").await, 403);
    let reader = app.key_with(&["invites:read"], None).await;
    let (fresh, _) = app.invite_one("bob@example.com").await;
    let m = number_of(&app, &fresh).await;
    assert_error(
        post(&app, &format!("/api/v1/invites/{m}/resend/"), Some(&reader), "{}").await,
        403,
    );
    let globex = app.key_with(&["invites:read", "invites:write"], Some(&["globex"])).await;
    assert_error(
        post(&app, &format!("/api/v1/invites/{m}/resend/"), Some(&globex), "{}").await,
        404,
    );
    assert_error(post(&app, "/api/v1/invites/999999/resend/", Some(&app.key), "{}").await, 404);
    // Inside the cooldown: 400 with Retry-After.
    let reply = post(&app, &format!("/api/v1/invites/{m}/resend/"), Some(&app.key), "{}").await;
    assert!(reply.headers.get("retry-after").is_some());
    assert_error(reply, 400);
    assert_eq!(app.invitation("acme", &fresh).await.expect(200)["resend_count"], 0);
}
both!(resend_errors_have_the_seed_statuses);

async fn create_list_get_cancel_for_a_client_of_this_api_alone() {
    let app = spawn_app().await;
    let key = app.key_with(&["invites:read", "invites:write"], Some(&["acme"])).await;
    let created = post(
        &app,
        "/api/v1/invites/",
        Some(&key),
        r#"{"email": "dev@example.com", "role": "2", "message": "Welcome"}"#,
    )
    .await
    .expect(201);
    assert_detail(&created);
    assert_eq!(created["role"], "2");
    let n = created["id"].as_i64().unwrap();
    let got = app.with_key(&key).get(&format!("/api/v1/invites/{n}/")).await.expect(200);
    assert_eq!(got, created);
    let list = app.with_key(&key).get("/api/v1/invites/?status=pending").await.expect(200);
    assert_eq!(list["results"][0]["id"], n);
    assert!(list["next"].is_null());
    let cancelled =
        post(&app, &format!("/api/v1/invites/{n}/cancel/"), Some(&key), "{}").await.expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_error(
        post(&app, "/api/v1/invites/", Some(&key), r#"{"email": "x@example.com", "role": "9"}"#)
            .await,
        400,
    );
    assert_error(
        post(&app, "/api/v1/invites/", Some(&key), r#"{"email": "nope", "role": "1"}"#).await,
        400,
    );
    // A key for several workspaces names one.
    let named = app
        .with_header("x-workspace-id", "globex")
        .post("/api/v1/invites/", json!({"email": "g@example.com"}))
        .await
        .expect(201);
    assert_eq!(named["workspace_name"], "Globex");
    assert_error(
        post(&app, "/api/v1/invites/", Some(&app.key), r#"{"email": "x@example.com"}"#).await,
        400,
    );
}
both!(create_list_get_cancel_for_a_client_of_this_api_alone);

async fn one_invitation_reads_the_same_through_every_api() {
    let app = spawn_app().await;
    let bulk = app
        .client
        .post(format!("{}/invites/site-invite/bulk", app.base))
        .header("authorization", &app.key)
        .header("wix-site-id", "acme")
        .json(&json!({"policyIds": ["editor"], "emails": ["multi@example.com"]}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = bulk["invites"][0]["id"].as_str().unwrap().to_string();
    let n = number_of(&app, &id).await;
    app.advance(time::Duration::minutes(2));
    // Resend through the workspace API, then through the tenant admin API.
    let detail =
        post(&app, &format!("/api/v1/invites/{n}/resend/"), Some(&app.key), "{}").await.expect(200);
    assert_eq!(detail["token"], id.as_str());
    app.advance(time::Duration::minutes(2));
    let envelope =
        app.put(&format!("/tenant/acme/admin/user/invitation/resend?id={n}")).await.expect(200);
    assert_eq!(envelope["value"][0]["id"], n);
    assert_eq!(envelope["value"][0]["resendCount"], 2);
    let native = app.invitation("acme", &id).await.expect(200);
    assert_eq!(native["resend_count"], 2);
    assert_eq!(native["status"], "pending");
    // Revoked through Wix: cancelled for the workspace API, refused by the tenant admin API.
    let revoke = app
        .client
        .post(format!("{}/invites/site-invite/{id}/revoke", app.base))
        .header("authorization", &app.key)
        .header("wix-site-id", "acme")
        .json(&json!({"inviteId": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let got = app.get(&format!("/api/v1/invites/{n}/")).await.expect(200);
    assert_eq!(got["status"], "cancelled");
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "revoked");
    let refused = app.put(&format!("/tenant/acme/admin/user/invitation/resend?id={n}")).await;
    assert_eq!(refused.status.as_u16(), 400);
}
both!(one_invitation_reads_the_same_through_every_api);
