//! The lifecycle over HTTP: accept, decline, revoke, resend, expiry.

use crate::harness::*;
use serde_json::json;
use time::Duration;

async fn accept_works_once_and_records_who() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let looked = app.post("/v1/invitations/lookup", json!({"token": token})).await.expect(200);
    assert_eq!(looked["id"], id.as_str());
    let accepted = app
        .post("/v1/invitations/accept", json!({"token": token, "account_id": "acct-42"}))
        .await
        .expect(200);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["accepted_by"], "acct-42");
    assert!(accepted["accepted_at"].is_string());
    assert_eq!(
        accepted["capabilities"],
        json!({"can_resend": false, "can_revoke": false, "can_change_roles": false})
    );
    app.accept(&token).await.problem(409, "invitation_already_accepted");
    app.decline(&token).await.problem(409, "invitation_already_accepted");
    app.revoke("acme", &id).await.problem(409, "invitation_already_accepted");
    app.resend("acme", &id).await.problem(409, "invitation_already_accepted");
    // Accepting frees the address for a new invitation.
    app.invite_one("ann@example.com").await;
}
both!(accept_works_once_and_records_who);

async fn decline_works_once() {
    let app = spawn_app().await;
    let (_, token) = app.invite_one("ann@example.com").await;
    let declined = app.decline(&token).await.expect(200);
    assert_eq!(declined["status"], "declined");
    assert!(declined["declined_at"].is_string());
    app.accept(&token).await.problem(409, "invitation_already_declined");
}
both!(decline_works_once);

async fn unknown_and_malformed_tokens_are_not_found() {
    let app = spawn_app().await;
    for token in ["nope", "A".repeat(43).as_str(), ""] {
        app.accept(token).await.problem(404, "not_found");
    }
}
both!(unknown_and_malformed_tokens_are_not_found);

async fn concurrent_accepts_of_one_token_succeed_exactly_once() {
    let app = spawn_app().await;
    let (_, token) = app.invite_one("race@example.com").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (client, base, key, token) =
            (app.client.clone(), app.base.clone(), app.key.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/v1/invitations/accept"))
                .bearer_auth(key)
                .json(&json!({"token": token, "account_id": format!("acct-{i}")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 15, "{statuses:?}");
}
both!(concurrent_accepts_of_one_token_succeed_exactly_once);

async fn revoke_keeps_the_record_and_kills_the_link() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let revoked = app.revoke("acme", &id).await.expect(200);
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string());
    app.accept(&token).await.problem(409, "invitation_revoked");
    app.revoke("acme", &id).await.problem(409, "invitation_revoked");
    app.resend("acme", &id).await.problem(409, "invitation_revoked");
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "revoked");
}
both!(revoke_keeps_the_record_and_kills_the_link);

async fn expiry_reads_everywhere_at_once_and_frees_the_address() {
    let app = spawn_app().await;
    let (id, token) = app.invite_one("ann@example.com").await;
    app.advance(Duration::days(7));
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["status"], "expired");
    let listed = app.get("/v1/tenants/acme/invitations?status=expired").await.expect(200);
    assert_eq!(listed["invitations"][0]["id"], id.as_str());
    assert_eq!(
        app.get("/v1/tenants/acme/invitations?status=pending").await.expect(200)["invitations"],
        json!([])
    );
    app.accept(&token).await.problem(410, "invitation_expired");
    app.decline(&token).await.problem(410, "invitation_expired");
    // An expired invitation can be revoked ...
    let (id2, _) = {
        let new = app.invite(&["bob@example.com"]).await.remove(0);
        (new["id"].as_str().unwrap().to_string(), ())
    };
    app.advance(Duration::days(8));
    app.revoke("acme", &id2).await.expect(200);
    // ... and a new invitation to the same address is allowed.
    let again = app.invite(&["ann@example.com"]).await.remove(0);
    assert_ne!(again["id"], id.as_str());
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "expired");
}
both!(expiry_reads_everywhere_at_once_and_frees_the_address);

async fn resend_mints_a_new_link_extends_and_counts() {
    let app = spawn_app().await;
    let (id, old_token) = app.invite_one("ann@example.com").await;
    let first = app.invitation("acme", &id).await.expect(200);
    app.advance(Duration::minutes(2));
    let resent = app.resend("acme", &id).await.expect(200);
    let new_token = token_of(&resent);
    assert_ne!(new_token, old_token);
    assert_eq!(resent["resend_count"], 1);
    assert_eq!(resent["status"], "pending");
    assert!(resent["expires_at"].as_str().unwrap() > first["expires_at"].as_str().unwrap());
    // The old link is dead, and says so.
    app.accept(&old_token).await.problem(409, "token_replaced");
    app.post("/v1/invitations/lookup", json!({"token": old_token}))
        .await
        .problem(409, "token_replaced");
    app.accept(&new_token).await.expect(200);
}
both!(resend_mints_a_new_link_extends_and_counts);

