//! Slow and idle clients over raw TCP: header, idle and request timeouts,
//! and the connection cap.

use crate::harness::*;
use invitd_server::config::Config;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn with(f: impl FnOnce(&mut Config) + Send + 'static) -> Options {
    Options { configure: Some(Box::new(f)), ..Default::default() }
}

/// An app configured by `f`, and one raw connection to it.
/// A server with these timeouts (seconds: for the request's head, for an
/// idle keep-alive connection, for the whole request), and a connection to it.
async fn connected(header: f64, idle: f64, request: f64) -> (TestApp, TcpStream) {
    let app = spawn_app_with(with(move |c: &mut Config| {
        c.http_header_timeout = secs(header);
        c.http_idle_timeout = secs(idle);
        c.http_request_timeout = secs(request);
    }))
    .await;
    let stream = TcpStream::connect(app.running.addr).await.unwrap();
    (app, stream)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Reads until the server closes the connection (EOF or reset); what it
/// sent before that.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Waits for the server to close `stream` (at most two seconds past `max`)
/// and asserts it did so between `min` and `max` seconds after `from`;
/// what it sent before closing.
async fn closed_between(stream: &mut TcpStream, from: Instant, min: f64, max: f64) -> Vec<u8> {
    let rest = tokio::time::timeout(secs(max + 2.0), read_to_close(stream)).await.unwrap();
    let took = from.elapsed();
    assert!(took >= secs(min) && took < secs(max), "closed after {took:?}");
    rest
}

/// Reads one response with a `content-length` body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before a response: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn half_sent_requests_are_closed_after_the_header_timeout_while_healthz_answers() {
    let app = spawn_app_with(with(|c| {
        c.http_header_timeout = secs(1.0);
        c.http_idle_timeout = secs(1.0);
        c.http_request_timeout = secs(1.0);
    }))
    .await;
    let addr = app.running.addr;
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // Half a request: the line and a header, never the blank line.
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-N: {i}\r\n").as_bytes())
            .await
            .unwrap();
        stalled.push(s);
    }
    // Meanwhile /healthz answers, each within 100 ms, on fresh connections.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut slowest = Duration::ZERO;
    while opened.elapsed() < secs(1.5) {
        let started = Instant::now();
        let reply = client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(slowest < Duration::from_millis(100), "slowest /healthz: {slowest:?}");
    // Every stalled socket is closed by the server, not before the timeout.
    let closed = futures::future::join_all(
        stalled
            .iter_mut()
            .map(|s| async { tokio::time::timeout(secs(5.0), read_to_close(s)).await.is_ok() }),
    )
    .await;
    assert!(closed.iter().all(|c| *c), "some stalled connections stayed open");
    assert!(opened.elapsed() >= secs(1.0));
    // And the server still serves.
    assert_eq!(client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let (_app, mut s) = connected(1.0, 30.0, 30.0).await;
    closed_between(&mut s, Instant::now(), 0.9, 3.0).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The idle timeout is its own: longer than the header timeout here.
    let (_app, mut s) = connected(1.0, 2.0, 30.0).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let first = read_response(&mut s).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let idle_from = Instant::now();
    // Still open past the header timeout: a second request is answered.
    tokio::time::sleep(secs(1.5)).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let second = read_response(&mut s).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(idle_from.elapsed() >= secs(1.5));
    // Then, with nothing more, closed after the idle timeout.
    let rest = closed_between(&mut s, Instant::now(), 1.8, 4.0).await;
    assert!(rest.is_empty());
}

#[tokio::test]
async fn a_body_that_trickles_past_the_request_timeout_is_answered_408() {
    let (app, mut s) = connected(5.0, 75.0, 1.0).await;
    let head = format!(
        "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"id\":",
        app.key
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = s.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("request_timeout") {
        match tokio::time::timeout(secs(5.0), reader.read(&mut buf)).await.unwrap() {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert!(took >= secs(0.9) && took < secs(3.0), "answered after {took:?}");
    trickle.abort();
    // The server goes on serving.
    app.get("/v1/tenants/acme").await.expect(200);
}

#[tokio::test]
async fn at_the_connection_cap_a_new_connection_waits_for_a_free_slot() {
    let app = spawn_app_with(with(|c| {
        c.http_max_connections = 3;
        c.http_header_timeout = secs(30.0);
        c.http_idle_timeout = secs(30.0);
    }))
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.running.addr).await.unwrap());
    }
    // Let the server accept those three.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = app.base.clone();
    let waiting = tokio::spawn(async move {
        let client = reqwest::Client::new();
        client.get(format!("{base}/healthz")).send().await.map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the fourth connection was served at the cap");
    drop(held.pop());
    let status = tokio::time::timeout(secs(3.0), waiting).await.unwrap().unwrap().unwrap();
    assert_eq!(status, 200);
}
