//! A tenant's invitations in the console: the table, its filters, search
//! and pages; the form for new invitations and its outcome per address;
//! refusals (bad filters, empty forms, keys without the scope).

use super::{Console, Got};
use crate::harness::*;
use invitd_core::Clock;
use serde_json::json;

const LIST: &str = "/admin/tenants/acme/invitations";
const NEW: &str = "/admin/tenants/acme/invitations/new";

/// The addresses in the table, top to bottom, with their invitation ids.
fn rows(got: &Got) -> Vec<(String, String)> {
    let marker = format!("<td><a href=\"{LIST}/");
    got.html
        .split(&marker)
        .skip(1)
        .map(|rest| {
            let (id, rest) = rest.split_once("\">").expect("a link");
            let (email, _) = rest.split_once("</a>").expect("the link's end");
            (email.to_string(), id.to_string())
        })
        .collect()
}

fn emails(got: &Got) -> Vec<String> {
    rows(got).into_iter().map(|(email, _)| email).collect()
}

/// The page with the character references of its links undone, as a
/// browser reads them.
fn decoded(got: &Got) -> String {
    got.html.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&amp;", "&")
}

/// The target of the link whose text is `text`.
fn link(got: &Got, text: &str) -> Option<String> {
    let html = decoded(got);
    let end = html.find(&format!(">{text}</a>"))?;
    let tag = &html[html[..end].rfind("<a ")?..end];
    let start = tag.find("href=\"")? + 6;
    Some(tag[start..][..tag[start..].find('"')?].to_string())
}

/// The addresses listed for `query`.
async fn only(console: &Console<'_>, query: &str) -> Vec<String> {
    emails(&console.get(&format!("{LIST}?{query}")).await.expect(200))
}

