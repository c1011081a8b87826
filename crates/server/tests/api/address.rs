//! A person's invitations across tenants: the list of one address's
//! invitations and accepting all of its pending ones.

use crate::harness::*;
use crate::webhooks::{Receiver, pump};
use serde_json::{Value, json};
use std::collections::HashSet;
use time::Duration;

const TENANTS: [&str; 3] = ["acme", "globex", "initech"];

/// An app with the tenant initech besides those every test starts with
/// (acme and globex).
async fn three_tenants(app: &TestApp) {
    app.post("/v1/tenants", json!({"id": "initech", "name": "Initech"})).await.expect(201);
}

/// Invites `email` to `tenant` as a viewer; the invitation's id.
async fn invite_to(app: &TestApp, tenant: &str, email: &str) -> String {
    let created = app.create(tenant, viewers(&[email])).await.expect(201);
    created["invitations"][0]["id"].as_str().unwrap().to_string()
}

async fn accept_all(app: &TestApp, key: Option<&str>, body: Value) -> Reply {
    let key = key.unwrap_or(&app.key);
    app.with_key(key).post("/v1/invitations/accept-all", body).await
}

async fn an_address_lists_its_invitations_in_the_tenants_the_key_reaches() {
    let app = spawn_app().await;
    three_tenants(&app).await;
    let mut ids = Vec::new();
    for t in TENANTS {
        ids.push(invite_to(&app, t, "ann@example.com").await);
    }
    invite_to(&app, "acme", "bob@example.com").await;
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();

    let all = app.get("/v1/invitations?email=Ann@Example.com").await.expect(200);
    assert_eq!(strings(&all["invitations"], "id"), newest_first);
    assert_eq!(strings(&all["invitations"], "tenant_id"), ["initech", "globex", "acme"]);
    assert_eq!(all["next_cursor"], Value::Null);
    let paged = app.all_pages("/v1/invitations?email=ann@example.com&limit=1", "invitations").await;
    assert_eq!(paged, all["invitations"].as_array().unwrap().clone());

    // A key for two tenants sees those two only.
    let two = app.key_with(&["invites:read"], Some(&["acme", "globex"])).await;
    let seen = app.with_key(&two).get("/v1/invitations?email=ann@example.com").await.expect(200);
    assert_eq!(strings(&seen["invitations"], "tenant_id"), ["globex", "acme"]);
    assert_eq!(seen["invitations"][0]["capabilities"]["can_revoke"], false);

    // Status as of now.
    app.revoke("globex", &ids[1]).await.expect(200);
    let pending = app.get("/v1/invitations?email=ann@example.com&status=pending").await;
    assert_eq!(strings(&pending.expect(200)["invitations"], "tenant_id"), ["initech", "acme"]);
    app.advance(Duration::days(8));
    let expired = app.get("/v1/invitations?email=ann@example.com&status=expired").await;
    assert_eq!(expired.expect(200)["invitations"].as_array().unwrap().len(), 2);
    let none = app.get("/v1/invitations?email=nobody@example.com").await.expect(200);
    assert_eq!(none["invitations"], json!([]));

    for bad in [
        "/v1/invitations",
        "/v1/invitations?email=not-an-address",
        "/v1/invitations?email=ann@example.com&status=maybe",
        "/v1/invitations?email=ann@example.com&limit=0",
        "/v1/invitations?email=ann@example.com&cursor=zz",
    ] {
        app.get(bad).await.problem(400, "invalid_request");
    }
    let writer = app.key_with(&["invites:write"], None).await;
    let reply = app.with_key(&writer).get("/v1/invitations?email=ann@example.com").await;
    reply.problem(403, "forbidden");
}
both!(an_address_lists_its_invitations_in_the_tenants_the_key_reaches);

