//! The console's webhook pages: the list and one endpoint with its state and
//! attempts; a test event delivered signed to that endpoint alone; enable,
//! disable and rotate through the same service as `/v1`; keys without
//! `tenants:admin` refused; and `POST /v1/…/webhooks/{id}/test`.

use super::Console;
use crate::harness::*;
use crate::webhooks::{Receiver, app, pump, subscribe, verify};
use serde_json::{Value, json};

/// A page's HTML with the escapes minijinja writes in text and attributes
/// (`/` as `&#x2f;`) read back, so assertions can name paths and secrets.
fn decoded(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"").replace("&amp;", "&")
}

/// The page at `path`, asserting `status`, decoded.
async fn open(console: &Console<'_>, path: &str, status: u16) -> String {
    decoded(&console.get(path).await.expect(status).html)
}

/// The one request `rx` got, checked as signed with `secret`.
fn only_signed_request(rx: &Receiver, secret: &str) -> Value {
    let (seen, raw) = (rx.seen(), rx.raw());
    assert_eq!(seen.len(), 1, "{seen:?}");
    verify(&seen[0].0, &raw[0], secret);
    seen[0].1.clone()
}

async fn the_list_and_the_endpoint_page_show_each_state() {
    let app = app().await;
    let healthy = Receiver::start(vec![]).await;
    let failing = Receiver::start(vec![500; 20]).await;
    let (ok_hook, ok_secret) = subscribe(&app, &healthy.url, json!([])).await;
    let (bad_hook, bad_secret) = subscribe(&app, &failing.url, json!(["invitation.created"])).await;
    app.invite_one("ann@example.com").await;
    pump(&app).await;
    app.advance(time::Duration::days(1));
    pump(&app).await;

    let console = Console::signed_in(&app, &app.key).await;
    let html = &open(&console, "/admin/tenants/acme/webhooks", 200).await;
    for text in [
        "<a href=\"/admin/tenants\">Tenants</a>",
        "<a href=\"/admin/tenants/acme\">Acme Inc</a>",
        "<span aria-current=\"page\">Webhooks</span>",
        &format!("href=\"/admin/tenants/acme/webhooks/{ok_hook}\""),
        &format!("href=\"/admin/tenants/acme/webhooks/{bad_hook}\""),
        &healthy.url,
        "All invitation events",
        "invitation.created",
        "badge-enabled\">Enabled",
        "Failing since",
    ] {
        assert!(html.contains(text), "{text} missing from {html}");
    }
    assert!(!html.contains(&ok_secret) && !html.contains("whsec_"), "never a secret");

    let html = &open(&console, &format!("/admin/tenants/acme/webhooks/{bad_hook}"), 200).await;
    for text in [
        "<a href=\"/admin/tenants/acme/webhooks\">Webhooks</a>",
        &failing.url,
        "Failing since",
        "<td>500</td>",
        "badge-failed\">Failed",
        "<code>invitation.created</code>",
        "Send test event",
        "name=\"csrf\"",
    ] {
        assert!(html.contains(text), "{text} missing from {html}");
    }
    assert!(!html.contains(&bad_secret) && !html.contains("whsec_"), "never a secret");

    // Failing long enough, invitd disables it and says why.
    for _ in 0..6 {
        app.advance(time::Duration::days(1));
        pump(&app).await;
    }
    // Days later, the session is long over: sign in again.
    let console = Console::signed_in(&app, &app.key).await;
    let html = open(&console, &format!("/admin/tenants/acme/webhooks/{bad_hook}"), 200).await;
    assert!(html.contains("badge-disabled\">Disabled"), "{html}");
    assert!(html.contains("disabled after failing since"), "{html}");
    assert!(html.contains(">Enable</button>"), "{html}");
    let list = open(&console, "/admin/tenants/acme/webhooks", 200).await;
    assert!(list.contains("disabled after failing since"), "{list}");
    let healthy_page =
        open(&console, &format!("/admin/tenants/acme/webhooks/{ok_hook}"), 200).await;
    assert!(healthy_page.contains("<td>200</td>") && healthy_page.contains("Delivered"));
    assert!(!healthy_page.contains("Failing since"));

    // Unknown, malformed, or another tenant's: not found.
    for path in [
        "/admin/tenants/acme/webhooks/0190c3a4-0000-7000-8000-000000000000",
        "/admin/tenants/acme/webhooks/not-an-id",
        &format!("/admin/tenants/globex/webhooks/{ok_hook}"),
    ] {
        console.get(path).await.expect(404);
    }
}
both!(the_list_and_the_endpoint_page_show_each_state);