/// Today and the day `days` from now, as the date inputs send them.
fn day(app: &TestApp, days: i64) -> String {
    let d = (app.clock.now() + time::Duration::days(days)).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Invitations the API lists for acme.
async fn listed(app: &TestApp) -> Vec<serde_json::Value> {
    app.all_pages("/v1/tenants/acme/invitations?limit=200", "invitations").await
}

async fn lists_newest_first_with_each_filter_and_the_search() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let empty = console.get(LIST).await.expect(200);
    assert!(empty.html.contains("No invitations yet."), "{}", empty.html);
    assert!(link(&empty, "Next page").is_none() && link(&empty, "First page").is_none());
    app.invite(&["ann@example.com"]).await;
    app.deliver_all().await;
    app.advance(time::Duration::days(2));
    app.create("acme", json!({"emails": ["bob@example.com"], "roles": ["viewer"]}))
        .await
        .expect(201);
    let (carl, _) = app.invite_one("carl@example.com").await;
    app.revoke("acme", &carl).await.expect(200);

    let console = Console::signed_in(&app, &app.key).await;
    let page = console.get(LIST).await.expect(200);
    assert_eq!(emails(&page), ["carl@example.com", "bob@example.com", "ann@example.com"]);
    let html = &decoded(&page);
    assert!(html.contains(&format!("href=\"{LIST}/{carl}\">carl@example.com</a>")), "{html}");
    for seen in [
        "<span class=\"badge badge-revoked\">Revoked</span>",
        "<span class=\"badge badge-pending\">Pending</span>",
        "<td class=\"hide-narrow\">Viewer</td>",
        "<td class=\"hide-narrow\">Editor</td>",
        "<span class=\"badge badge-sent\">Sent</span>",
        "<span class=\"badge badge-queued\">Queued</span>",
        "<th scope=\"col\">Address</th>",
        "<caption>Invitations, newest first</caption>",
        "<a href=\"/admin/tenants\">Tenants</a>",
        "<a href=\"/admin/tenants/acme\">Acme Inc</a>",
        "<span aria-current=\"page\">Invitations</span>",
        "<label for=\"f-q\">Search by address</label>",
        "it must match exactly, though not in case",
        "<time datetime=",
    ] {
        assert!(html.contains(seen), "{seen} missing from {html}");
    }
    assert_eq!(link(&page, "New invitations").as_deref(), Some(NEW));
    assert_eq!(link(&page, "Webhooks").as_deref(), Some("/admin/tenants/acme/webhooks"));
    assert!(link(&page, "Next page").is_none() && link(&page, "First page").is_none());

    assert_eq!(only(&console, "status=revoked").await, ["carl@example.com"]);
    assert_eq!(only(&console, "status=pending").await, ["bob@example.com", "ann@example.com"]);
    assert_eq!(only(&console, "status=any").await.len(), 3);
    assert_eq!(only(&console, "role=viewer").await, ["bob@example.com"]);
    assert_eq!(only(&console, "role=editor&status=pending").await, ["ann@example.com"]);
    // Days are UTC days, both ends whole.
    let today = day(&app, 0);
    let first_day = day(&app, -2);
    assert_eq!(only(&console, &format!("to={first_day}")).await, ["ann@example.com"]);
    assert_eq!(
        only(&console, &format!("from={today}")).await,
        ["carl@example.com", "bob@example.com"]
    );
    assert_eq!(only(&console, &format!("from={first_day}&to={today}")).await.len(), 3);
    assert_eq!(only(&console, &format!("from={}", day(&app, 1))).await, Vec::<String>::new());
    // The search matches the whole address, in any case.
    assert_eq!(only(&console, "q=BOB%40Example.com").await, ["bob@example.com"]);
    let part = console.get(&format!("{LIST}?q=bob")).await.expect(200);
    assert!(emails(&part).is_empty());
    assert!(part.html.contains("No invitations match these filters."), "{}", part.html);
    // The form keeps what was chosen.
    let kept = console.get(&format!("{LIST}?status=pending&role=viewer&q=x%40y.z")).await;
    let kept = kept.expect(200).html;
    assert!(kept.contains("<option value=\"pending\" selected>Pending</option>"), "{kept}");
    assert!(kept.contains("<option value=\"viewer\" selected>Viewer</option>"), "{kept}");
    assert!(kept.contains("value=\"x@y.z\""), "{kept}");

    // Past their expiry, pending invitations read as expired at once.
    app.advance(time::Duration::days(31));
    let console = Console::signed_in(&app, &app.key).await;
    assert_eq!(only(&console, "status=pending").await, Vec::<String>::new());
    assert_eq!(only(&console, "status=expired").await, ["bob@example.com", "ann@example.com"]);
    let later = console.get(LIST).await.expect(200);
    assert!(!later.html.contains("badge-pending"), "{}", later.html);
}
both!(lists_newest_first_with_each_filter_and_the_search);

async fn pages_through_sixty_invitations() {
    let app = spawn_app().await;
    let all: Vec<String> = (1..=60).map(|n| format!("user{n:02}@example.com")).collect();
    let body = json!({"emails": all, "roles": ["editor"]});
    app.create("acme", body).await.expect(201);
    let console = Console::signed_in(&app, &app.key).await;

    let first = console.get(&format!("{LIST}?role=editor")).await.expect(200);
    let mut seen = emails(&first);
    assert_eq!(seen.len(), 50);
    assert_eq!(seen[0], "user60@example.com", "newest first");
    assert!(link(&first, "First page").is_none());
    let next = link(&first, "Next page").expect("a next page");
    assert!(next.starts_with(&format!("{LIST}?role=editor&cursor=")), "{next}");

    let second = console.get(&next).await.expect(200);
    let rest = emails(&second);
    assert_eq!(rest.len(), 10);
    assert!(link(&second, "Next page").is_none(), "{}", second.html);
    assert_eq!(link(&second, "First page").as_deref(), Some(&*format!("{LIST}?role=editor")));
    assert!(rest.iter().all(|e| !seen.contains(e)), "the pages overlap");
    seen.extend(rest);
    seen.sort();
    assert_eq!(seen, all);
}
both!(pages_through_sixty_invitations);

