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
    OpenOptions, OutboxEmail, Role, Store, StoreError, StoredAnswer, Target, Tenant, TokenMatch,
    Transition, UnitOutcome,
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
    (NewInvitation { invitation, email }, token)
}

async fn create_one(store: &dyn Store, tenant: &TenantId, email: &str) -> (Invitation, Secret) {
    let (item, token) = new_invitation(tenant, email, now());
    match store.create_invitations(vec![item], now(), &operator()).await.unwrap().remove(0) {
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

contract! {
    async fn records_read_back_as_written(pg) {
        let db = database(pg).await;
        let store = open(&db).await;
        store.migrate().await.unwrap(); // idempotent
        store.ping().await.unwrap();
        let t = tenant(&*store, "acme").await;
        assert!(matches!(tenant_dup(&*store).await, Err(StoreError::Conflict(_))));
        let (created, token) = create_one(&*store, &t, "Ann@Example.com").await;
        assert!(created.number > 0);
        let read = store.get_invitation(&t, created.id).await.unwrap();
        assert_eq!(read, created);
        assert_eq!(store.get_invitation_by_number(Some(&t), created.number).await.unwrap(), created);
        assert_eq!(store.get_invitation_by_number(None, created.number).await.unwrap(), created);
        assert!(matches!(store.find_by_token(&token.hash()).await.unwrap(), TokenMatch::Current(i) if i.id == created.id));
        assert!(matches!(store.find_by_token(&Secret::generate("").hash()).await.unwrap(), TokenMatch::Unknown));
        let other = tenant(&*store, "globex").await;
        assert!(matches!(store.get_invitation(&other, created.id).await, Err(StoreError::NotFound)));
        let events = store.list_invitation_events(&t, created.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, "invitation.created");
        assert_eq!(events[0].invitation_id, Some(created.id));
        assert_eq!(events[0].actor, Actor::Operator);
    }
}

async fn tenant_dup(store: &dyn Store) -> Result<(), StoreError> {
    let t = store.get_tenant(&TenantId::parse("acme").unwrap()).await.unwrap();
    store.create_tenant(&t, &[], &operator()).await
}

contract! {
    async fn one_pending_invitation_per_address_even_across_processes(pg) {
        let db = database(pg).await;
        let (a, b) = (open(&db).await, open(&db).await);
        let t = tenant(&*a, "acme").await;
        let mut tasks = Vec::new();
        for store in [a.clone(), b.clone(), a.clone(), b.clone()] {
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                let (item, _) = new_invitation(&t, "race@example.com", now());
                store.create_invitations(vec![item], now(), &operator()).await.unwrap().remove(0)
            }));
        }
        let mut created = 0;
        for task in tasks {
            if let CreateOutcome::Created(_) = task.await.unwrap() {
                created += 1;
            }
        }
        assert_eq!(created, 1);
        // A pending invitation past its expiry gives its place up.
        let (old, _) = new_invitation(&t, "old@example.com", now() - Duration::days(8));
        a.create_invitations(vec![old], now() - Duration::days(8), &operator()).await.unwrap();
        let (again, _) = new_invitation(&t, "old@example.com", now());
        assert!(matches!(a.create_invitations(vec![again], now(), &operator()).await.unwrap().remove(0), CreateOutcome::Created(_)));
        let expired = InvitationFilter { status: Some(Status::Expired), limit: 10, ..Default::default() };
        assert_eq!(b.list_invitations(&t, &expired, now()).await.unwrap().len(), 1);
    }
}

