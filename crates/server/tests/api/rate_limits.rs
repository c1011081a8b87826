//! The per-address rate limit on what anyone can call without a key.

use crate::harness::*;
use reqwest::Method;
use serde_json::json;

fn limited(per_minute: u32, burst: u32, trusted: Vec<std::net::IpAddr>) -> Options {
    Options {
        configure: Some(Box::new(move |c| {
            c.rate_limit_per_minute = per_minute;
            c.rate_limit_burst = burst;
            c.trusted_proxies = trusted;
        })),
        ..Default::default()
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_flood_of_the_accept_page_from_one_address_gets_a_429_page() {
    let app = spawn_app_with(limited(60, 5, vec![])).await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let page = format!("{}/i/{token}", app.base);
    for _ in 0..5 {
        let r = app.client.get(&page).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = app.client.get(&page).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!((1..=60).contains(&retry_after(r.headers())));
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("Too many requests"));
    // The form's POST is counted too, and nothing was answered.
    let r = app
        .client
        .post(&page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=accept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "pending");
    // Callers with a key are not limited.
    for _ in 0..10 {
        app.get("/v1/tenants/acme").await.expect(200);
    }
}

#[tokio::test]
async fn token_endpoints_without_a_key_get_a_429_problem() {
    let app = spawn_app_with(limited(60, 3, vec![])).await;
    let (_, token) = app.invite_one("ann@example.com").await;
    let body = json!({"token": token});
    for path in ["/v1/invitations/lookup", "/v1/invitations/accept", "/v1/invitations/decline"] {
        app.call(Method::POST, path, None, Some(&body), &[]).await.problem(401, "unauthorized");
    }
    for path in ["/v1/invitations/lookup", "/v1/invitations/accept", "/v1/invitations/decline"] {
        let reply = app.call(Method::POST, path, None, Some(&body), &[]).await;
        assert!((1..=60).contains(&retry_after(&reply.headers)));
        reply.problem(429, "rate_limited");
    }
    // With a key, the same address goes on.
    let looked = app.post("/v1/invitations/lookup", body.clone()).await.expect(200);
    assert_eq!(looked["status"], "pending");
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    // Not trusted: the header is ignored, every request is 127.0.0.1's.
    let app = spawn_app_with(limited(60, 2, vec![])).await;
    let path = "/v1/invitations/lookup";
    let body = json!({"token": "nope"});
    for (i, expected) in [401, 401, 429].into_iter().enumerate() {
        let ip = format!("203.0.113.{i}");
        let reply =
            app.call(Method::POST, path, None, Some(&body), &[("x-forwarded-for", &ip)]).await;
        assert_eq!(reply.status.as_u16(), expected);
    }
    // Trusted: each forwarded client has its own bucket.
    let app = spawn_app_with(limited(60, 2, vec!["127.0.0.1".parse().unwrap()])).await;
    for i in 0..6 {
        let ip = format!("203.0.113.{i}");
        app.call(Method::POST, path, None, Some(&body), &[("x-forwarded-for", &ip)])
            .await
            .problem(401, "unauthorized");
    }
    for expected in [401, 401, 429] {
        let reply = app
            .call(Method::POST, path, None, Some(&body), &[("x-forwarded-for", "198.51.100.7")])
            .await;
        assert_eq!(reply.status.as_u16(), expected);
    }
}
