//! Changing a pending invitation: its roles, message, metadata or expiry,
//! recorded as `invitation.updated` with the values before and after.

use super::invitations::{check_metadata, resolve_roles};
use super::tenant_input::double_option;
use super::{Service, check_text, not_found_as, parse_time};
use crate::auth::{Caller, Scope};
use crate::error::Error;
use invitd_core::{Changes, EventType, Invitation, limits};
use invitd_store::{Decide, Target, Transition};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use uuid::Uuid;

/// Changes to a pending invitation: absent fields stay as they are. Its
/// link, token and email stay too (no email is sent; resend sends one with
/// the new terms).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationPatch {
    /// The new roles, replacing the old: 1 to 32 role ids from the
    /// tenant's catalogue. Null: unchanged.
    #[schema(schema_with = roles_change)]
    pub roles: Option<Vec<String>>,
    /// The new personal message (at most 2,000 characters); null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = message_change)]
    pub message: Option<Option<String>>,
    /// The new metadata, replacing the old: a JSON object of at most 8 KiB;
    /// null clears it to `{}`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = metadata_change)]
    pub metadata: Option<Option<Value>>,
    /// The new expiry (RFC 3339): later than now, and at most the tenant's
    /// invitation lifetime from now. Null: unchanged.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
}

fn roles_change() -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(1))
        .max_items(Some(limits::MAX_ROLES_PER_INVITATION))
        .into()
}

fn message_change() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(limits::MAX_MESSAGE_CHARS))
        .into()
}

fn metadata_change() -> Schema {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Object, Type::Null])).into()
}

impl Service {
    /// Changes a pending invitation; 410 once expired, 409 once answered or
    /// revoked. A change that changes nothing records nothing.
    pub async fn change_invitation(
        &self,
        caller: &Caller,
        tenant: &str,
        id: Uuid,
        patch: InvitationPatch,
    ) -> Result<Invitation, Error> {
        let tenant = self.tenant_with(caller, Scope::InvitesWrite, tenant).await?;
        let mut changes = Changes::default();
        if let Some(roles) = patch.roles {
            let catalogue = self.state.store.list_roles(&tenant.id).await?;
            let roles = resolve_roles(&roles, &catalogue)?;
            changes.roles = Some(roles.into_iter().map(|r| r.id).collect());
        }
        if let Some(message) = patch.message {
            changes.message = Some(check_text("message", message, limits::MAX_MESSAGE_CHARS)?);
        }
        if let Some(metadata) = patch.metadata {
            changes.metadata = Some(check_metadata(metadata)?);
        }
        if let Some(at) = patch.expires_at {
            let at = parse_time("expires_at", &at)?;
            // Stored to the millisecond.
            let at = at.replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(at);
            let now = self.now();
            let days = tenant.lifetime_days;
            if at <= now || at > now + time::Duration::days(days) {
                return Err(Error::invalid(
                    "expires_at",
                    format!(
                        "must be later than now and at most {days} days from now (the tenant's invitation lifetime)"
                    ),
                ));
            }
            changes.expires_at = Some(at);
        }
        if changes == Changes::default() {
            return Err(Error::invalid(
                "roles",
                "name at least one of roles, message, metadata and expires_at",
            ));
        }
        let clock = self.state.clock.clone();
        let decide: Decide = Box::new(move |current: &Invitation| {
            let now = clock.now();
            let updated = current.change(now, &changes)?;
            Ok(Transition {
                event_data: before_and_after(current, &updated),
                updated,
                at: now,
                event: EventType::InvitationUpdated,
                email: None,
            })
        });
        let target = Target::Id { tenant: tenant.id.clone(), id };
        self.state
            .store
            .change_terms(target, decide, &caller.audit())
            .await
            .map_err(not_found_as("invitation"))
    }
}

/// `{"before": {...}, "after": {...}}` with the fields that changed.
fn before_and_after(old: &Invitation, new: &Invitation) -> Value {
    let terms = |i: &Invitation| {
        [
            ("roles", json!(i.roles)),
            ("message", json!(i.message)),
            ("metadata", i.metadata.clone()),
            ("expires_at", json!(i.expires_at.format(&Rfc3339).unwrap_or_default())),
        ]
    };
    let (mut before, mut after) = (Map::new(), Map::new());
    for ((name, was), (_, now)) in terms(old).into_iter().zip(terms(new)) {
        if was != now {
            before.insert(name.into(), was);
            after.insert(name.into(), now);
        }
    }
    json!({"before": before, "after": after})
}