contract! {
    async fn a_token_is_accepted_once_across_processes(pg) {
        let db = database(pg).await;
        let (a, b) = (open(&db).await, open(&db).await);
        let t = tenant(&*a, "acme").await;
        let (_, token) = create_one(&*a, &t, "ann@example.com").await;
        let mut tasks = Vec::new();
        for (i, store) in [a.clone(), b.clone(), a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
            let hash = token.hash();
            tasks.push(tokio::spawn(async move { store.transition(Target::Token(hash), accept(&format!("u{i}")), &operator()).await }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(inv) => {
                    assert_eq!(inv.status, Status::Accepted);
                    ok += 1;
                }
                Err(StoreError::Lifecycle(LifecycleError::AlreadyAccepted)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 1);
    }
}

contract! {
    async fn a_refused_transition_writes_nothing(pg) {
        let db = database(pg).await;
        let store = open(&db).await;
        let t = tenant(&*store, "acme").await;
        let (inv, _) = create_one(&*store, &t, "ann@example.com").await;
        let refuse: invitd_store::Decide = Box::new(|_| Err(LifecycleError::Revoked));
        assert!(matches!(store.transition(Target::Id { tenant: t.clone(), id: inv.id }, refuse, &operator()).await, Err(StoreError::Lifecycle(LifecycleError::Revoked))));
        assert_eq!(store.get_invitation(&t, inv.id).await.unwrap(), inv);
        assert_eq!(store.list_invitation_events(&t, inv.id).await.unwrap().len(), 1);
        let missing = Target::Id { tenant: t.clone(), id: Uuid::now_v7() };
        assert!(matches!(store.transition(missing, accept("x"), &operator()).await, Err(StoreError::NotFound)));
    }
}

contract! {
    async fn a_replaced_token_is_recognized_and_its_email_dropped(pg) {
        let db = database(pg).await;
        let store = open(&db).await;
        let t = tenant(&*store, "acme").await;
        let (inv, old) = create_one(&*store, &t, "ann@example.com").await;
        let new = Secret::generate("");
        let new_hash = new.hash();
        let decide: invitd_store::Decide = Box::new(move |current: &Invitation| {
            let at = now() + Duration::minutes(5);
            let policy = invitd_core::ResendPolicy { cooldown: Duration::seconds(60), max_resends: 5, window: Duration::days(1), lifetime: Duration::days(7) };
            Ok(Transition {
                updated: current.resend(at, &policy, new_hash)?,
                at,
                event: EventType::InvitationResent,
                event_data: serde_json::json!({}),
                email: Some(OutboxEmail { kind: "resend".into(), payload: serde_json::json!({"n": 2}).into() }),
            })
        });
        store.transition(Target::Id { tenant: t.clone(), id: inv.id }, decide, &operator()).await.unwrap();
        assert!(matches!(store.find_by_token(&old.hash()).await.unwrap(), TokenMatch::Replaced(i) if i.id == inv.id));
        assert!(matches!(store.find_by_token(&new.hash()).await.unwrap(), TokenMatch::Current(_)));
        let due = store.claim_outbox(now() + Duration::hours(1), Duration::minutes(2), 10).await.unwrap();
        assert_eq!(due.len(), 1, "only the email with the live link");
        assert_eq!(due[0].kind, "resend");
    }
}

contract! {
    async fn the_outbox_hands_each_email_to_one_worker(pg) {
        let db = database(pg).await;
        let (a, b) = (open(&db).await, open(&db).await);
        let t = tenant(&*a, "acme").await;
        let items: Vec<NewInvitation> = (0..50).map(|i| new_invitation(&t, &format!("u{i}@example.com"), now()).0).collect();
        a.create_invitations(items, now(), &operator()).await.unwrap();
        let at = now();
        let mut tasks = Vec::new();
        for store in [a.clone(), b.clone(), a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(at, Duration::minutes(2), 7).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|i| i.id));
                }
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, 50, "every email claimed");
        assert_eq!(all.len(), 50, "no email claimed twice");
        // Leased rows come back when the lease runs out.
        let again = a.claim_outbox(at + Duration::minutes(3), Duration::minutes(2), 100).await.unwrap();
        assert_eq!(again.len(), 50);
        // Finishing: sent rows are gone for good, retried ones due later.
        let (first, second) = (&again[0], &again[1]);
        a.finish_outbox(first, &DeliveryOutcome::Sent { reply: "250 ok".into() }, at).await.unwrap();
        a.finish_outbox(second, &DeliveryOutcome::Retry { error: "421 later".into(), retry_at: at + Duration::hours(1) }, at).await.unwrap();
        let later = a.claim_outbox(at + Duration::minutes(10), Duration::minutes(2), 100).await.unwrap();
        assert_eq!(later.len(), 48);
        let much_later = a.claim_outbox(at + Duration::hours(2), Duration::minutes(2), 100).await.unwrap();
        assert!(much_later.iter().any(|i| i.id == second.id && i.attempts == 1));
        assert!(!much_later.iter().any(|i| i.id == first.id));
        let sent = a.get_invitation(&t, first.invitation_id).await.unwrap();
        assert_eq!(sent.delivery_state, DeliveryState::Sent);
        let attempts = a.list_delivery_attempts(&t, first.invitation_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].detail, "250 ok");
    }
}

