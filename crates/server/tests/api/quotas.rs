//! Quotas: new invitations per rolling 24 hours, per tenant and per
//! inviter, with the operator's defaults; refusals per address and 429
//! when nothing was created; the use shown on the tenant.

use crate::harness::*;
use serde_json::{Value, json};

mod concurrency;
mod faces;

/// Addresses `prefix-0@example.com` …, `n` of them.
pub fn addresses(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}@example.com")).collect()
}

/// A create body for `emails` as viewers, by `inviter` when given.
pub fn by(inviter: Option<&str>, emails: &[String]) -> Value {
    let mut body = json!({"emails": emails, "roles": ["viewer"]});
    if let Some(inviter) = inviter {
        body["inviter"] = json!({"account_id": inviter});
    }
    body
}

/// The codes of a create answer's failures.
fn codes(body: &Value) -> Vec<&str> {
    strings(&body["failures"], "code")
}

/// The `usage` of acme (and of `inviter`'s use, when named).
async fn usage(app: &TestApp, inviter: Option<&str>) -> Value {
    let path = match inviter {
        Some(i) => format!("/v1/tenants/acme?inviter_account_id={i}"),
        None => "/v1/tenants/acme".to_string(),
    };
    app.get(&path).await.expect(200)["usage"].clone()
}

/// The `Retry-After` of a reply, in seconds.
pub fn retry_after(reply: &Reply) -> u64 {
    reply.headers["retry-after"].to_str().unwrap().parse().unwrap()
}

async fn a_tenant_quota_refuses_past_its_limit_until_the_window_moves_on() {
    let app = spawn_app().await;
    let unlimited = usage(&app, None).await;
    assert_eq!(unlimited["window_seconds"], 86400);
    assert_eq!(
        unlimited["invitations_per_day"],
        json!({"limit": null, "used": 0, "remaining": null})
    );
    let t = app.patch("/v1/tenants/acme", json!({"invitations_per_day": 3})).await.expect(200);
    assert_eq!(t["invitations_per_day"], 3);
    assert_eq!(t["invitations_per_inviter_per_day"], json!(null));

    let two = app.create("acme", by(None, &addresses("a", 2))).await.expect(201);
    assert_eq!(two["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(
        usage(&app, None).await["invitations_per_day"],
        json!({"limit": 3, "used": 2, "remaining": 1})
    );

    // One place left for two addresses: the first gets it.
    let body = app.create("acme", by(None, &addresses("b", 2))).await.expect(201);
    assert_eq!(strings(&body["invitations"], "email"), ["b-0@example.com"]);
    assert_eq!(codes(&body), ["quota_exceeded"]);
    let failure = &body["failures"][0];
    assert_eq!(failure["email"], "b-1@example.com");
    assert_eq!(failure["retry_after_seconds"], 86400);
    assert!(failure["message"].as_str().unwrap().contains("quota of 3"), "{failure}");

    // Nothing fits: 429 with the wait, and nothing is written.
    let refused = app.create("acme", by(None, &addresses("c", 1))).await;
    assert_eq!(retry_after(&refused), 86400);
    refused.problem(429, "quota_exceeded");
    app.advance(time::Duration::hours(1));
    let refused = app.create("acme", by(None, &addresses("c", 1))).await;
    assert_eq!(retry_after(&refused), 23 * 3600);
    refused.problem(429, "quota_exceeded");
    let list = app.get("/v1/tenants/acme/invitations?email=c-0@example.com").await.expect(200);
    assert_eq!(list["invitations"], json!([]));

    // What became of an invitation does not give its place back.
    let id = two["invitations"][0]["id"].as_str().unwrap();
    app.revoke("acme", id).await.expect(200);
    app.create("acme", by(None, &addresses("c", 1))).await.problem(429, "quota_exceeded");
    assert_eq!(
        usage(&app, None).await["invitations_per_day"],
        json!({"limit": 3, "used": 3, "remaining": 0})
    );

    // 24 hours after the first ones, their places are free again.
    app.advance(time::Duration::hours(23) - time::Duration::seconds(1));
    app.create("acme", by(None, &addresses("c", 1))).await.problem(429, "quota_exceeded");
    app.advance(time::Duration::seconds(1));
    let body = app.create("acme", by(None, &addresses("d", 4))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 3);
    assert_eq!(codes(&body), ["quota_exceeded"]);

    // Null: unlimited again (no operator default here).
    let t = app.patch("/v1/tenants/acme", json!({"invitations_per_day": null})).await.expect(200);
    assert_eq!(t["invitations_per_day"], json!(null));
    let body = app.create("acme", by(None, &addresses("e", 5))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 5);
    assert_eq!(
        usage(&app, None).await["invitations_per_day"],
        json!({"limit": null, "used": 8, "remaining": null})
    );

    // A limit of 0 stops all creation.
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 0})).await.expect(200);
    let refused = app.create("acme", by(None, &addresses("f", 1))).await;
    assert_eq!(retry_after(&refused), 86400);
    refused.problem(429, "quota_exceeded");
}
both!(a_tenant_quota_refuses_past_its_limit_until_the_window_moves_on);

