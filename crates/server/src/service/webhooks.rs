//! Webhook endpoints and the event log, per tenant.

use super::{Service, not_found_as, parse_time};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::EventType;
use invitd_store::{Event, EventFilter, QueuedTest, StoreError, WebhookAttempt, WebhookEndpoint};
use serde::Deserialize;
use uuid::Uuid;

/// A webhook endpoint to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An http(s) URL on the public internet (at most 2048 characters).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Event types to receive; absent or empty: all of them.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::fields::event_types)]
    pub event_types: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Changes to an endpoint; absent fields stay. Enabling clears a disable.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// An http(s) URL on the public internet (at most 2048 characters).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    #[schema(schema_with = crate::openapi::fields::event_types_change)]
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Filters for the event log.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// `invitation.accepted`, `api_key.created`, `webhook.disabled`, …
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only this invitation's events.
    pub invitation_id: Option<Uuid>,
    /// RFC 3339.
    #[param(format = DateTime)]
    pub after: Option<String>,
    /// RFC 3339.
    #[param(format = DateTime)]
    pub before: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^e\\+?0*[1-9][0-9]*$")]
    pub cursor: Option<String>,
}

fn check_types(types: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        if !EventType::parse(t).is_some_and(EventType::is_invitation) {
            let known: Vec<&str> = EventType::subscribable().map(EventType::as_str).collect();
            return Err(Error::invalid(
                "event_types",
                format!("unknown event type {t:?}; known: {}", known.join(", ")),
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// A missing endpoint is 404 `not_found` naming the webhook.
fn not_found(e: StoreError) -> Error {
    not_found_as("webhook")(e)
}

impl Service {
    async fn check_webhook_url(&self, url: &str) -> Result<String, Error> {
        if url.chars().count() > 2048 {
            return Err(Error::invalid("url", "must be at most 2048 characters"));
        }
        crate::webhooks::check_url(url, self.state.config.webhook_allow_private_networks)
            .await
            .map_err(|reason| Error::invalid("url", reason))?;
        Ok(url.to_string())
    }

    pub async fn create_webhook(
        &self,
        caller: &Caller,
        tenant: &str,
        req: NewWebhook,
    ) -> Result<WebhookEndpoint, Error> {
        let tenant = self.tenant_with(caller, Scope::TenantsAdmin, tenant).await?;
        let now = self.now();
        let endpoint = WebhookEndpoint {
            id: Uuid::now_v7(),
            tenant_id: tenant.id,
            url: self.check_webhook_url(&req.url).await?,
            secret: crate::webhooks::new_secret(),
            event_types: check_types(&req.event_types)?,
            enabled: req.enabled,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        self.state.store.create_webhook(&endpoint, &caller.audit()).await?;
        Ok(endpoint)
    }

    pub async fn webhook(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<WebhookEndpoint, Error> {
        let tenant = self.tenant_with(caller, Scope::TenantsAdmin, tenant).await?;
        self.state.store.get_webhook(&tenant.id, id).await.map_err(not_found)
    }

    pub async fn list_webhooks(
        &self,
        caller: &Caller,
        tenant: &str,
    ) -> Result<Vec<WebhookEndpoint>, Error> {
        let tenant = self.tenant_with(caller, Scope::TenantsAdmin, tenant).await?;
        Ok(self.state.store.list_webhooks(&tenant.id).await?)
    }

    pub async fn update_webhook(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
        patch: WebhookPatch,
    ) -> Result<WebhookEndpoint, Error> {
        let mut e = self.webhook(caller, tenant, id).await?;
        if let Some(url) = patch.url {
            e.url = self.check_webhook_url(&url).await?;
        }
        if let Some(types) = patch.event_types {
            e.event_types = check_types(&types)?;
        }
        if let Some(enabled) = patch.enabled {
            e.enabled = enabled;
            if enabled {
                e.disabled_reason = None;
                e.failing_since = None;
            }
        }
        self.save_webhook(e, EventType::WebhookUpdated, caller).await
    }

    pub async fn rotate_webhook_secret(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<WebhookEndpoint, Error> {
        let mut e = self.webhook(caller, tenant, id).await?;
        e.secret = crate::webhooks::new_secret();
        self.save_webhook(e, EventType::WebhookSecretRotated, caller).await
    }

    /// Stores a changed endpoint, stamped now, with the event saying what
    /// changed.
    async fn save_webhook(
        &self,
        mut e: WebhookEndpoint,
        event: EventType,
        caller: &Caller,
    ) -> Result<WebhookEndpoint, Error> {
        e.updated_at = self.now();
        self.state.store.update_webhook(&e, event, &caller.audit()).await.map_err(not_found)?;
        Ok(e)
    }

    pub async fn delete_webhook(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<(), Error> {
        let e = self.webhook(caller, tenant, id).await?;
        self.state
            .store
            .delete_webhook(&e.tenant_id, id, self.now(), &caller.audit())
            .await
            .map_err(not_found)
    }

    /// Queues a signed `webhook.test` event for this endpoint alone (enabled
    /// or not, whatever it subscribes to); the webhook worker delivers it
    /// like any other, so it shows among the endpoint's attempts.
    pub async fn send_webhook_test(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<QueuedTest, Error> {
        let e = self.webhook(caller, tenant, id).await?;
        self.state
            .store
            .queue_webhook_test(&e, self.now(), &caller.audit())
            .await
            .map_err(not_found)
    }

    pub async fn webhook_attempts(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
        limit: Option<u32>,
    ) -> Result<Vec<WebhookAttempt>, Error> {
        let e = self.webhook(caller, tenant, id).await?;
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid("limit", "must be 1 to 200"));
        }
        Ok(self.state.store.list_webhook_attempts(&e.tenant_id, id, limit).await?)
    }

    /// A tenant's events (`tenant: Some`) or the installation's own (API
    /// keys; `None`, for a key with `keys:admin` on all tenants), newest
    /// first.
    pub async fn events(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
        q: EventQuery,
    ) -> Result<(Vec<Event>, Option<String>), Error> {
        let tenant = match tenant {
            Some(t) => Some(self.tenant_with(caller, Scope::InvitesRead, t).await?.id),
            None => {
                caller.require(Scope::KeysAdmin)?;
                if caller.key.tenants.is_some() {
                    return Err(Error::Forbidden("keys:admin on a key for all tenants".into()));
                }
                None
            }
        };
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid("limit", "must be 1 to 200"));
        }
        let before_id = q
            .cursor
            .as_deref()
            .map(|c| {
                c.strip_prefix('e')
                    .and_then(|n| n.parse::<i64>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::invalid("cursor", "is not a cursor this API returned"))
            })
            .transpose()?;
        let filter = EventFilter {
            tenant,
            event_type: q.event_type,
            invitation: q.invitation_id,
            after: q.after.as_deref().map(|s| parse_time("after", s)).transpose()?,
            before: q.before.as_deref().map(|s| parse_time("before", s)).transpose()?,
            before_id,
            limit: limit + 1,
        };
        let mut events = self.state.store.list_events(&filter).await?;
        let next = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| format!("e{}", e.id))
        } else {
            None
        };
        Ok((events, next))
    }
}
