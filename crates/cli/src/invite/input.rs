//! The people file: a CSV with a header row, read into rows with their
//! line numbers, and the per-row report written back.

use anyhow::{Context, bail};
use std::collections::BTreeMap;

/// One person to invite, as the file says (empty cells are `None`).
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// The line the record starts on (the header is line 1).
    pub line: u64,
    pub email: String,
    pub roles: Option<Vec<String>>,
    pub language: Option<String>,
    pub message: Option<String>,
    pub purpose: Option<String>,
    pub expires_in_days: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// What happened to a row.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub line: u64,
    pub email: String,
    /// `invited`, `already_pending`, `invalid_email`, `duplicate_in_file`,
    /// `invalid_row`, `would_invite` (dry run), or an API error code.
    pub outcome: String,
    pub invitation_id: String,
    pub message: String,
}

/// Reads the file: a UTF-8 BOM is skipped, the delimiter (`,` or `;`) is
/// the one the header line uses, column names are case-insensitive.
pub(super) fn read(bytes: &[u8]) -> anyhow::Result<Vec<Row>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let header_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| header_line.iter().filter(|b| **b == c).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .context("the file has no header row")?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let Some(email_col) = headers.iter().position(|h| h == "email") else {
        bail!("the header row has no `email` column (found: {})", headers.join(", "));
    };
    for h in &headers {
        let known = matches!(
            h.as_str(),
            "email" | "roles" | "language" | "message" | "purpose" | "expires_in_days"
        );
        if !known && !h.starts_with("metadata.") {
            bail!(
                "unknown column `{h}`; the columns are email, roles, language, message, purpose, expires_in_days and metadata.<name>"
            );
        }
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (roles, language, message, purpose, expires) =
        (col("roles"), col("language"), col("message"), col("purpose"), col("expires_in_days"));
    let mut rows = Vec::new();
    // Line 1 is the header; `counted_to` is how far newlines are counted.
    let (mut line, mut counted_to) = (1u64, 0usize);
    for record in reader.records() {
        let record = record.context("the file is not valid CSV")?;
        // From the byte offset (counted on from the previous record): the
        // reader's own line count skips blank lines, a person's editor
        // does not.
        let mut start =
            record.position().map_or(counted_to, |p| (p.byte() as usize).min(bytes.len()));
        while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        line += bytes[counted_to.min(start)..start].iter().filter(|b| **b == b'\n').count() as u64;
        counted_to = counted_to.max(start);
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let metadata = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((h.strip_prefix("metadata.")?.to_string(), cell(Some(i))?)))
            .collect();
        rows.push(Row {
            line,
            email: cell(Some(email_col)).unwrap_or_default(),
            roles: cell(roles).map(|r| split_roles(&r)),
            language: cell(language),
            message: cell(message),
            purpose: cell(purpose),
            expires_in_days: cell(expires),
            metadata,
        });
    }
    Ok(rows)
}

/// Roles in a cell: `;`-separated (commas are accepted too).
pub(super) fn split_roles(cell: &str) -> Vec<String> {
    cell.split([';', ',']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect()
}

/// The report: one line per input row, in file order.
pub(super) fn report(outcomes: &[Outcome]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["line", "email", "outcome", "invitation_id", "message"])?;
    for o in outcomes {
        w.write_record([&o.line.to_string(), &o.email, &o.outcome, &o.invitation_id, &o.message])?;
    }
    Ok(w.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_semicolons_case_and_metadata() {
        let file = "\u{feff}Email;ROLES;Metadata.Team\nann@example.com;editor;blue\n\n\"bob@example.com\";\"viewer;admin\";\n";
        let rows = read(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].email, "ann@example.com");
        assert_eq!(rows[0].roles.as_deref(), Some(&["editor".to_string()][..]));
        assert_eq!(rows[0].metadata.get("team").map(String::as_str), Some("blue"));
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].roles.clone().unwrap(), vec!["viewer", "admin"]);
        assert!(rows[1].metadata.is_empty());
    }

    #[test]
    fn a_file_without_an_email_column_or_with_an_unknown_one_is_refused() {
        assert!(read(b"name\nann\n").unwrap_err().to_string().contains("no `email` column"));
        assert!(
            read(b"email,colour\na@b.c,red\n")
                .unwrap_err()
                .to_string()
                .contains("unknown column `colour`")
        );
    }
}
