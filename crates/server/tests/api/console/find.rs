//! Finding a person's invitations across tenants from the tenants page.

use super::Console;
use crate::harness::*;
use serde_json::json;

async fn finds_an_address_in_every_tenant_the_key_reaches() {
    let app = spawn_app().await;
    for tenant in ["acme", "globex"] {
        app.create(tenant, json!({"emails": ["Sam@Example.com"], "roles": ["viewer"]}))
            .await
            .expect(201);
    }
    app.create("acme", json!({"emails": ["other@example.com"], "roles": ["viewer"]}))
        .await
        .expect(201);
    let console = Console::signed_in(&app, &app.key).await;
    let tenants = console.get("/admin/tenants").await.expect(200);
    assert!(tenants.html.contains("invitations by email address"), "{}", tenants.html);
    let found = console.get("/admin/find?email=sam%40example.com").await.expect(200);
    assert!(found.html.contains("Acme Inc") && found.html.contains("Globex"), "{}", found.html);
    assert_eq!(found.html.matches("<td><a href=").count(), 2, "{}", found.html);
    assert!(!found.html.contains("other@example.com"));
    assert!(found.html.contains("badge-pending"));
    // A key that reaches one tenant finds only there.
    let narrow = app.key_with(&["invites:read"], Some(&["globex"])).await;
    let console = Console::signed_in(&app, &narrow).await;
    let found = console.get("/admin/find?email=sam%40example.com").await.expect(200);
    assert!(found.html.contains("Globex") && !found.html.contains("Acme Inc"), "{}", found.html);
    // Not an address: said so, 400; nothing found: said so.
    let bad = console.get("/admin/find?email=nope").await.expect(400);
    assert!(bad.html.contains("role=\"alert\""), "{}", bad.html);
    let none = console.get("/admin/find?email=nobody%40example.com").await.expect(200);
    assert!(none.html.contains("No invitations to this address"), "{}", none.html);
}
both!(finds_an_address_in_every_tenant_the_key_reaches);
