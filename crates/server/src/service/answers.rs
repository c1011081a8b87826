//! A host app's answer by token on behalf of a signed-in user, and the
//! check that the user's verified address is the invited one: with the
//! tenant's `require_matching_email`, the wrong account cannot burn an
//! invitation.

use super::{Service, check_text};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{EventType, Invitation, Status, limits};
use invitd_store::Audit;

impl Service {
    /// Accept (`accept = true`) or decline by token. `account_email` is the
    /// address the host app verified for its user: when the tenant requires
    /// a match and it is not the invited address (compared normalized), the
    /// answer is refused with 409 `email_mismatch` (the invited address
    /// masked), recorded as `invitation.accept_refused`, and the invitation
    /// stays pending with its token; otherwise it is recorded.
    pub async fn answer_by_token_as(
        &self,
        caller: &Caller,
        token: &str,
        accept: bool,
        account_id: Option<String>,
        account_email: Option<String>,
    ) -> Result<Invitation, Error> {
        caller.require(Scope::InvitesWrite)?;
        let inv = self.lookup_token(caller, token).await?;
        let account_id = check_text("account_id", account_id, limits::MAX_NAME_CHARS)?;
        let account_email =
            account_email.map(|e| super::email_field("account_email", &e)).transpose()?;
        let audit = Audit {
            actor: invitd_core::Actor::Invitee { account_id: account_id.clone() },
            ip: caller.client.ip.clone(),
            user_agent: caller.client.user_agent.clone(),
        };
        // Only an answer that could succeed is checked: a finished
        // invitation answers as it always does, whoever asks.
        let now = self.now();
        if let Some(email) = &account_email
            && !inv.is_for(email)
            && inv.status_at(now) == Status::Pending
            && self.tenant_of(&inv).await?.require_matching_email
        {
            let data = serde_json::json!({
                "answer": if accept { "accept" } else { "decline" },
                "reason": "email_mismatch",
                "account_id": account_id,
                "account_email": email.as_given(),
            });
            let refused = EventType::InvitationAcceptRefused;
            self.state.store.record_invitation_event(&inv, refused, &audit, now, &data).await?;
            return Err(Error::Conflict {
                code: "email_mismatch",
                message: format!(
                    "this invitation was sent to another address ({}); sign in with that one",
                    inv.masked_email()
                ),
            });
        }
        let email = account_email.map(|e| e.as_given().to_string());
        self.answer_as(inv.token_hash, accept, account_id, email, &audit).await
    }
}
