//! The OpenAPI document covers every route.

use crate::harness::*;

/// Every route the native API must have (SPEC §4.1), as (method, path).
const EXPECTED: &[(&str, &str)] = &[
    ("post", "/v1/tenants"),
    ("post", "/v1/tenants/{tenant}/ticket-secret"),
    ("get", "/v1/tenants/{tenant}"),
    ("patch", "/v1/tenants/{tenant}"),
    ("get", "/v1/tenants/{tenant}/roles"),
    ("post", "/v1/tenants/{tenant}/roles"),
    ("post", "/v1/tenants/{tenant}/invitations"),
    ("get", "/v1/tenants/{tenant}/invitations"),
    ("get", "/v1/tenants/{tenant}/invitations/{id}"),
    ("post", "/v1/tenants/{tenant}/invitations/{id}/resend"),
    ("post", "/v1/tenants/{tenant}/invitations/{id}/revoke"),
    ("get", "/v1/tenants/{tenant}/invitations/{id}/events"),
    ("get", "/v1/tenants/{tenant}/invitations/{id}/deliveries"),
    ("post", "/v1/invitations/lookup"),
    ("post", "/v1/invitations/accept"),
    ("post", "/v1/invitations/decline"),
    ("get", "/v1/keys"),
    ("post", "/v1/keys"),
    ("delete", "/v1/keys/{id}"),
    ("post", "/v1/tenants/{tenant}/webhooks"),
    ("get", "/v1/tenants/{tenant}/webhooks"),
    ("get", "/v1/tenants/{tenant}/webhooks/{id}"),
    ("patch", "/v1/tenants/{tenant}/webhooks/{id}"),
    ("delete", "/v1/tenants/{tenant}/webhooks/{id}"),
    ("post", "/v1/tenants/{tenant}/webhooks/{id}/rotate-secret"),
    ("get", "/v1/tenants/{tenant}/webhooks/{id}/attempts"),
    ("get", "/v1/tenants/{tenant}/events"),
    ("get", "/v1/events"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

async fn the_served_document_is_openapi_3_1_with_every_route() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (method, path) in EXPECTED {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from /openapi.json"
        );
    }
    // And every documented operation is really served.
    let unrouted = unrouted(&app, &doc).await;
    assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");
    let docs = app.client.get(format!("{}/docs/", app.base)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
both!(the_served_document_is_openapi_3_1_with_every_route);

/// The operations of `doc` the server does not route: a route miss (404
/// `route not found`) or a path served without this method (405).
async fn unrouted(app: &TestApp, doc: &serde_json::Value) -> Vec<String> {
    let mut missing = Vec::new();
    for (path, method, _) in operations(doc) {
        let url = path
            .replace("{tenant}", "acme")
            .replace("{id}", "0190c3a4-0000-7000-8000-000000000000");
        let reply = app.call(method.to_uppercase().parse().unwrap(), &url, None, None, &[]).await;
        let route_miss = reply.status == 404 && reply.body["detail"] == "route not found";
        if route_miss || reply.status == 405 {
            missing.push(format!("{method} {path} ({})", reply.status.as_u16()));
        }
    }
    missing
}

/// The routing check can fail: routes added with `routes!` are documented
/// and served by construction, so it is shown a document with an operation
/// that nothing serves and a method a served path does not take.
#[tokio::test]
async fn the_routing_check_catches_a_documented_operation_that_is_not_served() {
    let app = spawn_app().await;
    let mut doc = served_document(&app).await;
    doc["paths"]["/v1/nowhere"] = serde_json::json!({"get": {}});
    doc["paths"]["/v1/keys"]["put"] = serde_json::json!({});
    let mut found = unrouted(&app, &doc).await;
    found.sort();
    assert_eq!(found, ["get /v1/nowhere (404)", "put /v1/keys (405)"]);
}

/// The scope sets an operation accepts: each object of its `security` list
/// is one alternative (`[{"bearer": ["a"]}, {"bearer": ["b"]}]` is a or b).
fn declared_scopes(op: &serde_json::Value) -> Vec<Vec<String>> {
    op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|requirement| requirement["bearer"].as_array())
        .map(|scopes| scopes.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .collect()
}

/// A body the operation takes, so what answers is the scope check and not
/// the body's; `None` for an operation this test has no body for.
fn valid_body(method: &str, path: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    let token = "inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    Some(match (method, path) {
        ("post", "/v1/tenants") => json!({"id": "scope-check", "name": "Scope check"}),
        ("patch", "/v1/tenants/{tenant}") => json!({"name": "Acme Inc"}),
        ("post", "/v1/tenants/{tenant}/roles") => {
            json!({"id": "scope-check", "name": "Scope check", "rank": 9})
        }
        ("post", "/v1/tenants/{tenant}/invitations") => viewers(&["scope@example.com"]),
        (
            "post",
            "/v1/invitations/lookup" | "/v1/invitations/accept" | "/v1/invitations/decline",
        ) => json!({"token": token}),
        ("post", "/v1/keys") => json!({"name": "scope-check", "scopes": ["keys:admin"]}),
        ("post", "/v1/tenants/{tenant}/webhooks") => {
            json!({"url": "https://hooks.example.com/in", "event_types": ["invitation.created"]})
        }
        ("patch", "/v1/tenants/{tenant}/webhooks/{id}") => json!({"enabled": true}),
        ("post", _) => json!({}),
        _ => return None,
    })
}

