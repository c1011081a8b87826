//! `Idempotency-Key` across `kill -9`: the real binary is killed at random
//! moments while clients send keyed bulk creates; after each restart every
//! call that got no answer is retried with its key and must end with the
//! full list of its invitations (never `already_pending` for invitations it
//! made itself, never `idempotency_in_progress`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{acme_on_backend, start_ready};

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 6;
const PER_CALL: usize = 40;
const ROUNDS: usize = 5;

fn random_below(n: u64) -> u64 {
    RandomState::new().hash_one(Instant::now()) % n
}

struct Call {
    key: String,
    body: serde_json::Value,
    emails: Vec<String>,
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    call: &Call,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let resp = client
        .post(format!("{base}/v1/tenants/acme/invitations"))
        .bearer_auth(key)
        .header("idempotency-key", &call.key)
        .json(&call.body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await?))
}

/// The answer a call must end with: 201, every address invited, no failure.
#[track_caller]
fn assert_complete(call: &Call, status: u16, body: &serde_json::Value) {
    assert_eq!(status, 201, "call {}: {body}", call.key);
    let got: Vec<&str> = body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(got.len(), PER_CALL, "call {} must list all of its invitations: {body}", call.key);
    for email in &call.emails {
        assert!(got.contains(&email.as_str()), "{email} missing: {body}");
    }
    assert_eq!(body["failures"].as_array().unwrap().len(), 0, "{body}");
    for inv in body["invitations"].as_array().unwrap() {
        assert!(inv["accept_url"].as_str().unwrap().contains("/i/"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_creates_retried_after_kill_9_get_their_full_answer_on_sqlite() {
    keyed_creates_retried_after_kill_9_get_their_full_answer(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
async fn keyed_creates_retried_after_kill_9_get_their_full_answer_on_postgres() {
    keyed_creates_retried_after_kill_9_get_their_full_answer(true).await
}

async fn keyed_creates_retried_after_kill_9_get_their_full_answer(pg: bool) {
    let (_dir, db, mail, key, client) = acme_on_backend(pg).await;

    let mut total_calls = 0;
    let mut unanswered_total = 0;
    for round in 0..ROUNDS {
        let (mut child, base) = start_ready(&db, &mail, &client).await;
        // Answers by key; a call missing here got no answer before the kill.
        let answered: Arc<Mutex<HashMap<String, (u16, serde_json::Value)>>> = Arc::default();
        let sent: Arc<Mutex<Vec<Arc<Call>>>> = Arc::default();
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            let (answered, sent) = (answered.clone(), sent.clone());
            clients.push(tokio::spawn(async move {
                for n in 0.. {
                    let emails: Vec<String> = (0..PER_CALL)
                        .map(|i| format!("r{round}-c{c}-n{n}-{i}@example.com"))
                        .collect();
                    let call = Arc::new(Call {
                        key: format!("create-{round}-{c}-{n}"),
                        body: serde_json::json!({"emails": emails, "roles": ["viewer"]}),
                        emails,
                    });
                    sent.lock().unwrap().push(call.clone());
                    match send(&client, &base, &key, &call).await {
                        Ok(answer) => {
                            answered.lock().unwrap().insert(call.key.clone(), answer);
                        }
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(150 + random_below(600))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for c in clients {
            c.await.unwrap();
        }

        let (mut child, base) = start_ready(&db, &mail, &client).await;
        let sent = sent.lock().unwrap().clone();
        let answered = answered.lock().unwrap().clone();
        total_calls += sent.len();
        for call in &sent {
            let (status, body) = send(&client, &base, &key, call).await.unwrap();
            match answered.get(&call.key) {
                // Answered before the kill: the retry replays that answer.
                Some((first_status, first_body)) => {
                    assert_complete(call, *first_status, first_body);
                    assert_eq!((status, &body), (*first_status, first_body));
                }
                None => {
                    unanswered_total += 1;
                    assert_complete(call, status, &body);
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    eprintln!("{total_calls} keyed calls, {unanswered_total} cut by a kill and retried");
    assert!(unanswered_total > 0, "no call was cut by a kill");

    // Every call's invitations exist exactly once.
    let (mut child, base) = start_ready(&db, &mail, &client).await;
    let count = common::count_invitations(&client, &base, &key).await;
    assert_eq!(count, total_calls * PER_CALL);
    child.kill().unwrap();
    child.wait().unwrap();
}
