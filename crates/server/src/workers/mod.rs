//! The background workers: each runs until shutdown, wakes on a signal or a
//! poll, and exposes `run_once()` so tests drive it step by step.

pub mod expiry;
pub mod mail;
pub mod webhooks;
