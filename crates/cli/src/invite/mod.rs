//! `invitd invite`: invitations for everyone in a CSV file, through a
//! running server's `/v1` API (so a remote deployment applies its own
//! rules), with a per-row report.
//!
//! Decisions:
//! - The bulk call takes one set of roles, language, message, purpose,
//!   expiry and metadata for all its addresses, so rows are grouped by
//!   those settings (in the order each group first appears in the file)
//!   and each group is sent in batches of up to 1,000 addresses.
//! - Each batch carries an `Idempotency-Key` made of a hash of the file's
//!   bytes and the options, and the batch's number: a re-run after a crash
//!   or Ctrl-C replays the answers of batches already done (the server
//!   stores them) and so never invites anyone twice, and reports the
//!   earlier outcome.
//! - Rows the file itself gets wrong (no or a bad address, the same
//!   address twice, an expiry that is not a number, no roles) are reported
//!   without being sent.
//! - 429 and 503 answers are waited out (their `Retry-After`, at most 30 s
//!   each, eight tries), as are dropped connections; the key makes that
//!   safe. Not 429 `quota_exceeded`: a quota frees up in hours, so the
//!   batch's rows are reported with that code. A refused key, an unknown
//!   tenant or an unreachable server stops the import (exit 1).

mod api;
mod input;
mod progress;

use anyhow::Context;
use api::Api;
use futures::StreamExt;
use input::{Outcome, Row};
use progress::Progress;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

/// Most addresses per call (the API's limit).
const BATCH: usize = 1000;

/// Calls in flight at once: while the server writes one batch it reads and
/// checks the next.
const IN_FLIGHT: usize = 4;

#[derive(clap::Args)]
pub struct InviteArgs {
    /// The tenant to invite people to.
    #[arg(long)]
    tenant: String,
    /// The CSV file: a header row with `email` and optionally `roles`
    /// (`;`-separated), `language`, `message`, `purpose`,
    /// `expires_in_days` and `metadata.<name>` columns.
    #[arg(long)]
    file: PathBuf,
    /// Roles for rows without a `roles` cell (comma-separated).
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// Email language for rows without a `language` cell.
    #[arg(long)]
    language: Option<String>,
    /// Personal message for rows without a `message` cell.
    #[arg(long)]
    message: Option<String>,
    /// Days until the links expire, for rows without an `expires_in_days` cell.
    #[arg(long)]
    expires_in_days: Option<i64>,
    /// Check every row (addresses, roles, duplicates) and write the report
    /// without inviting anyone.
    #[arg(long)]
    dry_run: bool,
    /// Where to write the per-row report (CSV); standard output if omitted.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The server's base URL.
    #[arg(long, env = "INVITD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API key with invites:write (and invites:read for --dry-run's role check).
    #[arg(long, env = "INVITD_KEY", hide_env_values = true)]
    key: String,
}

/// A row's settings once the command line's defaults fill its empty cells.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
struct Settings {
    roles: Vec<String>,
    language: Option<String>,
    message: Option<String>,
    purpose: Option<String>,
    expires_in_days: Option<i64>,
    metadata: BTreeMap<String, String>,
}

