//! Migrations: from the former runner, and by processes starting at once.

use super::*;

/// The SQL the former migration runner applied, with its bookkeeping table.
fn old_runner_sql(pg: bool) -> Vec<&'static str> {
    let files: [&str; 5] = if pg {
        [
            include_str!("../../migrations/postgres/0001_init.sql"),
            include_str!("../../migrations/postgres/0002_delivery_attempts.sql"),
            include_str!("../../migrations/postgres/0003_status_index.sql"),
            include_str!("../../migrations/postgres/0004_branding_and_secrets.sql"),
            include_str!("../../migrations/postgres/0005_webhooks.sql"),
        ]
    } else {
        [
            include_str!("../../migrations/sqlite/0001_init.sql"),
            include_str!("../../migrations/sqlite/0002_delivery_attempts.sql"),
            include_str!("../../migrations/sqlite/0003_status_index.sql"),
            include_str!("../../migrations/sqlite/0004_branding_and_secrets.sql"),
            include_str!("../../migrations/sqlite/0005_webhooks.sql"),
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
        // Every migration file is applied, by the number its name starts
        // with (numbers are handed out ahead, so one may be missing).
        let mut files: Vec<(i64,)> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .map(|f| (f.unwrap().file_name().to_string_lossy()[..4].parse::<i64>().unwrap(),))
            .collect();
        files.sort();
        assert!(files.len() >= 6);
        assert_eq!(files[..6], (1..=6).map(|v| (v,)).collect::<Vec<_>>());
        assert_eq!(versions, files);
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
