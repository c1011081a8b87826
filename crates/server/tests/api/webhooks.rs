//! Webhooks: signatures checked with an independent implementation of the
//! Standard Webhooks scheme, retries, order per invitation, disabling,
//! SSRF refusals; the expiry sweep; the event log.

use crate::harness::*;
use invitd_core::Clock;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

mod signing;
pub(crate) use signing::verify;

/// A webhook receiver: records every request, answers with the next
/// status of its script (then 200).
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>>,
    /// The bodies as they came over the wire, in the order of `seen`.
    raw: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    pub(crate) async fn start(script: Vec<u16>) -> Receiver {
        let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>> = Arc::default();
        let raw: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let script = Arc::new(Mutex::new(script.into_iter()));
        let (s, r, sc) = (seen.clone(), raw.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (s, r, sc) = (s.clone(), r.clone(), sc.clone());
                async move {
                    // Both under one lock order, so the lists stay aligned.
                    let mut seen = s.lock().unwrap();
                    r.lock().unwrap().push(body.to_vec());
                    seen.push((headers, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                    drop(seen);
                    let status = sc.lock().unwrap().next().unwrap_or(200);
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url: format!("http://{addr}/hook"), seen, raw }
    }

    pub(crate) fn seen(&self) -> Vec<(axum::http::HeaderMap, Value)> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn raw(&self) -> Vec<Vec<u8>> {
        self.raw.lock().unwrap().clone()
    }

    fn types(&self) -> Vec<String> {
        self.seen().iter().map(|(_, b)| b["type"].as_str().unwrap().to_string()).collect()
    }
}

pub(crate) async fn app() -> TestApp {
    spawn_app_with(Options { private_webhooks: true, ..Default::default() }).await
}

pub(crate) async fn subscribe(app: &TestApp, url: &str, types: Value) -> (String, String) {
    let created = app
        .post("/v1/tenants/acme/webhooks", json!({"url": url, "event_types": types}))
        .await
        .expect(201);
    (created["id"].as_str().unwrap().to_string(), created["secret"].as_str().unwrap().to_string())
}

pub(crate) async fn pump(app: &TestApp) -> usize {
    let mut total = 0;
    loop {
        match app.running.webhooks.run_once().await.unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

async fn each_lifecycle_event_arrives_signed_and_without_the_token() {
    let app = app().await;
    let all = Receiver::start(vec![]).await;
    let accepted_only = Receiver::start(vec![]).await;
    let (hook, secret) = subscribe(&app, &all.url, json!([])).await;
    assert!(secret.starts_with("whsec_"));
    subscribe(&app, &accepted_only.url, json!(["invitation.accepted"])).await;
    assert!(
        !app.get("/v1/tenants/acme/webhooks").await.expect(200).to_string().contains(&secret),
        "lists never show secrets"
    );

    let (id, token) = app.invite_one("ann@example.com").await;
    app.deliver().await;
    app.post("/v1/invitations/accept", json!({"token": token, "account_id": "acct-9"}))
        .await
        .expect(200);
    let (other, _) = app.invite_one("bob@example.com").await;
    app.advance(time::Duration::minutes(2));
    app.resend("acme", &other).await.expect(200);
    app.revoke("acme", &other).await.expect(200);
    let (third, third_token) = app.invite_one("cy@example.com").await;
    app.decline(&third_token).await.expect(200);
    pump(&app).await;

    let seen = all.seen();
    let raw = all.raw();
    assert_eq!(raw.len(), seen.len());
    for ((headers, body), raw_body) in seen.iter().zip(&raw) {
        verify(headers, raw_body, &secret);
        assert_eq!(headers["webhook-id"].to_str().unwrap(), body["id"].as_str().unwrap());
        assert_eq!(body["tenant"], "acme");
        assert!(body["timestamp"].is_string());
        assert!(body["data"]["invitation"]["id"].is_string());
        assert!(body["data"]["invitation"].get("accept_url").is_none());
        assert!(
            !body.to_string().contains(&token) && !body.to_string().contains(&third_token),
            "never the token"
        );
    }
    let of = |inv: &str| -> Vec<String> {
        seen.iter()
            .filter(|(_, b)| b["data"]["invitation"]["id"] == inv)
            .map(|(_, b)| b["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(of(&id), ["invitation.created", "invitation.sent", "invitation.accepted"]);
    assert_eq!(of(&other), ["invitation.created", "invitation.resent", "invitation.revoked"]);
    assert_eq!(of(&third), ["invitation.created", "invitation.declined"]);
    let accepted = seen.iter().find(|(_, b)| b["type"] == "invitation.accepted").unwrap();
    assert_eq!(accepted.1["data"]["invitation"]["status"], "accepted");
    assert_eq!(accepted.1["data"]["invitation"]["accepted_by"], "acct-9");
    assert_eq!(accepted.1["data"]["actor"], json!({"kind": "invitee", "account_id": "acct-9"}));
    // The snapshot is the invitation as it was: created shows pending.
    let created = seen.iter().find(|(_, b)| b["type"] == "invitation.created").unwrap();
    assert_eq!(created.1["data"]["invitation"]["status"], "pending");
    assert_eq!(accepted_only.types(), ["invitation.accepted"]);
    // Attempts are recorded.
    let attempts = app.get(&format!("/v1/tenants/acme/webhooks/{hook}/attempts")).await.expect(200);
    assert_eq!(attempts["attempts"].as_array().unwrap().len(), seen.len());
    assert!(
        attempts["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status_code"] == 200 && a["duration_ms"].is_u64())
    );
}
both!(each_lifecycle_event_arrives_signed_and_without_the_token);

async fn failures_are_retried_with_backoff_and_recorded() {
    let app = app().await;
    let rx = Receiver::start(vec![500, 503]).await;
    let (hook, secret) = subscribe(&app, &rx.url, json!(["invitation.created"])).await;
    app.invite_one("ann@example.com").await;
    assert_eq!(pump(&app).await, 1);
    assert_eq!(pump(&app).await, 0, "not before the backoff");
    app.advance(time::Duration::seconds(6));
    assert_eq!(pump(&app).await, 1);
    app.advance(time::Duration::seconds(67));
    assert_eq!(pump(&app).await, 1);
    app.advance(time::Duration::days(3));
    assert_eq!(pump(&app).await, 0, "delivered: done");
    let seen = rx.seen();
    assert_eq!(seen.len(), 3);
    let ids: Vec<&str> = seen.iter().map(|(h, _)| h["webhook-id"].to_str().unwrap()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "a retry keeps its webhook-id");
    verify(&seen[2].0, &rx.raw()[2], &secret);
    let attempts = app.get(&format!("/v1/tenants/acme/webhooks/{hook}/attempts")).await.expect(200);
    let codes: Vec<Value> =
        attempts["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(200), json!(503), json!(500)]);
    assert_eq!(attempts["attempts"][1]["error"], "HTTP 503");
    let hook = app.get(&format!("/v1/tenants/acme/webhooks/{hook}")).await.expect(200);
    assert!(hook["failing_since"].is_null(), "a success ends the failing run");
}
both!(failures_are_retried_with_backoff_and_recorded);

async fn deliveries_to_one_endpoint_are_capped() {
    let app = app().await;
    let rx = Receiver::start(vec![]).await;
    subscribe(&app, &rx.url, json!(["invitation.created"])).await;
    let emails: Vec<String> = (0..10).map(|i| format!("u{i}@example.com")).collect();
    app.create("acme", json!({"emails": emails, "roles": ["viewer"]})).await.expect(201);
    let store = &app.running.state.store;
    let now = app.clock.now();
    let first = store.claim_webhooks(now, time::Duration::minutes(1), 64, 4).await.unwrap();
    assert_eq!(first.len(), 4, "at most 4 in flight for one endpoint");
    let second = store.claim_webhooks(now, time::Duration::minutes(1), 64, 4).await.unwrap();
    assert_eq!(second.len(), 4, "the next 4; the leased ones are not handed out again");
    assert!(second.iter().all(|j| first.iter().all(|f| f.delivery_id != j.delivery_id)));
}
both!(deliveries_to_one_endpoint_are_capped);

async fn one_invitations_events_arrive_in_order() {
    let app = app().await;
    let rx = Receiver::start(vec![500]).await;
    subscribe(&app, &rx.url, json!([])).await;
    let (_, token) = app.invite_one("ann@example.com").await;
    app.accept(&token).await.expect(200);
    // The first attempt (created) fails; accepted must wait for it.
    assert_eq!(pump(&app).await, 1);
    assert_eq!(rx.types(), ["invitation.created"]);
    let (_, _) = app.invite_one("bob@example.com").await;
    assert_eq!(pump(&app).await, 1, "another invitation is not held up");
    app.advance(time::Duration::seconds(6));
    pump(&app).await;
    let ann: Vec<String> = rx
        .seen()
        .iter()
        .filter(|(_, b)| b["data"]["invitation"]["email"] == "ann@example.com")
        .map(|(_, b)| b["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ann, ["invitation.created", "invitation.created", "invitation.accepted"]);
}
both!(one_invitations_events_arrive_in_order);

async fn an_endpoint_that_keeps_failing_is_disabled_and_says_so() {
    let app = app().await;
    let rx = Receiver::start(vec![500; 20]).await;
    let (hook, _) = subscribe(&app, &rx.url, json!(["invitation.created"])).await;
    app.invite_one("ann@example.com").await;
    for _ in 0..8 {
        pump(&app).await;
        app.advance(time::Duration::days(1));
    }
    let got = app.get(&format!("/v1/tenants/acme/webhooks/{hook}")).await.expect(200);
    assert_eq!(got["enabled"], false);
    assert!(got["disabled_reason"].as_str().unwrap().starts_with("disabled after failing since"));
    let events = app.get("/v1/tenants/acme/events?type=webhook.disabled").await.expect(200);
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    // Nothing more is queued for it.
    let before = rx.seen().len();
    app.invite_one("bob@example.com").await;
    pump(&app).await;
    assert_eq!(rx.seen().len(), before);
    // Enabling it again clears the disable.
    let enabled = app
        .patch(&format!("/v1/tenants/acme/webhooks/{hook}"), json!({"enabled": true}))
        .await
        .expect(200);
    assert_eq!(enabled["enabled"], true);
    assert!(enabled["disabled_reason"].is_null());
}
both!(an_endpoint_that_keeps_failing_is_disabled_and_says_so);

async fn private_and_odd_urls_are_refused() {
    let app = spawn_app().await;
    for url in [
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[::127.0.0.1]/",
        "http://[fec0::1]/",
        "http://[64:ff9b::a9fe:a9fe]/latest",
        "http://[2001::1]/",
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://localhost:8080/",
        "http://192.168.0.10/",
        "ftp://example.com/",
        "not a url",
        "http://user:pw@example.com/",
    ] {
        app.post("/v1/tenants/acme/webhooks", json!({"url": url}))
            .await
            .problem(400, "invalid_request");
    }
    app.post(
        "/v1/tenants/acme/webhooks",
        json!({"url": "https://hooks.example.com/x", "event_types": ["invitation.nope"]}),
    )
    .await
    .problem(400, "invalid_request");
    assert_eq!(app.get("/v1/tenants/acme/webhooks").await.expect(200)["webhooks"], json!([]));
    let reader = app.key_with(&["invites:read"], None).await;
    app.with_key(&reader).get("/v1/tenants/acme/webhooks").await.problem(403, "forbidden");
}
both!(private_and_odd_urls_are_refused);

async fn the_sweep_expires_each_invitation_once_across_processes() {
    let a = spawn_app_with(Options { private_webhooks: true, ..Default::default() }).await;
    let b = spawn_app_with(Options {
        private_webhooks: true,
        dir: Some(a.dir.clone()),
        database_url: Some(a.database_url.clone()),
        ..Default::default()
    })
    .await;
    let rx = Receiver::start(vec![]).await;
    subscribe(&a, &rx.url, json!(["invitation.expired"])).await;
    let emails: Vec<String> = (0..30).map(|i| format!("u{i}@example.com")).collect();
    a.create("acme", json!({"emails": emails, "roles": ["viewer"], "expires_in_days": 1}))
        .await
        .expect(201);
    let later = a.clock.now() + time::Duration::days(2);
    let (sa, sb) = (a.running.state.store.clone(), b.running.state.store.clone());
    let (ra, rb) = tokio::join!(
        async {
            let mut n = 0;
            for _ in 0..3 {
                n += sa.expire_due(later, 7).await.unwrap();
            }
            n
        },
        async {
            let mut n = 0;
            for _ in 0..3 {
                n += sb.expire_due(later, 7).await.unwrap();
            }
            n
        },
    );
    let rest = sa.expire_due(later, 100).await.unwrap() + sb.expire_due(later, 100).await.unwrap();
    assert_eq!(ra + rb + rest, 30, "each recorded once");
    assert_eq!(sa.expire_due(later, 100).await.unwrap(), 0);
    let events =
        a.get("/v1/tenants/acme/events?type=invitation.expired&limit=200").await.expect(200);
    assert_eq!(events["events"].as_array().unwrap().len(), 30);
    a.advance(time::Duration::days(2));
    pump(&a).await;
    pump(&b).await;
    assert_eq!(rx.types().len(), 30, "one webhook per expiry");
    let list = b.get("/v1/tenants/acme/invitations?status=expired&limit=200").await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 30);
}
both!(the_sweep_expires_each_invitation_once_across_processes);

async fn the_audit_trail_lists_and_pages() {
    let app = app().await;
    let (hook, _) = subscribe(&app, "https://hooks.example.com/acme", json!([])).await;
    app.with_header("user-agent", "audit-test/1.0")
        .patch("/v1/tenants/acme", json!({"name": "Acme Corp"}))
        .await
        .expect(200);
    let (id, _) = app.invite_one("ann@example.com").await;
    // Administrative events take their time from the same clock as the rest.
    app.advance(time::Duration::days(30));
    app.post("/v1/tenants/acme/roles", json!({"id": "auditor", "name": "Auditor"}))
        .await
        .expect(201);
    app.post(&format!("/v1/tenants/acme/webhooks/{hook}/rotate-secret"), json!({}))
        .await
        .expect(200);
    app.delete(&format!("/v1/tenants/acme/webhooks/{hook}")).await;
    let all = app.get("/v1/tenants/acme/events?limit=200").await.expect(200);
    let types: Vec<&str> =
        all["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "tenant.created",
        "webhook.created",
        "tenant.updated",
        "invitation.created",
        "webhook.secret_rotated",
        "webhook.deleted",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    assert_eq!(types[0], "webhook.deleted", "newest first");
    let at = |t: &str| {
        date(&all["events"].as_array().unwrap().iter().find(|e| e["type"] == t).unwrap()["at"])
    };
    assert!(at("role.created") - at("invitation.created") >= time::Duration::days(30));
    let updated =
        all["events"].as_array().unwrap().iter().find(|e| e["type"] == "tenant.updated").unwrap();
    assert_eq!(updated["actor"]["kind"], "api_key");
    assert_eq!(updated["ip"], "127.0.0.1");
    assert_eq!(updated["user_agent"], "audit-test/1.0");
    // Filters and cursor pages.
    let mine = app.get(&format!("/v1/tenants/acme/events?invitation_id={id}")).await.expect(200);
    assert_eq!(mine["events"][0]["invitation"]["email"], "ann@example.com");
    let seen = app.all_pages("/v1/tenants/acme/events?limit=2", "events").await;
    assert_eq!(seen.len(), types.len());
    app.get("/v1/tenants/acme/events?cursor=zzz").await.problem(400, "invalid_request");
    // The installation's own events: API keys.
    app.key_with(&["invites:read"], None).await;
    let keys = app.get("/v1/events?type=api_key.created").await.expect(200);
    assert!(!keys["events"].as_array().unwrap().is_empty());
    let bound = app.key_with(&["keys:admin"], Some(&["acme"])).await;
    app.with_key(&bound).get("/v1/events").await.problem(403, "forbidden");
}
both!(the_audit_trail_lists_and_pages);
