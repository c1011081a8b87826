//! The load benchmark: drives a server over HTTP with N concurrent
//! connections and prints throughput and latency percentiles per operation.
//!
//! Without `--url` it starts its own server: this same binary, as a child
//! process (`invitd serve`) on a fresh SQLite database in a temporary
//! folder, so client and server are separate processes as in production.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Base URL of a running server; omit to start one.
    #[arg(long)]
    url: Option<String>,
    /// API key for `--url` (scopes invites:read, invites:write).
    #[arg(long, env = "INVITD_BENCH_KEY")]
    key: Option<String>,
    /// Tenant to use with `--url`; it needs a resend cooldown of 0.
    #[arg(long, default_value = "bench")]
    tenant: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds per operation.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Run the server it starts on a fresh database on this PostgreSQL
    /// server (any database URL there) instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
}

struct Target {
    base: String,
    key: String,
    tenant: String,
    client: reqwest::Client,
}

/// The measurements of one operation.
struct Sample {
    name: &'static str,
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

pub async fn run(args: BenchArgs, _database_url: &str) -> anyhow::Result<()> {
    let mut child = None;
    let mut _dir = None;
    let (base, key) = match (&args.url, &args.key) {
        (Some(url), Some(key)) => (url.trim_end_matches('/').to_string(), key.clone()),
        (Some(_), None) => bail!("--url needs --key"),
        (None, _) => {
            let dir = tempdir()?;
            let db = match &args.postgres {
                Some(server) => invitd_store::testing::fresh_postgres_database(server).await?,
                None => format!("sqlite://{}", dir.join("bench.db").display()),
            };
            eprintln!("database: {}", invitd_store::redact_url(&db));
            let (base, key, process) = spawn_server(&dir, &db, &args.tenant).await?;
            child = Some(process);
            _dir = Some(dir);
            (base, key)
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let target = Arc::new(Target {
        base,
        key,
        tenant: args.tenant.clone(),
        client,
    });
    let duration = Duration::from_secs(args.seconds);
    let n = args.connections;
    eprintln!(
        "benchmarking {} with {n} connections, {}s per operation",
        target.base, args.seconds
    );

    let counter = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let tokens = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut samples = Vec::new();

    // create-one: each request invites one new address.
    samples.push(drive("create-one", n, duration, None, {
        let (t, c, ids) = (target.clone(), counter.clone(), created.clone());
        move |_| {
            let (t, c, ids) = (t.clone(), c.clone(), ids.clone());
            async move {
                let i = c.fetch_add(1, Ordering::Relaxed);
                let body = json!({"emails": [format!("one-{i}@bench.example.com")], "roles": ["viewer"]});
                let v = t.post(&format!("/v1/tenants/{}/invitations", t.tenant), &body).await?;
                if let Some(id) = v["invitations"][0]["id"].as_str()
                    && let Ok(mut ids) = ids.lock()
                {
                    ids.push(id.to_string());
                }
                Ok(())
            }
        }
    }).await);

    // create-bulk-100: each request invites 100 new addresses.
    samples.push(
        drive("create-bulk-100", n, duration, None, {
            let (t, c, toks) = (target.clone(), counter.clone(), tokens.clone());
            move |_| {
                let (t, c, toks) = (t.clone(), c.clone(), toks.clone());
                async move {
                    let i = c.fetch_add(1, Ordering::Relaxed);
                    let emails: Vec<String> = (0..100)
                        .map(|k| format!("bulk-{i}-{k}@bench.example.com"))
                        .collect();
                    let v = t
                        .post(
                            &format!("/v1/tenants/{}/invitations", t.tenant),
                            &json!({"emails": emails, "roles": ["editor"]}),
                        )
                        .await?;
                    let mut found = Vec::new();
                    for inv in v["invitations"].as_array().into_iter().flatten() {
                        if let Some(url) = inv["accept_url"].as_str()
                            && let Some(tok) = url.rsplit('/').next()
                        {
                            found.push(tok.to_string());
                        }
                    }
                    if let Ok(mut toks) = toks.lock() {
                        toks.extend(found);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );

    let ids: Arc<Vec<String>> = Arc::new(created.lock().map(|v| v.clone()).unwrap_or_default());
    if ids.is_empty() {
        bail!("create-one created nothing; is the server healthy?");
    }

    samples.push(
        drive("get", n, duration, None, {
            let (t, ids) = (target.clone(), ids.clone());
            move |i| {
                let (t, ids) = (t.clone(), ids.clone());
                async move {
                    t.get(&format!(
                        "/v1/tenants/{}/invitations/{}",
                        t.tenant,
                        ids[i % ids.len()]
                    ))
                    .await?;
                    Ok(())
                }
            }
        })
        .await,
    );

    samples.push(
        drive("list-50", n, duration, None, {
            let t = target.clone();
            move |_| {
                let t = t.clone();
                async move {
                    t.get(&format!(
                        "/v1/tenants/{}/invitations?limit=50&status=pending",
                        t.tenant
                    ))
                    .await?;
                    Ok(())
                }
            }
        })
        .await,
    );

    samples.push(
        drive("resend", n, duration, Some(ids.len()), {
            let (t, ids) = (target.clone(), ids.clone());
            move |i| {
                let (t, ids) = (t.clone(), ids.clone());
                async move {
                    t.post(
                        &format!("/v1/tenants/{}/invitations/{}/resend", t.tenant, ids[i]),
                        &json!({}),
                    )
                    .await?;
                    Ok(())
                }
            }
        })
        .await,
    );

    let toks: Arc<Vec<String>> = Arc::new(tokens.lock().map(|v| v.clone()).unwrap_or_default());
    samples.push(
        drive("accept", n, duration, Some(toks.len()), {
            let (t, toks) = (target.clone(), toks.clone());
            move |i| {
                let (t, toks) = (t.clone(), toks.clone());
                async move {
                    t.post("/v1/invitations/accept", &json!({"token": toks[i]}))
                        .await?;
                    Ok(())
                }
            }
        })
        .await,
    );

    print_table(&samples, n);
    if let Some(mut c) = child {
        let _ = c.kill().await;
    }
    Ok(())
}

impl Target {
    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await?;
        check(r).await
    }
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await?;
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
async fn drive<F, Fut>(
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
        let (op, next, errors, first_error) = (
            op.clone(),
            next.clone(),
            errors.clone(),
            first_error.clone(),
        );
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
    Sample {
        name,
        latencies,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

fn print_table(samples: &[Sample], n: usize) {
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

fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("invitd-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Starts `invitd serve` as a child on a free port with a fresh database,
/// a tenant with no resend cooldown, and a key; returns URL and key.
async fn spawn_server(
    dir: &std::path::Path,
    db: &str,
    tenant: &str,
) -> anyhow::Result<(String, String, tokio::process::Child)> {
    let exe = std::env::current_exe()?;
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let out = std::process::Command::new(&exe)
            .env("INVITD_DATABASE_URL", db)
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "invitd {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
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
    let out = run(&[
        "keys",
        "create",
        "--name",
        "bench",
        "--scopes",
        "invites:read,invites:write",
    ])?;
    let key = out
        .lines()
        .last()
        .context("no key printed")?
        .trim()
        .to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
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
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok((base, key, child));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not start")
}
