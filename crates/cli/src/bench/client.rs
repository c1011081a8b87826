//! The benchmark's machinery: the HTTP target, the loop that drives N
//! connections for a while, the table it prints, and the server it starts
//! when given no `--url`.

use anyhow::{Context, bail};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub(super) struct Target {
    pub(super) base: String,
    pub(super) key: String,
    pub(super) tenant: String,
    pub(super) client: reqwest::Client,
}

/// The measurements of one operation.
pub(super) struct Sample {
    name: &'static str,
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Target {
    pub(super) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await?;
        check(r).await
    }
    pub(super) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r =
            self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.key).send().await?;
        check(r).await
    }
}

async fn check(r: reqwest::Response) -> anyhow::Result<Value> {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("HTTP {status}: {v}");
    }
    Ok(v)
}

/// Runs `op` from `n` concurrent workers for `duration`, or until `limit`
/// operations were started. `op` gets the operation's sequence number.
pub(super) async fn drive<F, Fut>(
    name: &'static str,
    n: usize,
    duration: Duration,
    limit: Option<usize>,
    op: F,
) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let start = Instant::now();
    let deadline = start + duration;
    let mut handles = Vec::new();
    for _ in 0..n {
        let (op, next, errors, first_error) =
            (op.clone(), next.clone(), errors.clone(), first_error.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|l| i >= l) {
                    break;
                }
                let t0 = Instant::now();
                match op(i).await {
                    Ok(()) => lat.push(t0.elapsed()),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for h in handles {
        if let Ok(l) = h.await {
            latencies.extend(l);
        }
    }
    let elapsed = start.elapsed();
    if let Ok(Some(e)) = first_error.lock().map(|f| f.clone()) {
        eprintln!("{name}: first error: {e}");
    }
    Sample { name, latencies, errors: errors.load(Ordering::Relaxed), elapsed }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

pub(super) fn print_table(samples: &[Sample], n: usize) {
    println!("| operation ({n} connections) | requests | errors | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for s in samples {
        let mut sorted = s.latencies.clone();
        sorted.sort();
        let rps = sorted.len() as f64 / s.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            s.name,
            sorted.len(),
            s.errors,
            rps,
            percentile(&sorted, 0.50),
            percentile(&sorted, 0.99)
        );
    }
}

pub(super) fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("invitd-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Starts `invitd serve` as a child on a free port with a fresh database,
/// a tenant with no resend cooldown, and a key; returns URL and key.
pub(super) async fn spawn_server(
    dir: &std::path::Path,
    db: &str,
    tenant: &str,
) -> anyhow::Result<(String, String, tokio::process::Child)> {
    let exe = std::env::current_exe()?;
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let out =
            std::process::Command::new(&exe).env("INVITD_DATABASE_URL", db).args(args).output()?;
        if !out.status.success() {
            bail!("invitd {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    };
    run(&[
        "tenants",
        "create",
        tenant,
        "--name",
        "Bench",
        "--resend-cooldown-seconds",
        "0",
        "--max-resends",
        "1000",
    ])?;
    let out =
        run(&["keys", "create", "--name", "bench", "--scopes", "invites:read,invites:write"])?;
    let key = out.lines().last().context("no key printed")?.trim().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(&exe)
        .env("INVITD_DATABASE_URL", db)
        .env("INVITD_LOG", "warn")
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--mail-url",
            &format!("file://{}", dir.join("mail").display()),
        ])
        .kill_on_drop(true)
        .spawn()?;
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
        {
            return Ok((base, key, child));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not start")
}
