//! Console sessions: signing in and out, idle expiry, CSRF, cookies from
//! elsewhere, the sign-in limit and the headers of every page.

use super::Console;
use crate::harness::*;

async fn signs_in_and_shows_the_tenants_the_key_reaches() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    // Signed out, a page sends the browser to sign in, and back after.
    let got = console.get("/admin/tenants?x=1").await.expect(303);
    assert_eq!(got.location(), Some("/admin/sign-in?next=%2Fadmin%2Ftenants%3Fx%3D1"));
    let form = console.get("/admin/sign-in").await.expect(200);
    assert!(form.html.contains("<label for=\"api_key\">API key</label>"), "{}", form.html);
    assert!(form.html.contains(">Sign in</button>"));
    let key = app.key_with(&["invites:read"], Some(&["globex"])).await;
    let signed = console.sign_in(&key).await.expect(303);
    assert_eq!(signed.location(), Some("/admin"));
    let cookie = signed.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("invitd_console="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http here: no Secure ({cookie})");
    // The session id is not the key, and only its hash is stored.
    assert!(!cookie.contains(&key));
    let page = console.get("/admin/tenants").await.expect(200);
    assert!(page.html.contains("Globex"), "{}", page.html);
    // Without JavaScript, times are in UTC and the page says so.
    assert!(page.html.contains(" UTC</time>"), "{}", page.html);
    assert!(page.html.contains("Times are in UTC."));
    assert!(!page.html.contains("Acme Inc"), "the key does not reach acme");
    assert!(!page.html.contains(&key), "the key is never shown back");
    let headers = &page.headers;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}
both!(signs_in_and_shows_the_tenants_the_key_reaches);

async fn a_wrong_key_is_refused_and_rate_limited() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    let wrong = format!("ik_{}", "A".repeat(43));
    let got = console.sign_in(&wrong).await.expect(401);
    assert!(got.html.contains("That key was not accepted"), "{}", got.html);
    assert!(got.headers.get("set-cookie").is_none());
    console.sign_in("not even a key").await.expect(401);
    // Ten refusals a minute per address; then even the right key waits.
    for _ in 0..8 {
        console.sign_in(&wrong).await.expect(401);
    }
    let limited = console.sign_in(&app.key).await.expect(429);
    assert!(limited.headers.get("retry-after").is_some());
    assert!(limited.html.contains("Too many sign-in attempts"), "{}", limited.html);
    assert!(console.cookie.is_none());
}
both!(a_wrong_key_is_refused_and_rate_limited);

async fn a_session_ends_after_eight_idle_hours_and_lives_while_used() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    // Used every seven hours, it lives on.
    for _ in 0..3 {
        app.advance(time::Duration::hours(7));
        console.get("/admin/tenants").await.expect(200);
    }
    app.advance(time::Duration::hours(8) + time::Duration::minutes(1));
    let got = console.get("/admin/tenants").await.expect(303);
    assert!(got.location().unwrap().starts_with("/admin/sign-in"));
    // Gone for good: going back in time does not revive it.
    app.advance(-time::Duration::hours(8));
    console.get("/admin/tenants").await.expect(303);
}
both!(a_session_ends_after_eight_idle_hours_and_lives_while_used);

async fn signing_out_ends_the_session_everywhere() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let copy = Console { cookie: console.cookie.clone(), ..Console::new(&app) };
    let out = console.post("/admin/tenants", "/admin/sign-out", &[]).await.expect(303);
    assert_eq!(out.location(), Some("/admin/sign-in?signed_out=1"));
    let cleared = out.headers["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let page = console.get("/admin/sign-in?signed_out=1").await.expect(200);
    assert!(page.html.contains("You are signed out."));
    // The same cookie, kept by someone, opens nothing.
    copy.get("/admin/tenants").await.expect(303);
}
both!(signing_out_ends_the_session_everywhere);

async fn a_stolen_cookie_without_the_form_token_is_refused() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    // The cookie alone (as a cross-site form would send it) does nothing.
    let refused = console.post_raw("/admin/sign-out", &[]).await.expect(403);
    assert!(refused.html.contains("no longer valid"), "{}", refused.html);
    console.post_raw("/admin/sign-out", &[("csrf", "forged")]).await.expect(403);
    // Another session's token does not fit this one.
    let other = Console::signed_in(&app, &app.key).await;
    let theirs = other.get("/admin/tenants").await.expect(200).csrf();
    console.post_raw("/admin/sign-out", &[("csrf", &theirs)]).await.expect(403);
    console.get("/admin/tenants").await.expect(200);
    // The right token from another site's page is refused too.
    let mine = console.get("/admin/tenants").await.expect(200).csrf();
    let got = console.post_with_origin("/admin/sign-out", &mine, "https://evil.example").await;
    assert_eq!(got.status.as_u16(), 403);
    console.get("/admin/tenants").await.expect(200);
}
both!(a_stolen_cookie_without_the_form_token_is_refused);

async fn a_cookie_from_another_installation_is_refused() {
    let here = spawn_app().await;
    let there = spawn_app().await;
    let theirs = Console::signed_in(&there, &there.key).await;
    theirs.get("/admin/tenants").await.expect(200);
    let stranger = Console { cookie: theirs.cookie.clone(), ..Console::new(&here) };
    let got = stranger.get("/admin/tenants").await.expect(303);
    assert!(got.location().unwrap().starts_with("/admin/sign-in"));
    // A made-up cookie of the right shape, likewise.
    let forged = Console {
        cookie: Some(format!("invitd_console={}", "B".repeat(43))),
        ..Console::new(&here)
    };
    forged.get("/admin/tenants").await.expect(303);
}
both!(a_cookie_from_another_installation_is_refused);

async fn revoking_the_key_ends_its_sessions() {
    let app = spawn_app().await;
    let key = app.key_with(&["invites:read"], None).await;
    let console = Console::signed_in(&app, &key).await;
    console.get("/admin/tenants").await.expect(200);
    let keys = app.get("/v1/keys").await.expect(200);
    let id = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "k")
        .map(|k| k["id"].as_str().unwrap().to_string())
        .unwrap();
    app.delete(&format!("/v1/keys/{id}")).await.expect(200);
    app.running.state.keys.forget_all();
    console.get("/admin/tenants").await.expect(303);
}
both!(revoking_the_key_ends_its_sessions);

async fn behind_https_the_cookie_is_secure() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| c.public_url = "https://invitd.example".into())),
        ..Default::default()
    })
    .await;
    let mut console = Console::new(&app);
    // The browser's Origin is the public https address.
    let signed = console.sign_in_from(&app.key, "https://invitd.example").await.expect(303);
    let cookie = signed.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
}
both!(behind_https_the_cookie_is_secure);
