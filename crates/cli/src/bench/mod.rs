//! The load benchmark: drives a server over HTTP with N concurrent
//! connections and prints, per operation, throughput, latency percentiles
//! and what it cost: the server's and the benchmark's own CPU, and the
//! server's memory.
//!
//! Without `--url` it starts its own server: this same binary, as a child
//! process (`invitd serve`) on a fresh database in a temporary folder, so
//! client and server are separate processes as in production. `--scale N`
//! stores N invitations first (in calls of 1,000), so reads and writes are
//! measured against a database of that size.

use anyhow::bail;
use serde_json::json;
use std::sync::Arc;
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
    /// The operations to measure, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "create-one,create-one-keyed,create-bulk-1000,create-bulk-1000-keyed,get,list-50,resend,accept"
    )]
    ops: Vec<Op>,
    /// Invitations to store before measuring (in calls of 1,000 addresses).
    #[arg(long, default_value_t = 0)]
    scale: usize,
    /// With `--url`: the server's process id, to report its CPU and memory
    /// (the server this command starts is measured without it).
    #[arg(long)]
    server_pid: Option<u32>,
    /// After the operations (and after `--scale`'s preload, before the
    /// operations), time how fast the server's email worker empties the
    /// outbox (read from its `/metrics`).
    #[arg(long)]
    drain: bool,
    /// Without `--url`: the `invitd` binary whose server to start (another
    /// build, to compare two builds with the same client); this one by
    /// default.
    #[arg(long)]
    server_binary: Option<std::path::PathBuf>,
}

/// One measured operation.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Op {
    /// Each request invites one new address.
    CreateOne,
    /// `create-one` with an `Idempotency-Key` on each request.
    CreateOneKeyed,
    /// Each request invites 1,000 new addresses.
    #[value(name = "create-bulk-1000")]
    CreateBulk1000,
    /// `create-bulk-1000` with an `Idempotency-Key` on each request, as
    /// `invitd invite` sends its calls.
    #[value(name = "create-bulk-1000-keyed")]
    CreateBulk1000Keyed,
    /// Each request reads one invitation by id.
    Get,
    /// Each request lists the 50 newest pending invitations.
    #[value(name = "list-50")]
    List50,
    /// Each request resends one invitation (each at most once).
    Resend,
    /// Each request accepts one invitation by token (each once, newest
    /// first, so not those `resend` gave new tokens, oldest first).
    Accept,
}

mod client;
mod drain;
mod process;

use client::{Made, Target, drive, print_table, spawn_server, tempdir};

