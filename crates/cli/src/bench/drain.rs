//! `--drain`: after the operations, how fast the server's email worker
//! empties the outbox they filled, read from its `/metrics` (emails due and
//! emails sent) while nothing else loads it.

use super::client::Target;
use std::time::{Duration, Instant};

/// One reading of `/metrics`: emails due, emails sent so far.
async fn reading(t: &Target) -> anyhow::Result<(f64, f64)> {
    let text = t.client.get(format!("{}/metrics", t.base)).send().await?.text().await?;
    let value = |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
    };
    match (value("invitd_outbox_due"), value(r#"invitd_email_sends_total{outcome="sent"}"#)) {
        (Some(due), sent) => Ok((due, sent.unwrap_or(0.0))),
        _ => anyhow::bail!("no invitd_outbox_due in {}/metrics", t.base),
    }
}

/// Waits (at most ten minutes) until no email is due, then prints the rate.
pub(super) async fn measure(t: &Target) -> anyhow::Result<()> {
    let started = Instant::now();
    let (due, sent_before) = reading(t).await?;
    if due < 1000.0 {
        println!("\nemail outbox: {due} emails due after the operations, too few to time a drain");
        return Ok(());
    }
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (now_due, sent) = reading(t).await?;
        if now_due == 0.0 || started.elapsed() > Duration::from_secs(600) {
            let secs = started.elapsed().as_secs_f64();
            let drained = sent - sent_before;
            println!(
                "\nemail outbox: {drained} emails sent in {secs:.1} s with nothing else running: {:.0} emails/s ({now_due} still due)",
                drained / secs
            );
            return Ok(());
        }
    }
}
