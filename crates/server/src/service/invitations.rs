//! Invitations: create, read, list, resend, revoke, and the invitee's
//! accept and decline by token.

pub use super::invitation_input::{
    CreateInvitations, CreateOutput, Created, Failure, Inviter, ListQuery, ResendOptions,
    accept_url,
};
use super::{Service, check_text, not_found_as, parse_time};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{Draft, RoleId};
use invitd_core::{Invitation, Language, Secret, Status, limits};
use invitd_mail::InvitationEmail;
use invitd_store::{
    Audit, CreateOutcome, InvitationFilter, NewInvitation, OutboxEmail, Role, Tenant,
};
use uuid::Uuid;

impl Service {
    /// Validates and inserts invitations. Unknown roles or any invalid
    /// common field refuse the whole call; bad addresses fail one by one.
    pub async fn create_invitations(
        &self,
        caller: &Caller,
        tenant: &str,
        req: CreateInvitations,
    ) -> Result<CreateOutput, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesWrite, tenant).await?;
        self.create_invitations_in(tenant, req, &caller.audit()).await
    }

    /// The creation itself, for a tenant already authorized.
    pub async fn create_invitations_in(
        &self,
        tenant: Tenant,
        req: CreateInvitations,
        audit: &Audit,
    ) -> Result<CreateOutput, Error> {
        if req.emails.is_empty() || req.emails.len() > limits::MAX_EMAILS_PER_CALL {
            return Err(Error::invalid(
                "emails",
                format!("must list 1 to {} addresses", limits::MAX_EMAILS_PER_CALL),
            ));
        }
        let catalogue = self.state.store.list_roles(&tenant.id).await?;
        let roles = resolve_roles(&req.roles, &catalogue)?;
        if req.location_ids.len() > limits::MAX_LOCATIONS_PER_INVITATION
            || req.location_ids.iter().any(|l| l.is_empty() || l.chars().count() > 128)
        {
            return Err(Error::invalid(
                "location_ids",
                format!(
                    "at most {} ids of 1 to 128 characters",
                    limits::MAX_LOCATIONS_PER_INVITATION
                ),
            ));
        }
        let message = check_text("message", req.message, limits::MAX_MESSAGE_CHARS)?;
        let purpose = check_text("purpose", req.purpose, limits::MAX_PURPOSE_CHARS)?;
        let language = req
            .language
            .map(|l| Language::parse(l).map_err(|e| Error::invalid("language", e.reason)))
            .transpose()?;
        let lifetime_days = match req.expires_in_days {
            None => tenant.lifetime_days,
            Some(d) if (1..=limits::MAX_LIFETIME_DAYS).contains(&d) => d,
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_days",
                    format!("must be 1 to {}", limits::MAX_LIFETIME_DAYS),
                ));
            }
        };
        let metadata = check_metadata(req.metadata)?;
        let inviter = req.inviter.unwrap_or_default();
        let inviter_account_id =
            check_text("inviter.account_id", inviter.account_id, limits::MAX_NAME_CHARS)?;
        let inviter_email = inviter
            .email
            .map(|e| super::email_field("inviter.email", &e).map(|e| e.as_given().to_string()))
            .transpose()?;

        let send_email = req.send_email.unwrap_or(true);
        let redirect_url = req
            .redirect_url
            .as_deref()
            .map(|url| super::redirects::check_redirect(&tenant, url))
            .transpose()?;
        let now = self.now();
        let draft = Draft {
            tenant_id: tenant.id.clone(),
            roles: roles.iter().map(|r| r.id.clone()).collect(),
            location_ids: req.location_ids,
            message,
            purpose,
            language,
            metadata,
            inviter_account_id,
            inviter_email,
            lifetime: time::Duration::days(lifetime_days),
        };
        let mut failures = Vec::new();
        let mut items = Vec::new();
        let mut tokens = Vec::new();
        for (raw, parsed) in super::each_address(req.emails) {
            let email = match parsed {
                Ok(email) => email,
                Err((code, message)) => {
                    failures.push(Failure::new(raw, code, message));
                    continue;
                }
            };
            let token = Secret::generate("");
            let mut invitation = Invitation::new_pending(&draft, &email, token.hash(), now);
            invitation.redirect_url = redirect_url.clone();
            let email = if send_email {
                let language = invitation.language_or(tenant.language.as_ref());
                let names = role_labels(&invitation.roles, &roles, &language);
                Some(self.outbox_email(
                    "invitation",
                    &tenant,
                    &invitation,
                    &names,
                    &language,
                    &token,
                ))
            } else {
                invitation = invitation.without_email();
                None
            };
            items.push(NewInvitation { invitation, email });
            tokens.push(token);
        }
        let mut created = Vec::new();
        let mut quota_refused = None;
        if !items.is_empty() {
            let quota = self.quota_of(&tenant);
            let outcomes = self.state.store.create_invitations(items, quota, now, audit).await?;
            for (outcome, token) in outcomes.into_iter().zip(tokens) {
                match outcome {
                    CreateOutcome::Created(invitation) => {
                        created.push(Created { invitation: *invitation, token })
                    }
                    CreateOutcome::AlreadyPending { email } => failures.push(Failure::new(
                        email,
                        "already_pending",
                        "this address already has a pending invitation to this tenant",
                    )),
                    CreateOutcome::QuotaExceeded { email, limit, retry_at } => {
                        let failure = super::quotas::refused(email, limit, retry_at, now);
                        let secs = failure.retry_after_seconds.unwrap_or(1);
                        if quota_refused.as_ref().is_none_or(|(earliest, _)| secs < *earliest) {
                            quota_refused = Some((secs, failure.message.clone()));
                        }
                        failures.push(failure);
                    }
                }
            }
            if !created.is_empty() && send_email {
                self.state.outbox_notify.notify_one();
            }
        }
        // Nothing created, and the quota is why (for some address at
        // least): 429, so clients wait instead of reading a list.
        if let (true, Some((retry_after_secs, message))) = (created.is_empty(), quota_refused) {
            return Err(Error::QuotaExceeded { retry_after_secs, message });
        }
        crate::metrics::invitations("created", tenant.id.as_str(), created.len() as u64);
        Ok(CreateOutput { tenant, created, failures })
    }

    pub(super) fn outbox_email(
        &self,
        kind: &str,
        tenant: &Tenant,
        inv: &Invitation,
        role_names: &[String],
        language: &str,
        token: &Secret,
    ) -> OutboxEmail {
        let data = InvitationEmail {
            to: inv.email.clone(),
            tenant_name: tenant.name.clone(),
            inviter: inv.inviter_email.clone().or_else(|| inv.inviter_account_id.clone()),
            role_names: role_names.to_vec(),
            message: inv.message.clone(),
            purpose: inv.purpose.clone(),
            language: language.to_string(),
            expires_at: inv
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            accept_url: accept_url(&self.state.config.public_url, token).into(),
            kind: kind.to_string(),
            accent_color: tenant.accent_color.clone(),
            logo_url: tenant.logo_url.clone(),
        };
        OutboxEmail {
            kind: kind.into(),
            payload: serde_json::to_value(&data).unwrap_or_default().into(),
        }
    }

    pub async fn get_invitation(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
    ) -> Result<Invitation, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesRead, tenant).await?;
        self.state.store.get_invitation(&tenant.id, id).await.map_err(not_found_as("invitation"))
    }

    pub async fn list_invitations(
        &self,
        caller: &Caller,
        tenant: &str,
        q: ListQuery,
    ) -> Result<(Vec<Invitation>, Option<String>), Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesRead, tenant).await?;
        self.list_invitations_in(&tenant, q).await
    }

    /// A page of a tenant's invitations, for a caller already checked.
    pub async fn list_invitations_in(
        &self,
        tenant: &Tenant,
        q: ListQuery,
    ) -> Result<(Vec<Invitation>, Option<String>), Error> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid("limit", "must be 1 to 200"));
        }
        let filter = InvitationFilter {
            status: q.status.as_deref().map(parse_status).transpose()?,
            email_normalized: q.email.map(|e| e.trim().to_lowercase()),
            role: q
                .role
                .map(|r| RoleId::parse(r).map_err(|e| Error::invalid("role", e.reason)))
                .transpose()?,
            created_after: q
                .created_after
                .as_deref()
                .map(|s| parse_time("created_after", s))
                .transpose()?,
            created_before: q
                .created_before
                .as_deref()
                .map(|s| parse_time("created_before", s))
                .transpose()?,
            before_number: q.cursor.as_deref().map(parse_cursor).transpose()?,
            limit: limit + 1,
        };
        let page = self.state.store.list_invitations(&tenant.id, &filter, self.now()).await?;
        Ok(cut_page(page, limit))
    }
}

