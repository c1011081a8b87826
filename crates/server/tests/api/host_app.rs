//! What host apps ask of an invitation system (issue 14): invitations
//! created without an email, a landing page per invitation, and answers
//! refused when the signed-in account is not the invited address.

use crate::harness::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

mod landing_page;
mod matching_email;
mod send_email;

/// A webhook receiver that records every body it is sent.
#[derive(Clone)]
struct Hooks {
    url: String,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Hooks {
    async fn start() -> Hooks {
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let s = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hooks { url: format!("http://{addr}/hook"), seen }
    }

    /// Subscribes to every event of acme, on an app that allows private
    /// webhook addresses.
    async fn subscribe(&self, app: &TestApp) {
        app.post("/v1/tenants/acme/webhooks", json!({"url": self.url, "event_types": []}))
            .await
            .expect(201);
    }

    /// Sends every due delivery; the bodies received so far.
    async fn pump(&self, app: &TestApp) -> Vec<Value> {
        while app.running.webhooks.run_once().await.unwrap() > 0 {}
        self.seen.lock().unwrap().clone()
    }
}

/// The `type`s of an invitation's audit events, oldest first, and the
/// events themselves.
async fn events(app: &TestApp, id: &str) -> (Vec<String>, Vec<Value>) {
    let body = app.get(&format!("/v1/tenants/acme/invitations/{id}/events")).await.expect(200);
    let list = body["events"].as_array().unwrap().clone();
    (list.iter().map(|e| e["type"].as_str().unwrap().to_string()).collect(), list)
}

/// The event of a type (the last one of it).
#[track_caller]
fn event<'a>(list: &'a [Value], kind: &str) -> &'a Value {
    list.iter().rev().find(|e| e["type"] == kind).unwrap_or_else(|| panic!("no {kind}"))
}
