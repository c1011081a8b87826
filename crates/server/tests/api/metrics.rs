//! `/metrics`: named series move with traffic, the waiting work is read at
//! scrape time, labels stay bounded, and the endpoint can be guarded or
//! moved to its own listener.

use crate::harness::*;

/// The scrape, as a map from series (name and labels) to value.
async fn scrape(app: &TestApp) -> std::collections::HashMap<String, f64> {
    let reply = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert!(
        reply.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4")
    );
    parse(&reply.text().await.unwrap())
}

fn parse(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn get(m: &std::collections::HashMap<String, f64>, series: &str) -> f64 {
    m.get(series).copied().unwrap_or(0.0)
}

async fn named_series_move_with_traffic() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let invited = app.invite(&["ann@example.com", "bob@example.com"]).await;
    let token = token_of(&invited[0]);
    // Queued, not yet sent: the outbox has work, and it has waited a while.
    app.advance(time::Duration::seconds(90));
    let queued = scrape(&app).await;
    assert!(get(&queued, "invitd_outbox_due") >= 2.0, "{queued:?}");
    assert!(get(&queued, "invitd_outbox_oldest_due_age_seconds") >= 89.0, "{queued:?}");
    app.deliver_all().await;
    app.accept(&token).await.expect(200);
    app.revoke("acme", invited[1]["id"].as_str().unwrap()).await.expect(200);
    app.get("/v1/tenants/acme/invitations/not-a-uuid").await;
    let after = scrape(&app).await;
    let moved = |series: &str| get(&after, series) - get(&before, series);
    let create = r#"invitd_http_requests_total{method="POST",route="/v1/tenants/{tenant}/invitations",status="2xx"}"#;
    assert!(moved(create) >= 1.0, "{after:?}");
    assert!(
        moved(
            r#"invitd_http_request_duration_seconds_count{method="POST",route="/v1/tenants/{tenant}/invitations"}"#
        ) >= 1.0
    );
    assert!(
        moved(
            r#"invitd_http_requests_total{method="GET",route="/v1/tenants/{tenant}/invitations/{id}",status="4xx"}"#
        ) >= 1.0
    );
    for event in ["created", "sent", "accepted", "revoked"] {
        assert!(
            moved(&format!(r#"invitd_invitations_total{{event="{event}"}}"#)) >= 1.0,
            "{event}: {after:?}"
        );
    }
    assert!(moved(r#"invitd_invitations_total{event="created"}"#) >= 2.0);
    assert!(moved(r#"invitd_email_sends_total{outcome="sent"}"#) >= 2.0);
    assert!(moved("invitd_email_send_duration_seconds_count") >= 2.0);
    assert_eq!(get(&after, "invitd_database_up"), 1.0);
    assert!(get(&after, "process_resident_memory_bytes") > 1e6);
    assert!(get(&after, "process_open_fds") > 0.0);
    // The connections that served the traffic above are counted (on
    // SQLite the readers and the writer thread's, on PostgreSQL the pool).
    let connections = get(&after, r#"invitd_db_connections{state="idle"}"#)
        + get(&after, r#"invitd_db_connections{state="in_use"}"#);
    assert!(connections >= 1.0, "{after:?}");
    assert!(after.contains_key("invitd_db_writes_waiting"));
    assert!(after.contains_key("invitd_webhook_endpoints_disabled"));
    // No label carries an address, an id or a token.
    let text = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    for secret in ["ann@example.com", &token, invited[1]["id"].as_str().unwrap(), "acme"] {
        assert!(!text.contains(secret), "{secret} in metrics");
    }
}
both!(named_series_move_with_traffic);

async fn metrics_can_ask_for_a_token_and_live_on_their_own_listener() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.metrics_token = Some(invitd_server::config::Hidden("scrape-me".into()));
            c.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
        })),
        ..Default::default()
    })
    .await;
    // Not beside the API any more.
    assert_eq!(reqwest::get(format!("{}/metrics", app.base)).await.unwrap().status(), 404);
    let addr = app.running.metrics_addr.expect("a metrics listener");
    let url = format!("http://{addr}/metrics");
    let client = reqwest::Client::new();
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(client.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    let ok = client.get(&url).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("invitd_outbox_due"));
    // Only /metrics there.
    assert_eq!(client.get(format!("http://{addr}/v1/tenants")).send().await.unwrap().status(), 404);
}
both!(metrics_can_ask_for_a_token_and_live_on_their_own_listener);
