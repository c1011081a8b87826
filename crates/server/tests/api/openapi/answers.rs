//! Every answer the server gives is in the document: described, errors as
//! problem documents, refusals of every kind listed, a database outage too.

use super::{operations, served_document};
use crate::harness::*;

const PROBLEM: &str = "application/problem+json";

/// Fails unless the document declares this answer for this operation: the
/// status, and the content type it came with.
#[track_caller]
fn assert_documented(op: &serde_json::Value, what: &str, reply: &Reply) {
    let status = reply.status.as_u16();
    let documented = &op["responses"][status.to_string()];
    assert!(
        documented.is_object(),
        "{what}: answered {status}, which the document does not list (body: {})",
        reply.body
    );
    let content_type = reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string());
    if status >= 400 {
        assert_eq!(content_type.as_deref(), Some(PROBLEM), "{what}: {status}");
    }
    if let Some(content_type) = content_type {
        assert!(
            documented["content"][&content_type].is_object(),
            "{what}: answered {status} as {content_type}, documented as {}",
            documented["content"]
        );
    }
}

/// The statuses a generator of clients needs: every answer described,
/// every error a problem document, and the refusals every operation of a
/// kind can make listed on each.
#[tokio::test]
async fn every_answer_is_described_and_every_error_is_a_problem() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    // `invitd openapi` prints the same document.
    assert_eq!(doc, serde_json::to_value(invitd_server::openapi_document()).unwrap());
    let mut faults = Vec::new();
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            let code: u16 = status.parse().unwrap();
            if response["description"].as_str().unwrap_or_default().trim().is_empty() {
                faults.push(format!("{method} {path} {status}: no description"));
            }
            if code >= 400 {
                let content = response["content"].as_object().unwrap();
                if content.keys().collect::<Vec<_>>() != [PROBLEM] {
                    faults.push(format!("{method} {path} {status}: {:?}", content.keys()));
                }
                if content[PROBLEM]["schema"]["$ref"] != "#/components/schemas/Problem" {
                    faults.push(format!("{method} {path} {status}: not the Problem schema"));
                }
            }
        }
        let has = |s: u16| responses.contains_key(&s.to_string());
        let mut required = vec![405];
        if path != "/healthz" {
            required.push(503);
        }
        if path.contains('{') {
            required.extend([400, 404]);
        }
        if op["requestBody"].is_object() {
            required.extend([400, 413, 415]);
        }
        let secured = op["security"].is_array();
        if secured {
            required.extend([401, 403]);
        }
        // The idempotency layer answers for authenticated writes.
        if secured && matches!(method.as_str(), "post" | "patch" | "delete") {
            required.extend([400, 413, 422]);
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if !params.iter().any(|p| p["name"] == "Idempotency-Key") {
                faults.push(format!("{method} {path}: no Idempotency-Key header"));
            }
        }
        for status in required {
            if !has(status) {
                faults.push(format!("{method} {path}: {status} missing"));
            }
        }
        for status in [429, 503] {
            if has(status) && !responses[&status.to_string()]["headers"]["Retry-After"].is_object()
            {
                faults.push(format!("{method} {path} {status}: no Retry-After"));
            }
        }
    }
    assert!(faults.is_empty(), "{faults:#?}");
}