async fn bad_filters_show_the_form_with_400() {
    let app = spawn_app().await;
    app.invite(&["ann@example.com"]).await;
    let console = Console::signed_in(&app, &app.key).await;
    for (query, says) in [
        ("status=lost", "Status: choose one of the statuses listed."),
        ("from=2026-13-01", "Created from: enter a date as YYYY-MM-DD"),
        ("to=31%2F01%2F2026", "Created to: enter a date as YYYY-MM-DD"),
        ("from=2026-02-02&to=2026-02-01", "must not be before the day in Created from"),
        ("role=pilot", "Role: this tenant has no such role."),
        ("cursor=page2", "This page link is no longer valid."),
    ] {
        let got = console.get(&format!("{LIST}?{query}")).await.expect(400);
        assert!(got.html.contains(says), "{query}: {}", got.html);
        assert!(got.html.contains("<form class=\"filters\""), "{query}: the form is shown");
        assert!(emails(&got).is_empty(), "{query}: no table");
    }
    let marked = console.get(&format!("{LIST}?from=soon")).await.expect(400).html;
    assert!(marked.contains("value=\"soon\""), "{marked}");
    assert!(marked.contains("filter-problems\" aria-invalid=\"true\""), "{marked}");
}
both!(bad_filters_show_the_form_with_400);

async fn the_new_form_invites_each_address_and_says_what_became_of_the_others() {
    let app = spawn_app().await;
    app.invite(&["pending@example.com"]).await;
    let console = Console::signed_in(&app, &app.key).await;
    let form = decoded(&console.get(NEW).await.expect(200));
    for seen in [
        "<label for=\"f-emails\">Addresses</label>",
        "One a line, or separated by commas or semicolons.",
        "name=\"roles\" value=\"editor\"",
        ">Editor</label>",
        "<option value=\"de\">Deutsch (German)</option>",
        "<label for=\"f-message\">Message</label>",
        "name=\"expires_in_days\" type=\"number\"",
        ">Send invitations</button>",
        "<a href=\"/admin/tenants/acme/invitations\">Invitations</a>",
    ] {
        assert!(form.contains(seen), "{seen} missing from {form}");
    }

    let typed = "amy@example.com, not-an-address\nben@example.com; AMY@example.com\r\n\
                 cat@example.com\npending@example.com";
    let fields = [
        ("emails", typed),
        ("roles", "editor"),
        ("roles", "viewer"),
        ("language", "de"),
        ("message", "Welcome aboard"),
        ("expires_in_days", "5"),
    ];
    let got = console.post(NEW, NEW, &fields).await.expect(200);
    let html = &decoded(&got);
    assert!(html.contains("<li><strong>3</strong> invited</li>"), "{html}");
    assert!(html.contains("<li><strong>3</strong> not invited</li>"), "{html}");
    for seen in [
        "<td>not-an-address</td>\n    <td><strong>Not a valid address</strong></td>",
        "<td>AMY@example.com</td>\n    <td><strong>Already earlier in the list</strong></td>",
        "<td>pending@example.com</td>\n    <td><strong>Already has a pending invitation</strong>",
        "this address appears earlier in the request",
    ] {
        assert!(html.contains(seen), "{seen} missing from {html}");
    }
    // No accept link: only the invitations' own pages.
    assert!(!html.contains("/i/"), "the accept link is a secret: {html}");

    let made = listed(&app).await;
    assert_eq!(made.len(), 4);
    let mut links = Vec::new();
    for email in ["amy@example.com", "ben@example.com", "cat@example.com"] {
        let inv = made.iter().find(|i| i["email"] == email).expect(email);
        assert_eq!(inv["language"], "de");
        assert_eq!(inv["message"], "Welcome aboard");
        assert_eq!(inv["roles"], json!(["editor", "viewer"]), "{inv}");
        let created = time::OffsetDateTime::parse(
            inv["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let expires = time::OffsetDateTime::parse(
            inv["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(expires - created, time::Duration::days(5));
        let href = format!("href=\"{LIST}/{}\">Invited</a>", inv["id"].as_str().unwrap());
        assert!(html.contains(&href), "{href} missing from {html}");
        links.push(inv["id"].as_str().unwrap().to_string());
    }
    let table = console.get(LIST).await.expect(200);
    let shown = rows(&table);
    for (email, id) in [("cat", &links[2]), ("ben", &links[1]), ("amy", &links[0])] {
        assert!(shown.contains(&(format!("{email}@example.com"), id.clone())), "{email}");
    }
    assert!(table.html.contains("Editor, Viewer") || table.html.contains("Viewer, Editor"));
}
both!(the_new_form_invites_each_address_and_says_what_became_of_the_others);

async fn an_empty_form_is_refused_with_nothing_made() {
    let app = spawn_app().await;
    let console = Console::signed_in(&app, &app.key).await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("emails", " \n, ;"), ("roles", "editor")], "Addresses: enter at least one address."),
        (&[("emails", "amy@example.com")], "Roles: tick at least one role."),
        (
            &[("emails", "amy@example.com"), ("roles", "editor"), ("expires_in_days", "soon")],
            "Expires in days: enter a whole number from 1 to 30.",
        ),
        (&[("emails", "amy@example.com"), ("roles", "pilot")], "unknown roles: pilot"),
    ];
    for (fields, says) in cases {
        let got = console.post(NEW, NEW, fields).await.expect(400);
        assert!(got.html.contains(says), "{says} missing from {}", got.html);
        assert!(got.html.contains(">Send invitations</button>"), "the form again");
    }
    // What was typed comes back.
    let kept = console.post(NEW, NEW, &[("emails", "amy@example.com")]).await.expect(400);
    assert!(kept.html.contains(">amy@example.com</textarea>"), "{}", kept.html);
    let long = "x".repeat(5000);
    let too_long = [("emails", "amy@example.com"), ("roles", "editor"), ("message", &long)];
    let got = console.post(NEW, NEW, &too_long).await.expect(400);
    assert!(got.html.contains("Message: must be at most"), "{}", got.html);
    assert!(listed(&app).await.is_empty(), "nothing was created");
}
both!(an_empty_form_is_refused_with_nothing_made);

