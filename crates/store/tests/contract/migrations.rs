//! Migrations: from the former runner, from sqlx's migrator, by processes
//! starting at once, and the records that stop a start.

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

/// The test's own connection to a database, beside the store's: rusqlite
/// on SQLite, a sqlx pool on PostgreSQL.
enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn connect(db: &Db) -> Raw {
        match db.url.strip_prefix("sqlite://") {
            Some(path) => Raw::Sqlite(rusqlite::Connection::open(path).unwrap()),
            None => Raw::Postgres(sqlx::PgPool::connect(&db.url).await.unwrap()),
        }
    }

    /// Runs `sql` (one statement or several); the database's complaint if
    /// it refused.
    async fn try_execute(&self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| e.to_string()),
            Raw::Postgres(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(pool)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    async fn execute(&self, sql: &str) {
        self.try_execute(sql).await.unwrap();
    }

    /// The versions recorded in `_sqlx_migrations`, in order.
    async fn versions(&self) -> Vec<i64> {
        let sql = "SELECT version FROM _sqlx_migrations ORDER BY version";
        match self {
            Raw::Sqlite(conn) => {
                let mut statement = conn.prepare(sql).unwrap();
                statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
            }
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(conn) => conn.close().unwrap(),
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}

/// Why opening the store (with migrations) failed; fails the test when it
/// did not.
async fn refused(db: &Db) -> String {
    match invitd_store::open(&db.url, &OpenOptions::default()).await {
        Ok(_) => panic!("the store opened"),
        Err(e) => e.to_string(),
    }
}

/// The versions of the migration files, by the number each name starts
/// with.
fn file_versions() -> Vec<i64> {
    let mut files: Vec<i64> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy()[..4].parse::<i64>().unwrap())
            .collect();
    files.sort();
    files
}

contract! {
    async fn a_database_made_by_the_former_runner_is_migrated_and_keeps_its_data(pg) {
        let db = database(pg).await;
        let raw = Raw::connect(&db).await;
        for sql in old_runner_sql(pg) {
            raw.execute(sql).await;
        }
        // Two processes start on it at once.
        let (a, b) = tokio::join!(open(&db), open(&db));
        let old = a.get_tenant(&TenantId::parse("old").unwrap()).await.unwrap();
        assert_eq!(old.name, "Old Tenant");
        b.probe_write(now()).await.unwrap(); // migration 6 applied
        // Every migration file is applied, by the number its name starts
        // with (numbers are handed out ahead, so one may be missing).
        let files = file_versions();
        assert!(files.len() >= 6);
        assert_eq!(files[..6], (1..=6).collect::<Vec<_>>());
        assert_eq!(raw.versions().await, files);
        assert!(raw.try_execute("SELECT 1 FROM invitd_migrations").await.is_err(), "the old table is gone");
        // A migration edited after it was applied stops the start.
        raw.execute(if pg {
            "UPDATE _sqlx_migrations SET checksum = decode(repeat('00', 48), 'hex') WHERE version = 2"
        } else {
            "UPDATE _sqlx_migrations SET checksum = zeroblob(48) WHERE version = 2"
        })
        .await;
        let message = refused(&db).await;
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

contract! {
    async fn a_migration_recorded_as_failed_stops_the_start(pg) {
        let db = database(pg).await;
        drop(open(&db).await);
        let raw = Raw::connect(&db).await;
        raw.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 3").await;
        let message = refused(&db).await;
        assert!(message.contains('3') && message.contains("_sqlx_migrations"), "{message}");
        // Once the row is put right, the store opens.
        raw.execute("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 3").await;
        open(&db).await.probe_write(now()).await.unwrap();
        raw.close().await;
    }
}

contract! {
    async fn a_migration_this_build_does_not_have_stops_the_start(pg) {
        let db = database(pg).await;
        drop(open(&db).await);
        let raw = Raw::connect(&db).await;
        raw.execute(if pg {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from a newer build', TRUE, '\\x00', 0)"
        } else {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from a newer build', TRUE, X'00', 0)"
        })
        .await;
        let message = refused(&db).await;
        assert!(message.contains("9999") && message.contains("missing"), "{message}");
        raw.close().await;
    }
}

/// A row of `_sqlx_migrations`, every column: version, description,
/// installed_on, success, checksum, execution_time.
type MigrationRow = (i64, String, String, bool, Vec<u8>, i64);

fn migration_rows(conn: &rusqlite::Connection) -> Vec<MigrationRow> {
    let mut statement = conn
        .prepare("SELECT version, description, installed_on, success, checksum, execution_time FROM _sqlx_migrations ORDER BY version")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A SQLite database that sqlx's migrator brought up to date (the fixture
/// was made with it) is taken over as it is: nothing runs again, its
/// records stay as they were, its data stays, and only migrations newer
/// than the fixture are added.
#[tokio::test]
async fn a_sqlite_database_migrated_by_sqlx_is_taken_over_as_it_is() {
    let db = database(false).await;
    let raw = Raw::connect(&db).await;
    let Raw::Sqlite(conn) = &raw else { unreachable!() };
    conn.execute_batch(include_str!("fixtures/sqlx_migrated_sqlite.sql")).unwrap();
    conn.execute_batch("INSERT INTO tenants (id, name, lifetime_days, resend_cooldown_secs, max_resends, resend_window_secs, created_at, updated_at) VALUES ('marker', 'Marker', 7, 60, 5, 86400, 0, 0)").unwrap();
    let before = migration_rows(conn);
    assert_eq!(before.iter().map(|r| r.0).collect::<Vec<_>>(), (1..=11).collect::<Vec<_>>());

    let store = open(&db).await;

    let after = migration_rows(conn);
    assert_eq!(after[..before.len()], before[..], "the records sqlx made are unchanged");
    assert_eq!(after.iter().map(|r| r.0).collect::<Vec<_>>(), file_versions());
    let marker = store.get_tenant(&TenantId::parse("marker").unwrap()).await.unwrap();
    assert_eq!(marker.name, "Marker");
    store.probe_write(now()).await.unwrap();
    let acme = tenant(&*store, "acme").await;
    create_one(&*store, &acme, "new@example.com").await;
    drop(store);
    raw.close().await;
}
