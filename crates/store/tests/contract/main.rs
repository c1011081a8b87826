//! The store contract: what every backend must do, run on SQLite and (with
//! `INVITD_TEST_DATABASE_URL`) on PostgreSQL. Where it matters, two store
//! instances on one database stand for two processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use invitd_core::{
    Actor, DeliveryState, Draft, EmailAddress, EventType, Invitation, Language, LifecycleError,
    RoleId, Secret, Status, TenantId,
};
use invitd_store::{
    Audit, CreateOutcome, DeliveryOutcome, IdempotentAnswer, InvitationFilter, NewInvitation,
    OpenOptions, OutboxEmail, Quota, Role, Store, StoreError, StoredAnswer, Target, Tenant,
    TokenMatch, Transition, UnitOutcome,
};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A database for one test: its URL, and the folder that holds it on SQLite.
struct Db {
    url: String,
    _dir: tempfile::TempDir,
}

async fn database(postgres: bool) -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = if postgres {
        let base = invitd_store::testing::postgres_test_url().expect("INVITD_TEST_DATABASE_URL");
        invitd_store::testing::fresh_postgres_database(&base).await.unwrap()
    } else {
        format!("sqlite://{}", dir.path().join("store.db").display())
    };
    Db { url, _dir: dir }
}

async fn open(db: &Db) -> Arc<dyn Store> {
    invitd_store::open(&db.url, &OpenOptions::default()).await.unwrap()
}

/// A fresh database, one store on it and the tenant `acme` (keep the
/// `Db`: on SQLite its folder holds the file).
async fn one_process(pg: bool) -> (Db, Arc<dyn Store>, TenantId) {
    let db = database(pg).await;
    let store = open(&db).await;
    let t = tenant(&*store, "acme").await;
    (db, store, t)
}

/// A fresh database opened by two stores, as two processes would, and the
/// tenant `acme` made through the first.
async fn two_processes(pg: bool) -> (Db, Arc<dyn Store>, Arc<dyn Store>, TenantId) {
    let db = database(pg).await;
    let (a, b) = (open(&db).await, open(&db).await);
    let t = tenant(&*a, "acme").await;
    (db, a, b, t)
}

fn now() -> OffsetDateTime {
    invitd_core::clock::truncate_to_millis(OffsetDateTime::now_utc())
}

fn operator() -> Audit {
    Audit::operator()
}

async fn tenant(store: &dyn Store, id: &str) -> TenantId {
    let t = Tenant {
        id: TenantId::parse(id).unwrap(),
        name: id.to_uppercase(),
        language: None,
        lifetime_days: 7,
        resend_cooldown_secs: 60,
        max_resends: 5,
        resend_window_secs: 86400,
        accept_redirect_url: None,
        logo_url: None,
        accent_color: None,
        ticket_secret: Some(Secret::generate("ts_")),
        allowed_redirect_origins: vec![],
        require_matching_email: false,
        invitations_per_day: None,
        invitations_per_inviter_per_day: None,
        created_at: now(),
        updated_at: now(),
    };
    let roles = [Role { id: RoleId::parse("viewer").unwrap(), name: "Viewer".into(), rank: 1 }];
    store.create_tenant(&t, &roles, &operator()).await.unwrap();
    t.id
}

fn new_invitation(tenant: &TenantId, email: &str, at: OffsetDateTime) -> (NewInvitation, Secret) {
    let token = Secret::generate("");
    let draft = Draft {
        tenant_id: tenant.clone(),
        roles: vec![RoleId::parse("viewer").unwrap()],
        location_ids: vec!["loc-1".into()],
        message: Some("hi".into()),
        purpose: None,
        language: Some(Language::parse("de").unwrap()),
        metadata: serde_json::json!({"k": [1, 2]}),
        inviter_account_id: Some("u-1".into()),
        inviter_email: None,
        lifetime: Duration::days(7),
    };
    let address = EmailAddress::parse(email).unwrap();
    let invitation = Invitation::new_pending(&draft, &address, token.hash(), at);
    let email =
        OutboxEmail { kind: "invitation".into(), payload: serde_json::json!({"to": email}).into() };
    (NewInvitation { invitation, email: Some(email) }, token)
}

async fn create_one(store: &dyn Store, tenant: &TenantId, email: &str) -> (Invitation, Secret) {
    let (item, token) = new_invitation(tenant, email, now());
    match store
        .create_invitations(vec![item], Quota::default(), now(), &operator())
        .await
        .unwrap()
        .remove(0)
    {
        CreateOutcome::Created(inv) => (*inv, token),
        other => panic!("not created: {other:?}"),
    }
}

fn accept(account: &str) -> invitd_store::Decide {
    let account = account.to_string();
    Box::new(move |current: &Invitation| {
        let at = now();
        Ok(Transition {
            updated: current.accept(at, Some(account))?,
            at,
            event: EventType::InvitationAccepted,
            event_data: serde_json::json!({}),
            email: None,
        })
    })
}

/// Defines a contract test for both backends.
macro_rules! contract {
    (async fn $name:ident($pg:ident) $body:block) => {
        mod $name {
            use super::*;
            async fn body($pg: bool) $body
            #[tokio::test]
            async fn sqlite() {
                body(false).await
            }
            #[tokio::test]
            #[cfg_attr(not(pg_tests), ignore = "PostgreSQL skipped: set INVITD_TEST_DATABASE_URL to run it")]
            async fn postgres() {
                body(true).await
            }
        }
    };
}

mod counts;
mod invitation_webhooks;
mod migrations;
mod records;
mod units;
mod webhooks;
mod workers;