/// A `status` filter.
pub(super) fn parse_status(s: &str) -> Result<Status, Error> {
    Status::parse(s).ok_or_else(|| {
        Error::invalid("status", "must be pending, accepted, declined, revoked or expired")
    })
}

pub(super) fn parse_cursor(s: &str) -> Result<i64, Error> {
    s.strip_prefix('n')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid("cursor", "is not a cursor this API returned"))
}

/// Checks metadata: a JSON object of bounded size; absent or null is `{}`.
pub(super) fn check_metadata(value: Option<serde_json::Value>) -> Result<serde_json::Value, Error> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(serde_json::json!({})),
        Some(v @ serde_json::Value::Object(_)) => {
            if serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(usize::MAX)
                > limits::MAX_METADATA_BYTES
            {
                return Err(Error::invalid(
                    "metadata",
                    format!("must be at most {} bytes of JSON", limits::MAX_METADATA_BYTES),
                ));
            }
            Ok(v)
        }
        Some(_) => Err(Error::invalid("metadata", "must be a JSON object")),
    }
}

/// Resolves role ids against the catalogue; any unknown one refuses all.
pub(super) fn resolve_roles(wanted: &[String], catalogue: &[Role]) -> Result<Vec<Role>, Error> {
    if wanted.is_empty() || wanted.len() > limits::MAX_ROLES_PER_INVITATION {
        return Err(Error::invalid(
            "roles",
            format!("must list 1 to {} roles", limits::MAX_ROLES_PER_INVITATION),
        ));
    }
    let mut out: Vec<Role> = Vec::new();
    let mut unknown = Vec::new();
    for id in wanted {
        match catalogue.iter().find(|r| r.id.as_str() == id) {
            Some(role) if !out.iter().any(|r| r.id == role.id) => out.push(role.clone()),
            Some(_) => {}
            None => unknown.push(id.clone()),
        }
    }
    if unknown.is_empty() { Ok(out) } else { Err(Error::UnknownRoles(unknown)) }
}

/// How role ids read to a person in `lang`: a starting role that still has
/// its starting name in that language's words, any other role by its
/// catalogue name, a role since removed by its id.
pub fn role_labels(ids: &[RoleId], catalogue: &[Role], lang: &str) -> Vec<String> {
    let lang = invitd_mail::pick_language(lang);
    ids.iter()
        .map(|id| match catalogue.iter().find(|r| &r.id == id) {
            Some(r)
                if super::tenants::STARTING_ROLES
                    .iter()
                    .any(|(sid, name, _)| *sid == id.as_str() && *name == r.name) =>
            {
                invitd_mail::translate(lang, &format!("role-{id}"), &[])
            }
            Some(r) => r.name.clone(),
            None => id.to_string(),
        })
        .collect()
}

/// A page read with one row more than `limit`: the first `limit` rows, and
/// the cursor of the next page when that extra row was there.
pub(super) fn cut_page(mut page: Vec<Invitation>, limit: u32) -> (Vec<Invitation>, Option<String>) {
    if page.len() <= limit as usize {
        return (page, None);
    }
    page.truncate(limit as usize);
    let next = page.last().map(|i| format!("n{}", i.number));
    (page, next)
}
