//! Helpers shared by the binary's test files.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[path = "../../../server/tests/api/harness/smtp_peer.rs"]
mod smtp_peer;
pub use smtp_peer::scripted_smtp;

/// `invitd` on a database, logging warnings only.
pub fn invitd(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_invitd"));
    cmd.env("INVITD_DATABASE_URL", db).env("INVITD_LOG", "warn");
    cmd
}

/// Runs a command that must succeed; its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Spawns `invitd serve` (already given its arguments and environment) with
/// `--bind 127.0.0.1:0`, and returns it with the base URL it prints once
/// listening: the port is the server's from the start, nothing can take it
/// between a probe and the bind.
pub fn serve_on_any_port(cmd: &mut Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child =
        cmd.args(["--bind", "127.0.0.1:0"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("invitd serve printed its address").unwrap();
        if let Some(base) = line.strip_prefix("invitd listening on ") {
            break base.trim().to_string();
        }
    };
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

/// `invitd serve` on `db`, writing emails to `mail`, once `/readyz`
/// answers 200 (at most 20 s); its standard error is dropped.
pub async fn start_ready(
    db: &str,
    mail: &str,
    client: &reqwest::Client,
) -> (std::process::Child, String) {
    let (child, base) = serve_on_any_port(
        invitd(db).arg("serve").env("INVITD_MAIL_URL", mail).stderr(std::process::Stdio::null()),
    );
    let started = std::time::Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return (child, base);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Creates the tenant `acme` and a key with `invites:read` and
/// `invites:write` for every tenant, through the command line; returns the
/// key's secret (the last line the command prints).
pub fn acme_and_key(db: &str) -> String {
    run_ok(invitd(db).args(["tenants", "create", "acme", "--name", "Acme"]));
    let out = run_ok(invitd(db).args([
        "keys",
        "create",
        "--name",
        "k",
        "--scopes",
        "invites:write,invites:read",
    ]));
    out.lines().last().expect("a secret").trim().to_string()
}

/// Stops a server with SIGTERM and waits (at most 20 s) for it to exit 0.
pub fn stop(mut server: std::process::Child) {
    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0: {status:?}");
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "server did not stop");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// Waits (at most 20 s) until `dir` holds `n` `.eml` files.
pub async fn wait_for_emails(dir: &std::path::Path, n: usize) {
    let started = std::time::Instant::now();
    loop {
        let count = std::fs::read_dir(dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .count()
            })
            .unwrap_or(0);
        if count >= n {
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "emails not written");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// A minimal SMTP server that greets and answers EHLO without offering
/// AUTH, then hangs up: enough for a client that was given credentials to
/// find there is no way to use them. Returns its port.
pub async fn smtp_without_auth() -> u16 {
    fn reply(verb: &str) -> &'static [u8] {
        match verb {
            "EHLO" => b"250-plain.test\r\n250 SIZE 1000000\r\n",
            "QUIT" => b"221 bye\r\n",
            _ => b"502 not here\r\n",
        }
    }
    scripted_smtp(b"220 plain.test ESMTP\r\n", reply).await
}

/// How many invitations the tenant `acme` holds, page by page.
pub async fn count_invitations(client: &reqwest::Client, base: &str, key: &str) -> usize {
    let (mut count, mut cursor) = (0, None::<String>);
    loop {
        let mut url = format!("{base}/v1/tenants/acme/invitations?limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value =
            client.get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap();
        count += page["invitations"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return count,
        }
    }
}

/// A fresh SQLite database in a temporary folder, migrated, with the
/// tenant `acme` and a key; its URL, the mail folder's URL, the key, and an
/// HTTP client with a 30 s timeout.
pub fn acme_on_sqlite() -> (tempfile::TempDir, String, String, String, reqwest::Client) {
    acme_on(None)
}

/// [`acme_on_sqlite`] on a fresh database: SQLite, or PostgreSQL (a new
/// database on `INVITD_TEST_DATABASE_URL`'s server) when `pg`.
pub async fn acme_on_backend(
    pg: bool,
) -> (tempfile::TempDir, String, String, String, reqwest::Client) {
    if !pg {
        return acme_on_sqlite();
    }
    let base = invitd_store::testing::postgres_test_url().expect("INVITD_TEST_DATABASE_URL");
    acme_on(Some(invitd_store::testing::fresh_postgres_database(&base).await.unwrap()))
}

/// The tenant `acme` and a key on the PostgreSQL database `pg_db`, or on
/// a SQLite file in the folder returned (which holds the mail too).
fn acme_on(pg_db: Option<String>) -> (tempfile::TempDir, String, String, String, reqwest::Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db =
        pg_db.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("invitd.db").display()));
    let mail = format!("file://{}", dir.path().join("mail").display());
    run_ok(invitd(&db).arg("migrate"));
    let key = acme_and_key(&db);
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
    (dir, db, mail, key, client)
}
