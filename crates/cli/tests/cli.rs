//! The `invitd` binary end to end: migrate, tenants and keys from the
//! command line, `serve` as a separate process, an invitation over HTTP,
//! the email file, and a graceful stop on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{acme_and_key, invitd, run_ok, serve_on_any_port, smtp_without_auth};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The TLS crypto provider for this test binary's HTTP clients.
fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[tokio::test]
async fn the_binary_serves_invites_and_stops_gracefully() {
    tls();
    let dir = tempfile::tempdir().unwrap();
    // The folder does not exist yet: invitd creates it and the file.
    let db = format!("sqlite://{}", dir.path().join("data/invitd.db").display());
    let mail = dir.path().join("mail");

    run_ok(invitd(&db).arg("migrate"));
    let made = run_ok(invitd(&db).args([
        "tenants",
        "create",
        "acme",
        "--name",
        "Acme Inc",
        "--language",
        "de",
    ]));
    // The ticket secret is shown once, on the last line, as the API does.
    let ticket_secret = made.lines().last().unwrap().trim().to_string();
    assert!(ticket_secret.starts_with("ts_") && ticket_secret.len() > 40, "{made:?}");
    assert!(!run_ok(invitd(&db).args(["tenants", "list"])).contains(&ticket_secret));
    let out = invitd(&db).args(["tenants", "create", "acme", "--name", "Again"]).output().unwrap();
    assert!(!out.status.success(), "a duplicate tenant must fail");
    // Ids that a URL path cannot carry are refused, with the reason.
    for bad in [".", "..", "%2e%2e", "a b", "a?b", "a\\b"] {
        let out = invitd(&db).args(["tenants", "create", bad, "--name", "Bad"]).output().unwrap();
        assert!(!out.status.success(), "tenant id {bad:?} must be refused");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("id: must not"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run_ok(invitd(&db).args([
        "keys",
        "create",
        "--name",
        "ops",
        "--scopes",
        "invites:read,invites:write",
        "--tenant",
        "acme",
    ]));
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("ik_") && key.len() == 46, "secret on its own last line: {out:?}");
    let listed = run_ok(invitd(&db).args(["keys", "list"]));
    assert!(listed.contains("ops") && !listed.contains(&key), "list must not show the secret");
    let bad =
        invitd(&db).args(["keys", "create", "--name", "x", "--scopes", "root"]).output().unwrap();
    assert!(!bad.status.success());

    let spec = run_ok(invitd(&db).arg("openapi"));
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert!(spec["paths"]["/v1/tenants/{tenant}/invitations"].is_object());

    let (mut server, base) = serve_on_any_port(
        invitd(&db)
            .args(["serve", "--public-url", "https://invites.example.com"])
            .env("INVITD_MAIL_URL", format!("file://{}", mail.display()))
            // Everything the server logs, at debug level, to check below
            // that no secret gets there.
            .env("INVITD_LOG", "debug")
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("server.log")).unwrap())),
    );
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "server did not start");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let resp = client
        .post(format!("{base}/v1/tenants/acme/invitations"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"emails": ["ann@example.com", "bob@example.com"], "roles": ["editor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: serde_json::Value = resp.json().await.unwrap();
    let url = body["invitations"][0]["accept_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("https://invites.example.com/i/"));

    // The worker in the server writes both emails.
    let started = Instant::now();
    loop {
        let count = std::fs::read_dir(&mail)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .count()
            })
            .unwrap_or(0);
        if count == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "emails not written");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Open the accept page and accept through the API: the token travels
    // in a path and in a body.
    let token = url.rsplit('/').next().unwrap().to_string();
    let page = client.get(format!("{base}/i/{token}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let accepted = client
        .post(format!("{base}/v1/invitations/accept"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);

    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0: {status:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "server did not stop");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("/i/<redacted>"), "the page request is logged, redacted");
    assert!(!log.contains(&token), "no accept token in the logs");
    assert!(!log.contains(&key), "no API key in the logs");
}

#[tokio::test]
async fn send_test_email_delivers_or_explains() {
    tls();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("invitd.db").display());
    // Nothing listens on this port: a plain-language diagnosis, exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = invitd(&db)
        .args([
            "send-test-email",
            "--to",
            "ops@example.com",
            "--mail-url",
            &format!("smtp://127.0.0.1:{closed}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot connect") && stderr.contains("Is the mail server running"),
        "{stderr}"
    );

    // A real SMTP server receives it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let url = format!("smtp://127.0.0.1:{port}");
    let out = tokio::task::spawn_blocking(move || {
        invitd(&db)
            .args([
                "send-test-email",
                "--to",
                "ops@example.com",
                "--mail-url",
                &url,
                "--mail-from",
                "Ops <ops@invitd.example>",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("250"));
    // `?tls=required` refuses a server that does not offer STARTTLS.
    let required = format!("smtp://127.0.0.1:{port}?tls=required");
    let db2 = format!("sqlite://{}", dir.path().join("invitd.db").display());
    let out_tls = tokio::task::spawn_blocking(move || {
        invitd(&db2)
            .args(["send-test-email", "--to", "ops@example.com", "--mail-url", &required])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out_tls.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out_tls.stderr).contains("TLS"),
        "{}",
        String::from_utf8_lossy(&out_tls.stderr)
    );
    // Three mistakes a newcomer makes, each named for what it is.
    let no_auth = smtp_without_auth().await;
    let cases = [
        (
            format!("smtp://user:secret@127.0.0.1:{no_auth}?tls=none"),
            "ops@example.com",
            "does not offer authentication",
        ),
        (
            format!("smtps://127.0.0.1:{port}"),
            "ops@example.com",
            "this port does not speak TLS; try smtp://",
        ),
        (format!("smtp://127.0.0.1:{port}"), "not an address", "not a valid address"),
    ];
    for (url, to, expected) in cases {
        let db3 = format!("sqlite://{}", dir.path().join("invitd.db").display());
        let out = tokio::task::spawn_blocking(move || {
            invitd(&db3).args(["send-test-email", "--to", to, "--mail-url", &url]).output().unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("secret"), "no password in the diagnosis: {stderr}");
    }
    let message =
        tokio::time::timeout(Duration::from_secs(10), server.rx.recv()).await.unwrap().unwrap();
    let message = serde_json::to_value(&message).unwrap();
    assert_eq!(message["subject"], "invitd test message");
    assert_eq!(message["envelope_recipients"][0], "ops@example.com");
    server.token.cancel();
}

/// Kills `invitd serve` with SIGKILL while it is sending 1,000 emails, then
/// starts it again on the same database. Every address gets its email; an
/// email in flight at the kill may arrive twice (SMTP cannot tell us that
/// the server took it), but always with the same Message-ID, so the copy is
/// recognizable as the same message.
#[tokio::test]
async fn a_killed_server_loses_no_email_and_repeats_none_unrecognizably() {
    tls();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("invitd.db").display());
    let smtp_port =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut inbox = mailcrab::development_mail_server([127, 0, 0, 1], smtp_port).await;
    while tokio::net::TcpStream::connect(("127.0.0.1", smtp_port)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok(m) = inbox.rx.recv().await {
            sink.lock().unwrap().push(serde_json::to_value(&m).unwrap());
        }
    });
    let key = acme_and_key(&db);

    let start = || {
        serve_on_any_port(
            invitd(&db)
                .arg("serve")
                .env("INVITD_MAIL_URL", format!("smtp://127.0.0.1:{smtp_port}"))
                .env("INVITD_MAIL_LEASE_SECONDS", "2"),
        )
    };
    let client = reqwest::Client::new();
    let wait_ready = |base: String| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            while client.get(format!("{base}/readyz")).send().await.is_err() {
                assert!(started.elapsed() < Duration::from_secs(20), "server did not start");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let (mut first, base) = start();
    wait_ready(base.clone()).await;
    for (lang, chunk) in [("en", 0), ("de", 1), ("es", 2), ("fr", 3), ("pt", 4)] {
        let emails: Vec<String> =
            (0..200).map(|i| format!("{lang}-{}@example.com", chunk * 200 + i)).collect();
        let resp = client
            .post(format!("{base}/v1/tenants/acme/invitations"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"emails": emails, "roles": ["viewer"], "language": lang}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let started = Instant::now();
    while received.lock().unwrap().len() < 150 {
        assert!(started.elapsed() < Duration::from_secs(30), "sending did not start");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = received.lock().unwrap().len();
    assert!(at_kill < 1000, "the kill must come halfway, not after the end ({at_kill})");

    let (mut second, second_base) = start();
    wait_ready(second_base).await;
    let started = Instant::now();
    let distinct = || {
        let messages = received.lock().unwrap();
        messages
            .iter()
            .map(|m| m["envelope_recipients"][0].as_str().unwrap().to_string())
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    while distinct() < 1000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {} of 1000 addresses got their email",
            distinct()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = received.lock().unwrap().clone();
    let mut ids: std::collections::HashMap<String, std::collections::HashSet<String>> =
        Default::default();
    for m in &messages {
        let rcpt = m["envelope_recipients"][0].as_str().unwrap().to_string();
        let id = m["headers"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("message-id"))
            .map(|(_, v)| v.as_str().unwrap().trim().to_string())
            .unwrap();
        ids.entry(rcpt).or_default().insert(id);
    }
    assert_eq!(ids.len(), 1000);
    assert!(
        ids.values().all(|set| set.len() == 1),
        "a repeated email must carry the same Message-ID"
    );
    // At most the emails in flight at the kill (4 at a time) came twice.
    assert!(messages.len() <= 1000 + 4, "{} messages for 1000 addresses", messages.len());
    second.kill().unwrap();
    second.wait().unwrap();
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://alice:hunter2@127.0.0.1:{closed}/invitd");
    let out = invitd(&url).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot open the database at postgres://alice:***@127.0.0.1:{closed}/invitd"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
