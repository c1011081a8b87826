//! Concurrent creates never exceed a quota: not on one server, not on two
//! servers on one database.

use super::{addresses, by};
use crate::harness::*;
use crate::multi::pair;
use serde_json::{Value, json};

/// How many invitations the replies created, checking each reply is a
/// 201 with some, or a 429 `quota_exceeded` with `Retry-After`.
fn created(replies: &[(u16, Value)]) -> usize {
    replies
        .iter()
        .map(|(status, body)| match status {
            201 => body["invitations"].as_array().unwrap().len(),
            429 => {
                assert_eq!(body["code"], "quota_exceeded", "{body}");
                0
            }
            _ => panic!("unexpected answer {status}: {body}"),
        })
        .sum()
}

/// The tenant's invitations, counted by listing them.
async fn listed(app: &TestApp) -> usize {
    app.all_pages("/v1/tenants/acme/invitations?limit=200", "invitations").await.len()
}

/// Sends each create body to its app, all at once.
async fn all_at_once(calls: Vec<(&TestApp, Value)>) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(app, body)| {
            let (client, url, key) = (
                app.client.clone(),
                format!("{}/v1/tenants/acme/invitations", app.base),
                app.key.clone(),
            );
            tokio::spawn(async move {
                let resp = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn concurrent_creates_never_exceed_the_quota() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 10})).await.expect(200);
    // Eight calls of two addresses each, at once, for ten places.
    let calls = (0..8).map(|i| (&app, by(None, &addresses(&format!("t{i}"), 2)))).collect();
    let replies = all_at_once(calls).await;
    assert_eq!(created(&replies), 10, "{replies:?}");
    assert_eq!(listed(&app).await, 10);
    let usage = &app.get("/v1/tenants/acme").await.expect(200)["usage"];
    assert_eq!(usage["invitations_per_day"], json!({"limit": 10, "used": 10, "remaining": 0}));

    // One inviter's quota, eight single calls at once.
    app.patch(
        "/v1/tenants/acme",
        json!({"invitations_per_day": null, "invitations_per_inviter_per_day": 3}),
    )
    .await
    .expect(200);
    let calls = (0..8).map(|i| (&app, by(Some("u1"), &addresses(&format!("u{i}"), 1)))).collect();
    let replies = all_at_once(calls).await;
    assert_eq!(created(&replies), 3, "{replies:?}");
    assert_eq!(replies.iter().filter(|(s, _)| *s == 429).count(), 5);
    assert_eq!(listed(&app).await, 13);
}
both!(concurrent_creates_never_exceed_the_quota);

async fn two_servers_on_one_database_share_the_quota() {
    let (a, b) = pair(None, false).await;
    a.patch("/v1/tenants/acme", json!({"invitations_per_day": 10})).await.expect(200);
    // Twelve calls of two addresses each, alternately to each server.
    let calls = (0..12)
        .map(|i| (if i % 2 == 0 { &a } else { &b }, by(None, &addresses(&format!("m{i}"), 2))))
        .collect();
    let replies = all_at_once(calls).await;
    assert_eq!(created(&replies), 10, "{replies:?}");
    assert_eq!(listed(&a).await, 10);
    assert_eq!(listed(&b).await, 10);
    let usage = &b.get("/v1/tenants/acme").await.expect(200)["usage"];
    assert_eq!(usage["invitations_per_day"]["used"], 10);
    b.create("acme", by(None, &addresses("late", 1))).await.problem(429, "quota_exceeded");
}
both!(two_servers_on_one_database_share_the_quota);
