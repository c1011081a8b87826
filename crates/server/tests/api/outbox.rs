//! The email written to the outbox with the invitation and delivered by
//! the worker through the file transport.

use crate::harness::*;
use serde_json::json;

/// Decodes quoted-printable soft line breaks and `=XX` escapes.
fn unqp(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

async fn the_email_carries_everything_and_its_link_works() {
    let app = spawn_app().await;
    let body = app
        .create(
            "acme",
            json!({
                "emails": ["ann@example.com"], "roles": ["editor", "admin"],
                "message": "Hi <script>alert(1)</script> & welcome",
                "inviter": {"email": "lead@acme.test"}
            }),
        )
        .await
        .expect(201);
    let inv = &body["invitations"][0];
    let id = inv["id"].as_str().unwrap();
    let token = token_of(inv);
    assert!(app.emails().is_empty(), "nothing is sent before the worker runs");
    assert_eq!(app.deliver().await, 1);
    assert_eq!(app.deliver().await, 0, "a sent email is not sent again");
    let emails = app.emails();
    assert_eq!(emails.len(), 1);
    let raw = &emails[0];
    let (headers, _) = raw.split_once("\r\n\r\n").expect("RFC 5322 header/body split");
    assert!(headers.contains("To: ann@example.com"));
    assert!(headers.contains("Subject: lead@acme.test invited you to Acme Inc"));
    assert!(headers.contains("Message-ID: <outbox-"));
    assert!(headers.contains("Date: "));
    assert!(headers.contains("multipart/alternative"));
    let text = unqp(raw);
    assert!(text.contains("Content-Type: text/plain"));
    assert!(text.contains("Content-Type: text/html"));
    assert!(text.contains("Editor, Admin"));
    assert!(text.contains("Acme Inc"));
    assert!(text.contains(&format!("http://invitd.test/i/{token}")));
    assert!(text.contains("valid until"));
    // User text is escaped in the HTML part, verbatim in the text part.
    let html = text.split("Content-Type: text/html").nth(1).unwrap();
    assert!(!html.contains("<script>"), "HTML must escape user text");
    assert!(html.contains("&lt;script&gt;"));
    let plain = text.split("Content-Type: text/html").next().unwrap();
    assert!(plain.contains("Hi <script>alert(1)</script> & welcome"));

    let got = app.invitation("acme", id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "sent");
    assert_eq!(got["delivery"]["attempts"], 1);
    assert!(got["delivery"]["sent_at"].is_string());

    // Following the link changes nothing.
    let page = app.client.get(format!("{}/i/{token}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers().get("referrer-policy").unwrap(), "no-referrer");
    let html = page.text().await.unwrap();
    assert!(html.contains("Acme Inc"));
    assert_eq!(app.invitation("acme", id).await.expect(200)["status"], "pending");
    let unknown =
        app.client.get(format!("{}/i/{}", app.base, "x".repeat(43))).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}
both!(the_email_carries_everything_and_its_link_works);

async fn a_resend_drops_the_unsent_email_and_queues_a_new_one() {
    let app = spawn_app().await;
    let (id, old) = app.invite_one("ann@example.com").await;
    app.advance(time::Duration::minutes(2));
    let resent = app.resend("acme", &id).await.expect(200);
    let new = token_of(&resent);
    assert_eq!(app.deliver().await, 1, "only the email with the live link is sent");
    let emails = app.emails();
    assert_eq!(emails.len(), 1);
    let text = unqp(&emails[0]);
    assert!(text.contains(&new));
    assert!(!text.contains(&old));
    assert!(text.contains("Reminder"));
    let old_page = app.client.get(format!("{}/i/{old}", app.base)).send().await.unwrap();
    assert_eq!(old_page.status(), 410);
}
both!(a_resend_drops_the_unsent_email_and_queues_a_new_one);

async fn an_unwritable_mail_folder_is_retried_later() {
    let app = spawn_app().await;
    // A file where the folder should be: the transport cannot write.
    std::fs::write(&app.mail_dir, b"not a folder").unwrap();
    let (id, _) = app.invite_one("ann@example.com").await;
    assert_eq!(app.deliver().await, 1);
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "queued");
    assert_eq!(got["delivery"]["attempts"], 1);
    assert!(got["delivery"]["last_error"].as_str().unwrap().contains("cannot"));
    assert_eq!(app.deliver().await, 0, "not due before the backoff");
    std::fs::remove_file(&app.mail_dir).unwrap();
    app.advance(time::Duration::minutes(1));
    assert_eq!(app.deliver().await, 1);
    let got = app.invitation("acme", &id).await.expect(200);
    assert_eq!(got["delivery"]["state"], "sent");
    assert_eq!(app.emails().len(), 1);
}
both!(an_unwritable_mail_folder_is_retried_later);
