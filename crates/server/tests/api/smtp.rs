//! Delivery through a real SMTP server (mailcrab, in process): languages,
//! retries while the server is down, permanent refusals, a thousand emails,
//! and a crash halfway.

use crate::harness::*;
use invitd_core::Clock;
use serde_json::{Value, json};
use std::collections::HashMap;

fn recipient(m: &Value) -> String {
    m["envelope_recipients"][0].as_str().unwrap().to_string()
}

async fn smtp_app(port: u16) -> TestApp {
    spawn_app_with(Options {
        mail_url: Some(format!("smtp://127.0.0.1:{port}")),
        ..Default::default()
    })
    .await
}

async fn emails_arrive_over_smtp_in_each_language() {
    let port = smtp_port();
    let inbox = Inbox::start(port).await;
    let app = smtp_app(port).await;
    app.patch("/v1/tenants/globex", json!({"language": "fr"})).await.expect(200);
    let cases = [
        ("de", "de@example.com", "hat Sie zu Acme Inc eingeladen"),
        ("es", "es@example.com", "te ha invitado a Acme Inc"),
        ("fr", "fr@example.com", "vous invite à rejoindre Acme Inc"),
        ("pt-BR", "pt@example.com", "convidou você para Acme Inc"),
        ("en", "en@example.com", "invited you to Acme Inc"),
        ("ja", "ja@example.com", "invited you to Acme Inc"),
    ];
    for (lang, email, _) in cases {
        app.create("acme", json!({"emails": [email], "roles": ["editor"], "language": lang, "inviter": {"email": "lead@acme.test"}})).await.expect(201);
    }
    app.create("acme", json!({"emails": ["esc@example.com"], "roles": ["editor"], "message": "<img src=x onerror=alert(1)> & co"}),
    )
    .await
    .expect(201);
    // No invitation language: the tenant's.
    app.create("globex", viewers(&["tenant-lang@example.com"])).await.expect(201);
    assert_eq!(app.deliver_all().await, 8);
    let messages = inbox.wait_for(8).await;
    assert_eq!(messages.len(), 8);
    let by_rcpt: HashMap<String, &Value> = messages.iter().map(|m| (recipient(m), m)).collect();
    for (lang, email, subject_part) in cases {
        let m = by_rcpt[email];
        assert_eq!(m["subject"], format!("lead@acme.test {subject_part}"), "{lang}");
        assert!(m["text"].as_str().unwrap().contains("http://invitd.test/i/"), "{lang}");
        assert!(m["html"].as_str().unwrap().contains("href=\"http://invitd.test/i/"), "{lang}");
    }
    assert_eq!(
        by_rcpt["tenant-lang@example.com"]["subject"],
        "Vous êtes invité à rejoindre Globex"
    );
    // User text is escaped in HTML, verbatim in plain text; the sender
    // keeps its display name.
    let esc = by_rcpt["esc@example.com"];
    assert!(!esc["html"].as_str().unwrap().contains("<img"));
    assert!(esc["html"].as_str().unwrap().contains("&lt;img src=x onerror=alert(1)&gt; &amp; co"));
    assert!(esc["text"].as_str().unwrap().contains("<img src=x onerror=alert(1)> & co"));
    assert_eq!(esc["from"]["name"], "invitd");
    assert_eq!(esc["from"]["email"], "invitd@localhost.localdomain");
    // The link in the email works.
    let text = by_rcpt["de@example.com"]["text"].as_str().unwrap();
    let start = text.find("http://invitd.test/i/").unwrap();
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        app.client.get(format!("{}/i/{token}", app.base)).send().await.unwrap().status(),
        200
    );
    let accepted = app.accept(token).await.expect(200);
    assert_eq!(accepted["email"], "de@example.com");
    assert_eq!(accepted["delivery"]["state"], "sent");
    let id = accepted["id"].as_str().unwrap();
    let attempts =
        app.get(&format!("/v1/tenants/acme/invitations/{id}/deliveries")).await.expect(200);
    assert_eq!(attempts["attempts"][0]["outcome"], "sent");
    assert!(attempts["attempts"][0]["detail"].as_str().unwrap().starts_with("250"), "{attempts}");
    inbox.stop();
}
both!(emails_arrive_over_smtp_in_each_language);

async fn a_down_server_is_retried_and_the_mail_arrives_once() {
    let port = smtp_port();
    let app = smtp_app(port).await;
    let (id, _) = app.invite_one("ann@example.com").await;
    assert_eq!(app.deliver().await, 1);
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "queued");
    assert_eq!(got["delivery"]["attempts"], 1);
    assert!(
        got["delivery"]["last_error"].as_str().unwrap().to_lowercase().contains("refused"),
        "{got}"
    );
    let attempts =
        app.get(&format!("/v1/tenants/acme/invitations/{id}/deliveries")).await.expect(200);
    assert_eq!(attempts["attempts"][0]["outcome"], "retry");

    let inbox = Inbox::start(port).await;
    assert_eq!(app.deliver().await, 0, "not due before its backoff (30 s + jitter)");
    app.advance(time::Duration::seconds(37));
    assert_eq!(app.deliver().await, 1);
    app.advance(time::Duration::hours(7));
    assert_eq!(app.deliver().await, 0);
    let messages = inbox.wait_for(1).await;
    assert_eq!(messages.len(), 1, "exactly once");
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "sent");
    assert_eq!(got["delivery"]["attempts"], 2);
    inbox.stop();
}
both!(a_down_server_is_retried_and_the_mail_arrives_once);