async fn a_test_event_reaches_its_endpoint_alone_signed_and_shows_among_attempts() {
    let app = app().await;
    let target = Receiver::start(vec![]).await;
    let sibling = Receiver::start(vec![]).await;
    let elsewhere = Receiver::start(vec![]).await;
    // Subscribed to one other type only: a test reaches it all the same.
    let (hook, secret) = subscribe(&app, &target.url, json!(["invitation.accepted"])).await;
    subscribe(&app, &sibling.url, json!([])).await;
    app.post("/v1/tenants/globex/webhooks", json!({"url": elsewhere.url})).await.expect(201);

    let console = Console::signed_in(&app, &app.key).await;
    let page = format!("/admin/tenants/acme/webhooks/{hook}");
    let html = open(&console, &page, 200).await;
    assert!(html.contains("No delivery attempts yet."), "{html}");
    let sent = console.post(&page, &format!("{page}/test"), &[]).await.expect(303);
    assert_eq!(sent.location(), Some(format!("{page}?done=test").as_str()));
    let html = open(&console, &format!("{page}?done=test"), 200).await;
    assert!(html.contains("<p class=\"notice\" role=\"status\">A test event is queued."), "{html}");

    assert_eq!(pump(&app).await, 1, "one delivery");
    let body = only_signed_request(&target, &secret);
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["data"]["details"]["webhook_id"], hook.as_str());
    assert_eq!(body["data"]["details"]["url"], target.url.as_str());
    assert!(body["data"]["invitation"].is_null());
    assert_eq!(body["data"]["actor"]["kind"], "api_key");
    assert!(sibling.seen().is_empty() && elsewhere.seen().is_empty(), "no other endpoint");

    let html = open(&console, &page, 200).await;
    assert!(html.contains("<code>webhook.test</code>"), "{html}");
    assert!(html.contains(&format!("{}</span>", body["id"].as_str().unwrap())), "{html}");
    assert!(html.contains("<td>200</td>") && html.contains("badge-delivered\">Delivered"));
    // In the audit trail, with the key as actor.
    let events = app.get("/v1/tenants/acme/events?type=webhook.test").await.expect(200);
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"]["kind"], "api_key");
}
both!(a_test_event_reaches_its_endpoint_alone_signed_and_shows_among_attempts);

async fn disable_asks_first_and_enable_turns_it_back_on() {
    let app = app().await;
    let rx = Receiver::start(vec![]).await;
    let (hook, _) = subscribe(&app, &rx.url, json!([])).await;
    let console = Console::signed_in(&app, &app.key).await;
    let page = format!("/admin/tenants/acme/webhooks/{hook}");
    let html = open(&console, &page, 200).await;
    assert!(html.contains(&format!("href=\"{page}/disable\">Disable</a>")), "{html}");

    let confirm = open(&console, &format!("{page}/disable"), 200).await;
    assert!(confirm.contains("Disable this endpoint?"), "{confirm}");
    assert!(confirm.contains(&format!("action=\"{page}/disable\"")), "{confirm}");
    assert!(confirm.contains(&format!("href=\"{page}\">Cancel</a>")), "{confirm}");
    let v1 = format!("/v1/tenants/acme/webhooks/{hook}");
    assert_eq!(app.get(&v1).await.expect(200)["enabled"], true, "asking changes nothing");

    let done = console.post(&page, &format!("{page}/disable"), &[]).await.expect(303);
    assert_eq!(done.location(), Some(format!("{page}?done=disabled").as_str()));
    assert_eq!(app.get(&v1).await.expect(200)["enabled"], false);
    let html = open(&console, &format!("{page}?done=disabled"), 200).await;
    assert!(html.contains("The endpoint is disabled.") && html.contains("badge-disabled"));
    // Disabled, new events are not queued for it.
    app.invite_one("ann@example.com").await;
    pump(&app).await;
    assert!(rx.seen().is_empty());

    let done = console.post(&page, &format!("{page}/enable"), &[]).await.expect(303);
    assert_eq!(done.location(), Some(format!("{page}?done=enabled").as_str()));
    assert_eq!(app.get(&v1).await.expect(200)["enabled"], true);
    let html = open(&console, &format!("{page}?done=enabled"), 200).await;
    assert!(html.contains("The endpoint is enabled.") && html.contains("badge-enabled"));
    let updates = app.get("/v1/tenants/acme/events?type=webhook.updated").await.expect(200);
    assert_eq!(updates["events"].as_array().unwrap().len(), 2);
}
both!(disable_asks_first_and_enable_turns_it_back_on);

