//! Support for tests that run on PostgreSQL: a fresh, empty database per
//! test on the server named by `INVITD_TEST_DATABASE_URL`.

use crate::StoreError;
use sqlx::Connection;

/// The variable naming the PostgreSQL server for tests.
pub const TEST_DATABASE_VAR: &str = "INVITD_TEST_DATABASE_URL";

/// The server for PostgreSQL tests, if configured.
pub fn postgres_test_url() -> Option<String> {
    std::env::var(TEST_DATABASE_VAR).ok().filter(|v| !v.is_empty())
}

/// Creates an empty database `invitd_t_<random>` on the server of `base`
/// (a `postgres://` URL of any database there) and returns its URL.
pub async fn fresh_postgres_database(base: &str) -> Result<String, StoreError> {
    let name = format!("invitd_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::postgres::PgConnection::connect(base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await?;
    Ok(with_database(base, &name))
}

/// `base` with its database name replaced by `name`.
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let after_scheme = head.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = head[after_scheme..].find('/').map(|i| i + after_scheme).unwrap_or(head.len());
    let mut url = format!("{}/{name}", &head[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
