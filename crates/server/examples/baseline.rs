//! The simplest possible invitation service, as a yardstick for the
//! benchmark: axum, one SQLite connection (rusqlite) behind a mutex, and a
//! create handler that inserts one row per address in a transaction of its
//! own. No validation beyond JSON, no events, no outbox, no webhooks, no
//! authentication. It answers the two routes `invitd bench --ops
//! create-one,get` uses, with the same shapes as `/v1`, so the same client
//! measures both:
//!
//! ```sh
//! cargo run --release -p invitd-server --example baseline -- 127.0.0.1:8090 /tmp/baseline.db
//! ./target/release/invitd bench --url http://127.0.0.1:8090 --key x --ops create-one,get
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

type Db = Arc<Mutex<rusqlite::Connection>>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let path = args.next().unwrap_or_else(|| "baseline.db".into());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS invitations (
             id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL,
             roles TEXT NOT NULL, created_at INTEGER NOT NULL)",
    )
    .unwrap();
    let db: Db = Arc::new(Mutex::new(conn));
    let app = axum::Router::new()
        .route("/v1/tenants/{tenant}/invitations", post(create))
        .route("/v1/tenants/{tenant}/invitations/{id}", get(read))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(&bind).await.unwrap();
    eprintln!("baseline listening on http://{bind}, database {path}");
    axum::serve(listener, app).await.unwrap();
}

async fn create(
    State(db): State<Db>,
    Path(tenant): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let roles = body["roles"].to_string();
    let now = time_ms();
    let mut created = Vec::new();
    let mut conn = db.lock().unwrap();
    for email in body["emails"].as_array().into_iter().flatten() {
        let id = uuid::Uuid::now_v7().to_string();
        let tx = conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO invitations (id, tenant_id, email, roles, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![id, tenant, email.as_str().unwrap_or_default(), roles, now],
        )
        .unwrap();
        tx.commit().unwrap();
        created.push(json!({"id": id, "email": email}));
    }
    (StatusCode::CREATED, Json(json!({"invitations": created, "failures": []})))
}

async fn read(
    State(db): State<Db>,
    Path((tenant, id)): Path<(String, String)>,
) -> (StatusCode, Json<Value>) {
    let conn = db.lock().unwrap();
    let found = conn.query_row(
        "SELECT email, roles, created_at FROM invitations WHERE id = ?1 AND tenant_id = ?2",
        rusqlite::params![id, tenant],
        |r| Ok(json!({"id": id, "email": r.get::<_, String>(0)?, "roles": r.get::<_, String>(1)?, "created_at": r.get::<_, i64>(2)?})),
    );
    match found {
        Ok(v) => (StatusCode::OK, Json(v)),
        Err(_) => (StatusCode::NOT_FOUND, Json(json!({"code": "not_found"}))),
    }
}

fn time_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
