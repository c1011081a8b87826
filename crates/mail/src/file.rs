//! The file transport: each message becomes an `.eml` file in a folder, so
//! a first run needs no mail server.

use crate::{MailError, Mailer, RenderedEmail};
use async_trait::async_trait;
use std::path::PathBuf;

pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file a message is written to: named after its Message-ID, so a
    /// retry of the same outbox row overwrites instead of duplicating.
    pub fn path_for(&self, email: &RenderedEmail) -> PathBuf {
        let stem: String = email
            .message_id
            .trim_matches(['<', '>'])
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
            .collect();
        self.dir.join(format!("{stem}.eml"))
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &RenderedEmail) -> Result<String, MailError> {
        let bytes = email.to_rfc5322()?;
        let (dir, path) = (self.dir.clone(), self.path_for(email));
        // One trip to the blocking pool for the folder, the write and the
        // rename (three `tokio::fs` calls would be three trips).
        tokio::task::spawn_blocking(move || write_aside(&dir, &path, &bytes))
            .await
            .map_err(|e| MailError::Temporary(format!("the file writer stopped: {e}")))?
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// reader never sees half a message.
fn write_aside(
    dir: &std::path::Path,
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<String, MailError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| MailError::Temporary(format!("cannot create {}: {e}", dir.display())))?;
    let tmp = path.with_extension("eml.tmp");
    std::fs::write(&tmp, bytes)
        .map_err(|e| MailError::Temporary(format!("cannot write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| MailError::Temporary(format!("cannot rename to {}: {e}", path.display())))?;
    Ok(format!("written to {}", path.display()))
}
