//! API keys in the console: the list, a new key's secret shown once,
//! revoking through a confirmation page, refused input, and keys without
//! `keys:admin`.

use super::{Console, Got};
use crate::harness::*;

/// The secret a create page shows.
fn secret_on(page: &Got) -> String {
    let start = "<p class=\"secret\" id=\"new-secret\">";
    let at = page.html.find(start).unwrap_or_else(|| panic!("no secret: {}", page.html));
    let rest = &page.html[at + start.len()..];
    rest[..rest.find("</p>").unwrap()].to_string()
}

/// How many keys `/v1/keys` lists.
async fn key_count(app: &TestApp) -> usize {
    app.get("/v1/keys").await.expect(200)["keys"].as_array().unwrap().len()
}

async fn a_new_key_is_shown_once_and_signs_in() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let list = console.get("/admin/keys").await.expect(200);
    assert!(list.html.contains("test-admin"), "{}", list.html);
    assert!(list.html.contains("<h2 id=\"create-heading\">Create a key</h2>"));
    assert!(list.html.contains("name=\"scopes\" value=\"keys:admin\""));
    assert!(!list.html.contains("id=\"new-secret\""));
    let fields = [
        ("name", "support desk"),
        ("scopes", "invites:read"),
        ("scopes", "invites:write"),
        ("tenants", " acme "),
    ];
    let made = console.post("/admin/keys", "/admin/keys", &fields).await.expect(200);
    let secret = secret_on(&made);
    assert!(secret.starts_with("ik_"), "{secret}");
    assert!(made.html.contains(
        "<button type=\"button\" class=\"js-only\" data-copy=\"new-secret\" data-copied=\"Copied\">Copy</button>"
    ));
    assert!(made.html.contains("Copy it now: it is shown only this once."));
    assert_eq!(made.headers["cache-control"], "no-store");
    // The new key works on /v1, within what it was given.
    let v1 = app.with_key(&secret);
    v1.get("/v1/tenants/acme/invitations").await.expect(200);
    v1.get("/v1/tenants/globex/invitations").await.expect(404);
    let listed = app.get("/v1/keys").await.expect(200);
    let new = listed["keys"].as_array().unwrap().iter().find(|k| k["name"] == "support desk");
    let new = new.expect("listed");
    assert_eq!(new["scopes"], serde_json::json!(["invites:read", "invites:write"]));
    assert_eq!(new["tenants"], serde_json::json!(["acme"]));
    // The list never shows it again, only its hint.
    let again = console.get("/admin/keys").await.expect(200);
    assert!(!again.html.contains(&secret), "the secret is shown once");
    assert!(!again.html.contains("id=\"new-secret\""));
    assert!(again.html.contains("support desk"));
    assert!(again.html.contains(new["hint"].as_str().unwrap()));
    assert!(again.html.contains("<td>invites:read, invites:write</td>"), "{}", again.html);
    assert!(again.html.contains("<td>acme</td>"));
    assert!(again.html.contains("<td>all</td>"), "the admin key reaches all tenants");
}
both!(a_new_key_is_shown_once_and_signs_in);

async fn a_key_is_revoked_through_a_confirmation_page() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let fields = [("name", "leaving"), ("scopes", "invites:read"), ("tenants", "")];
    let made = console.post("/admin/keys", "/admin/keys", &fields).await.expect(200);
    let secret = secret_on(&made);
    app.with_key(&secret).get("/v1/tenants/globex/invitations").await.expect(200);
    let listed = app.get("/v1/keys").await.expect(200);
    let id =
        listed["keys"].as_array().unwrap().iter().find(|k| k["name"] == "leaving").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let path = format!("/admin/keys/{id}/revoke");
    let list = console.get("/admin/keys").await.expect(200);
    assert!(list.html.contains(&format!("href=\"{path}\"")), "{}", list.html);
    let confirm = console.get(&path).await.expect(200);
    assert!(confirm.html.contains("Revoke this key?"), "{}", confirm.html);
    assert!(confirm.html.contains(&format!("<form method=\"post\" action=\"{path}\">")));
    assert!(confirm.html.contains("<dd>leaving</dd>"));
    let done = console.post(&path, &path, &[]).await.expect(303);
    assert_eq!(done.location(), Some("/admin/keys?done=revoked"));
    app.running.state.keys.forget_all();
    app.with_key(&secret).get("/v1/tenants/globex/invitations").await.expect(401);
    let page = console.get("/admin/keys?done=revoked").await.expect(200);
    assert!(page.html.contains("<p class=\"notice\" role=\"status\">The key is revoked"));
    assert!(page.html.contains("<span class=\"badge badge-revoked\">Revoked</span>"));
    assert!(!page.html.contains(&format!("href=\"{path}\"")), "no revoke link for a revoked key");
    let again = console.get(&path).await.expect(200);
    assert!(again.html.contains("This key is already revoked."));
    assert!(!again.html.contains("<form method=\"post\" action=\"/admin/keys/"));
    let unknown = format!("/admin/keys/{}/revoke", uuid::Uuid::now_v7());
    console.get(&unknown).await.expect(404);
    console.get("/admin/keys/not-an-id/revoke").await.expect(404);
}
both!(a_key_is_revoked_through_a_confirmation_page);