async fn accept_all_accepts_each_pending_invitation_with_its_own_event_and_webhook() {
    let app = crate::webhooks::app().await;
    three_tenants(&app).await;
    let hooks = Receiver::start(vec![]).await;
    for t in TENANTS {
        let body = json!({"url": hooks.url, "event_types": ["invitation.accepted"]});
        app.post(&format!("/v1/tenants/{t}/webhooks"), body).await.expect(201);
    }
    let acme = invite_to(&app, "acme", "ann@example.com").await;
    let globex = invite_to(&app, "globex", "ann@example.com").await;
    // initech: one that has expired by the time of the call.
    let short = json!({"emails": ["ann@example.com"], "roles": ["viewer"], "expires_in_days": 1});
    let expiring = app.create("initech", short).await.expect(201)["invitations"][0]["id"].clone();
    app.advance(Duration::days(2));
    let bob = invite_to(&app, "acme", "bob@example.com").await;

    let body = json!({"email": "ANN@example.com", "account_id": "user-7", "account_email": "ann@work.example"});
    let answer = accept_all(&app, None, body.clone()).await.expect(200);
    let accepted = &answer["invitations"];
    assert_eq!(strings(accepted, "id"), [globex.as_str(), acme.as_str()]);
    assert_eq!(strings(accepted, "status"), ["accepted", "accepted"]);
    assert_eq!(strings(accepted, "accepted_by"), ["user-7", "user-7"]);
    assert_eq!(
        app.invitation("initech", expiring.as_str().unwrap()).await.expect(200)["status"],
        "expired"
    );
    assert_eq!(app.invitation("acme", &bob).await.expect(200)["status"], "pending");
    for (tenant, id) in [("acme", &acme), ("globex", &globex)] {
        let events = app.get(&format!("/v1/tenants/{tenant}/invitations/{id}/events")).await;
        let events = events.expect(200)["events"].clone();
        assert_eq!(strings(&events, "type"), ["invitation.created", "invitation.accepted"]);
        let accepted = &events[1];
        assert_eq!(accepted["actor"], json!({"kind": "invitee", "account_id": "user-7"}));
        assert_eq!(accepted["data"]["account_email"], "ann@work.example");
    }
    pump(&app).await;
    let delivered: Vec<(String, String)> = hooks
        .seen()
        .iter()
        .map(|(_, b)| {
            (
                b["type"].as_str().unwrap().into(),
                b["data"]["invitation"]["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    for id in [&acme, &globex] {
        assert!(delivered.contains(&("invitation.accepted".into(), id.clone())), "{delivered:?}");
    }
    // Nothing left to accept.
    assert_eq!(accept_all(&app, None, body).await.expect(200)["invitations"], json!([]));
}
both!(accept_all_accepts_each_pending_invitation_with_its_own_event_and_webhook);

async fn accept_all_keeps_to_the_key_and_refuses_bad_input() {
    let app = spawn_app().await;
    three_tenants(&app).await;
    let mut ids = Vec::new();
    for t in TENANTS {
        ids.push(invite_to(&app, t, "ann@example.com").await);
    }
    let body = json!({"email": "ann@example.com", "account_id": "user-1"});
    let scoped = app.key_with(&["invites:write"], Some(&["globex"])).await;
    let answer = accept_all(&app, Some(&scoped), body.clone()).await.expect(200);
    assert_eq!(strings(&answer["invitations"], "id"), [ids[1].as_str()]);
    assert_eq!(app.invitation("acme", &ids[0]).await.expect(200)["status"], "pending");
    let reader = app.key_with(&["invites:read"], None).await;
    accept_all(&app, Some(&reader), body).await.problem(403, "forbidden");
    for bad in [
        json!({"email": "nope", "account_id": "user-1"}),
        json!({"email": "ann@example.com", "account_id": "  "}),
        json!({"email": "ann@example.com", "account_id": "x".repeat(201)}),
        json!({"email": "ann@example.com", "account_id": "u", "account_email": "nope"}),
    ] {
        accept_all(&app, None, bad).await.problem(400, "invalid_request");
    }
    for bad in
        [json!({"email": "ann@example.com"}), json!({"email": "a@b.c", "account_id": "u", "x": 1})]
    {
        accept_all(&app, None, bad).await.problem(400, "malformed_json");
    }
    assert_eq!(app.invitation("acme", &ids[0]).await.expect(200)["status"], "pending");
}
both!(accept_all_keeps_to_the_key_and_refuses_bad_input);

/// Every invitation of the replies, checking that none appears twice.
fn accepted_once(replies: &[(u16, Value)]) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (status, body) in replies {
        assert_eq!(*status, 200, "{body}");
        for id in strings(&body["invitations"], "id") {
            assert!(seen.insert(id.to_string()), "{id} accepted twice: {replies:?}");
        }
    }
    seen
}

async fn concurrent_accept_all_calls_accept_each_invitation_once() {
    // Two servers on one database (two processes' worth), eight calls at
    // once, alternating between them.
    let (a, b) = crate::multi::pair(None, false).await;
    three_tenants(&a).await;
    let mut ids = HashSet::new();
    for t in TENANTS {
        ids.insert(invite_to(&a, t, "race@example.com").await);
    }
    for t in &TENANTS[..2] {
        ids.insert(invite_to(&a, t, "other@example.com").await);
        a.revoke(t, &invite_to(&a, t, "race2@example.com").await).await.expect(200);
        ids.insert(invite_to(&a, t, "race2@example.com").await);
    }
    let mut replies = Vec::new();
    for email in ["race@example.com", "other@example.com", "race2@example.com"] {
        let body = json!({"email": email, "account_id": "racer"});
        replies
            .extend(crate::multi::fire(&a, &b, 8, "/v1/invitations/accept-all", body, &[]).await);
    }
    assert_eq!(accepted_once(&replies), ids);
    for t in TENANTS {
        let events = a.get(&format!("/v1/tenants/{t}/events?type=invitation.accepted")).await;
        let events = events.expect(200)["events"].as_array().unwrap().len();
        let accepted = a.get(&format!("/v1/tenants/{t}/invitations?status=accepted")).await;
        let accepted = accepted.expect(200)["invitations"].as_array().unwrap().len();
        assert_eq!(events, accepted, "{t}: one event per acceptance");
    }
}
both!(concurrent_accept_all_calls_accept_each_invitation_once);