async fn rotating_shows_the_new_secret_once_and_later_deliveries_use_it() {
    let app = app().await;
    let rx = Receiver::start(vec![]).await;
    let (hook, old) = subscribe(&app, &rx.url, json!([])).await;
    let console = Console::signed_in(&app, &app.key).await;
    let page = format!("/admin/tenants/acme/webhooks/{hook}");
    let confirm = open(&console, &format!("{page}/rotate-secret"), 200).await;
    assert!(confirm.contains("Rotate the signing secret?"), "{confirm}");
    assert!(!confirm.contains("whsec_"));

    let shown = console.post(&page, &format!("{page}/rotate-secret"), &[]).await.expect(200);
    let shown = decoded(&shown.html);
    let start = shown.find("<p class=\"secret\" id=\"new-secret\">").expect("the secret") + 34;
    let secret = shown[start..start + shown[start..].find('<').unwrap()].to_string();
    assert!(secret.starts_with("whsec_") && secret != old, "{secret}");
    assert!(shown.contains(
        "<button type=\"button\" class=\"js-only\" data-copy=\"new-secret\" data-copied=\"Copied\">Copy</button>"
    ));
    assert!(shown.contains("Copy it now: it is shown only this once."));
    for path in
        [page.clone(), format!("{page}/rotate-secret"), "/admin/tenants/acme/webhooks".into()]
    {
        let html = open(&console, &path, 200).await;
        assert!(!html.contains(&secret) && !html.contains("whsec_"), "{path} shows a secret");
    }
    let rotated = app.get("/v1/tenants/acme/events?type=webhook.secret_rotated").await.expect(200);
    assert_eq!(rotated["events"].as_array().unwrap().len(), 1);

    console.post(&page, &format!("{page}/test"), &[]).await.expect(303);
    pump(&app).await;
    assert_eq!(only_signed_request(&rx, &secret)["type"], "webhook.test");
}
both!(rotating_shows_the_new_secret_once_and_later_deliveries_use_it);

async fn a_key_without_tenants_admin_is_refused_and_changes_nothing() {
    let app = app().await;
    let rx = Receiver::start(vec![]).await;
    let (hook, _) = subscribe(&app, &rx.url, json!([])).await;
    let page = format!("/admin/tenants/acme/webhooks/{hook}");
    let reader = app.key_with(&["invites:read", "invites:write"], None).await;
    let console = Console::signed_in(&app, &reader).await;
    for path in [
        "/admin/tenants/acme/webhooks".to_string(),
        page.clone(),
        format!("{page}/disable"),
        format!("{page}/rotate-secret"),
    ] {
        let got = console.get(&path).await.expect(403);
        assert!(got.html.contains("tenants:admin"), "{path}: {}", got.html);
    }
    for action in ["test", "disable", "enable", "rotate-secret"] {
        let got =
            console.post("/admin/tenants", &format!("{page}/{action}"), &[]).await.expect(403);
        assert!(!got.html.contains("whsec_"), "{action}");
    }
    // Without the form's token, even the full key is refused.
    let admin = Console::signed_in(&app, &app.key).await;
    admin.post_raw(&format!("{page}/test"), &[]).await.expect(403);
    admin.post_raw(&format!("{page}/disable"), &[("csrf", "forged")]).await.expect(403);

    assert_eq!(pump(&app).await, 0, "no test event queued");
    let got = app.get(&format!("/v1/tenants/acme/webhooks/{hook}")).await.expect(200);
    assert_eq!(got["enabled"], true);
    for kind in ["webhook.test", "webhook.updated", "webhook.secret_rotated"] {
        let events = app.get(&format!("/v1/tenants/acme/events?type={kind}")).await.expect(200);
        assert_eq!(events["events"], json!([]), "no {kind}");
    }
}
both!(a_key_without_tenants_admin_is_refused_and_changes_nothing);

async fn the_v1_test_route_queues_a_signed_test_event() {
    let app = app().await;
    let rx = Receiver::start(vec![]).await;
    let (hook, secret) = subscribe(&app, &rx.url, json!([])).await;
    let queued =
        app.post(&format!("/v1/tenants/acme/webhooks/{hook}/test"), json!({})).await.expect(202);
    assert_eq!(queued["event_type"], "webhook.test");
    let event_id = queued["event_id"].as_str().unwrap();
    assert!(event_id.starts_with("evt_"), "{queued}");
    assert_eq!(pump(&app).await, 1);
    let body = only_signed_request(&rx, &secret);
    assert_eq!(body["id"], event_id);
    let attempts = app.get(&format!("/v1/tenants/acme/webhooks/{hook}/attempts")).await.expect(200);
    let attempt = &attempts["attempts"][0];
    assert_eq!(attempt["event_id"], event_id);
    assert_eq!(attempt["delivery_id"], queued["delivery_id"]);
    assert_eq!(
        (attempt["event_type"].as_str(), attempt["status_code"].as_u64()),
        (Some("webhook.test"), Some(200))
    );

    let unknown = "/v1/tenants/acme/webhooks/0190c3a4-0000-7000-8000-000000000000/test";
    app.post(unknown, json!({})).await.problem(404, "not_found");
    app.post(&format!("/v1/tenants/globex/webhooks/{hook}/test"), json!({}))
        .await
        .problem(404, "not_found");
    let reader = app.key_with(&["invites:read", "invites:write"], None).await;
    app.with_key(&reader)
        .post(&format!("/v1/tenants/acme/webhooks/{hook}/test"), json!({}))
        .await
        .problem(403, "forbidden");
    assert_eq!(pump(&app).await, 0, "nothing else queued");
}
both!(the_v1_test_route_queues_a_signed_test_event);
