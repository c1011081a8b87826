//! Faults outside invitd, made for real: a full disk (a small tmpfs filled
//! with a file) and the SQLite write lock held by another process (the
//! `sqlite3` shell). Each answers 503 `unavailable` with `Retry-After`,
//! `/readyz` says not ready, and the first write after the fault clears
//! succeeds without a restart.
//!
//! Mounting needs root; without it (or without `sqlite3`) these tests say
//! so and pass, unless `INVITD_REQUIRE_FAULT_TESTS` is set (CI sets it).

use crate::harness::*;
use reqwest::Method;
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn skip(why: &str) {
    assert!(
        std::env::var_os("INVITD_REQUIRE_FAULT_TESTS").is_none(),
        "fault test cannot run: {why}"
    );
    eprintln!("skipped: {why}");
}

/// A tmpfs of a few MiB, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u32) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "invitd-test"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk says it is full.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        for chunk in [1 << 20, 4096, 512] {
            let block = vec![0u8; chunk];
            while file.write_all(&block).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// A create of `n` fresh addresses; its reply.
async fn create(app: &TestApp, tag: &str, n: usize) -> Reply {
    let emails: Vec<String> = (0..n).map(|i| format!("{tag}-{i}@example.com")).collect();
    app.call(
        Method::POST,
        "/v1/tenants/acme/invitations",
        Some(&app.key),
        Some(&json!({"emails": emails, "roles": ["viewer"], "message": "x".repeat(1500)})),
        &[],
    )
    .await
}

#[track_caller]
fn assert_unavailable(reply: Reply) {
    let retry_after = reply.headers.get("retry-after").map(|v| v.to_str().unwrap().to_string());
    reply.problem(503, "unavailable");
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!(secs >= 1);
}

async fn readyz(app: &TestApp) -> u16 {
    app.client
        .get(format!("{}/readyz", app.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_full_disk_answers_503_and_the_first_write_after_it_clears_succeeds() {
    let fs = match Tmpfs::mount(24) {
        Ok(fs) => fs,
        Err(why) => return skip(&why),
    };
    let app = spawn_app_with(Options {
        database_url: Some(format!("sqlite://{}", fs.path().join("invitd.db").display())),
        ..Default::default()
    })
    .await;
    create(&app, "before", 1).await.expect(201);
    assert_eq!(readyz(&app).await, 200);

    let filler = fs.fill();
    // Writes now fail, each with 503 (never 500), until the disk has room.
    let mut refused = 0;
    for round in 0..100 {
        let reply = create(&app, &format!("full{round}"), 20).await;
        match reply.status.as_u16() {
            201 => continue,
            _ => {
                assert_unavailable(reply);
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused, 3, "a full disk must refuse writes");
    assert_eq!(readyz(&app).await, 503, "not ready while writes fail");
    // Reads still work.
    app.get("/v1/tenants/acme/invitations").await.expect(200);

    std::fs::remove_file(filler).unwrap();
    // The very first write after the fault clears succeeds.
    create(&app, "after", 1).await.expect(201);
    assert_eq!(readyz(&app).await, 200);
    let list = app.get("/v1/tenants/acme/invitations?limit=200").await.expect(200);
    let emails = strings(&list["invitations"], "email");
    assert!(emails.contains(&"after-0@example.com"));
    assert!(emails.contains(&"before-0@example.com"));
    // The email worker did not stall either.
    assert!(app.deliver_all().await >= 2);
}

/// `sqlite3` holding the write lock, as an operator's shell would.
struct HeldLock {
    child: std::process::Child,
}

impl HeldLock {
    fn take(db: &Path) -> Result<HeldLock, String> {
        let mut child = Command::new("sqlite3")
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("sqlite3: {e}"))?;
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"BEGIN IMMEDIATE;\nSELECT 'held';\n").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "held");
        Ok(HeldLock { child })
    }

    fn release(mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"ROLLBACK;\n.quit\n").unwrap();
        drop(self.child.stdin.take());
        self.child.wait().unwrap();
    }
}

#[tokio::test]
async fn a_write_lock_held_by_another_process_answers_503_then_recovers() {
    let app = spawn_app().await;
    let db = app.dir.path().join("test.db");
    create(&app, "before", 1).await.expect(201);
    let lock = match HeldLock::take(&db) {
        Ok(lock) => lock,
        Err(why) => return skip(&why),
    };
    let started = Instant::now();
    let (reply, ready) = tokio::join!(create(&app, "locked", 1), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let status = readyz(&app).await;
        (status, started.elapsed())
    });
    assert_unavailable(reply);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(ready.0, 503, "not ready while the lock is held");
    assert!(ready.1 < Duration::from_secs(5), "readiness answers promptly");
    lock.release();
    create(&app, "after", 1).await.expect(201);
    assert_eq!(readyz(&app).await, 200);
    let list = app.get("/v1/tenants/acme/invitations").await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 2);
}

/// The admin console under the same fault: pages that only read still
/// answer (a session's last use is recorded when it can be), a form that
/// writes answers 503 with `Retry-After` and a page that says so, and the
/// same form succeeds once the lock is released.
#[tokio::test]
async fn the_console_reads_through_a_held_write_lock_and_its_writes_answer_503() {
    use crate::console::Console;
    let app = spawn_app().await;
    let db = app.dir.path().join("test.db");
    let console = Console::signed_in(&app, &app.key).await;
    let lock = match HeldLock::take(&db) {
        Ok(lock) => lock,
        Err(why) => return skip(&why),
    };
    // Past the minute after which a page records the session's use.
    app.advance(time::Duration::minutes(2));
    console.get("/admin/tenants/acme/invitations").await.expect(200);
    let form = [("emails", "locked@example.com"), ("roles", "viewer")];
    let refused = console
        .post("/admin/tenants/acme/invitations/new", "/admin/tenants/acme/invitations/new", &form)
        .await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.html);
    assert!(refused.headers.get("retry-after").is_some());
    assert!(refused.html.contains("Try again in a moment"), "{}", refused.html);
    lock.release();
    console
        .post("/admin/tenants/acme/invitations/new", "/admin/tenants/acme/invitations/new", &form)
        .await
        .expect(200);
    let list = app.get("/v1/tenants/acme/invitations").await.expect(200);
    assert_eq!(list["invitations"][0]["email"], "locked@example.com");
}
