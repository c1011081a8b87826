//! The OpenAPI document covers every route.

use crate::harness::*;

mod answers;

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
    ("patch", "/v1/tenants/{tenant}/invitations/{id}"),
    ("post", "/v1/tenants/{tenant}/invitations/revoke"),
    ("post", "/v1/tenants/{tenant}/invitations/resend"),
    ("post", "/v1/tenants/{tenant}/invitations/{id}/resend"),
    ("post", "/v1/tenants/{tenant}/invitations/{id}/revoke"),
    ("get", "/v1/tenants/{tenant}/invitations/{id}/events"),
    ("get", "/v1/tenants/{tenant}/invitations/{id}/deliveries"),
    ("get", "/v1/invitations"),
    ("post", "/v1/invitations/accept-all"),
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
    ("post", "/v1/tenants/{tenant}/webhooks/{id}/test"),
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
        ("patch", "/v1/tenants/{tenant}/invitations/{id}") => json!({"message": "Scope check"}),
        ("post", "/v1/invitations/accept-all") => {
            json!({"email": "scope@example.com", "account_id": "scope-check"})
        }
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
                // documents, not by invitd's OpenAPI document; the admin
                // console is pages for people, not an API.
                if !path.ends_with("compat") && !path.ends_with("console") {
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