contract! {
    async fn a_unit_commits_its_writes_with_its_answer_once_per_key(pg) {
        let db = database(pg).await;
        let (a, b) = (open(&db).await, open(&db).await);
        let t = tenant(&*a, "acme").await;
        let hash = [7u8; 32];
        // Four requests with one key, two per process: each writes (a role
        // of its own) inside its unit, then tries to store its answer.
        let mut tasks = Vec::new();
        for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                let unit = invitd_store::Unit::new();
                let role = Role { id: RoleId::parse(format!("role-{n}")).unwrap(), name: format!("R{n}"), rank: 2 };
                unit.scope(store.create_role(&t, &role, now(), &operator())).await.unwrap();
                let body = format!("{{\"n\":{n}}}");
                let answer = IdempotentAnswer { scope: "k1 POST /x", key: "key", request_hash: &hash, status: 201, body: body.as_bytes(), now: now() };
                (n, store.commit_unit(unit, Some(answer)).await.unwrap())
            }));
        }
        let mut committed = Vec::new();
        let mut taken = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (n, UnitOutcome::Committed) => committed.push(n),
                (_, UnitOutcome::Taken(first)) => taken.push(first),
            }
        }
        assert_eq!(committed.len(), 1, "one request's writes and answer stand");
        let winner = committed[0];
        let answer = StoredAnswer { request_hash: hash.to_vec(), status: 201, body: format!("{{\"n\":{winner}}}").into_bytes() };
        assert!(taken.iter().all(|t| *t == answer), "the others get the winner's answer");
        let roles = b.list_roles(&t).await.unwrap();
        let mine: Vec<String> = roles.iter().map(|r| r.id.as_str().to_string()).filter(|r| r.starts_with("role-")).collect();
        assert_eq!(mine, vec![format!("role-{winner}")], "the losers' writes are rolled back");
        assert_eq!(a.idempotency_lookup("k1 POST /x", "key", now()).await.unwrap(), Some(answer.clone()));
        // Forgotten after a day.
        assert_eq!(b.idempotency_lookup("k1 POST /x", "key", now() + Duration::hours(25)).await.unwrap(), None);
        // A unit dropped without committing (a crash before the answer)
        // leaves nothing behind.
        let unit = invitd_store::Unit::new();
        let role = Role { id: RoleId::parse("dropped").unwrap(), name: "D".into(), rank: 2 };
        unit.scope(a.create_role(&t, &role, now(), &operator())).await.unwrap();
        drop(unit);
        assert!(!b.list_roles(&t).await.unwrap().iter().any(|r| r.id.as_str() == "dropped"));
        // A failing write inside a unit rolls back alone: the unit's other
        // writes and its answer commit.
        let unit = invitd_store::Unit::new();
        let role = Role { id: RoleId::parse("kept").unwrap(), name: "K".into(), rank: 2 };
        unit.scope(a.create_role(&t, &role, now(), &operator())).await.unwrap();
        let again = unit.scope(a.create_role(&t, &role, now(), &operator())).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let answer = IdempotentAnswer { scope: "k1 POST /x", key: "key2", request_hash: &hash, status: 409, body: b"{}", now: now() };
        assert_eq!(a.commit_unit(unit, Some(answer)).await.unwrap(), UnitOutcome::Committed);
        assert!(b.list_roles(&t).await.unwrap().iter().any(|r| r.id.as_str() == "kept"));
        assert_eq!(b.idempotency_lookup("k1 POST /x", "key2", now()).await.unwrap().map(|s| s.status), Some(409));
    }
}

