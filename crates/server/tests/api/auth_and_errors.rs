//! Authentication, scopes, tenant isolation, tenants and keys over the
//! API, and the error shape.

use crate::harness::*;
use reqwest::Method;
use serde_json::json;

async fn missing_bad_and_revoked_keys_are_401() {
    let app = spawn_app().await;
    let path = "/v1/tenants/acme/invitations";
    app.call(Method::GET, path, None, None, &[]).await.problem(401, "unauthorized");
    app.call(Method::GET, path, Some("ik_wrong"), None, &[]).await.problem(401, "unauthorized");
    app.call(Method::GET, path, Some(&format!("ik_{}", "A".repeat(43))), None, &[])
        .await
        .problem(401, "unauthorized");
    app.call(Method::GET, path, None, None, &[("authorization", "Basic Zm9vOmJhcg==")])
        .await
        .problem(401, "unauthorized");
    let reader = app.key_with(&["invites:read"], None).await;
    app.with_key(&reader).get(path).await.expect(200);
    let keys = app.get("/v1/keys").await.expect(200);
    let id = keys["keys"].as_array().unwrap().iter().find(|k| k["name"] == "k").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!keys.to_string().contains(&reader), "key list must not show secrets");
    let revoked = app.delete(&format!("/v1/keys/{id}")).await.expect(200);
    assert!(revoked["revoked_at"].is_string());
    app.with_key(&reader).get(path).await.problem(401, "unauthorized");
}
both!(missing_bad_and_revoked_keys_are_401);

async fn missing_scopes_are_403() {
    let app = spawn_app().await;
    let reader = app.key_with(&["invites:read"], None).await;
    let (id, token) = app.invite_one("ann@example.com").await;
    let invite = viewers(&["x@example.com"]);
    let forbidden = [
        (Method::POST, "/v1/tenants/acme/invitations".to_string(), Some(invite)),
        (Method::POST, format!("/v1/tenants/acme/invitations/{id}/resend"), Some(json!({}))),
        (Method::POST, format!("/v1/tenants/acme/invitations/{id}/revoke"), Some(json!({}))),
        (Method::POST, "/v1/invitations/accept".into(), Some(json!({"token": token}))),
        (Method::POST, "/v1/tenants".into(), Some(json!({"id": "x", "name": "X"}))),
        (Method::GET, "/v1/keys".into(), None),
    ];
    for (method, path, body) in forbidden {
        app.with_key(&reader).send(method, &path, body.as_ref()).await.problem(403, "forbidden");
    }
    let got = app.with_key(&reader).invitation("acme", &id).await.expect(200);
    assert_eq!(
        got["capabilities"],
        json!({"can_resend": false, "can_revoke": false, "can_change_roles": false})
    );
    // Nothing changed.
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "pending");
}
both!(missing_scopes_are_403);

async fn a_key_never_sees_another_tenants_data() {
    let app = spawn_app().await;
    let globex =
        app.post("/v1/tenants/globex/invitations", viewers(&["g@example.com"])).await.expect(201);
    let g_id = globex["invitations"][0]["id"].as_str().unwrap().to_string();
    let g_token = token_of(&globex["invitations"][0]);
    let acme_only = app.key_with(&["invites:read", "invites:write"], Some(&["acme"])).await;
    let acme = app.with_key(&acme_only);
    // Foreign tenant and foreign ids answer exactly like missing ones.
    let foreign = acme.invitation("globex", &g_id).await.problem(404, "not_found");
    let missing = acme
        .invitation("nope", "0190c3a4-0000-7000-8000-000000000000")
        .await
        .problem(404, "not_found");
    assert_eq!(foreign["detail"], missing["detail"]);
    let not_found = [
        (Method::GET, "/v1/tenants/globex/invitations".to_string(), None),
        (Method::GET, "/v1/tenants/globex".into(), None),
        (Method::GET, format!("/v1/tenants/acme/invitations/{g_id}"), None),
        (Method::POST, format!("/v1/tenants/acme/invitations/{g_id}/revoke"), Some(json!({}))),
        (Method::POST, format!("/v1/tenants/globex/invitations/{g_id}/resend"), Some(json!({}))),
        (Method::POST, "/v1/invitations/accept".into(), Some(json!({"token": g_token}))),
        (Method::POST, "/v1/invitations/lookup".into(), Some(json!({"token": g_token}))),
        (Method::GET, format!("/v1/tenants/acme/invitations/{g_id}/events"), None),
    ];
    for (method, path, body) in not_found {
        acme.send(method, &path, body.as_ref()).await.problem(404, "not_found");
    }
    assert_eq!(app.invitation("globex", &g_id).await.expect(200)["status"], "pending");
    // Its own tenant works.
    acme.create("acme", viewers(&["a@example.com"])).await.expect(201);
}
both!(a_key_never_sees_another_tenants_data);

