//! Webhook test events: one delivery, to the endpoint asked for alone.

use super::*;
use invitd_store::{WebhookAttempt, WebhookEndpoint, WebhookOutcome};

fn endpoint(tenant: &TenantId, url: &str, types: &[&str], enabled: bool) -> WebhookEndpoint {
    WebhookEndpoint {
        id: Uuid::now_v7(),
        tenant_id: tenant.clone(),
        url: url.into(),
        secret: Secret::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        enabled,
        disabled_reason: None,
        failing_since: None,
        created_at: now(),
        updated_at: now(),
    }
}

contract! {
    async fn a_test_event_goes_to_its_endpoint_alone(pg) {
        let (_db, store, t) = one_process(pg).await;
        let other_tenant = tenant(&*store, "globex").await;
        // The tested endpoint subscribes to one invitation event only, and
        // is disabled: a test reaches it all the same.
        let target = endpoint(&t, "https://a.example.com/hook", &["invitation.accepted"], false);
        let sibling = endpoint(&t, "https://b.example.com/hook", &[], true);
        let elsewhere = endpoint(&other_tenant, "https://c.example.com/hook", &[], true);
        for e in [&target, &sibling, &elsewhere] {
            store.create_webhook(e, &operator()).await.unwrap();
        }
        let at = now();
        let queued = store.queue_webhook_test(&target, at, &operator()).await.unwrap();

        let jobs = store.claim_webhooks(at, Duration::minutes(1), 100, 4).await.unwrap();
        assert_eq!(jobs.len(), 1, "one delivery, to the tested endpoint only");
        let job = &jobs[0];
        assert_eq!((job.delivery_id, job.event.id), (queued.delivery_id, queued.event_id));
        assert_eq!(job.endpoint.id, target.id);
        assert_eq!(job.event.event_type, "webhook.test");
        assert_eq!(job.event.tenant_id.as_ref(), Some(&t));
        assert_eq!(job.event.data["webhook_id"], serde_json::json!(target.id));
        assert_eq!(job.event.data["url"], "https://a.example.com/hook");
        assert!(job.event.snapshot.is_none());

        // Recorded like any attempt, and in the audit trail.
        let attempt = WebhookAttempt {
            delivery_id: job.delivery_id,
            event_id: job.event.id,
            event_type: job.event.event_type.clone(),
            attempted_at: at,
            status_code: Some(204),
            duration_ms: 3,
            error: None,
        };
        store.finish_webhook(job, &attempt, &WebhookOutcome::Delivered, Duration::days(5)).await.unwrap();
        let attempts = store.list_webhook_attempts(&t, target.id, 10).await.unwrap();
        assert_eq!(attempts, vec![attempt]);
        assert!(store.list_webhook_attempts(&t, sibling.id, 10).await.unwrap().is_empty());
        let filter = invitd_store::EventFilter {
            tenant: Some(t.clone()),
            event_type: Some("webhook.test".into()),
            invitation: None,
            after: None,
            before: None,
            before_id: None,
            limit: 10,
        };
        let events = store.list_events(&filter).await.unwrap();
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [queued.event_id]);
        assert!(store.claim_webhooks(at + Duration::hours(1), Duration::minutes(1), 100, 4).await.unwrap().is_empty());

        // Another tenant's endpoint, or a deleted one, is not found.
        let mut stray = elsewhere.clone();
        stray.tenant_id = t.clone();
        let refused = store.queue_webhook_test(&stray, at, &operator()).await;
        assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
        store.delete_webhook(&t, sibling.id, at, &operator()).await.unwrap();
        let gone = store.queue_webhook_test(&sibling, at, &operator()).await;
        assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
        assert!(store.claim_webhooks(at + Duration::hours(1), Duration::minutes(1), 100, 4).await.unwrap().is_empty());
    }
}