/// An SMTP server that refuses every recipient with 550.
async fn refusing_server() -> u16 {
    fn reply(verb: &str) -> &'static [u8] {
        match verb {
            "EHLO" | "HELO" => b"250 refuser\r\n",
            "RCPT" => b"550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown\r\n",
            "QUIT" => b"221 bye\r\n",
            _ => b"250 OK\r\n",
        }
    }
    scripted_smtp(b"220 refuser ESMTP\r\n", reply).await
}

async fn a_permanent_refusal_fails_at_once() {
    let port = refusing_server().await;
    let app = smtp_app(port).await;
    let (id, _) = app.invite_one("ann@example.com").await;
    assert_eq!(app.deliver().await, 1);
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "failed");
    assert!(got["delivery"]["last_error"].as_str().unwrap().contains("550"), "{got}");
    app.advance(time::Duration::days(1));
    assert_eq!(app.deliver().await, 0, "never retried");
    let events = app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await.expect(200);
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "invitation.delivery_failed")
    );
    // The invitation itself is still pending: a resend may try again.
    assert_eq!(got["status"], "pending");
}
both!(a_permanent_refusal_fails_at_once);

async fn the_last_retry_marks_the_email_failed() {
    let port = smtp_port();
    let app = spawn_app_with(Options {
        mail_url: Some(format!("smtp://127.0.0.1:{port}")),
        retry_schedule: Some(vec![time::Duration::seconds(10)]),
        ..Default::default()
    })
    .await;
    let (id, _) = app.invite_one("ann@example.com").await;
    assert_eq!(app.deliver().await, 1);
    app.advance(time::Duration::seconds(13));
    assert_eq!(app.deliver().await, 1);
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "failed");
    assert_eq!(got["delivery"]["attempts"], 2);
    let attempts =
        app.get(&format!("/v1/tenants/acme/invitations/{id}/deliveries")).await.expect(200);
    assert_eq!(strings(&attempts["attempts"], "outcome"), ["retry", "failed"]);
}
both!(the_last_retry_marks_the_email_failed);

async fn names_with_line_breaks_cannot_reach_a_subject() {
    let app = spawn_app().await;
    app.patch("/v1/tenants/acme", json!({"name": "Acme\r\nBcc: evil@example.com"}))
        .await
        .problem(400, "invalid_request");
}
both!(names_with_line_breaks_cannot_reach_a_subject);

const LANGS: [(&str, &str); 5] = [
    ("en", "invited you to"),
    ("de", "eingeladen"),
    ("es", "te ha invitado"),
    ("fr", "vous invite"),
    ("pt", "convidou você"),
];

async fn invite_thousand(app: &TestApp) {
    for (lang, _) in LANGS {
        let emails: Vec<String> = (0..200).map(|i| format!("{lang}-{i}@example.com")).collect();
        let body = app.create("acme", json!({"emails": emails, "roles": ["viewer"], "language": lang, "inviter": {"email": "lead@acme.test"}})).await.expect(201);
        assert_eq!(body["invitations"].as_array().unwrap().len(), 200);
    }
}

fn check_thousand(messages: &[Value]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in messages {
        let rcpt = recipient(m);
        *seen.entry(rcpt.clone()).or_default() += 1;
        let lang = rcpt.split('-').next().unwrap();
        let words = LANGS.iter().find(|(l, _)| *l == lang).unwrap().1;
        assert!(m["subject"].as_str().unwrap().contains(words), "{rcpt}: {}", m["subject"]);
    }
    assert_eq!(seen.len(), 1000, "every address got its email");
    assert!(seen.values().all(|n| *n == 1), "no address got two");
}

async fn a_thousand_invitations_land_once_each_in_their_languages() {
    let port = smtp_port();
    let inbox = Inbox::start(port).await;
    let app = smtp_app(port).await;
    invite_thousand(&app).await;
    assert_eq!(app.deliver_all().await, 1000);
    let messages = inbox.wait_for(1000).await;
    assert_eq!(messages.len(), 1000);
    check_thousand(&messages);
    let sent = app.get("/v1/tenants/acme/invitations?limit=200").await.expect(200);
    assert!(
        sent["invitations"].as_array().unwrap().iter().all(|i| i["delivery"]["state"] == "sent")
    );
    inbox.stop();
}
both!(a_thousand_invitations_land_once_each_in_their_languages);

async fn a_crash_halfway_loses_no_email_and_invents_none() {
    let port = smtp_port();
    let inbox = Inbox::start(port).await;
    let first = smtp_app(port).await;
    invite_thousand(&first).await;
    // Some rounds go out, then the process dies holding a leased batch
    // that it never sent.
    for _ in 0..5 {
        first.deliver().await;
    }
    let leased = first
        .running
        .state
        .store
        .claim_outbox(first.clock.now(), time::Duration::minutes(5), 64)
        .await
        .unwrap();
    assert_eq!(leased.len(), 64);
    let sent_before = inbox.wait_for(320).await.len();
    assert_eq!(sent_before, 320);
    let (dir, database_url, now) =
        (first.dir.clone(), first.database_url.clone(), first.clock.now());
    first.running.abort();

    // A new process on the same database, after the lease ran out.
    let second = spawn_app_with(Options {
        mail_url: Some(format!("smtp://127.0.0.1:{port}")),
        dir: Some(dir),
        database_url: Some(database_url),
        now: Some(now + time::Duration::minutes(6)),
        ..Default::default()
    })
    .await;
    assert_eq!(second.deliver_all().await, 680);
    let messages = inbox.wait_for(1000).await;
    assert_eq!(messages.len(), 1000);
    check_thousand(&messages);
    inbox.stop();
}
both!(a_crash_halfway_loses_no_email_and_invents_none);