async fn keys_without_the_scopes_are_refused() {
    let app = spawn_app().await;
    app.invite(&["ann@example.com"]).await;
    let reader = app.key_with(&["invites:read"], Some(&["acme"])).await;
    let console = Console::signed_in(&app, &reader).await;
    let page = console.get(LIST).await.expect(200);
    assert_eq!(emails(&page), ["ann@example.com"]);
    assert!(link(&page, "New invitations").is_none(), "{}", page.html);
    let form = console.get(NEW).await.expect(403);
    assert!(form.html.contains("invites:write"), "{}", form.html);
    let csrf = page.csrf();
    let fields = [("csrf", csrf.as_str()), ("emails", "bob@example.com"), ("roles", "editor")];
    console.post_raw(NEW, &fields).await.expect(403);
    assert_eq!(listed(&app).await.len(), 1, "nothing was created");

    let admin = app.key_with(&["tenants:admin"], None).await;
    let console = Console::signed_in(&app, &admin).await;
    let got = console.get(LIST).await.expect(403);
    assert!(got.html.contains("invites:read"), "{}", got.html);
    // Another tenant's list is not there for a key bound to acme.
    let bound = Console::signed_in(&app, &reader).await;
    bound.get("/admin/tenants/globex/invitations").await.expect(404);
}
both!(keys_without_the_scopes_are_refused);

async fn addresses_past_the_quota_are_not_invited() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"invitations_per_day": 2})).await.expect(200);
    let console = Console::signed_in(&app, &app.key).await;
    let fields =
        [("emails", "amy@example.com\nben@example.com\ncat@example.com"), ("roles", "editor")];
    let got = console.post(NEW, NEW, &fields).await.expect(200);
    assert!(decoded(&got).contains("<li><strong>2</strong> invited</li>"), "{}", got.html);
    let html = decoded(&got);
    let cat = "<td>cat@example.com</td>\n    <td><strong>Over the tenant's quota</strong>";
    assert!(html.contains(cat), "{html}");
    // Nobody invited at all: the form again, with when to try.
    let more = [("emails", "dan@example.com"), ("roles", "editor")];
    let refused = console.post(NEW, NEW, &more).await.expect(429);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(decoded(&refused).contains("Nobody was invited: the tenant's quota is used up."));
    assert!(refused.html.contains(">dan@example.com</textarea>"), "{}", refused.html);
    assert_eq!(listed(&app).await.len(), 2);
}
both!(addresses_past_the_quota_are_not_invited);