async fn tenants_and_roles_over_the_api() {
    let app = spawn_app().await;
    let t = app.post("/v1/tenants", json!({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "name": "Initech", "language": "fr", "invitation_lifetime_days": 14})).await.expect(201);
    assert_eq!(t["invitation_lifetime_days"], 14);
    assert_eq!(t["language"], "fr");
    app.post("/v1/tenants", json!({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "name": "Again"}))
        .await
        .problem(409, "tenant_exists");
    let bad_ids =
        ["", "a/b", ".", "..", "%2e", "%2E%2E", "a\\b", "a?b", "a#b", "a%2Fb", "a b", "a\u{7}b"];
    let bad_ids = bad_ids.map(|id| json!({"id": id, "name": "X"}));
    let other_faults = [
        json!({"id": "x", "name": ""}),
        json!({"id": "x", "name": "X", "invitation_lifetime_days": 31}),
        json!({"id": "x", "name": "X", "accept_redirect_url": "javascript:alert(1)"}),
    ];
    for bad in bad_ids.into_iter().chain(other_faults) {
        app.post("/v1/tenants", bad).await.problem(400, "invalid_request");
    }
    let roles = app.get("/v1/tenants/3fa85f64-5717-4562-b3fc-2c963f66afa6/roles").await.expect(200);
    assert_eq!(strings(&roles["roles"], "id"), ["viewer", "editor", "admin", "owner"]);
    app.post("/v1/tenants/acme/roles", json!({"id": "billing", "name": "Billing", "rank": 2}))
        .await
        .expect(201);
    app.post("/v1/tenants/acme/roles", json!({"id": "billing", "name": "Billing"}))
        .await
        .problem(409, "role_exists");
    app.create("acme", json!({"emails": ["b@example.com"], "roles": ["billing"]}))
        .await
        .expect(201);
    let patched = app
        .call(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(&app.key),
            Some(&json!({"name": "Acme Corp", "accept_redirect_url": "https://acme.test/welcome"})),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(patched["name"], "Acme Corp");
    assert_eq!(patched["accept_redirect_url"], "https://acme.test/welcome");
    let cleared = app
        .call(
            Method::PATCH,
            "/v1/tenants/acme",
            Some(&app.key),
            Some(&json!({"accept_redirect_url": null})),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(cleared["accept_redirect_url"], serde_json::Value::Null);
    assert_eq!(cleared["name"], "Acme Corp");
    // A tenant-bound admin cannot create tenants.
    let bound = app.key_with(&["tenants:admin"], Some(&["acme"])).await;
    app.call(
        Method::POST,
        "/v1/tenants",
        Some(&bound),
        Some(&json!({"id": "y", "name": "Y"})),
        &[],
    )
    .await
    .problem(403, "forbidden");
}
both!(tenants_and_roles_over_the_api);

async fn keys_cannot_grant_more_than_they_have() {
    let app = spawn_app().await;
    let limited = app.key_with(&["keys:admin", "invites:read"], Some(&["acme"])).await;
    let call = |body: serde_json::Value| {
        let (app, key) = (&app, limited.clone());
        async move { app.call(Method::POST, "/v1/keys", Some(&key), Some(&body), &[]).await }
    };
    call(json!({"name": "x", "scopes": ["invites:write"], "tenants": ["acme"]}))
        .await
        .problem(403, "forbidden");
    call(json!({"name": "x", "scopes": ["invites:read"]})).await.problem(403, "forbidden");
    call(json!({"name": "x", "scopes": ["invites:read"], "tenants": ["globex"]}))
        .await
        .problem(400, "invalid_request");
    let ok = call(json!({"name": "x", "scopes": ["invites:read"], "tenants": ["acme"]}))
        .await
        .expect(201);
    assert!(ok["secret"].as_str().unwrap().starts_with("ik_"));
    app.post("/v1/keys", json!({"name": "x", "scopes": ["root"]}))
        .await
        .problem(400, "invalid_request");
    app.post("/v1/keys", json!({"name": "x", "scopes": []})).await.problem(400, "invalid_request");
    app.post("/v1/keys", json!({"name": "x", "scopes": ["invites:read"], "tenants": ["nope"]}))
        .await
        .problem(400, "invalid_request");
}
both!(keys_cannot_grant_more_than_they_have);

async fn malformed_requests_get_problem_documents() {
    let app = spawn_app().await;
    let url = format!("{}/v1/tenants/acme/invitations", app.base);
    let send = |body: &'static str, ctype: Option<&'static str>| {
        let (client, url, key) = (app.client.clone(), url.clone(), app.key.clone());
        async move {
            let mut req = client.post(url).bearer_auth(key).body(body);
            if let Some(c) = ctype {
                req = req.header("content-type", c);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let ctype = resp.headers().get("content-type").unwrap().to_str().unwrap().to_string();
            let body: serde_json::Value = resp.json().await.unwrap();
            (status, ctype, body)
        }
    };
    let (status, ctype, body) = send("{\"emails\": [", Some("application/json")).await;
    assert_eq!(
        (status, ctype.as_str(), body["code"].as_str()),
        (400, "application/problem+json", Some("malformed_json"))
    );
    let (status, _, body) = send("{}", None).await;
    assert_eq!((status, body["code"].as_str()), (415, Some("unsupported_media_type")));
    let (status, _, body) = send("[]", Some("application/json")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed_json")));
    app.get("/v1/tenants/acme/invitations/not-a-uuid").await.problem(400, "invalid_request");
    app.get("/v1/nowhere").await.problem(404, "not_found");
    app.get("/v1/tenants/nope/invitations").await.problem(404, "not_found");
    let big = "x".repeat(2 * 1024 * 1024);
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body(format!("{{\"message\": \"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
}
both!(malformed_requests_get_problem_documents);

async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 200);
}
both!(health_and_readiness);