/// Runs the import; the process's exit status.
pub async fn run(args: InviteArgs) -> anyhow::Result<i32> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let rows = input::read(&bytes).with_context(|| format!("{}", args.file.display()))?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let base = args.url.trim_end_matches('/').to_string();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; rows.len()];
    let mut settings_of = Vec::with_capacity(rows.len());
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        match check(row, &args, &mut seen) {
            Ok(s) => settings_of.push(Some(s)),
            Err((outcome, message)) => {
                outcomes[i] = Some(outcome_of(row, outcome, "", &message));
                settings_of.push(None);
            }
        }
    }
    let api = Api { client, base, key: args.key.clone(), tenant: args.tenant.clone() };
    let progress = Progress::new(rows.len() as u64);
    progress.add(outcomes.iter().flatten().count() as u64);
    if args.dry_run {
        let known = api.roles().await?;
        for (i, row) in rows.iter().enumerate() {
            let Some(s) = &settings_of[i] else { continue };
            let unknown: Vec<&String> = s
                .roles
                .iter()
                .filter(|r| known.as_ref().is_some_and(|k| !k.contains(*r)))
                .collect();
            outcomes[i] = Some(if unknown.is_empty() {
                outcome_of(row, "would_invite", "", "")
            } else {
                let list: Vec<&str> = unknown.iter().map(|r| r.as_str()).collect();
                outcome_of(
                    row,
                    "unknown_role",
                    "",
                    &format!("not a role of this tenant: {}", list.join(", ")),
                )
            });
        }
    } else {
        let batches = batches(&settings_of);
        let run_key = run_key(&bytes, &args);
        let calls = batches.iter().enumerate().map(|(n, (settings, members))| {
            let body = body_of(settings, members.iter().map(|&i| rows[i].email.as_str()).collect());
            let key = format!("invitd-invite-{run_key}-{n}");
            let (api, progress) = (&api, &progress);
            async move {
                let answer = api.create(&body, &key).await?;
                progress.add(members.len() as u64);
                anyhow::Ok((members, answer))
            }
        });
        let mut answers = futures::stream::iter(calls).buffered(IN_FLIGHT);
        while let Some(done) = answers.next().await {
            let (members, answer) = done?;
            for &i in members {
                outcomes[i] = Some(answer.outcome(&rows[i]));
            }
        }
    }
    progress.finish();
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    let report = input::report(&outcomes)?;
    match &args.report {
        Some(path) => std::fs::write(path, report)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::Write::write_all(&mut std::io::stdout(), &report)?,
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &outcomes {
        *counts.entry(o.outcome.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!("{} rows: {}", outcomes.len(), summary.join(", "));
    let all_fine =
        counts.keys().all(|k| matches!(*k, "invited" | "already_pending" | "would_invite"));
    Ok(if all_fine { 0 } else { 2 })
}

/// A call's body: the addresses and their shared settings.
fn body_of(settings: &Settings, emails: Vec<&str>) -> serde_json::Value {
    let mut body = json!({"emails": emails, "roles": settings.roles});
    for (k, v) in [
        ("language", &settings.language),
        ("message", &settings.message),
        ("purpose", &settings.purpose),
    ] {
        if let Some(v) = v {
            body[k] = json!(v);
        }
    }
    if let Some(days) = settings.expires_in_days {
        body["expires_in_days"] = json!(days);
    }
    if !settings.metadata.is_empty() {
        body["metadata"] = json!(settings.metadata);
    }
    body
}

fn outcome_of(row: &Row, outcome: &str, id: &str, message: &str) -> Outcome {
    Outcome {
        line: row.line,
        email: row.email.clone(),
        outcome: outcome.into(),
        invitation_id: id.into(),
        message: message.into(),
    }
}

/// The row's settings, or why it is not sent.
fn check(
    row: &Row,
    args: &InviteArgs,
    seen: &mut HashSet<String>,
) -> Result<Settings, (&'static str, String)> {
    let email = invitd_core::EmailAddress::parse(&row.email)
        .map_err(|e| ("invalid_email", format!("not a valid address: {}", e.reason)))?;
    if !seen.insert(email.normalized().to_string()) {
        return Err(("duplicate_in_file", "this address appears earlier in the file".into()));
    }
    let roles = row.roles.clone().unwrap_or_else(|| args.roles.clone());
    if roles.is_empty() {
        return Err(("invalid_row", "no roles: give a roles column or --roles".into()));
    }
    let expires_in_days =
        match &row.expires_in_days {
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                ("invalid_row", format!("expires_in_days {text:?} is not a number"))
            })?),
            None => args.expires_in_days,
        };
    Ok(Settings {
        roles,
        language: row.language.clone().or_else(|| args.language.clone()),
        message: row.message.clone().or_else(|| args.message.clone()),
        purpose: row.purpose.clone(),
        expires_in_days,
        metadata: row.metadata.clone(),
    })
}

/// Rows grouped by settings in the order each group first appears, in
/// batches of at most [`BATCH`]; always the same for the same file.
fn batches(settings_of: &[Option<Settings>]) -> Vec<(Settings, Vec<usize>)> {
    let mut order: Vec<Settings> = Vec::new();
    let mut groups: HashMap<Settings, Vec<usize>> = HashMap::new();
    for (i, s) in settings_of.iter().enumerate() {
        let Some(s) = s else { continue };
        if !groups.contains_key(s) {
            order.push(s.clone());
        }
        groups.entry(s.clone()).or_default().push(i);
    }
    let mut out = Vec::new();
    for s in order {
        for chunk in groups.remove(&s).unwrap_or_default().chunks(BATCH) {
            out.push((s.clone(), chunk.to_vec()));
        }
    }
    out
}

/// What identifies this import: the file's bytes and every option that
/// shapes its requests.
fn run_key(bytes: &[u8], args: &InviteArgs) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    let options =
        json!([args.tenant, args.roles, args.language, args.message, args.expires_in_days]);
    h.update(options.to_string().as_bytes());
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}