contract! {
    async fn lists_filter_and_page(pg) {
        let db = database(pg).await;
        let store = open(&db).await;
        let t = tenant(&*store, "acme").await;
        let mut numbers = Vec::new();
        for i in 0..5 {
            numbers.push(create_one(&*store, &t, &format!("p{i}@example.com")).await.0.number);
        }
        let page = store.list_invitations(&t, &InvitationFilter { limit: 2, ..Default::default() }, now()).await.unwrap();
        assert_eq!(page.iter().map(|i| i.number).collect::<Vec<_>>(), vec![numbers[4], numbers[3]]);
        let next = store.list_invitations(&t, &InvitationFilter { limit: 2, before_number: Some(numbers[3]), ..Default::default() }, now()).await.unwrap();
        assert_eq!(next[0].number, numbers[2]);
        let by_role = InvitationFilter { role: Some(RoleId::parse("viewer").unwrap()), limit: 10, ..Default::default() };
        assert_eq!(store.list_invitations(&t, &by_role, now()).await.unwrap().len(), 5);
        let no_role = InvitationFilter { role: Some(RoleId::parse("owner").unwrap()), limit: 10, ..Default::default() };
        assert!(store.list_invitations(&t, &no_role, now()).await.unwrap().is_empty());
        let by_email = InvitationFilter { email_normalized: Some("p2@example.com".into()), limit: 10, ..Default::default() };
        assert_eq!(store.list_invitations(&t, &by_email, now()).await.unwrap().len(), 1);
        let pending_later = InvitationFilter { status: Some(Status::Pending), limit: 10, ..Default::default() };
        assert!(store.list_invitations(&t, &pending_later, now() + Duration::days(8)).await.unwrap().is_empty());
    }
}

/// The SQL the former migration runner applied, with its bookkeeping table.
fn old_runner_sql(pg: bool) -> Vec<&'static str> {
    let files: [&str; 5] = if pg {
        [
            include_str!("../migrations/postgres/0001_init.sql"),
            include_str!("../migrations/postgres/0002_delivery_attempts.sql"),
            include_str!("../migrations/postgres/0003_status_index.sql"),
            include_str!("../migrations/postgres/0004_branding_and_secrets.sql"),
            include_str!("../migrations/postgres/0005_webhooks.sql"),
        ]
    } else {
        [
            include_str!("../migrations/sqlite/0001_init.sql"),
            include_str!("../migrations/sqlite/0002_delivery_attempts.sql"),
            include_str!("../migrations/sqlite/0003_status_index.sql"),
            include_str!("../migrations/sqlite/0004_branding_and_secrets.sql"),
            include_str!("../migrations/sqlite/0005_webhooks.sql"),
        ]
    };
    let mut sql = files.to_vec();
    sql.push(
        "CREATE TABLE invitd_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    sql.push("INSERT INTO invitd_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)");
    sql.push("INSERT INTO tenants (id, name, lifetime_days, resend_cooldown_secs, max_resends, resend_window_secs, created_at, updated_at) VALUES ('old', 'Old Tenant', 7, 60, 5, 86400, 0, 0)");
    sql
}

contract! {
    async fn a_database_made_by_the_former_runner_is_migrated_and_keeps_its_data(pg) {
        let db = database(pg).await;
        sqlx::any::install_default_drivers();
        let url = if pg { db.url.clone() } else { format!("{}?mode=rwc", db.url) };
        let raw = sqlx::AnyPool::connect(&url).await.unwrap();
        for sql in old_runner_sql(pg) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&raw).await.unwrap();
        }
        // Two processes start on it at once.
        let (a, b) = tokio::join!(open(&db), open(&db));
        let old = a.get_tenant(&TenantId::parse("old").unwrap()).await.unwrap();
        assert_eq!(old.name, "Old Tenant");
        b.probe_write(now()).await.unwrap(); // migration 6 applied
        let versions: Vec<(i64,)> = sqlx::query_as("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&raw).await.unwrap();
        assert_eq!(versions, (1..=6).map(|v| (v,)).collect::<Vec<_>>());
        assert!(sqlx::query("SELECT 1 FROM invitd_migrations").fetch_all(&raw).await.is_err(), "the old table is gone");
        // A migration edited after it was applied stops the start.
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2")
            .bind(vec![0u8; 48]).execute(&raw).await.unwrap();
        let refused = invitd_store::open(&db.url, &OpenOptions::default()).await;
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains('2') && message.contains("modified"), "{message}");
        raw.close().await;
    }
}

contract! {
    async fn processes_starting_at_once_on_a_new_database_all_migrate_it(pg) {
        let db = database(pg).await;
        // Four processes open (and migrate) the same new database at once:
        // one applies the migrations, the others find them applied.
        let options = OpenOptions::default();
        let open = || invitd_store::open(&db.url, &options);
        let (a, b, c, d) = tokio::join!(open(), open(), open(), open());
        for store in [a, b, c, d] {
            store.unwrap().probe_write(now()).await.unwrap();
        }
    }
}
