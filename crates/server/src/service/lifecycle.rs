//! The lifecycle after creation: resend, revoke, the invitee's accept
//! and decline by token, and what happened (events, delivery attempts).

use super::Service;
use super::invitations::ResendOptions;
use super::invitations::role_labels;
use super::not_found_as;
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{EventType, Invitation, Language, Secret, TenantId};
use invitd_store::{Audit, Decide, Event, Target, Tenant, TokenMatch, Transition};
use uuid::Uuid;

impl Service {
    /// An invitation by its per-installation number, with its tenant, if
    /// the caller has `scope` (read to show it, write to change it next) and
    /// reaches that tenant (404 otherwise, like a missing one).
    pub async fn invitation_by_number(
        &self,
        caller: &Caller,
        scope: Scope,
        number: i64,
    ) -> Result<(Tenant, Invitation), Error> {
        caller.require(scope)?;
        let inv = self
            .state
            .store
            .get_invitation_by_number(None, number)
            .await
            .map_err(not_found_as("invitation"))?;
        if !caller.reaches(&inv.tenant_id) {
            return Err(Error::NotFound("invitation"));
        }
        let tenant = self.state.store.get_tenant(&inv.tenant_id).await?;
        Ok((tenant, inv))
    }

    /// Resend with the email in `language` for this send (else the
    /// invitation's, then the tenant's).
    pub async fn resend_with_language(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
        language: Option<Language>,
    ) -> Result<(Invitation, Secret), Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesWrite, tenant).await?;
        self.resend_in(&tenant, id, language, &caller.audit()).await
    }

    /// Resends: a new token (the old link dies), a new expiry, a new email.
    pub async fn resend(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<(Invitation, Secret), Error> {
        self.resend_with_language(caller, tenant, id, None).await
    }

    /// Resends with the caller's options: without an email (the host app
    /// hands the new link over), or to a new landing page.
    pub async fn resend_with_options(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
        options: ResendOptions,
    ) -> Result<(Invitation, Secret), Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesWrite, tenant).await?;
        self.resend_as(&tenant, id, None, options, &caller.audit()).await
    }

    /// Resend within an authorized tenant; `language` overrides the email's
    /// language for this send (the Wix API's `defaultEmailLanguage`).
    pub async fn resend_in(
        &self,
        tenant: &Tenant,
        id: Uuid,
        language: Option<Language>,
        audit: &Audit,
    ) -> Result<(Invitation, Secret), Error> {
        self.resend_as(tenant, id, language, ResendOptions::default(), audit).await
    }

    async fn resend_as(
        &self,
        tenant: &Tenant,
        id: Uuid,
        language: Option<Language>,
        options: ResendOptions,
        audit: &Audit,
    ) -> Result<(Invitation, Secret), Error> {
        let send = options.send_email.unwrap_or(true);
        let redirect = match options.redirect_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(url)) => Some(Some(super::redirects::check_redirect(tenant, &url)?)),
        };
        let catalogue = self.state.store.list_roles(&tenant.id).await?;
        let token = Secret::generate("");
        let clock = self.state.clock.clone();
        let policy = tenant.resend_policy();
        let this = self.clone();
        let tenant_c = tenant.clone();
        let token_c = token.clone();
        // The time is read when the store runs the decision, after it locked
        // the row: a concurrent resend that committed first is then always
        // in the past, never in the future of a time read earlier.
        let decide: Decide = Box::new(move |current: &Invitation| {
            let now = clock.now();
            let mut updated = if send {
                current.resend(now, &policy, token_c.hash())?
            } else {
                current.resend_unsent(now, &policy, token_c.hash())?
            };
            if let Some(url) = &redirect {
                updated.redirect_url = url.clone();
            }
            // This send's language, else the invitation's usual one.
            let lang = language
                .map(|l| l.as_str().to_string())
                .unwrap_or_else(|| updated.language_or(tenant_c.language.as_ref()));
            let names = role_labels(&updated.roles, &catalogue, &lang);
            let email = send
                .then(|| this.outbox_email("resend", &tenant_c, &updated, &names, &lang, &token_c));
            Ok(Transition {
                event_data: serde_json::json!({"resend_count": updated.resend_count, "expires_at": updated.expires_at.unix_timestamp(), "send_email": send}),
                updated,
                at: now,
                event: EventType::InvitationResent,
                email,
            })
        });
        let target = Target::Id { tenant: tenant.id.clone(), id };
        let updated = self.transition(target, decide, audit, "resent").await?;
        if send {
            self.state.outbox_notify.notify_one();
        }
        Ok((updated, token))
    }

    pub async fn revoke(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<Invitation, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesWrite, tenant).await?;
        self.revoke_in(&tenant.id, id, &caller.audit()).await
    }

    pub async fn revoke_in(
        &self,
        tenant: &TenantId,
        id: Uuid,
        audit: &Audit,
    ) -> Result<Invitation, Error> {
        let clock = self.state.clock.clone();
        let decide: Decide = Box::new(move |current: &Invitation| {
            let now = clock.now();
            Ok(Transition {
                updated: current.revoke(now)?,
                at: now,
                event: EventType::InvitationRevoked,
                event_data: serde_json::json!({}),
                email: None,
            })
        });
        let target = Target::Id { tenant: tenant.clone(), id };
        self.transition(target, decide, audit, "revoked").await
    }

    /// Applies a lifecycle decision to an invitation and counts it as
    /// `counted` in the metrics.
    pub(super) async fn transition(
        &self,
        target: Target,
        decide: Decide,
        audit: &Audit,
        counted: &'static str,
    ) -> Result<Invitation, Error> {
        let updated = self
            .state
            .store
            .transition(target, decide, audit)
            .await
            .map_err(not_found_as("invitation"))?;
        crate::metrics::invitations(counted, updated.tenant_id.as_str(), 1);
        Ok(updated)
    }

    /// Finds the invitation of a token, if the caller reaches its tenant.
    /// A token replaced by a resend answers 410 `token_replaced`.
    /// A replaced token of a tenant the caller does not reach is a 404 like
    /// any other token it cannot see: the 409 would confirm it exists.
    pub async fn lookup_token(&self, caller: &Caller, token: &str) -> Result<Invitation, Error> {
        caller.require(Scope::InvitesRead)?;
        let found = self.match_token(token).await?;
        let tenant = match &found {
            TokenMatch::Current(inv) | TokenMatch::Replaced(inv) => &inv.tenant_id,
            TokenMatch::Unknown => return Err(Error::NotFound("invitation")),
        };
        caller.require_tenant(tenant).map_err(|_| Error::NotFound("invitation"))?;
        token_answer(found)
    }

    /// The invitation a token currently opens.
    pub async fn find_token(&self, token: &str) -> Result<Invitation, Error> {
        token_answer(self.match_token(token).await?)
    }

    async fn match_token(&self, token: &str) -> Result<TokenMatch, Error> {
        let token = Secret::new(token.trim());
        if !token.looks_minted("") {
            return Ok(TokenMatch::Unknown);
        }
        Ok(self.state.store.find_by_token(&token.hash()).await?)
    }

    /// Accept (`accept = true`) or decline by token, for a host app.
    pub async fn answer_by_token(
        &self,
        caller: &Caller,
        token: &str,
        accept: bool,
        account_id: Option<String>,
    ) -> Result<Invitation, Error> {
        self.answer_by_token_as(caller, token, accept, account_id, None).await
    }

    /// The answer itself; the store re-reads the invitation by token inside
    /// its transaction, so of two concurrent answers exactly one succeeds.
    pub async fn answer(
        &self,
        token_hash: invitd_core::SecretHash,
        accept: bool,
        account_id: Option<String>,
        audit: &Audit,
    ) -> Result<Invitation, Error> {
        self.answer_as(token_hash, accept, account_id, None, audit).await
    }

    /// [`Service::answer`], recording the address the host app verified for
    /// the account (`account_email`) on the acceptance and in the event.
    pub(super) async fn answer_as(
        &self,
        token_hash: invitd_core::SecretHash,
        accept: bool,
        account_id: Option<String>,
        account_email: Option<String>,
        audit: &Audit,
    ) -> Result<Invitation, Error> {
        let clock = self.state.clock.clone();
        let decide: Decide = Box::new(move |current: &Invitation| {
            let now = clock.now();
            let (updated, event, mut data) = if accept {
                let mut updated = current.accept(now, account_id.clone())?;
                updated.accepted_email = account_email.clone();
                (
                    updated,
                    EventType::InvitationAccepted,
                    serde_json::json!({"account_id": account_id}),
                )
            } else {
                (current.decline(now)?, EventType::InvitationDeclined, serde_json::json!({}))
            };
            if let (Some(email), Some(map)) = (&account_email, data.as_object_mut()) {
                map.insert("account_email".into(), email.clone().into());
            }
            Ok(Transition { updated, at: now, event, event_data: data, email: None })
        });
        let counted = if accept { "accepted" } else { "declined" };
        self.transition(Target::Token(token_hash), decide, audit, counted).await
    }

    pub async fn invitation_events(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<Vec<Event>, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesRead, tenant).await?;
        self.state
            .store
            .list_invitation_events(&tenant.id, id)
            .await
            .map_err(not_found_as("invitation"))
    }

    pub async fn delivery_attempts(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<Vec<invitd_store::DeliveryAttempt>, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesRead, tenant).await?;
        // 404 for an unknown invitation rather than an empty list.
        self.get_invitation_in(&tenant.id, id).await?;
        Ok(self.state.store.list_delivery_attempts(&tenant.id, id).await?)
    }

    /// An invitation's audit events, email attempts and webhook
    /// deliveries, read together, for a caller already checked (one that
    /// has read the invitation in `tenant`, as the console's page does).
    pub async fn invitation_records_in(
        &self,
        tenant: &invitd_core::TenantId,
        id: Uuid,
    ) -> Result<InvitationRecords, Error> {
        let store = &self.state.store;
        let (events, emails, webhooks) = tokio::try_join!(
            store.list_invitation_events(tenant, id),
            store.list_delivery_attempts(tenant, id),
            store.list_invitation_webhook_deliveries(tenant, id),
        )?;
        Ok(InvitationRecords { events, emails, webhooks })
    }

    /// One invitation of a tenant the caller was already checked for.
    pub async fn get_invitation_in(
        &self,
        tenant: &invitd_core::TenantId,
        id: Uuid,
    ) -> Result<invitd_core::Invitation, Error> {
        self.state.store.get_invitation(tenant, id).await.map_err(not_found_as("invitation"))
    }
}

/// What a token lookup answers: the invitation, 409 `token_replaced`, or 404.
fn token_answer(found: TokenMatch) -> Result<Invitation, Error> {
    match found {
        TokenMatch::Current(inv) => Ok(*inv),
        TokenMatch::Replaced(_) => Err(Error::Conflict {
            code: "token_replaced",
            message: "this link was replaced by a newer invitation".into(),
        }),
        TokenMatch::Unknown => Err(Error::NotFound("invitation")),
    }
}

/// What is recorded about one invitation besides itself.
pub struct InvitationRecords {
    pub events: Vec<Event>,
    pub emails: Vec<invitd_store::DeliveryAttempt>,
    pub webhooks: Vec<invitd_store::InvitationWebhookDelivery>,
}
