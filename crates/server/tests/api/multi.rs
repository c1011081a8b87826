//! Two servers on one database (two processes' worth: separate pools,
//! caches and workers): the rules hold between them, and their email
//! workers together send each email once.

use crate::harness::*;
use serde_json::json;

pub(crate) async fn pair(mail_url: Option<String>, run_worker: bool) -> (TestApp, TestApp) {
    let a =
        spawn_app_with(Options { mail_url: mail_url.clone(), run_worker, ..Default::default() })
            .await;
    let b = spawn_app_with(Options {
        mail_url,
        run_worker,
        dir: Some(a.dir.clone()),
        database_url: Some(a.database_url.clone()),
        ..Default::default()
    })
    .await;
    (a, b)
}

/// Sends `n` requests alternately to `a` and `b`, all at once; returns the
/// statuses and bodies.
async fn fire(
    a: &TestApp,
    b: &TestApp,
    n: usize,
    path: &str,
    body: serde_json::Value,
    headers: &[(&str, &str)],
) -> Vec<(u16, serde_json::Value)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = if i % 2 == 0 { a } else { b };
        let (client, url, key, body) =
            (app.client.clone(), format!("{}{path}", app.base), app.key.clone(), body.clone());
        let headers: Vec<(String, String)> =
            headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        tasks.push(tokio::spawn(async move {
            let mut req = client.post(url).bearer_auth(key).json(&body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap_or_default())
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn the_rules_hold_between_two_servers() {
    let (a, b) = pair(None, false).await;
    // One pending invitation per address.
    let replies =
        fire(&a, &b, 10, "/v1/tenants/acme/invitations", viewers(&["race@example.com"]), &[]).await;
    let created: usize =
        replies.iter().map(|(_, body)| body["invitations"].as_array().map_or(0, |v| v.len())).sum();
    assert_eq!(created, 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .filter(|(s, _)| *s == 200)
            .all(|(_, body)| body["failures"][0]["code"] == "already_pending")
    );

    // One accept of one token.
    let (id, token) = a.invite_one("ann@example.com").await;
    let replies = fire(&a, &b, 10, "/v1/invitations/accept", json!({"token": token}), &[]).await;
    assert_eq!(replies.iter().filter(|(s, _)| *s == 200).count(), 1, "{replies:?}");
    assert_eq!(replies.iter().filter(|(s, _)| *s == 409).count(), 9);
    assert_eq!(b.invitation("acme", &id).await.expect(200)["status"], "accepted");

    // The resend cooldown counts the other server's resend.
    let (id, _) = b.invite_one("bob@example.com").await;
    a.advance(time::Duration::minutes(2));
    b.advance(time::Duration::minutes(2));
    a.resend("acme", &id).await.expect(200);
    b.resend("acme", &id).await.problem(429, "resend_cooldown");

    // An idempotency key is one request, whichever server sees it. Both
    // servers' admin keys differ, so use one key for both.
    let key = a.key_with(&["invites:write", "invites:read"], None).await;
    let body = viewers(&["idem@example.com"]);
    let path = "/v1/tenants/acme/invitations";
    let first =
        a.with_key(&key).with_idempotency_key("same").post(path, body.clone()).await.expect(201);
    let again =
        b.with_key(&key).with_idempotency_key("same").post(path, body.clone()).await.expect(201);
    assert_eq!(first, again);
    let list = b.get("/v1/tenants/acme/invitations?email=idem@example.com").await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 1);
}
both!(the_rules_hold_between_two_servers);

async fn two_workers_send_each_email_once() {
    let port = smtp_port();
    let inbox = Inbox::start(port).await;
    let (a, b) = pair(Some(format!("smtp://127.0.0.1:{port}")), true).await;
    for round in 0..6 {
        let app = if round % 2 == 0 { &a } else { &b };
        let emails: Vec<String> = (0..50).map(|i| format!("r{round}-{i}@example.com")).collect();
        app.create("acme", json!({"emails": emails, "roles": ["viewer"]})).await.expect(201);
    }
    inbox.wait_for(300).await;
    // Both workers stopped: nothing more can be on its way.
    a.running.shutdown().await;
    b.running.shutdown().await;
    let messages = inbox.settled().await;
    let mut recipients: Vec<String> = messages
        .iter()
        .map(|m| m["envelope_recipients"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(recipients.len(), 300, "each email exactly once");
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 300);
    inbox.stop();
}
both!(two_workers_send_each_email_once);