pub async fn run(args: BenchArgs, _database_url: &str) -> anyhow::Result<()> {
    // Dropped in reverse: the server (killed on drop) before its folder.
    let mut _dir = None;
    let mut child = None;
    let (base, key) = match (&args.url, &args.key) {
        (Some(url), Some(key)) => (url.trim_end_matches('/').to_string(), key.clone()),
        (Some(_), None) => bail!("--url needs --key"),
        (None, _) => {
            let dir = tempdir()?;
            let db = match &args.postgres {
                Some(server) => invitd_store::testing::fresh_postgres_database(server).await?,
                None => format!("sqlite://{}", dir.0.join("bench.db").display()),
            };
            eprintln!("database: {}", invitd_store::redact_url(&db));
            let (base, key, process) =
                spawn_server(&dir.0, &db, &args.tenant, args.server_binary.as_deref()).await?;
            child = Some(process);
            _dir = Some(dir);
            (base, key)
        }
    };
    let server_pid = args.server_pid.or_else(|| child.as_ref().and_then(|c| c.id()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(60))
        .build()?;
    let target = Arc::new(Target { base, key, tenant: args.tenant.clone(), client });
    let made = Arc::new(Made::default());
    if args.scale > 0 {
        preload(&target, &made, args.scale).await?;
        if args.drain {
            // Measured on a quiet server, after the preload's emails.
            drain::measure(&target).await?;
        }
    }
    let duration = Duration::from_secs(args.seconds);
    let n = args.connections;
    eprintln!("benchmarking {} with {n} connections, {}s per operation", target.base, args.seconds);

    let mut samples = Vec::new();
    for op in &args.ops {
        let (t, m) = (target.clone(), made.clone());
        let sample = match op {
            Op::CreateOne | Op::CreateOneKeyed => {
                let keyed = *op == Op::CreateOneKeyed;
                let name = if keyed { "create-one-keyed" } else { "create-one" };
                drive(name, 1, n, duration, None, server_pid, move |i| {
                    let (t, m) = (t.clone(), m.clone());
                    let prefix = if keyed { "one-keyed" } else { "one" };
                    async move {
                        let email = format!("{prefix}-{i}-{}@bench.example.com", m.run);
                        t.create(&m, &[email], keyed).await
                    }
                })
                .await
            }
            Op::CreateBulk1000 | Op::CreateBulk1000Keyed => {
                let keyed = *op == Op::CreateBulk1000Keyed;
                let name = if keyed { "create-bulk-1000-keyed" } else { "create-bulk-1000" };
                drive(name, 1000, n, duration, None, server_pid, move |i| {
                    let (t, m) = (t.clone(), m.clone());
                    let prefix = if keyed { "bulk-keyed" } else { "bulk" };
                    async move {
                        let emails: Vec<String> = (0..1000)
                            .map(|k| format!("{prefix}-{i}-{k}-{}@bench.example.com", m.run))
                            .collect();
                        t.create(&m, &emails, keyed).await
                    }
                })
                .await
            }
            Op::Get => {
                let ids = made.ids();
                if ids.is_empty() {
                    bail!(
                        "get needs invitations: run create-one or create-bulk-1000 first, or --scale"
                    );
                }
                drive("get", 1, n, duration, None, server_pid, move |i| {
                    let (t, ids) = (t.clone(), ids.clone());
                    async move {
                        t.fetch(&format!(
                            "/v1/tenants/{}/invitations/{}",
                            t.tenant,
                            ids[i % ids.len()]
                        ))
                        .await
                    }
                })
                .await
            }
            Op::List50 => {
                drive("list-50", 1, n, duration, None, server_pid, move |_| {
                    let t = t.clone();
                    async move {
                        t.fetch(&format!(
                            "/v1/tenants/{}/invitations?limit=50&status=pending",
                            t.tenant
                        ))
                        .await
                    }
                })
                .await
            }
            Op::Resend => {
                let ids = made.ids();
                drive("resend", 1, n, duration, Some(ids.len()), server_pid, move |i| {
                    let (t, ids) = (t.clone(), ids.clone());
                    async move {
                        let path =
                            format!("/v1/tenants/{}/invitations/{}/resend", t.tenant, ids[i]);
                        t.post(&path, &json!({})).await.map(drop)
                    }
                })
                .await
            }
            Op::Accept => {
                let tokens = made.tokens();
                drive("accept", 1, n, duration, Some(tokens.len()), server_pid, move |i| {
                    // From the newest back, away from those resend replaced.
                    let (t, token) = (t.clone(), tokens[tokens.len() - 1 - i].clone());
                    async move {
                        t.post("/v1/invitations/accept", &json!({"token": token})).await.map(drop)
                    }
                })
                .await
            }
        };
        samples.push(sample);
    }

    print_table(&samples, n);
    if args.drain {
        drain::measure(&target).await?;
    }
    if let Some(pid) = server_pid
        && let Some(mem) = process::memory(pid)
    {
        println!(
            "\nserver memory at the end: RSS {:.1} MiB, peak {:.1} MiB",
            mem.rss_mib, mem.peak_mib
        );
    }
    if let Some(mut c) = child {
        let _ = c.kill().await;
    }
    Ok(())
}

/// Stores `count` invitations in calls of 1,000 addresses, four at a time,
/// keeping their ids and tokens for the operations that need them.
async fn preload(target: &Arc<Target>, made: &Arc<Made>, count: usize) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let calls = count.div_ceil(1000);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (t, m, next) = (target.clone(), made.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let call = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if call >= calls {
                    return Ok::<_, anyhow::Error>(());
                }
                let size = (count - call * 1000).min(1000);
                let emails: Vec<String> = (0..size)
                    .map(|k| format!("scale-{call}-{k}-{}@bench.example.com", m.run))
                    .collect();
                t.create(&m, &emails, false).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    eprintln!("stored {count} invitations in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
