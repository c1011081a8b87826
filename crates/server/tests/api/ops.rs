//! Operating on PostgreSQL: readiness follows the database, and the server
//! recovers by itself when the database comes back.

use crate::harness::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// A TCP proxy to the PostgreSQL server that can cut every connection and
/// refuse new ones, as if the database went away.
struct Cut {
    port: u16,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl Cut {
    async fn start(target: (String, u16)) -> Cut {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (flag, gen_tx) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let target = target.clone();
                let mut cut = gen_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Cut { port, up, generation }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` pointed at 127.0.0.1:`port` instead of its own host and port.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{userinfo}127.0.0.1:{port}/{path}")
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
async fn readiness_follows_the_database_and_recovers() {
    let base = invitd_store::testing::postgres_test_url().unwrap();
    let fresh = invitd_store::testing::fresh_postgres_database(&base).await.unwrap();
    let authority = fresh.split_once("://").unwrap().1.split('/').next().unwrap();
    let hostport = authority.rsplit('@').next().unwrap();
    let (host, port) = hostport
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.parse().unwrap()))
        .unwrap_or((hostport.to_string(), 5432));
    let cut = Cut::start((host, port)).await;
    let app = spawn_app_with(Options {
        database_url: Some(through(&fresh, cut.port)),
        ..Default::default()
    })
    .await;
    let ready = || async {
        app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().status().as_u16()
    };
    assert_eq!(ready().await, 200);
    app.invite_one("ann@example.com").await;

    cut.down();
    assert_eq!(ready().await, 503);
    let reply = app.get("/v1/tenants/acme/invitations").await;
    assert_eq!(reply.status.as_u16(), 503, "{}", reply.body);
    assert_eq!(reply.body["code"], "unavailable");
    // Writes too, with and without an idempotency key, with Retry-After.
    let body = viewers(&["bob@example.com"]);
    let create = |headers: &'static [(&'static str, &'static str)]| {
        app.call(
            reqwest::Method::POST,
            "/v1/tenants/acme/invitations",
            Some(&app.key),
            Some(&body),
            headers,
        )
    };
    for headers in [&[][..], &[("idempotency-key", "during-the-cut")][..]] {
        let reply = create(headers).await;
        assert!(reply.headers.contains_key("retry-after"));
        reply.problem(503, "unavailable");
    }

    cut.up();
    let started = std::time::Instant::now();
    while ready().await != 200 {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "did not recover");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let list = app.get("/v1/tenants/acme/invitations").await.expect(200);
    assert_eq!(list["invitations"].as_array().unwrap().len(), 1);
    // The keyed write refused during the cut runs now, once.
    let reply = create(&[("idempotency-key", "during-the-cut")]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}
