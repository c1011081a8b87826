//! The benchmark's machinery: the HTTP target, the loop that drives N
//! connections for a while, the table it prints, and the server it starts
//! when given no `--url`.

use super::process;
use anyhow::{Context, bail};
use serde_json::{Value, json};
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
    /// Invitations each request handles.
    per_request: usize,
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    /// CPU seconds the server used meanwhile, when its process is known.
    server_cpu: Option<f64>,
    /// CPU seconds this benchmark used meanwhile.
    bench_cpu: Option<f64>,
    /// The server's resident memory at the end, in MiB.
    server_rss_mib: Option<f64>,
}

/// What the operations made, for those that need existing invitations.
pub(super) struct Made {
    /// Sets this run's addresses apart from those of earlier runs against
    /// the same server.
    pub(super) run: String,
    ids: std::sync::Mutex<Vec<String>>,
    tokens: std::sync::Mutex<Vec<String>>,
}

impl Default for Made {
    fn default() -> Self {
        let run = uuid::Uuid::now_v7().simple().to_string();
        Made {
            run: run[run.len() - 8..].to_string(),
            ids: Default::default(),
            tokens: Default::default(),
        }
    }
}

impl Made {
    pub(super) fn ids(&self) -> Arc<Vec<String>> {
        Arc::new(self.ids.lock().map(|v| v.clone()).unwrap_or_default())
    }
    pub(super) fn tokens(&self) -> Arc<Vec<String>> {
        Arc::new(self.tokens.lock().map(|v| v.clone()).unwrap_or_default())
    }
}

impl Target {
    pub(super) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.post_keyed(path, body, None).await
    }

    /// A POST, with `Idempotency-Key: key` when there is one.
    async fn post_keyed(
        &self,
        path: &str,
        body: &Value,
        key: Option<String>,
    ) -> anyhow::Result<Value> {
        let mut request =
            self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.key).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        check(request.send().await?).await
    }

    /// Invites `emails` with the role `viewer`, keeping the ids and
    /// tokens of what was created; `keyed` sends the call with an
    /// `Idempotency-Key` of its own, as `invitd invite` does.
    pub(super) async fn create(
        &self,
        made: &Made,
        emails: &[String],
        keyed: bool,
    ) -> anyhow::Result<()> {
        let path = format!("/v1/tenants/{}/invitations", self.tenant);
        let body = json!({"emails": emails, "roles": ["viewer"]});
        let key = keyed.then(|| uuid::Uuid::new_v4().to_string());
        let v = self.post_keyed(&path, &body, key).await?;
        let (mut ids, mut tokens) = (Vec::new(), Vec::new());
        for inv in v["invitations"].as_array().into_iter().flatten() {
            ids.extend(inv["id"].as_str().map(String::from));
            tokens.extend(
                inv["accept_url"].as_str().and_then(|u| u.rsplit('/').next()).map(String::from),
            );
        }
        if let (Ok(mut all_ids), Ok(mut all_tokens)) = (made.ids.lock(), made.tokens.lock()) {
            all_ids.extend(ids);
            all_tokens.extend(tokens);
        }
        Ok(())
    }

    /// A GET whose answer is only counted: its body is read whole but not
    /// parsed unless the status is an error, so the client's CPU goes to
    /// the server (parsing a page of 50 invitations into a JSON tree cost
    /// the client about as much CPU as the server spent making it).
    pub(super) async fn fetch(&self, path: &str) -> anyhow::Result<()> {
        let r =
            self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.key).send().await?;
        let status = r.status();
        let body = r.bytes().await?;
        if !status.is_success() {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
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
/// operations were started. `op` gets the operation's sequence number;
/// each handles `per_request` invitations. With the server's process id,
/// the CPU it used meanwhile and its memory are measured too.
pub(super) async fn drive<F, Fut>(
    name: &'static str,
    per_request: usize,
    n: usize,
    duration: Duration,
    limit: Option<usize>,
    server_pid: Option<u32>,
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
    let me = std::process::id();
    let cpu_before = (server_pid.and_then(process::cpu_seconds), process::cpu_seconds(me));
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
    let used = |before: Option<f64>, pid: Option<u32>| Some(process::cpu_seconds(pid?)? - before?);
    Sample {
        name,
        per_request,
        latencies,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        server_cpu: used(cpu_before.0, server_pid),
        bench_cpu: used(cpu_before.1, Some(me)),
        server_rss_mib: server_pid.and_then(process::memory).map(|m| m.rss_mib),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

/// Prints the table; CPU is in cores (CPU seconds per second), so 2.0 is
/// both cores of a 2-core machine.
pub(super) fn print_table(samples: &[Sample], n: usize) {
    println!(
        "| operation ({n} connections) | requests | errors | req/s | invitations/s | p50 ms | p99 ms | server CPU | bench CPU | server RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let show =
        |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |v| format!("{v:.digits$}"));
    for s in samples {
        let mut sorted = s.latencies.clone();
        sorted.sort();
        let secs = s.elapsed.as_secs_f64();
        let rps = sorted.len() as f64 / secs;
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            s.name,
            sorted.len(),
            s.errors,
            show(Some(rps), if rps < 100.0 { 1 } else { 0 }),
            rps * s.per_request as f64,
            percentile(&sorted, 0.50),
            percentile(&sorted, 0.99),
            show(s.server_cpu.map(|c| c / secs), 2),
            show(s.bench_cpu.map(|c| c / secs), 2),
            show(s.server_rss_mib, 1),
        );
    }
}

/// The folder of the server the benchmark starts (its database and the
/// email files of every invitation made): removed when dropped.
pub(super) struct BenchDir(pub(super) std::path::PathBuf);

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn tempdir() -> anyhow::Result<BenchDir> {
    let dir = std::env::temp_dir().join(format!("invitd-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    Ok(BenchDir(dir))
}

/// Starts `invitd serve` (this binary, or `binary`) as a child on a free
/// port with a fresh database, a tenant with no resend cooldown, and a
/// key; returns URL and key.
pub(super) async fn spawn_server(
    dir: &std::path::Path,
    db: &str,
    tenant: &str,
    binary: Option<&std::path::Path>,
) -> anyhow::Result<(String, String, tokio::process::Child)> {
    let exe = match binary {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?,
    };
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
