//! Wix Site Invites, as the seed documents and the official client send
//! them.

use crate::harness::*;
use serde_json::{Value, json};

/// Every field of a `SiteInvite`, typed.
const SITE_INVITE: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("siteId", Kind::Str),
    ("email", Kind::Str),
    ("policyIds", Kind::Strs),
    ("status", Kind::Str),
    ("acceptLink", Kind::OptStr),
    ("inviterAccountId", Kind::OptStr),
    ("acceptedByAccountId", Kind::OptStr),
    ("dateCreated", Kind::Str),
    ("staffId", Kind::OptStr),
    ("expirationDate", Kind::Str),
    ("locationIds", Kind::Strs),
    ("callerCapabilities", Kind::Strs),
];

/// A request as the official client sends it: the raw key in
/// `Authorization`, the site in `wix-site-id`.
async fn wix(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    site: Option<&str>,
    body: &str,
) -> Reply {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        req = req.header("authorization", key);
    }
    if let Some(site) = site {
        req = req.header("wix-site-id", site);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply { status, headers, body }
}

#[track_caller]
fn assert_validation(reply: Reply, field: &str, rule: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
    assert!(reply.body["message"].is_string());
    let violations =
        reply.body["details"]["validationError"]["fieldViolations"].as_array().unwrap();
    assert!(
        violations.iter().any(|v| v["field"] == field
            && v["violatedRule"] == rule
            && v["description"].is_string()),
        "{}",
        reply.body
    );
}

#[track_caller]
fn assert_application(reply: Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert!(reply.body["message"].is_string());
    let app_error = &reply.body["details"]["applicationError"];
    assert_eq!(app_error["code"], code, "{}", reply.body);
    assert!(app_error["description"].is_string());
    assert!(app_error["data"].is_object());
}

async fn the_seed_bulk_example_works_as_written() {
    let app = spawn_app().await;
    app.post(
        "/v1/tenants/acme/roles",
        json!({"id": "6600344420111308827", "name": "Website Manager", "rank": 3}),
    )
    .await
    .expect(201);
    // The seed's curl body, verbatim.
    let body = r#"{ "policyIds": [ "6600344420111308827" ], "emails": [ "some@email.com" ] }"#;
    let reply = wix(&app, "/invites/site-invite/bulk", Some(&app.key), Some("acme"), body).await;
    assert_eq!(reply.status.as_u16(), 200, "exactly 200: {}", reply.body);
    let mut keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["failedEmails", "invites"]);
    assert_eq!(reply.body["failedEmails"], json!([]));
    let invite = &reply.body["invites"][0];
    assert_shape(invite, SITE_INVITE);
    assert_eq!(invite["siteId"], "acme");
    assert_eq!(invite["email"], "some@email.com");
    assert_eq!(invite["policyIds"], json!(["6600344420111308827"]));
    assert_eq!(invite["status"], "Pending");
    assert!(invite["acceptLink"].as_str().unwrap().starts_with("http://invitd.test/i/"));
    assert!(invite["acceptedByAccountId"].is_null());
    assert!(invite["staffId"].is_null());
    assert_eq!(invite["locationIds"], json!([]));
    assert_eq!(invite["callerCapabilities"], json!(["RESEND_INVITE", "REVOKE_INVITE"]));
    assert_eq!(
        date(&invite["expirationDate"]) - date(&invite["dateCreated"]),
        time::Duration::days(7)
    );
    // The same invitation through /v1.
    let id = invite["id"].as_str().unwrap();
    let native = app.invitation("acme", id).await.expect(200);
    assert_eq!(native["status"], "pending");
    assert_eq!(native["roles"], json!(["6600344420111308827"]));
    // A Bearer prefix is accepted too.
    let reply = wix(
        &app,
        "/invites/site-invite/bulk",
        Some(&format!("Bearer {}", app.key)),
        Some("acme"),
        r#"{"policyIds": ["viewer"], "emails": ["b@example.com"]}"#,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200);
}
both!(the_seed_bulk_example_works_as_written);

