//! The load benchmark: drives a server over HTTP with N concurrent
//! connections and prints throughput and latency percentiles per operation.
//!
//! Without `--url` it starts its own server: this same binary, as a child
//! process (`invitd serve`) on a fresh SQLite database in a temporary
//! folder, so client and server are separate processes as in production.

use anyhow::bail;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

mod client;

use client::{Sample, Target, drive, print_table, spawn_server, tempdir};

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
    let target = Arc::new(Target { base, key, tenant: args.tenant.clone(), client });
    let duration = Duration::from_secs(args.seconds);
    let n = args.connections;
    eprintln!("benchmarking {} with {n} connections, {}s per operation", target.base, args.seconds);

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
                    let emails: Vec<String> =
                        (0..100).map(|k| format!("bulk-{i}-{k}@bench.example.com")).collect();
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
                    t.get(&format!("/v1/tenants/{}/invitations/{}", t.tenant, ids[i % ids.len()]))
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
                    t.get(&format!("/v1/tenants/{}/invitations?limit=50&status=pending", t.tenant))
                        .await?;
                    Ok(())
                }
            }
        })
        .await,
    );

    samples.push(
        post_each("resend", n, duration, &target, &ids, |t, id| {
            (format!("/v1/tenants/{}/invitations/{id}/resend", t.tenant), json!({}))
        })
        .await,
    );

    let toks: Arc<Vec<String>> = Arc::new(tokens.lock().map(|v| v.clone()).unwrap_or_default());
    samples.push(
        post_each("accept", n, duration, &target, &toks, |_, tok| {
            ("/v1/invitations/accept".to_string(), json!({"token": tok}))
        })
        .await,
    );

    print_table(&samples, n);
    if let Some(mut c) = child {
        let _ = c.kill().await;
    }
    Ok(())
}

/// Drives `name` once per item of `items` at the most: each operation
/// POSTs the path and body that `request` makes of the target and its item.
async fn post_each(
    name: &'static str,
    n: usize,
    duration: Duration,
    target: &Arc<Target>,
    items: &Arc<Vec<String>>,
    request: fn(&Target, &str) -> (String, serde_json::Value),
) -> Sample {
    let (t, items) = (target.clone(), items.clone());
    drive(name, n, duration, Some(items.len()), move |i| {
        let (t, items) = (t.clone(), items.clone());
        async move {
            let (path, body) = request(&t, &items[i]);
            t.post(&path, &body).await?;
            Ok(())
        }
    })
    .await
}
