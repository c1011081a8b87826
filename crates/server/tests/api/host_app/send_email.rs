//! `send_email: false`: the host app delivers the link itself.

use super::{Hooks, event, events};
use crate::harness::*;
use serde_json::json;

async fn created_without_an_email_queues_none_and_says_so() {
    let app = spawn_app_with(Options { private_webhooks: true, ..Default::default() }).await;
    let hooks = Hooks::start().await;
    hooks.subscribe(&app).await;
    let body = app
        .create(
            "acme",
            json!({"emails": ["ann@example.com"], "roles": ["editor"], "send_email": false}),
        )
        .await
        .expect(201);
    let inv = &body["invitations"][0];
    assert!(inv["accept_url"].as_str().unwrap().contains("/i/"), "the link is shown once");
    assert_eq!(inv["delivery"]["state"], "not_sent");
    assert_eq!(inv["last_sent_at"], json!(null));
    let id = inv["id"].as_str().unwrap();
    assert_eq!(app.deliver_all().await, 0, "no email was queued");
    assert!(app.emails().is_empty());

    let read = app.invitation("acme", id).await.expect(200);
    assert_eq!(read["delivery"]["state"], "not_sent");
    assert!(read.get("accept_url").is_none());
    let (_, list) = events(&app, id).await;
    assert_eq!(event(&list, "invitation.created")["data"]["send_email"], false);
    let seen = hooks.pump(&app).await;
    let created = seen.iter().find(|b| b["type"] == "invitation.created").unwrap();
    assert_eq!(created["data"]["details"]["send_email"], false);
    assert_eq!(created["data"]["invitation"]["delivery"]["state"], "not_sent");

    // The link the host app handed over works like any other.
    let accepted = app.accept(&token_of(inv)).await.expect(200);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["delivery"]["state"], "not_sent");

    // Without the field, and with `true`, the email is sent as before.
    app.create("acme", json!({"emails": ["bob@example.com"], "roles": ["editor"]}))
        .await
        .expect(201);
    let cat = app
        .create(
            "acme",
            json!({"emails": ["cat@example.com"], "roles": ["editor"], "send_email": true}),
        )
        .await
        .expect(201);
    assert_eq!(cat["invitations"][0]["delivery"]["state"], "queued");
    assert_eq!(app.deliver_all().await, 2);
    assert_eq!(app.emails().len(), 2);
    let seen = hooks.pump(&app).await;
    let details: Vec<_> = seen
        .iter()
        .filter(|b| b["type"] == "invitation.created")
        .map(|b| b["data"]["details"]["send_email"].clone())
        .collect();
    assert_eq!(details, [json!(false), json!(true), json!(true)]);

    app.create(
        "acme",
        json!({"emails": ["dan@example.com"], "roles": ["editor"], "send_email": "no"}),
    )
    .await
    .problem(400, "malformed_json");
}
both!(created_without_an_email_queues_none_and_says_so);

async fn resend_without_an_email_mints_a_link_and_drops_the_queued_one() {
    let app = spawn_app_with(Options { private_webhooks: true, ..Default::default() }).await;
    let hooks = Hooks::start().await;
    hooks.subscribe(&app).await;
    let (id, old) = app.invite_one("ann@example.com").await;
    // Straight away: no cooldown, since no email goes out; the email
    // queued with the old link is dropped, its link being dead.
    let path = format!("/v1/tenants/acme/invitations/{id}/resend");
    let resent = app.post(&path, json!({"send_email": false})).await.expect(200);
    assert_eq!(resent["delivery"]["state"], "not_sent");
    assert_eq!(resent["resend_count"], 1);
    let new = token_of(&resent);
    assert_ne!(new, old);
    assert_eq!(app.deliver_all().await, 0);
    assert!(app.emails().is_empty());
    app.accept(&old).await.problem(409, "token_replaced");
    let (types, list) = events(&app, &id).await;
    assert_eq!(types, ["invitation.created", "invitation.resent"]);
    assert_eq!(event(&list, "invitation.resent")["data"]["send_email"], false);
    let seen = hooks.pump(&app).await;
    let resent_hook = seen.iter().find(|b| b["type"] == "invitation.resent").unwrap();
    assert_eq!(resent_hook["data"]["details"]["send_email"], false);
    assert_eq!(resent_hook["data"]["invitation"]["delivery"]["state"], "not_sent");

    // An empty body (no content type) resends with an email, as before,
    // once the cooldown since the last email has passed.
    app.advance(time::Duration::minutes(2));
    let bare =
        app.client.post(format!("{}{path}", app.base)).bearer_auth(&app.key).send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 200);
    let bare: serde_json::Value = bare.json().await.unwrap();
    assert_eq!(bare["delivery"]["state"], "queued");
    assert_eq!(app.deliver_all().await, 1);
    assert_eq!(app.emails().len(), 1);
    app.post(&path, json!({"send_email": 1})).await.problem(400, "malformed_json");
    // A JSON `null` is the empty body too.
    app.advance(time::Duration::minutes(2));
    let null = app.post(&path, serde_json::Value::Null).await.expect(200);
    assert_eq!(null["delivery"]["state"], "queued");
    let bare = null;
    app.post(&path, json!({"nope": true})).await.problem(400, "malformed_json");
    app.accept(&token_of(&bare)).await.expect(200);
}
both!(resend_without_an_email_mints_a_link_and_drops_the_queued_one);