async fn bad_quota_settings_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 5})).await.expect(200);
    for bad in [json!(-1), json!("ten"), json!(1.5), json!(true)] {
        for field in ["invitations_per_day", "invitations_per_inviter_per_day"] {
            app.patch("/v1/tenants/acme", json!({ field: bad }))
                .await
                .problem(400, "malformed_json");
        }
    }
    let too_many = app
        .patch(
            "/v1/tenants/acme",
            json!({"invitations_per_inviter_per_day": 10_000_001, "name": "Changed"}),
        )
        .await
        .problem(400, "invalid_request");
    assert_eq!(too_many["errors"][0]["field"], "invitations_per_inviter_per_day");
    let t = app.get("/v1/tenants/acme").await.expect(200);
    assert_eq!(t["invitations_per_day"], 5);
    assert_eq!(t["invitations_per_inviter_per_day"], json!(null));
    assert_ne!(t["name"], "Changed");
    let created = app
        .post("/v1/tenants", json!({"id": "big", "name": "Big", "invitations_per_day": 10_000_001}))
        .await
        .problem(400, "invalid_request");
    assert_eq!(created["errors"][0]["field"], "invitations_per_day");
    app.get("/v1/tenants/big").await.problem(404, "not_found");
    let made = app
        .post("/v1/tenants", json!({"id": "small", "name": "Small", "invitations_per_day": 1, "invitations_per_inviter_per_day": 0}))
        .await
        .expect(201);
    assert_eq!(made["invitations_per_day"], 1);
    assert_eq!(made["invitations_per_inviter_per_day"], 0);
    app.get("/v1/tenants/acme?inviter_account_id=").await.problem(400, "invalid_request");
    app.get("/v1/tenants/acme?inviter=x").await.problem(400, "invalid_request");
}
both!(bad_quota_settings_are_refused_and_change_nothing);

async fn each_inviter_has_a_quota_of_its_own() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"invitations_per_inviter_per_day": 2})).await.expect(200);
    let body = app.create("acme", by(Some("u1"), &addresses("u1", 3))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(codes(&body), ["quota_exceeded"]);
    assert!(body["failures"][0]["message"].as_str().unwrap().contains("inviter's quota of 2"));
    // Another inviter, and invitations without one, are not held to u1's.
    app.create("acme", by(Some("u2"), &addresses("u2", 2))).await.expect(201);
    let body = app.create("acme", by(None, &addresses("none", 3))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 3);
    let refused = app.create("acme", by(Some("u1"), &addresses("again", 1))).await;
    assert_eq!(retry_after(&refused), 86400);
    refused.problem(429, "quota_exceeded");

    let seen = usage(&app, Some("u1")).await;
    assert_eq!(seen["invitations_per_day"], json!({"limit": null, "used": 7, "remaining": null}));
    assert_eq!(
        seen["invitations_per_inviter_per_day"],
        json!({"limit": 2, "account_id": "u1", "used": 2, "remaining": 0})
    );
    let unnamed = usage(&app, None).await;
    assert_eq!(
        unnamed["invitations_per_inviter_per_day"],
        json!({"limit": 2, "account_id": null, "used": null, "remaining": null})
    );
    assert_eq!(usage(&app, Some("u3")).await["invitations_per_inviter_per_day"]["remaining"], 2);

    // Both limits: whichever is reached first refuses.
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 8})).await.expect(200);
    let body = app.create("acme", by(Some("u3"), &addresses("u3", 2))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 1);
    assert!(body["failures"][0]["message"].as_str().unwrap().contains("tenant's quota of 8"));
}
both!(each_inviter_has_a_quota_of_its_own);

