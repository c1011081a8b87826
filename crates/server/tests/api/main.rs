//! The integration suite: one test binary, each test on its own server
//! (port 0) and its own SQLite database, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod harness;

mod accept_page;
mod address;
mod auth_and_errors;
mod browser;
mod bulk;
mod change;
mod compat_tenant_admin;
mod compat_wix;
mod compat_workspace;
mod console;
mod create_and_list;
mod faults;
mod host_app;
mod idempotency;
mod lifecycle;
mod metrics;
mod multi;
mod openapi;
mod ops;
mod outbox;
mod quotas;
mod rate_limits;
mod request_ids;
mod slow_clients;
mod smtp;
mod webhooks;