/// Scopes are written twice, in the annotations and in the handlers'
/// `require` calls; this ties them: for each operation, a key with every
/// scope but the declared ones is refused with 403 naming one of them, and
/// a key with only one declared alternative is not refused for scope.
#[tokio::test]
async fn each_operation_refuses_a_key_without_its_declared_scope() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let all: Vec<&str> = invitd_server::auth::Scope::ALL.iter().map(|s| s.as_str()).collect();
    let mut faults = Vec::new();
    let mut checked = 0;
    for (path, method, op) in operations(&doc) {
        if !op["security"].is_array() {
            continue;
        }
        let what = format!("{method} {path}");
        let alternatives = declared_scopes(&op);
        let declared: Vec<&str> = alternatives.iter().flatten().map(String::as_str).collect();
        if declared.is_empty() {
            faults.push(format!("{what}: secured but declares no scope"));
            continue;
        }
        for scope in &declared {
            assert!(all.contains(scope), "{what}: unknown scope {scope}");
        }
        let body = if op["requestBody"].is_object() {
            match valid_body(&method, &path) {
                Some(body) => Some(body),
                None => {
                    faults.push(format!("{what}: no sample body in this test"));
                    continue;
                }
            }
        } else {
            None
        };
        let m: reqwest::Method = method.to_uppercase().parse().unwrap();
        let url = path
            .replace("{tenant}", "acme")
            .replace("{id}", "0190c3a4-0000-7000-8000-000000000000");

        let others: Vec<&str> = all.iter().copied().filter(|s| !declared.contains(s)).collect();
        let key = app.key_with(&others, None).await;
        let reply = app.call(m.clone(), &url, Some(&key), body.as_ref(), &[]).await;
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        let named = declared.iter().any(|s| detail.contains(s));
        if reply.status != 403 || reply.body["code"] != "forbidden" || !named {
            faults.push(format!("{what} without {declared:?}: {} {}", reply.status, reply.body));
        }
        checked += 1;

        for alternative in &alternatives {
            let only: Vec<&str> = alternative.iter().map(String::as_str).collect();
            let key = app.key_with(&only, None).await;
            let reply = app.call(m.clone(), &url, Some(&key), body.as_ref(), &[]).await;
            if reply.status == 403 {
                faults.push(format!("{what} with only {only:?}: 403 {}", reply.body));
            }
        }
    }
    assert!(checked > 20, "only {checked} operations checked");
    assert!(faults.is_empty(), "{faults:#?}");
}

/// Routes added with a plain `.route(...)` are not documented; only the
/// allow-listed ones may be. This fails when someone adds an API route that
/// bypasses the OpenAPI router.
#[test]
fn no_route_bypasses_the_openapi_router() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // The seed-compatible APIs are documented by their seed
                // documents, not by invitd's OpenAPI document.
                if !path.ends_with("compat") {
                    stack.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| l.contains(".route(\"")) {
                let route = line.split('"').nth(1).unwrap_or_default();
                if !invitd_server::openapi::UNDOCUMENTED_PATHS.contains(&route) {
                    offenders.push(format!("{}: {route}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "undocumented routes: {offenders:?}");
}

/// The served document, as JSON.
async fn served_document(app: &TestApp) -> serde_json::Value {
    app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap()
}

/// Every (path, method, operation) of the document.
fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

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

/// Swagger UI must not send the document to an outside validator (its
/// default badge calls validator.swagger.io when served under a real host
/// name).
#[tokio::test]
async fn swagger_ui_has_no_outside_validator() {
    let app = spawn_app().await;
    let script = app.text("/docs/swagger-initializer.js").await;
    assert!(script.contains("\"validatorUrl\": \"none\""), "the validator badge is on: {script}");
}

async fn lengths_count_characters_as_the_document_says() {
    // The document's maxLength counts characters; so must the server (it
    // counted bytes for location ids and URLs, refusing non-ASCII values
    // the document allows).
    let app = spawn_app().await;
    let id = "é".repeat(128);
    app.create("acme", serde_json::json!({"emails": ["ann@example.com"], "roles": ["editor"], "location_ids": [id]}),
    )
    .await
    .expect(201);
    app.create("acme", serde_json::json!({"emails": ["bob@example.com"], "roles": ["editor"], "location_ids": ["é".repeat(129)]}),
    )
    .await
    .problem(400, "invalid_request");

    let prefix = "https://example.com/";
    let url = format!("{prefix}{}", "é".repeat(2048 - prefix.len()));
    let tenant =
        patch_tenant(&app, serde_json::json!({"accept_redirect_url": url, "logo_url": url}))
            .await
            .expect(200);
    assert_eq!(tenant["logo_url"], url.as_str());
    patch_tenant(&app, serde_json::json!({"logo_url": format!("{url}é")}))
        .await
        .problem(400, "invalid_request");
}
both!(lengths_count_characters_as_the_document_says);

async fn patch_tenant(app: &TestApp, body: serde_json::Value) -> Reply {
    app.call(reqwest::Method::PATCH, "/v1/tenants/acme", Some(&app.key), Some(&body), &[]).await
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