async fn the_operator_defaults_hold_tenants_without_their_own() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.default_invitations_per_day = Some(3);
            c.default_invitations_per_inviter_per_day = Some(2);
        })),
        ..Default::default()
    })
    .await;
    let t = app.get("/v1/tenants/acme?inviter_account_id=u1").await.expect(200);
    assert_eq!(t["invitations_per_day"], json!(null), "the tenant sets none");
    assert_eq!(t["usage"]["invitations_per_day"], json!({"limit": 3, "used": 0, "remaining": 3}));
    assert_eq!(t["usage"]["invitations_per_inviter_per_day"]["limit"], 2);
    let body = app.create("acme", by(Some("u1"), &addresses("u1", 3))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 2);
    let body = app.create("acme", by(Some("u2"), &addresses("u2", 2))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 1);
    assert!(body["failures"][0]["message"].as_str().unwrap().contains("tenant's quota of 3"));
    // The tenant's own setting replaces the default.
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 5})).await.expect(200);
    let body = app.create("acme", by(Some("u2"), &addresses("u2b", 2))).await.expect(201);
    assert_eq!(body["invitations"].as_array().unwrap().len(), 1, "u2's own quota of 2");
    assert_eq!(
        usage(&app, None).await["invitations_per_day"],
        json!({"limit": 5, "used": 4, "remaining": 1})
    );
    // Back to null: the default again.
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": null})).await.expect(200);
    app.create("acme", by(Some("u3"), &addresses("u3", 1))).await.problem(429, "quota_exceeded");
}
both!(the_operator_defaults_hold_tenants_without_their_own);

async fn a_lowered_limit_waits_until_enough_invitations_leave_the_window() {
    let app = spawn_app().await;
    for hour in 0..3 {
        app.create("acme", by(None, &addresses(&format!("h{hour}"), 1))).await.expect(201);
        app.advance(time::Duration::hours(1));
    }
    // Three in the window, at 0 h, 1 h and 2 h; now 3 h. With room for one,
    // the first two must leave, then the third: at 26 h.
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 1})).await.expect(200);
    assert_eq!(
        usage(&app, None).await["invitations_per_day"],
        json!({"limit": 1, "used": 3, "remaining": 0})
    );
    let refused = app.create("acme", by(None, &addresses("late", 1))).await;
    assert_eq!(retry_after(&refused), 23 * 3600);
    refused.problem(429, "quota_exceeded");
    app.advance(time::Duration::hours(23) - time::Duration::milliseconds(1));
    let refused = app.create("acme", by(None, &addresses("late", 1))).await;
    assert_eq!(retry_after(&refused), 1, "rounded up");
    refused.problem(429, "quota_exceeded");
    app.advance(time::Duration::milliseconds(1));
    app.create("acme", by(None, &addresses("late", 1))).await.expect(201);
}
both!(a_lowered_limit_waits_until_enough_invitations_leave_the_window);

async fn keyed_creates_replay_a_partial_answer_and_rerun_a_refusal() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 1})).await.expect(200);
    let body = by(None, &addresses("k", 2));
    let keyed = |key: &'static str, body: Value| {
        let app = &app;
        async move { app.with_idempotency_key(key).create("acme", body).await }
    };
    let first = keyed("one", body.clone()).await.expect(201);
    assert_eq!(codes(&first), ["quota_exceeded"]);
    let again = keyed("one", body).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.expect(201), first);
    // A refusal is not stored: the same key runs again once there is room.
    let late = by(None, &addresses("late", 1));
    keyed("two", late.clone()).await.problem(429, "quota_exceeded");
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 2})).await.expect(200);
    let created = keyed("two", late).await;
    assert!(created.headers.get("idempotent-replayed").is_none());
    assert_eq!(created.expect(201)["invitations"][0]["email"], "late-0@example.com");
}
both!(keyed_creates_replay_a_partial_answer_and_rerun_a_refusal);
