//! The server's `/v1` API as the import uses it.

use super::input::{Outcome, Row};
use super::outcome_of;
use anyhow::{anyhow, bail};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub(super) struct Api {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) key: String,
    pub(super) tenant: String,
}

/// A batch's answer, by normalized address.
pub(super) struct Answer {
    invited: HashMap<String, String>,
    failed: HashMap<String, (String, String)>,
    /// The whole batch was refused (a problem document's code and detail).
    refused: Option<(String, String)>,
}

impl Answer {
    pub(super) fn outcome(&self, row: &Row) -> Outcome {
        if let Some((code, detail)) = &self.refused {
            return outcome_of(row, code, "", detail);
        }
        let key = normalized(&row.email);
        if let Some(id) = self.invited.get(&key) {
            return outcome_of(row, "invited", id, "");
        }
        match self.failed.get(&key) {
            Some((code, message)) => outcome_of(row, code, "", message),
            None => {
                outcome_of(row, "unknown", "", "the server's answer did not mention this address")
            }
        }
    }
}

fn normalized(email: &str) -> String {
    invitd_core::EmailAddress::parse(email)
        .map_or_else(|_| email.to_lowercase(), |e| e.normalized().to_string())
}

impl Api {
    /// The tenant's role ids; `None` when the key may not read them.
    pub(super) async fn roles(&self) -> anyhow::Result<Option<HashSet<String>>> {
        let resp = self
            .send(|c| c.get(format!("{}/v1/tenants/{}/roles", self.base, self.tenant)), None)
            .await?;
        if resp.0 == 403 {
            eprintln!("note: this key may not read the tenant's roles; they are not checked");
            return Ok(None);
        }
        let ids = resp.1["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str())
            .map(str::to_string);
        Ok(Some(ids.collect()))
    }

    pub(super) async fn create(
        &self,
        body: &Value,
        idempotency_key: &str,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}/v1/tenants/{}/invitations", self.base, self.tenant);
        let (status, v) = self.send(|c| c.post(&url).json(body), Some(idempotency_key)).await?;
        if !(200..300).contains(&status) {
            let code = v["code"].as_str().unwrap_or("refused").to_string();
            let detail = v["detail"].as_str().unwrap_or("").to_string();
            return Ok(Answer {
                invited: HashMap::new(),
                failed: HashMap::new(),
                refused: Some((code, detail)),
            });
        }
        let invited = v["invitations"].as_array().into_iter().flatten().filter_map(|i| {
            Some((normalized(i["email"].as_str()?), i["id"].as_str()?.to_string()))
        });
        let failed = v["failures"].as_array().into_iter().flatten().filter_map(|f| {
            let code = f["code"].as_str()?.to_string();
            Some((
                normalized(f["email"].as_str()?),
                (code, f["message"].as_str().unwrap_or("").to_string()),
            ))
        });
        Ok(Answer { invited: invited.collect(), failed: failed.collect(), refused: None })
    }

    /// Sends with the key, waiting out 429, 503 and dropped connections;
    /// stops on a refused key or an unknown tenant.
    async fn send(
        &self,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut last = String::new();
        for _ in 0..8 {
            let mut req = make(&self.client).bearer_auth(&self.key);
            if let Some(k) = idempotency_key {
                req = req.header("idempotency-key", k);
            }
            let wait = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                        .unwrap_or(2)
                        .min(30);
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    match status {
                        // A used-up quota comes back in hours, not seconds:
                        // the rows are reported refused instead.
                        429 if body["code"] == "quota_exceeded" => return Ok((status, body)),
                        429 | 503 => {
                            last = format!("the server answered {status}");
                            Duration::from_secs(retry_after)
                        }
                        401 => bail!(
                            "the server refused the key (401): {}",
                            body["detail"].as_str().unwrap_or("")
                        ),
                        404 if body["code"] == "not_found"
                            && body["detail"].as_str().is_some_and(|d| d.contains("tenant")) =>
                        {
                            bail!("no tenant {:?} that this key reaches", self.tenant)
                        }
                        _ => return Ok((status, body)),
                    }
                }
                Err(e) => {
                    last = format!("cannot reach {}: {e}", self.base);
                    Duration::from_secs(2)
                }
            };
            tokio::time::sleep(wait).await;
        }
        Err(anyhow!("giving up after 8 tries: {last}"))
    }
}
