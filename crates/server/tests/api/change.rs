//! Changing a pending invitation (`PATCH`): its roles, message, metadata
//! and expiry, recorded with the values before and after.

use crate::harness::*;
use crate::webhooks::{Receiver, pump, subscribe};
use serde_json::{Value, json};
use time::Duration;
use time::format_description::well_known::Rfc3339;

async fn patch(app: &TestApp, id: &str, body: Value) -> Reply {
    app.patch(&format!("/v1/tenants/acme/invitations/{id}"), body).await
}

async fn events_of(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await.expect(200)["events"]
        .clone()
}

fn in_days(app: &TestApp, days: i64) -> String {
    use invitd_core::Clock;
    let at = app.clock.now().replace_nanosecond(0).unwrap() + Duration::days(days);
    at.format(&Rfc3339).unwrap()
}

async fn a_pending_invitation_changes_and_the_event_says_before_and_after() {
    let app = crate::webhooks::app().await;
    let hooks = Receiver::start(vec![]).await;
    subscribe(&app, &hooks.url, json!(["invitation.updated"])).await;
    let body = json!({"emails": ["ann@example.com"], "roles": ["editor"], "message": "Hi", "metadata": {"team": "a"}});
    let created = app.create("acme", body).await.expect(201)["invitations"][0].clone();
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["capabilities"]["can_change_roles"], true);
    let expires_at = in_days(&app, 3);

    let body = json!({"roles": ["admin", "viewer"], "message": null, "metadata": {"team": "b"}, "expires_at": expires_at});
    let changed = patch(&app, id, body).await.expect(200);
    assert_eq!(changed["roles"], json!(["admin", "viewer"]));
    assert_eq!(changed["message"], Value::Null);
    assert_eq!(changed["metadata"], json!({"team": "b"}));
    assert_eq!(changed["expires_at"], expires_at.as_str());
    assert_eq!(changed["status"], "pending");
    let stored = app.invitation("acme", id).await.expect(200);
    for field in ["roles", "message", "metadata", "expires_at"] {
        assert_eq!(stored[field], changed[field], "{field}");
    }
    let events = events_of(&app, id).await;
    assert_eq!(strings(&events, "type"), ["invitation.created", "invitation.updated"]);
    let data = &events[1]["data"];
    assert_eq!(
        data["before"],
        json!({"roles": ["editor"], "message": "Hi", "metadata": {"team": "a"}, "expires_at": created["expires_at"]})
    );
    assert_eq!(
        data["after"],
        json!({"roles": ["admin", "viewer"], "message": null, "metadata": {"team": "b"}, "expires_at": expires_at})
    );
    pump(&app).await;
    let seen = hooks.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1["type"], "invitation.updated");
    assert_eq!(seen[0].1["data"]["details"], *data);
    assert_eq!(seen[0].1["data"]["invitation"]["roles"], json!(["admin", "viewer"]));

    // Only what changed is recorded (roles are a set: the same ones in
    // another order are no change); a change to the same values records
    // nothing.
    let reply = patch(&app, id, json!({"message": "Welcome", "roles": ["viewer", "admin"]})).await;
    reply.expect(200);
    let events = events_of(&app, id).await;
    assert_eq!(
        events[2]["data"],
        json!({"before": {"message": null}, "after": {"message": "Welcome"}})
    );
    patch(&app, id, json!({"message": "Welcome"})).await.expect(200);
    assert_eq!(events_of(&app, id).await.as_array().unwrap().len(), 3);

    // The link still works, with the new roles.
    let accepted = app.accept(&token_of(&created)).await.expect(200);
    assert_eq!(accepted["roles"], json!(["admin", "viewer"]));
    assert_eq!(accepted["capabilities"]["can_change_roles"], false);
}
both!(a_pending_invitation_changes_and_the_event_says_before_and_after);

async fn a_change_is_refused_with_a_clear_code_and_changes_nothing() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let before = app.invitation("acme", &id).await.expect(200);
    let bad_requests = [
        json!({}),
        json!({"roles": []}),
        json!({"message": "x".repeat(2001)}),
        json!({"metadata": [1]}),
        json!({"metadata": {"big": "x".repeat(9000)}}),
        json!({"expires_at": "tomorrow"}),
        json!({"expires_at": in_days(&app, -1)}),
        json!({"expires_at": in_days(&app, 8)}),
    ];
    for body in bad_requests {
        patch(&app, &id, body).await.problem(400, "invalid_request");
    }
    patch(&app, &id, json!({"roles": ["pilot"]})).await.problem(400, "unknown_role");
    patch(&app, &id, json!({"colour": "red"})).await.problem(400, "malformed_json");
    patch(&app, &id, json!({"roles": "admin"})).await.problem(400, "malformed_json");
    let unknown = "0190c3a4-0000-7000-8000-000000000000";
    patch(&app, unknown, json!({"message": "x"})).await.problem(404, "not_found");
    let path = format!("/v1/tenants/acme/invitations/{id}");
    let reader = app.key_with(&["invites:read"], None).await;
    app.with_key(&reader).patch(&path, json!({"message": "x"})).await.problem(403, "forbidden");
    let elsewhere = app.key_with(&["invites:write"], Some(&["globex"])).await;
    let reply = app.with_key(&elsewhere).patch(&path, json!({"message": "x"})).await;
    reply.problem(404, "not_found");
    assert_eq!(app.invitation("acme", &id).await.expect(200), before);
    assert_eq!(events_of(&app, &id).await.as_array().unwrap().len(), 1);

    // Only while pending.
    app.accept(&token).await.expect(200);
    let body = json!({"message": "x"});
    patch(&app, &id, body.clone()).await.problem(409, "invitation_already_accepted");
    let (revoked, _) = app.invite_one("bob@example.com").await;
    app.revoke("acme", &revoked).await.expect(200);
    patch(&app, &revoked, body.clone()).await.problem(409, "invitation_revoked");
    let (expired, _) = app.invite_one("cy@example.com").await;
    app.advance(Duration::days(7));
    patch(&app, &expired, body).await.problem(410, "invitation_expired");
    let shown = app.invitation("acme", &expired).await.expect(200);
    assert_eq!(shown["capabilities"]["can_change_roles"], false);
}
both!(a_change_is_refused_with_a_clear_code_and_changes_nothing);
