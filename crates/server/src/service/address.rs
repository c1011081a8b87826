//! A person's invitations across tenants: the list of one address's
//! invitations in every tenant the key reaches, and accepting all of its
//! pending ones at once (the host app has verified the address).

use super::{Service, check_text};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{EmailAddress, EventType, Invitation, Status, limits};
use invitd_store::{AddressFilter, Audit, Decide, Target, Transition};
use serde::Deserialize;

/// Most invitations one accept-all call accepts (newest first); a caller
/// that got this many calls again for the rest.
pub const MAX_ACCEPT_ALL: u32 = 1_000;

/// The filters of `GET /v1/invitations`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AddressQuery {
    /// The address (required), compared as normalized (case-insensitively).
    #[param(required = true)]
    pub email: Option<String>,
    /// `pending`, `accepted`, `declined`, `revoked` or `expired` (as of now).
    #[param(pattern = "^(pending|accepted|declined|revoked|expired)$")]
    pub status: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^n\\+?0*[1-9][0-9]*$")]
    pub cursor: Option<String>,
}

/// Accept every pending invitation of an address.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptAll {
    /// The address, which the host app has verified belongs to the person.
    pub email: String,
    /// The host app's account that accepts (1–200 characters).
    pub account_id: String,
    /// The account's own address, recorded in each `invitation.accepted`
    /// event when given.
    pub account_email: Option<String>,
}

/// A required address parameter, normalized; 400 naming `field` otherwise.
fn address(field: &str, value: Option<&str>) -> Result<EmailAddress, Error> {
    let value = value.ok_or_else(|| Error::invalid(field, "is required"))?;
    super::email_field(field, value.trim())
}

impl Service {
    /// One address's invitations in every tenant the key reaches, newest
    /// first, a page at a time.
    pub async fn address_invitations(
        &self,
        caller: &Caller,
        q: AddressQuery,
    ) -> Result<(Vec<Invitation>, Option<String>), Error> {
        caller.require(Scope::InvitesRead)?;
        let email = address("email", q.email.as_deref())?;
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::invalid("limit", "must be 1 to 200"));
        }
        let filter = AddressFilter {
            email_normalized: email.normalized().to_string(),
            tenants: caller.key.tenants.clone(),
            status: q.status.as_deref().map(super::invitations::parse_status).transpose()?,
            before_number: q.cursor.as_deref().map(super::invitations::parse_cursor).transpose()?,
            limit: limit + 1,
        };
        let page = self.state.store.list_address_invitations(&filter, self.now()).await?;
        Ok(super::invitations::cut_page(page, limit))
    }

    /// Accepts every pending, unexpired invitation of the address in the
    /// tenants the key reaches, in one transaction; each gets its own
    /// `invitation.accepted` event (and webhooks). Answers those accepted,
    /// newest first: one accepted meanwhile by another call is left out.
    pub async fn accept_all(
        &self,
        caller: &Caller,
        req: AcceptAll,
    ) -> Result<Vec<Invitation>, Error> {
        caller.require(Scope::InvitesWrite)?;
        let email = address("email", Some(&req.email))?;
        let account_id = check_text("account_id", Some(req.account_id), limits::MAX_NAME_CHARS)?
            .ok_or_else(|| Error::invalid("account_id", "is required"))?;
        let account_email = req
            .account_email
            .map(|e| address("account_email", Some(&e)).map(|a| a.as_given().to_string()))
            .transpose()?;
        let filter = AddressFilter {
            email_normalized: email.normalized().to_string(),
            tenants: caller.key.tenants.clone(),
            status: Some(Status::Pending),
            before_number: None,
            limit: MAX_ACCEPT_ALL,
        };
        // Read outside the transaction; each accept reads its invitation
        // again under the write lock, so one accepted, revoked or expired
        // meanwhile is skipped. Every call takes the rows in the same order
        // (by id, descending: newest first), as bulk revoke and resend do,
        // so concurrent calls wait for each other instead of deadlocking.
        let mut pending = self.state.store.list_address_invitations(&filter, self.now()).await?;
        pending.sort_by_key(|inv| std::cmp::Reverse(inv.id));
        let audit = Audit {
            actor: invitd_core::Actor::Invitee { account_id: Some(account_id.clone()) },
            ip: caller.client.ip.clone(),
            user_agent: caller.client.user_agent.clone(),
        };
        let mut data = serde_json::json!({"account_id": account_id, "accept_all": true});
        if let Some(e) = &account_email {
            data["account_email"] = e.as_str().into();
        }
        let work = async {
            let mut accepted = Vec::with_capacity(pending.len());
            for inv in &pending {
                let target = Target::Id { tenant: inv.tenant_id.clone(), id: inv.id };
                match self
                    .transition(target, accept(self, &account_id, &data), &audit, "accepted")
                    .await
                {
                    Ok(done) => accepted.push(done),
                    Err(Error::Lifecycle(_) | Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(accepted)
        };
        self.in_one_transaction(work).await
    }
}

/// The decision to accept one invitation as `account_id`.
fn accept(service: &Service, account_id: &str, data: &serde_json::Value) -> Decide {
    let clock = service.state.clock.clone();
    let (account_id, data) = (account_id.to_string(), data.clone());
    Box::new(move |current: &Invitation| {
        let now = clock.now();
        Ok(Transition {
            updated: current.accept(now, Some(account_id))?,
            at: now,
            event: EventType::InvitationAccepted,
            event_data: data,
            email: None,
        })
    })
}
