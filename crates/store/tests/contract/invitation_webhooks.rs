//! The webhook deliveries of one invitation, as the console lists them:
//! every endpoint's delivery of each of its events, with the latest
//! attempt, and nothing of another invitation or tenant.

use super::*;
use invitd_store::{WebhookAttempt, WebhookEndpoint, WebhookOutcome};

fn endpoint(tenant: &TenantId, url: &str) -> WebhookEndpoint {
    WebhookEndpoint {
        id: Uuid::now_v7(),
        tenant_id: tenant.clone(),
        url: url.into(),
        secret: Secret::generate("whsec_"),
        event_types: vec![],
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn revoke() -> invitd_store::Decide {
    Box::new(move |current: &Invitation| {
        let at = now();
        Ok(Transition {
            updated: current.revoke(at)?,
            at,
            event: EventType::InvitationRevoked,
            event_data: serde_json::json!({}),
            email: None,
        })
    })
}

contract! {
    async fn an_invitations_webhook_deliveries_come_with_their_latest_attempt(pg) {
        let (_db, store, t) = one_process(pg).await;
        let hook = endpoint(&t, "https://hooks.example.com/in");
        store.create_webhook(&hook, &operator()).await.unwrap();
        let (inv, _) = create_one(&*store, &t, "ann@example.com").await;
        let (other, _) = create_one(&*store, &t, "bob@example.com").await;
        let listed = store.list_invitation_webhook_deliveries(&t, inv.id).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        let created = &listed[0];
        assert_eq!(created.endpoint_id, hook.id);
        assert_eq!(created.endpoint_url, "https://hooks.example.com/in");
        assert_eq!(created.event_type, "invitation.created");
        assert_eq!((created.state.as_str(), created.attempts), ("pending", 0));
        assert_eq!(created.last_attempt, None);

        // Two attempts at the created event: a 500, then a 204.
        let mut at = now();
        for (status, outcome) in [
            (500, WebhookOutcome::Retry { at: at + Duration::seconds(30) }),
            (204, WebhookOutcome::Delivered),
        ] {
            let jobs = store.claim_webhooks(at, Duration::minutes(1), 10, 10).await.unwrap();
            let job = jobs.iter().find(|j| j.delivery_id == created.delivery_id).expect("claimed");
            let attempt = WebhookAttempt {
                delivery_id: job.delivery_id,
                event_id: job.event.id,
                event_type: job.event.event_type.clone(),
                attempted_at: at,
                status_code: Some(status),
                duration_ms: u64::from(status),
                error: (status == 500).then(|| "HTTP 500".to_string()),
            };
            store.finish_webhook(job, &attempt, &outcome, Duration::days(3)).await.unwrap();
            at += Duration::minutes(1);
        }
        store.transition(Target::Id { tenant: t.clone(), id: inv.id }, revoke(), &operator()).await.unwrap();

        let listed = store.list_invitation_webhook_deliveries(&t, inv.id).await.unwrap();
        let kinds: Vec<&str> = listed.iter().map(|d| d.event_type.as_str()).collect();
        assert_eq!(kinds, ["invitation.created", "invitation.revoked"], "oldest first");
        let delivered = &listed[0];
        assert_eq!((delivered.state.as_str(), delivered.attempts), ("delivered", 2));
        assert!(delivered.delivered_at.is_some());
        let last = delivered.last_attempt.as_ref().expect("an attempt");
        assert_eq!((last.status_code, last.duration_ms, last.error.as_deref()), (Some(204), 204, None));
        assert_eq!(last.event_type, "invitation.created");
        let revoked = &listed[1];
        assert_eq!((revoked.state.as_str(), revoked.attempts, revoked.last_attempt.is_none()), ("pending", 0, true));

        // Another invitation keeps its own; another tenant, or an unknown
        // id, sees none.
        let theirs = store.list_invitation_webhook_deliveries(&t, other.id).await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_ne!(theirs[0].delivery_id, delivered.delivery_id);
        let globex = tenant(&*store, "globex").await;
        assert!(store.list_invitation_webhook_deliveries(&globex, inv.id).await.unwrap().is_empty());
        assert!(store.list_invitation_webhook_deliveries(&t, Uuid::now_v7()).await.unwrap().is_empty());
    }
}
