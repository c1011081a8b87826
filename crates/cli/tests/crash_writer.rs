//! Group commit across `kill -9`: clients create invitations without an
//! `Idempotency-Key` (on SQLite, the writer thread's group commit) while the real
//! binary is killed at a random moment. Every create that was answered 201
//! must be stored after the restart, since no job hears back before its
//! batch commits; a kill may lose only creates that had no answer yet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{acme_on_backend, start_ready};

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_creates_survive_kill_9_of_the_writer_on_sqlite() {
    answered_creates_survive_kill_9_of_the_writer(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
async fn answered_creates_survive_kill_9_of_the_writer_on_postgres() {
    answered_creates_survive_kill_9_of_the_writer(true).await
}

async fn answered_creates_survive_kill_9_of_the_writer(pg: bool) {
    let (_dir, db, mail, key, client) = acme_on_backend(pg).await;

    let (mut answered_total, mut stored_before) = (0, 0);
    for round in 0..ROUNDS {
        let (mut child, base) = start_ready(&db, &mail, &client).await;
        // The ids of answered creates; how many calls went out.
        let answered: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (client, base, key, answered) =
                (client.clone(), base.clone(), key.clone(), answered.clone());
            clients.push(tokio::spawn(async move {
                let mut sent = 0usize;
                for n in 0.. {
                    let body = serde_json::json!({
                        "emails": [format!("r{round}-c{c}-n{n}@example.com")], "roles": ["viewer"]});
                    sent += 1;
                    let Ok(resp) = client
                        .post(format!("{base}/v1/tenants/acme/invitations"))
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                    else {
                        return sent; // the server is gone
                    };
                    assert_eq!(resp.status(), 201);
                    let Ok(body) = resp.json::<serde_json::Value>().await else { return sent };
                    let id = body["invitations"][0]["id"].as_str().unwrap().to_string();
                    answered.lock().unwrap().push(id);
                }
                sent
            }));
        }
        let wait = RandomState::new().hash_one(Instant::now()) % 600;
        tokio::time::sleep(Duration::from_millis(300 + wait)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut sent = 0;
        for c in clients {
            sent += c.await.unwrap();
        }

        let (mut child, base) = start_ready(&db, &mail, &client).await;
        let answered = answered.lock().unwrap().clone();
        assert!(!answered.is_empty(), "round {round}: nothing was answered before the kill");
        for id in &answered {
            let resp = client
                .get(format!("{base}/v1/tenants/acme/invitations/{id}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "round {round}: answered invitation {id} was lost");
        }
        // Stored this round: every answered create, and at most the calls
        // that were in flight when the kill came (one per client).
        let stored = common::count_invitations(&client, &base, &key).await;
        let new = stored - stored_before;
        assert!(
            answered.len() <= new && new <= answered.len() + CLIENTS,
            "round {round}: {new} stored, {} answered",
            answered.len()
        );
        stored_before = stored;
        eprintln!(
            "round {round}: {sent} creates sent, {} answered before the kill",
            answered.len()
        );
        answered_total += answered.len();
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(answered_total > 0);
}