/// A refused form: its fields, the field with the error, and the error.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

async fn bad_key_input_is_refused_and_creates_nothing() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let before = key_count(&app).await;
    let cases: [Case; 3] = [
        (&[("name", "  "), ("scopes", "invites:read")], "key-name", "must not be empty"),
        (&[("name", "no scope"), ("tenants", "acme")], "key-scopes", "at least one scope"),
        (
            &[("name", "stranger"), ("scopes", "invites:read"), ("tenants", "acme, nope")],
            "key-tenants",
            "unknown tenant",
        ),
    ];
    for (fields, id, message) in cases {
        let got = console.post("/admin/keys", "/admin/keys", fields).await.expect(400);
        let error = format!("<span class=\"field-error\" id=\"{id}-error\">");
        let at = got.html.find(&error).unwrap_or_else(|| panic!("{id}: {}", got.html));
        assert!(got.html[at..].split("</span>").next().unwrap().contains(message), "{}", got.html);
        assert!(!got.html.contains("id=\"new-secret\""));
    }
    // What was typed comes back.
    let got = console
        .post("/admin/keys", "/admin/keys", &[("name", "kept"), ("tenants", "acme, nope")])
        .await
        .expect(400);
    assert!(got.html.contains("value=\"kept\"") && got.html.contains("value=\"acme, nope\""));
    assert_eq!(key_count(&app).await, before, "nothing created");
}
both!(bad_key_input_is_refused_and_creates_nothing);

async fn a_key_without_keys_admin_is_refused() {
    let app = spawn_app().await;
    let key = app.key_with(&["invites:read", "invites:write", "tenants:admin"], None).await;
    let console = Console::signed_in(&app, &key).await;
    let tenants = console.get("/admin/tenants").await.expect(200);
    assert!(!tenants.html.contains("href=\"/admin/keys\""), "no nav link");
    let got = console.get("/admin/keys").await.expect(403);
    assert!(got.html.contains("keys:admin"), "{}", got.html);
    let before = key_count(&app).await;
    let fields = [("name", "sneaky"), ("scopes", "invites:read")];
    console.post("/admin/tenants", "/admin/keys", &fields).await.expect(403);
    assert_eq!(key_count(&app).await, before, "nothing created");
    // Nor may it revoke one.
    let id = app.get("/v1/keys").await.expect(200)["keys"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/admin/keys/{id}/revoke");
    console.get(&path).await.expect(403);
    console.post("/admin/tenants", &path, &[]).await.expect(403);
    let listed = app.get("/v1/keys").await.expect(200);
    assert!(listed["keys"][0]["revoked_at"].is_null());
}
both!(a_key_without_keys_admin_is_refused);

async fn a_tenant_bound_key_grants_only_what_it_has() {
    let app = spawn_app().await;
    let key = app.key_with(&["invites:read", "keys:admin"], Some(&["acme"])).await;
    let console = Console::signed_in(&app, &key).await;
    let page = console.get("/admin/keys").await.expect(200);
    assert!(!page.html.contains("value=\"invites:write\""), "only the scopes it holds");
    assert!(!page.html.contains("test-admin"), "the all-tenant key is out of its sight");
    let before = key_count(&app).await;
    let all = [("name", "wide"), ("scopes", "invites:read"), ("tenants", "")];
    let got = console.post("/admin/keys", "/admin/keys", &all).await.expect(403);
    assert!(got.html.contains("This key cannot grant that: all tenants"), "{}", got.html);
    let more = [("name", "more"), ("scopes", "invites:write"), ("tenants", "acme")];
    console.post("/admin/keys", "/admin/keys", &more).await.expect(403);
    assert_eq!(key_count(&app).await, before, "nothing created");
    let fine = [("name", "narrow"), ("scopes", "invites:read"), ("tenants", "acme")];
    let made = console.post("/admin/keys", "/admin/keys", &fine).await.expect(200);
    app.with_key(&secret_on(&made)).get("/v1/tenants/acme/invitations").await.expect(200);
}
both!(a_tenant_bound_key_grants_only_what_it_has);
