//! The configuration file: `config example` loads as it is, the layers
//! (defaults, file, variables, flags) apply in that order, `config show`
//! hides secrets, and mistakes name the key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{acme_and_key, invitd, run_ok, serve_on_any_port, stop};

fn show(db: &str, file: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = invitd(db);
    cmd.env_remove("INVITD_DATABASE_URL")
        .args(["config", "show", "--config"])
        .arg(file)
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_ok(&mut cmd)
}

fn line<'a>(shown: &'a str, key: &str) -> &'a str {
    shown
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} in {shown}"))
}

#[tokio::test]
async fn the_example_file_loads_and_the_layers_apply_in_order() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("invitd.db").display());
    // The example is complete: every option of `serve` is in it.
    let example = run_ok(invitd(&db).args(["config", "example"]));
    let help = run_ok(invitd(&db).args(["serve", "--help"]));
    for flag in help.lines().filter_map(|l| l.trim().strip_prefix("--")) {
        let name = flag.split([' ', ',']).next().unwrap();
        if matches!(name, "config" | "help") {
            continue;
        }
        let key = name.replace('-', "_");
        assert!(
            example.contains(&format!("\n{key} = ")) || example.contains(&format!("\n# {key} = ")),
            "{key} missing"
        );
    }
    // It loads as it is, and a server runs on it.
    let file = dir.path().join("invitd.toml");
    let edited = example
        .replace("# public_url = \"\"", "public_url = \"https://from-file.example\"")
        .replace(
            "mail_url = \"file://./mail\"",
            &format!("mail_url = \"file://{}/mail\"", dir.path().display()),
        )
        .replace("database_url = \"sqlite://invitd.db\"", &format!("database_url = \"{db}\""));
    std::fs::write(&file, &edited).unwrap();
    // The file's database_url serves the other commands too.
    let key = acme_and_key(&db);
    let (server, base) = serve_on_any_port(
        invitd("sqlite://elsewhere-not-used.db")
            .env_remove("INVITD_DATABASE_URL")
            .arg("serve")
            .arg("--config")
            .arg(&file),
    );
    let created = reqwest::Client::new()
        .post(format!("{base}/v1/tenants/acme/invitations"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"emails": ["ann@example.com"], "roles": ["editor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "the server used the file's database");
    let body: serde_json::Value = created.json().await.unwrap();
    assert!(
        body["invitations"][0]["accept_url"]
            .as_str()
            .unwrap()
            .starts_with("https://from-file.example/i/")
    );
    stop(server);

    // Layers: the file over the default, a variable over the file, a flag
    // over the variable; each line says where its value came from.
    std::fs::write(&file, "mail_concurrency = 7\nrate_limit_burst = 9\nhttp_max_connections = 11\nmail_url = \"smtp://ops:hunter2@mail.test:587\"\n").unwrap();
    let shown = show(
        &db,
        &file,
        &[],
        &[("INVITD_RATE_LIMIT_BURST", "12"), ("INVITD_HTTP_MAX_CONNECTIONS", "13")],
    );
    assert_eq!(line(&shown, "mail_concurrency"), "mail_concurrency = 7  # file");
    assert_eq!(
        line(&shown, "rate_limit_burst"),
        "rate_limit_burst = 12  # variable INVITD_RATE_LIMIT_BURST"
    );
    assert_eq!(line(&shown, "mail_lease_seconds"), "mail_lease_seconds = 120  # default");
    assert!(line(&shown, "mail_url").contains("ops:***@mail.test"), "{shown}");
    assert!(!shown.contains("hunter2"), "no password in config show");
    let tokened = show(&db, &file, &[], &[("INVITD_METRICS_TOKEN", "scrape-secret")]);
    assert_eq!(
        line(&tokened, "metrics_token"),
        "metrics_token = \"***\"  # variable INVITD_METRICS_TOKEN"
    );
    // A flag beats the variable and the file.
    let flagged = show(
        &db,
        &file,
        &["--database-url", "postgres://u:pw@db.test/x"],
        &[("INVITD_DATABASE_URL", "sqlite://from-variable.db")],
    );
    assert_eq!(
        line(&flagged, "database_url"),
        "database_url = \"postgres://u:***@db.test/x\"  # flag"
    );
}

#[test]
fn mistakes_in_the_file_stop_the_start_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("invitd.db").display());
    let cases = [
        ("mail_concurency = 3", "unknown key `mail_concurency`"),
        ("mail_concurrency = \"lots\"", "key `mail_concurrency`"),
        ("mail_retry_schedule = \"5x\"", "key `mail_retry_schedule`"),
        ("bind = [1, 2]", "key `bind`"),
        ("trusted_proxies = [\"10.0.0.1\", \"nope\"]", "key `trusted_proxies`"),
        ("webhook_allow_private_networks = \"sometimes\"", "key `webhook_allow_private_networks`"),
        ("this is not toml", "not valid TOML"),
    ];
    for (text, expected) in cases {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = invitd(&db).arg("serve").arg("--config").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected) && err.contains("bad.toml"), "{text}: {err}");
    }
    // INVITD_CONFIG names the file too.
    let out = invitd(&db)
        .arg("serve")
        .env("INVITD_CONFIG", dir.path().join("bad.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