async fn every_refusal_the_server_makes_is_in_the_document() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let other_id = "0190c3a4-0000-7000-8000-000000000000";
    let too_large = format!("\"{}\"", "x".repeat(1024 * 1024 + 16));
    for (path, method, op) in operations(&doc) {
        let m: reqwest::Method = method.to_uppercase().parse().unwrap();
        let url = path.replace("{tenant}", "acme").replace("{id}", other_id);
        let what = format!("{method} {path}");
        let has_body = op["requestBody"].is_object();
        let write =
            matches!(method.as_str(), "post" | "patch" | "delete") && op["security"].is_array();

        // As asked, with no body: whatever it answers is documented.
        let reply = app.call(m.clone(), &url, Some(&app.key), None, &[]).await;
        assert_documented(&op, &what, &reply);
        // Without a key.
        if op["security"].is_array() {
            let reply = app.call(m.clone(), &url, None, None, &[]).await;
            assert_eq!(reply.status, 401, "{what}");
            assert_documented(&op, &what, &reply);
        }
        // An id that is not a UUID.
        if path.contains("{id}") {
            let bad = path.replace("{tenant}", "acme").replace("{id}", "not-a-uuid");
            let reply = app.call(m.clone(), &bad, Some(&app.key), None, &[]).await;
            assert_eq!(reply.status, 400, "{what}: {}", reply.body);
            assert_documented(&op, &what, &reply);
        }
        // A method the path does not take.
        let reply = app.put(&url).await;
        assert_eq!(reply.status, 405, "{what}");
        assert_eq!(reply.body["code"], "method_not_allowed");
        assert_documented(&op, &what, &reply);
        let allow = reply.headers["allow"].to_str().unwrap().to_ascii_lowercase();
        assert!(allow.split(',').any(|a| a.trim() == method), "{what}: Allow {allow}");
        if has_body {
            // Not JSON.
            let reply = send_raw(&app, &m, &url, &[("content-type", "text/plain")], "{}").await;
            assert_eq!(reply.status, 415, "{what}");
            assert_documented(&op, &what, &reply);
            // Too large.
            let json = [("content-type", "application/json")];
            let reply = send_raw(&app, &m, &url, &json, &too_large).await;
            assert_eq!(reply.status, 413, "{what}");
            assert_documented(&op, &what, &reply);
        }
        if write {
            // One Idempotency-Key, two different bodies.
            let key = format!("probe {what}").replace(' ', "-");
            for (n, body) in ["{\"n\": 1}", "{\"n\": 2}"].into_iter().enumerate() {
                let headers = [("content-type", "application/json"), ("idempotency-key", &key)];
                let reply = send_raw(&app, &m, &url, &headers, body).await;
                if n == 1 {
                    assert_eq!(reply.status, 422, "{what}: {}", reply.body);
                }
                assert_documented(&op, &what, &reply);
            }
            // A malformed Idempotency-Key.
            let reply =
                app.call(m.clone(), &url, Some(&app.key), None, &[("idempotency-key", "")]).await;
            assert_eq!(reply.status, 400, "{what}");
            assert_documented(&op, &what, &reply);
        }
    }
}
both!(every_refusal_the_server_makes_is_in_the_document);

/// A request with the admin key, these headers and `body` sent as it is.
async fn send_raw(
    app: &TestApp,
    method: &reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request =
        app.client.request(method.clone(), format!("{}{url}", app.base)).bearer_auth(&app.key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    into_reply(request.body(body.to_string()).send().await.unwrap()).await
}

async fn into_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null) }
}

/// When the database goes away every operation that needs it answers a
/// documented 503 problem with `Retry-After` (PostgreSQL behind a relay
/// that is switched off).
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
async fn a_database_outage_answers_a_documented_503() {
    let base = invitd_store::testing::postgres_test_url().unwrap();
    let fresh = invitd_store::testing::fresh_postgres_database(&base).await.unwrap();
    let (scheme, rest) = fresh.split_once("://").unwrap();
    let (authority, database) = rest.split_once('/').unwrap();
    let (userinfo, target) = match authority.rsplit_once('@') {
        Some((u, t)) => (format!("{u}@"), t.to_string()),
        None => (String::new(), authority.to_string()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Dropping the relay's task drops its listener and every connection.
    let relay = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            connections.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let app = spawn_app_with(Options {
        database_url: Some(format!("{scheme}://{userinfo}127.0.0.1:{port}/{database}")),
        ..Default::default()
    })
    .await;
    app.get("/v1/tenants/acme/invitations").await.expect(200);
    let doc = served_document(&app).await;
    relay.abort();
    let _ = relay.await;

    // All at once: each waits for the pool to give up on the database.
    let mut calls = tokio::task::JoinSet::new();
    for (path, method, op) in operations(&doc) {
        let m: reqwest::Method = method.to_uppercase().parse().unwrap();
        let url = path
            .replace("{tenant}", "acme")
            .replace("{id}", "0190c3a4-0000-7000-8000-000000000000");
        let request = app.client.request(m, format!("{}{url}", app.base)).bearer_auth(&app.key);
        calls.spawn(
            async move { (path, method, op, into_reply(request.send().await.unwrap()).await) },
        );
    }
    let mut unavailable = Vec::new();
    while let Some(done) = calls.join_next().await {
        let (path, method, op, reply) = done.unwrap();
        assert_documented(&op, &format!("{method} {path}"), &reply);
        if reply.status == 503 {
            assert_eq!(reply.body["code"], "unavailable");
            assert!(reply.headers.contains_key("retry-after"), "{method} {path}");
            unavailable.push(format!("{method} {path}"));
        }
    }
    for expected in ["get /readyz", "get /v1/tenants/{tenant}/invitations"] {
        assert!(
            unavailable.iter().any(|u| u == expected),
            "{expected} did not answer 503: {unavailable:?}"
        );
    }
}
