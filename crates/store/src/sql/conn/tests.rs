//! The glue's rules: columns read by position only where the names
//! agree, and parameters bound by number.

#![allow(clippy::unwrap_used)]

use super::*;

/// A query that selected the listed columns first is read by position;
/// one that did not (other columns first, or a column missing from the
/// list) still reads each column by its name.
#[test]
fn listed_columns_are_read_by_position_only_where_the_names_agree() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let columns = ["a", "b", "c"];
    for (sql, want) in [
        ("SELECT 1 AS a, 2 AS b, 3 AS c", (1, 2, 3)),
        ("SELECT 3 AS c, 1 AS a, 2 AS b", (1, 2, 3)),
        ("SELECT 9 AS x, 1 AS a, 2 AS b, 3 AS c", (1, 2, 3)),
    ] {
        let got = conn
            .query_row(sql, [], |row| {
                let listed = Listed { row, columns: &columns };
                let read = |name: &str| listed.col::<i64>(name).unwrap();
                Ok((read("a"), read("b"), read("c")))
            })
            .unwrap();
        assert_eq!(got, want, "{sql}");
    }
}

/// Three columns read through [`Listed`], named by a list.
#[derive(Debug, PartialEq)]
struct Abc(i64, i64, i64);

impl FromCols for Abc {
    fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
        let listed = Listed { row, columns: &["a", "b", "c"] };
        Ok(Abc(listed.col("a")?, listed.col("b")?, listed.col("c")?))
    }
    fn listed_columns() -> Option<&'static [&'static str]> {
        Some(&["a", "b", "c"])
    }
}

/// A whole result is read by position only when its statement selected
/// the list first; otherwise by name, and the values are the same.
#[test]
fn a_statement_checked_once_reads_every_row_right() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER); \
         INSERT INTO t VALUES (1, 2, 3), (4, 5, 6);",
    )
    .unwrap();
    for sql in [
        "SELECT a, b, c FROM t ORDER BY a",
        "SELECT c, a, b FROM t ORDER BY a",
        "SELECT a, c, b FROM t ORDER BY a",
        "SELECT 0 AS x, a, b, c FROM t ORDER BY a",
    ] {
        let got: Vec<Abc> = lite_all(&conn, sql, &[]).unwrap();
        assert_eq!(got, vec![Abc(1, 2, 3), Abc(4, 5, 6)], "{sql}");
    }
}

/// `$N` is the N-th argument on SQLite too, whatever order the
/// parameters first appear in and however often one appears (SQLite
/// alone would number `$2` first here).
#[test]
fn parameters_bind_by_their_number_not_by_where_they_first_appear() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let sql = "SELECT $2 - $1, $1 * 10 + $2, $1";
    let got: Option<(i64, i64, i64)> = {
        struct Three(i64, i64, i64);
        impl FromCols for Three {
            fn from_cols(row: &impl Cols) -> Result<Self, StoreError> {
                Ok(Three(row.col_at(0)?, row.col_at(1)?, row.col_at(2)?))
            }
        }
        lite_first::<Three>(&conn, sql, &[Arg::int(1), Arg::int(5)])
            .unwrap()
            .map(|Three(a, b, c)| (a, b, c))
    };
    assert_eq!(got, Some((4, 15, 1)));
    let missing = lite_first::<Number>(&conn, "SELECT $3", &[Arg::int(1)]);
    assert!(matches!(missing, Err(StoreError::Database(_))));
}
