//! A per-client-address rate limit for the endpoints anyone can call
//! without a key: the accept page (`/i/...`, every method) and the token
//! endpoints (`/v1/invitations/lookup|accept|decline`) when the request has
//! no `Authorization` header. Each client address has a token bucket
//! (`burst` requests at once, refilled at `per_minute`); IPv6 clients are
//! counted per /64, the block one subscriber usually holds.
//!
//! The client address is the socket's peer. `X-Forwarded-For` is only
//! believed when the peer is one of the configured trusted proxies; then
//! the client is the right-most address in it that is not a trusted proxy.

use crate::error::Error;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Above this many tracked addresses, full buckets are pruned (at most
/// once a second).
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets per client address.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<(HashMap<IpAddr, Bucket>, Instant)>,
    /// When the last "rate limited" line was logged: at most one a minute,
    /// so a flood does not become a flood of log lines.
    last_logged: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute on average, `burst` at once. A
    /// `per_minute` of 0 turns the limit off.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new((HashMap::new(), Instant::now())),
            last_logged: Mutex::new(None),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    /// Takes one request from `ip`'s bucket; when it is empty, how long
    /// until it holds one again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now(), true)
    }

    /// Like [`RateLimiter::check`] without taking anything: for limits
    /// that count only failures (take one with `check` when one happens).
    pub fn peek(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now(), false)
    }

    fn check_at(&self, ip: IpAddr, now: Instant, take: bool) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let key = client_key(ip);
        let mut guard = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (buckets, last_prune) = &mut *guard;
        if buckets.len() > PRUNE_ABOVE && now.duration_since(*last_prune) >= Duration::from_secs(1)
        {
            *last_prune = now;
            // A bucket that has refilled is the same as no bucket.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.burst, updated: now });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            if take {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }

    /// Whether a refusal should be logged now (once a minute at most).
    fn should_log(&self) -> bool {
        let mut last = match self.last_logged.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// Addresses currently tracked.
    pub fn tracked(&self) -> usize {
        match self.buckets.lock() {
            Ok(guard) => guard.0.len(),
            Err(poisoned) => poisoned.into_inner().0.len(),
        }
    }
}

/// The key a client is counted under: its IPv4 address (IPv4-mapped IPv6
/// included), or its IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The client's address: the peer, or, behind a trusted proxy, the
/// right-most `X-Forwarded-For` address that is not a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let trusts = |ip: &IpAddr| trusted.contains(&client_key_exact(*ip));
    if !trusts(&peer) {
        return peer;
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            return client;
        };
        for hop in value.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusts(&ip) {
                        return ip;
                    }
                }
                Err(_) => return client,
            }
        }
    }
    client
}

/// An address with IPv4-mapped IPv6 turned into IPv4, for comparisons.
fn client_key_exact(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Which face a limited request belongs to, for the shape of its 429.
enum Face {
    Page,
    Api,
}

fn limited_face(req: &Request) -> Option<Face> {
    let path = req.uri().path();
    if path.starts_with("/i/") {
        return Some(Face::Page);
    }
    let token_endpoint = matches!(
        path,
        "/v1/invitations/lookup" | "/v1/invitations/accept" | "/v1/invitations/decline"
    );
    (token_endpoint && !req.headers().contains_key(header::AUTHORIZATION)).then_some(Face::Api)
}

/// The middleware's state: the buckets and whom to believe.
#[derive(Clone)]
pub struct Limit {
    pub limiter: Arc<RateLimiter>,
    pub trusted_proxies: Arc<Vec<IpAddr>>,
}

/// The middleware.
pub async fn layer(State(limit): State<Limit>, req: Request, next: Next) -> Response {
    let limiter = &limit.limiter;
    if !limiter.enabled() {
        return next.run(req).await;
    }
    let Some(face) = limited_face(&req) else {
        return next.run(req).await;
    };
    // Without a socket address (a request built in-process) there is no
    // client to count.
    let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return next.run(req).await;
    };
    let client = client_address(peer, req.headers(), &limit.trusted_proxies);
    match limiter.check(client) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            if limiter.should_log() {
                tracing::warn!(
                    client = %client,
                    retry_after = secs,
                    "rate limited unauthenticated requests (INVITD_RATE_LIMIT_PER_MINUTE); \
                     logged once a minute at most"
                );
            } else {
                tracing::debug!(client = %client, "rate limited");
            }
            match face {
                Face::Api => Error::RateLimited { retry_after_secs: secs }.into_response(),
                Face::Page => page(secs),
            }
        }
    }
}

/// The accept page's 429: a small page of its own.
fn page(secs: u64) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Too many requests</title></head>\
         <body><main><h1>Too many requests</h1>\
         <p>Too many requests came from your network. Please try again in {secs} seconds.</p>\
         </main></body></html>\n"
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_the_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(60, 3);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(ip, t, true).is_ok());
        }
        let wait = limiter.check_at(ip, t, true).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        // Another address has its own bucket.
        assert!(limiter.check_at("203.0.113.8".parse().unwrap(), t, true).is_ok());
        // One a second comes back.
        assert!(limiter.check_at(ip, t + Duration::from_secs(1), true).is_ok());
        assert!(limiter.check_at(ip, t + Duration::from_secs(1), true).is_err());
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let limiter = RateLimiter::new(60, 1);
        let t = Instant::now();
        assert!(limiter.check_at("2001:db8:1:2::1".parse().unwrap(), t, true).is_ok());
        assert!(limiter.check_at("2001:db8:1:2::ffff".parse().unwrap(), t, true).is_err());
        assert!(limiter.check_at("2001:db8:1:3::1".parse().unwrap(), t, true).is_ok());
        assert!(limiter.check_at("198.51.100.1".parse().unwrap(), t, true).is_ok());
        assert!(limiter.check_at("::ffff:198.51.100.1".parse().unwrap(), t, true).is_err());
    }

    #[test]
    fn idle_buckets_are_pruned() {
        let limiter = RateLimiter::new(60, 2);
        let t = Instant::now();
        for i in 0..(PRUNE_ABOVE as u32 + 10) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(limiter.check_at(ip, t, true).is_ok());
        }
        assert!(limiter.tracked() > PRUNE_ABOVE);
        // Two seconds later every bucket has refilled: all but the new one go.
        let later = t + Duration::from_secs(2);
        assert!(limiter.check_at("192.0.2.1".parse().unwrap(), later, true).is_ok());
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn off_means_off() {
        let limiter = RateLimiter::new(0, 1);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..100 {
            assert!(limiter.check(ip).is_ok());
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.9, 203.0.113.5, 10.0.0.2"),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(client_address(proxy, &headers, &[]), proxy);
        assert_eq!(
            client_address(proxy, &headers, &[proxy, other]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, &headers, &[proxy]), other);
        headers.insert("x-forwarded-for", HeaderValue::from_static("junk"));
        assert_eq!(client_address(proxy, &headers, &[proxy]), proxy);
    }
}
