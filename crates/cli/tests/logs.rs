//! What the real binary logs at its default level, into a file (not a
//! terminal): one access line per request with the matched route, status,
//! duration, request id and client; one line per email sent; no colour
//! codes; no token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{acme_and_key, invitd, serve_on_any_port, stop, wait_for_emails};

use std::process::Stdio;

#[tokio::test]
async fn the_default_log_has_an_access_line_per_request_and_a_line_per_email() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("invitd.db").display());
    let mail = dir.path().join("mail");
    let key = acme_and_key(&db);
    let log_path = dir.path().join("server.log");
    let (server, base) = serve_on_any_port(
        invitd(&db)
            .arg("serve")
            .env_remove("INVITD_LOG")
            .env("INVITD_MAIL_URL", format!("file://{}", mail.display()))
            .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap())),
    );
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/v1/tenants/acme/invitations"))
        .bearer_auth(&key)
        .header("x-request-id", "walkthrough-1")
        .json(&serde_json::json!({"emails": ["ann@example.com"], "roles": ["editor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["x-request-id"], "walkthrough-1");
    let body: serde_json::Value = created.json().await.unwrap();
    let url = body["invitations"][0]["accept_url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap().to_string();
    let page = client.get(format!("{base}/i/{token}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page_id = page.headers()["x-request-id"].to_str().unwrap().to_string();
    let missing = client.get(format!("{base}/nothing/here")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    wait_for_emails(&mail, 1).await;
    stop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains('\u{1b}'), "no colour codes when stderr is a file:\n{log}");
    assert!(!log.contains(&token), "no accept token in the log");
    assert!(!log.contains(&key), "no API key in the log");
    let access: Vec<&str> = log.lines().filter(|l| l.contains("invitd::access")).collect();
    let line = |needles: &[&str]| access.iter().any(|l| needles.iter().all(|n| l.contains(n)));
    assert!(
        line(&[
            "method=POST",
            "route=/v1/tenants/{tenant}/invitations",
            "status=201",
            "request_id=walkthrough-1",
            "client=127.0.0.1",
            "duration_ms="
        ]),
        "{access:#?}"
    );
    assert!(
        line(&["method=GET", "route=/i/{token}", "status=200", &format!("request_id={page_id}")]),
        "{access:#?}"
    );
    assert!(line(&["method=GET", "status=404"]), "{access:#?}");
    assert!(log.lines().any(|l| l.contains("email sent") && l.contains("outbox_id=")), "{log}");
}

/// Boolean variables take the usual spellings (`INVITD_LOG_JSON=1` was
/// refused once), and a wrong one is named with what is allowed.
#[test]
fn boolean_variables_accept_true_false_yes_no_and_digits() {
    for value in ["1", "0", "true", "false", "yes", "no", "on", "off"] {
        let out = invitd("sqlite::memory:")
            .arg("openapi")
            .env("INVITD_LOG_JSON", value)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "INVITD_LOG_JSON={value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out =
        invitd("sqlite::memory:").arg("openapi").env("INVITD_LOG_JSON", "maybe").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("log-json") && err.contains("maybe"), "{err}");
}
