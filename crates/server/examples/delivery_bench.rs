//! Delivery throughput: emails per second from the outbox to a local SMTP
//! server (mailcrab, in this process).
//!
//! `cargo run --release -p invitd-server --example delivery_bench -- [N] [CONCURRENCY]`
//! (defaults 10000 and 4). It queues N invitations through the HTTP API
//! (100 per call), then times the worker from the first send until the SMTP
//! server has received all N messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use invitd_server::config::Config;
use invitd_server::service::keys::NewKey;
use invitd_server::service::tenants::NewTenant;
use invitd_store::Audit;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut inbox = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        loop {
            match inbox.rx.recv().await {
                Ok(_) => counter.fetch_add(1, Ordering::Relaxed),
                // Missed by this reader, but received by the server.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => {
                    counter.fetch_add(k as usize, Ordering::Relaxed)
                }
                Err(_) => return,
            };
        }
    });

    let dir = std::env::temp_dir().join(format!("invitd-delivery-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.join("bench.db").display()).into(),
        mail_url: format!("smtp://127.0.0.1:{port}").into(),
        mail_concurrency: concurrency,
        run_worker: false,
        ..Config::laptop_defaults()
    };
    let listener = invitd_server::listen(&config).await.unwrap();
    let running = invitd_server::start(config, listener).await.unwrap();
    let service = running.state.service();
    let operator = Audit::operator();
    service
        .create_tenant_in(
            NewTenant { id: "bench".into(), name: "Bench".into(), ..Default::default() },
            &operator,
        )
        .await
        .unwrap();
    let (_, key) = service
        .create_key_in(
            NewKey { name: "bench".into(), scopes: vec!["invites:write".into()], tenants: None },
            &operator,
        )
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://{}", running.addr);
    let languages = ["en", "de", "es", "fr", "pt"];
    for batch in 0..n.div_ceil(100) {
        let emails: Vec<String> = (0..100.min(n - batch * 100))
            .map(|i| format!("u{batch}-{i}@bench.example.com"))
            .collect();
        let resp = client
            .post(format!("{base}/v1/tenants/bench/invitations"))
            .bearer_auth(key.expose())
            .json(&serde_json::json!({"emails": emails, "roles": ["viewer"], "language": languages[batch % 5]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    println!(
        "queued {n} invitations; delivering with {concurrency} concurrent sends over a pool of {} SMTP connections",
        invitd_mail_pool()
    );

    let started = Instant::now();
    let worker = running.worker.clone();
    let mut handled = 0;
    while handled < n {
        handled += worker.run_once().await.unwrap();
    }
    while received.load(Ordering::Relaxed) < n && started.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let got = received.load(Ordering::Relaxed);
    println!("| emails | received | seconds | emails/s |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {n} | {got} | {:.2} | {:.0} |",
        elapsed.as_secs_f64(),
        got as f64 / elapsed.as_secs_f64()
    );
    running.abort();
    let _ = std::fs::remove_dir_all(dir);
}

fn invitd_mail_pool() -> u32 {
    invitd_mail::SmtpMailer::POOL_SIZE
}
