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
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| {
            MailError::Temporary(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        let path = self.path_for(email);
        // Write aside, then rename: a reader never sees half a message.
        let tmp = path.with_extension("eml.tmp");
        tokio::fs::write(&tmp, &bytes)
            .await
            .map_err(|e| MailError::Temporary(format!("cannot write {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &path).await.map_err(|e| {
            MailError::Temporary(format!("cannot rename to {}: {e}", path.display()))
        })?;
        Ok(format!("written to {}", path.display()))
    }
}