async fn resend_brings_an_expired_invitation_back() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one("ann@example.com").await;
    app.advance(Duration::days(10));
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "expired");
    let resent = app.resend("acme", &id).await.expect(200);
    assert_eq!(resent["status"], "pending");
    app.post("/v1/invitations/accept", json!({"token": token_of(&resent)})).await.expect(200);
}
both!(resend_brings_an_expired_invitation_back);

async fn resend_cooldown_and_maximum_answer_429_with_retry_after() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"resend_cooldown_seconds": 60, "max_resends": 2}))
        .await
        .expect(200);
    let (id, _) = app.invite_one("ann@example.com").await;
    let path = format!("/v1/tenants/acme/invitations/{id}/resend");
    app.advance(Duration::seconds(20));
    let reply = app.post(&path, json!({})).await;
    assert_eq!(reply.headers.get("retry-after").unwrap(), "40");
    reply.problem(429, "resend_cooldown");
    for _ in 0..2 {
        app.advance(Duration::seconds(61));
        app.post(&path, json!({})).await.expect(200);
    }
    app.advance(Duration::seconds(61));
    let reply = app.post(&path, json!({})).await;
    let retry: i64 = reply.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry > 3600 && retry <= 86400, "{retry}");
    reply.problem(429, "resend_limit_reached");
    // Refusals changed nothing.
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["resend_count"], 2);
}
both!(resend_cooldown_and_maximum_answer_429_with_retry_after);

async fn the_audit_trail_tells_the_story() {
    let app = spawn_app().await;
    let (id, _) = app.invite_one("ann@example.com").await;
    app.deliver().await;
    app.advance(Duration::minutes(2));
    let resent = app.resend("acme", &id).await.expect(200);
    let token = token_of(&resent);
    app.post("/v1/invitations/accept", json!({"token": token, "account_id": "acct-1"}))
        .await
        .expect(200);
    let events = app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await.expect(200);
    let types: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["invitation.created", "invitation.sent", "invitation.resent", "invitation.accepted"]
    );
    let list = events["events"].as_array().unwrap();
    assert_eq!(list[0]["actor"]["kind"], "api_key");
    assert_eq!(list[0]["actor"]["name"], "test-admin");
    assert_eq!(list[0]["ip"], "127.0.0.1");
    assert_eq!(list[1]["actor"]["kind"], "system");
    assert_eq!(list[3]["actor"], json!({"kind": "invitee", "account_id": "acct-1"}));
    assert!(list.iter().all(|e| e["at"].is_string()));
    assert!(!events.to_string().contains(&token), "events must not carry tokens");
}
both!(the_audit_trail_tells_the_story);

async fn another_tenants_replaced_token_is_not_found() {
    let app = spawn_app().await;
    let (id, old_token) = app.invite_one("ann@example.com").await;
    app.advance(Duration::minutes(2));
    app.resend("acme", &id).await.expect(200);
    let globex = app.key_with(&["invites:read", "invites:write"], Some(&["globex"])).await;
    for path in ["/v1/invitations/lookup", "/v1/invitations/accept", "/v1/invitations/decline"] {
        app.call(
            reqwest::Method::POST,
            path,
            Some(&globex),
            Some(&json!({"token": old_token})),
            &[],
        )
        .await
        .problem(404, "not_found");
    }
    // Acme's own key still learns that the link was replaced.
    app.post("/v1/invitations/lookup", json!({"token": old_token}))
        .await
        .problem(409, "token_replaced");
}
both!(another_tenants_replaced_token_is_not_found);

async fn concurrent_resends_without_cooldown_hit_the_limit_not_the_cooldown() {
    // Every reading of the clock is a millisecond later than the one before.
    let app =
        spawn_app_with(Options { tick: Some(Duration::milliseconds(1)), ..Default::default() })
            .await;
    app.patch("/v1/tenants/acme", json!({"resend_cooldown_seconds": 0, "max_resends": 3}))
        .await
        .expect(200);
    let (id, _) = app.invite_one("ann@example.com").await;
    let path = format!("/v1/tenants/acme/invitations/{id}/resend");
    let replies = futures::future::join_all((0..12).map(|_| app.post(&path, json!({})))).await;
    let mut ok = 0;
    for reply in replies {
        if reply.status == 200 {
            ok += 1;
        } else {
            reply.problem(429, "resend_limit_reached");
        }
    }
    assert_eq!(ok, 3);
}
both!(concurrent_resends_without_cooldown_hit_the_limit_not_the_cooldown);