async fn bulk_options_and_failed_emails() {
    let app = spawn_app().await;
    app.invite(&["taken@example.com"]).await;
    let body = json!({
        "policyIds": ["editor"],
        "emails": ["new@example.com", "not an email", "taken@example.com"],
        "invitePurpose": "Redesign review",
        "defaultEmailLanguage": "de",
        "locationRestriction": {"locationIds": ["loc-1", "loc-2"]}
    });
    let reply =
        wix(&app, "/invites/site-invite/bulk", Some(&app.key), Some("acme"), &body.to_string())
            .await;
    let body = reply.expect(200);
    assert_eq!(body["failedEmails"], json!(["not an email", "taken@example.com"]));
    let invite = &body["invites"][0];
    assert_shape(invite, SITE_INVITE);
    assert_eq!(invite["locationIds"], json!(["loc-1", "loc-2"]));
    let native = app
        .get(&format!("/v1/tenants/acme/invitations/{}", invite["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(native["purpose"], "Redesign review");
    assert_eq!(native["language"], "de");
    assert_eq!(native["location_ids"], json!(["loc-1", "loc-2"]));
}
both!(bulk_options_and_failed_emails);

async fn bad_bulk_requests_are_refused_in_wix_shape() {
    let app = spawn_app().await;
    let path = "/invites/site-invite/bulk";
    // (site header, body, field named, reason)
    let refusals = [
        (Some("acme"), r#"{"policyIds": ["viewer"], "emails": []}"#, "emails", "REQUIRED_FIELD"),
        (
            Some("acme"),
            r#"{"policyIds": [], "emails": ["a@example.com"]}"#,
            "policyIds",
            "REQUIRED_FIELD",
        ),
        (Some("acme"), r#"{"emails": ["a@example.com"]}"#, "policyIds", "REQUIRED_FIELD"),
        (
            Some("acme"),
            r#"{"policyIds": ["wizard"], "emails": ["a@example.com"]}"#,
            "policyIds",
            "OTHER",
        ),
        (
            Some("acme"),
            r#"{"policyIds": ["viewer"], "emails": ["a@example.com"], "defaultEmailLanguage": "not a language"}"#,
            "defaultEmailLanguage",
            "FORMAT",
        ),
        (Some("acme"), r#"{"policyIds": "#, "body", "FORMAT"),
        (
            None,
            r#"{"policyIds": ["viewer"], "emails": ["a@example.com"]}"#,
            "wix-site-id",
            "REQUIRED_FIELD",
        ),
    ];
    for (site, body, field, reason) in refusals {
        assert_validation(wix(&app, path, Some(&app.key), site, body).await, field, reason);
    }
    let ok = r#"{"policyIds": ["viewer"], "emails": ["a@example.com"]}"#;
    assert_application(wix(&app, path, None, Some("acme"), ok).await, 401, "UNAUTHORIZED");
    assert_application(
        wix(&app, path, Some("ik_nope"), Some("acme"), ok).await,
        401,
        "UNAUTHORIZED",
    );
    let reader = app.key_with(&["invites:read"], None).await;
    assert_application(wix(&app, path, Some(&reader), Some("acme"), ok).await, 403, "FORBIDDEN");
    let globex_only = app.key_with(&["invites:write"], Some(&["globex"])).await;
    assert_application(
        wix(&app, path, Some(&globex_only), Some("acme"), ok).await,
        404,
        "NOT_FOUND",
    );
    assert_application(
        wix(&app, path, Some(&app.key), Some("no-such-site"), ok).await,
        404,
        "NOT_FOUND",
    );
    assert_eq!(
        app.get("/v1/tenants/acme/invitations").await.expect(200)["invitations"],
        json!([]),
        "nothing stored"
    );
}
both!(bad_bulk_requests_are_refused_in_wix_shape);

async fn resend_and_revoke_as_the_sdk_sends_them() {
    let app = spawn_app().await;
    let (id, old_token) = app.invite_one_ready_to_resend("ann@example.com").await;
    let path = format!("/invites/site-invite/{id}/resend");
    // The client repeats inviteId in the body.
    let reply = wix(
        &app,
        &path,
        Some(&app.key),
        Some("acme"),
        &json!({"inviteId": id, "defaultEmailLanguage": "fr"}).to_string(),
    )
    .await;
    let body = reply.expect(200);
    assert_eq!(body.as_object().unwrap().len(), 1);
    let invite = &body["invite"];
    assert_shape(invite, SITE_INVITE);
    assert_eq!(invite["id"], id.as_str());
    let link = invite["acceptLink"].as_str().unwrap();
    assert!(!link.ends_with(&old_token), "a new link");
    assert_eq!(app.accept(&old_token).await.status.as_u16(), 409, "the old link is dead");
    // The seed's curl resend sends no body at all.
    app.advance(time::Duration::minutes(2));
    assert_eq!(wix(&app, &path, Some(&app.key), Some("acme"), "").await.status.as_u16(), 200);
    // Within the cooldown: 429 with Retry-After.
    let reply = wix(&app, &path, Some(&app.key), Some("acme"), "{}").await;
    assert!(reply.headers.get("retry-after").is_some());
    assert_application(reply, 429, "RESEND_COOLDOWN");
    assert_validation(
        wix(
            &app,
            &path,
            Some(&app.key),
            Some("acme"),
            &json!({"inviteId": uuid::Uuid::now_v7()}).to_string(),
        )
        .await,
        "inviteId",
        "OTHER",
    );
    assert_validation(
        wix(&app, "/invites/site-invite/not-a-guid/resend", Some(&app.key), Some("acme"), "{}")
            .await,
        "inviteId",
        "FORMAT",
    );
    assert_application(
        wix(
            &app,
            &format!("/invites/site-invite/{}/resend", uuid::Uuid::now_v7()),
            Some(&app.key),
            Some("acme"),
            "{}",
        )
        .await,
        404,
        "NOT_FOUND",
    );

    // Revoke answers 200 {} exactly.
    let revoke = format!("/invites/site-invite/{id}/revoke");
    let reply =
        wix(&app, &revoke, Some(&app.key), Some("acme"), &json!({"inviteId": id}).to_string())
            .await;
    assert_eq!(reply.expect(200), json!({}));
    assert_eq!(app.invitation("acme", &id).await.expect(200)["status"], "revoked");
    assert_application(
        wix(&app, &revoke, Some(&app.key), Some("acme"), "{}").await,
        409,
        "INVITATION_REVOKED",
    );
    assert_application(
        wix(&app, &path, Some(&app.key), Some("acme"), "{}").await,
        409,
        "INVITATION_REVOKED",
    );
    let globex = app.key_with(&["invites:write"], Some(&["globex"])).await;
    assert_application(
        wix(&app, &revoke, Some(&globex), Some("globex"), "{}").await,
        404,
        "NOT_FOUND",
    );
}
both!(resend_and_revoke_as_the_sdk_sends_them);

#[test]
fn statuses_map_to_wix_words() {
    use invitd_core::Status;
    use invitd_server::compat::wix::status;
    assert_eq!(
        [Status::Pending, Status::Accepted, Status::Declined, Status::Revoked, Status::Expired]
            .map(status),
        ["Pending", "Used", "Declined", "Deleted", "Expired"]
    );
}
