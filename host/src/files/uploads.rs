//! Uploaded files: streamed to disk (never whole in memory), size-capped, SHA-256 recorded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::tally::UploadTally;

/// What is known of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadInfo {
    /// Its id, to reference it in an execution's `files`.
    #[serde(rename = "fileID")]
    pub id: Uuid,
    /// The user it belongs to.
    #[serde(default)]
    pub owner: String,
    /// The name the client gave.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, in hex.
    pub sha256: String,
}

/// Why a body stream failed; in particular whether it passed the request's size limit (then
/// the client is told 413, not that its upload broke off).
pub trait StreamFailure: std::fmt::Display {
    /// Whether the stream ended because the request body passed its size limit.
    fn passed_limit(&self) -> bool {
        false
    }

    /// Whether the stream ended because the client paused longer than the body timeout.
    fn timed_out(&self) -> bool {
        false
    }

    /// Whether the stream ended because its bytes would pass the owner's storage quota.
    fn over_quota(&self) -> bool {
        false
    }
}

/// A body stream's failure, or its bytes refused by the owner's quota.
#[derive(Debug)]
enum Charged<E> {
    Body(E),
    OverQuota,
}

impl<E: StreamFailure> std::fmt::Display for Charged<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Body(error) => error.fmt(f),
            Self::OverQuota => f.write_str("the upload passed the storage quota"),
        }
    }
}

impl<E: StreamFailure> StreamFailure for Charged<E> {
    fn passed_limit(&self) -> bool {
        matches!(self, Self::Body(error) if error.passed_limit())
    }

    fn timed_out(&self) -> bool {
        matches!(self, Self::Body(error) if error.timed_out())
    }

    fn over_quota(&self) -> bool {
        matches!(self, Self::OverQuota)
    }
}

/// Whether `error` or one of its causes is the body timeout's (`http.body_timeout`).
pub fn caused_by_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

impl StreamFailure for std::io::Error {}

impl StreamFailure for std::convert::Infallible {}

impl StreamFailure for axum::Error {
    fn timed_out(&self) -> bool {
        caused_by_body_timeout(self)
    }

    fn passed_limit(&self) -> bool {
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            if error.is::<http_body_util::LengthLimitError>() {
                return true;
            }
            cause = error.source();
        }
        false
    }
}

impl StreamFailure for axum::extract::multipart::MultipartError {
    fn timed_out(&self) -> bool {
        caused_by_body_timeout(self)
    }

    fn passed_limit(&self) -> bool {
        self.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
    }
}

/// Why an upload failed; nothing of it is kept.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The body is larger than the cap.
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// The client's body broke off.
    #[error("the upload broke off: {0}")]
    Interrupted(String),
    /// The request's body passed the server's limit for it (`http.max_body_bytes` for a
    /// multipart form).
    #[error("the request body is larger than the server accepts: {0}")]
    BodyTooLarge(String),
    /// The client paused longer than the body timeout.
    #[error("the client paused longer than the body timeout (http.body_timeout)")]
    TimedOut,
    /// The upload's bytes would pass its owner's storage quota.
    #[error("the upload is larger than the owner's storage quota has room for")]
    OverQuota,
    /// A chunked upload names more chunks than allowed.
    #[error("a file may be sent in at most {0} chunks")]
    TooManyChunks(u64),
    /// A chunked upload's last chunk came before all the others.
    #[error("chunk {0} of this file was never received (chunks must be sent in order, from 0)")]
    MissingChunk(u64),
    /// The disk refused.
    #[error("storing the upload: {0}")]
    Io(#[from] std::io::Error),
}

/// The uploads directory.
#[derive(Debug, Clone)]
pub struct Uploads {
    pub(super) dir: PathBuf,
    pub(super) max_bytes: u64,
    tally: Arc<UploadTally>,
}

impl Uploads {
    /// Uploads kept in `dir`, each at most `max_bytes`.
    pub fn new(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            tally: Arc::new(UploadTally::of_dir(dir)),
        })
    }

    /// The largest upload accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The bytes `owner`'s uploads hold.
    pub fn bytes_of(&self, owner: &str) -> u64 {
        self.tally.of(owner)
    }

    /// Streams `body` to disk, hashing as it goes, at most `max_bytes` (and never more than
    /// the upload cap), its bytes charged to `owner` as they arrive and refused past
    /// `owner_cap` (the most all their uploads may hold); a partial file never survives a
    /// failure, nor its charge.
    pub async fn save<E: StreamFailure>(
        &self,
        owner: &str,
        name: String,
        body: impl Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
        max_bytes: u64,
        owner_cap: Option<u64>,
    ) -> Result<UploadInfo, UploadError> {
        let id = Uuid::new_v4();
        let partial = self.dir.join(format!("{id}.partial"));
        let max_bytes = max_bytes.min(self.max_bytes);
        let mut charge = self.tally.charge(owner, owner_cap);
        let charged = body.map(|chunk| match chunk {
            Ok(bytes) if charge.add(bytes.len() as u64) => Ok(bytes),
            Ok(_) => Err(Charged::OverQuota),
            Err(error) => Err(Charged::Body(error)),
        });
        let result = stream_to_file(&partial, charged, max_bytes).await;
        let (size, sha256) = match result {
            Ok(written) => written,
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(error);
            }
        };
        let info = UploadInfo {
            id,
            owner: owner.to_owned(),
            name,
            size,
            sha256,
        };
        let metadata = serde_json::to_vec(&info).map_err(std::io::Error::other)?;
        let record = self.dir.join(format!("{id}.json"));
        let filed = match tokio::fs::write(&record, metadata).await {
            Ok(()) => tokio::fs::rename(&partial, self.blob(id)).await,
            Err(error) => Err(error),
        };
        if let Err(error) = filed {
            let _ = tokio::fs::remove_file(&record).await;
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(error.into());
        }
        charge.keep();
        Ok(info)
    }

    /// An upload's metadata, if it exists.
    pub async fn info(&self, id: Uuid) -> Option<UploadInfo> {
        let metadata = tokio::fs::read(self.dir.join(format!("{id}.json")))
            .await
            .ok()?;
        let info: UploadInfo = serde_json::from_slice(&metadata).ok()?;
        tokio::fs::try_exists(self.blob(id))
            .await
            .ok()?
            .then_some(info)
    }

    /// Where an upload's bytes are.
    pub fn blob(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.bin"))
    }

    /// Removes the uploads (record and bytes), partial uploads and waiting chunks last changed
    /// longer ago than `age`; returns how many uploads went. Blocking: call it off the runtime.
    pub fn remove_older_than(&self, age: Duration) -> usize {
        let mut removed = 0;
        for dir in [self.dir.clone(), self.dir.join(".chunks")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|metadata| metadata.modified())
                    .is_ok_and(|modified| modified.elapsed().unwrap_or_default() > age);
                let path = entry.path();
                if !old || !path.is_file() {
                    continue;
                }
                if path
                    .extension()
                    .is_some_and(|extension| extension == "json")
                {
                    // The record is the upload: its bytes leave the tally with it, whether
                    // this walk met its `.bin` before or after.
                    let info = std::fs::read(&path)
                        .ok()
                        .and_then(|bytes| serde_json::from_slice::<UploadInfo>(&bytes).ok());
                    let _ = std::fs::remove_file(path.with_extension("bin"));
                    if std::fs::remove_file(&path).is_ok() {
                        if let Some(info) = info {
                            self.tally.remove(&info.owner, info.size);
                        }
                        removed += 1;
                    }
                    continue;
                }
                let _ = std::fs::remove_file(&path);
            }
        }
        removed
    }
}

/// Streams `body` into a new file at `path`, hashing as it goes; at most `max_bytes`. The caller
/// removes the file on failure.
pub async fn stream_to_file<E: StreamFailure>(
    path: &Path,
    mut body: impl Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    max_bytes: u64,
) -> Result<(u64, String), UploadError> {
    let mut file = tokio::fs::File::create(path).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| {
            if error.passed_limit() {
                UploadError::BodyTooLarge(error.to_string())
            } else if error.over_quota() {
                UploadError::OverQuota
            } else if error.timed_out() {
                UploadError::TimedOut
            } else {
                UploadError::Interrupted(error.to_string())
            }
        })?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(UploadError::TooLarge(max_bytes));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn uploads_older_than_the_retention_are_removed_and_newer_ones_kept() {
        let dir = tempfile::tempdir().expect("a directory");
        let uploads = Uploads::new(dir.path(), 1024).expect("uploads");
        let body = || futures_util::stream::iter([Ok::<_, std::io::Error>("a,b\n".into())]);
        let old = uploads
            .save("alice", "old.csv".into(), body(), u64::MAX, None)
            .await
            .expect("saved");
        std::thread::sleep(Duration::from_millis(400));
        let young = uploads
            .save("alice", "new.csv".into(), body(), u64::MAX, None)
            .await
            .expect("saved");
        let removed = uploads.remove_older_than(Duration::from_millis(200));
        assert_eq!(removed, 1);
        assert_eq!(uploads.bytes_of("alice"), young.size);
        assert_eq!(
            Uploads::new(dir.path(), 1024)
                .expect("again")
                .bytes_of("alice"),
            young.size
        );
        assert!(uploads.info(old.id).await.is_none());
        assert!(!uploads.blob(old.id).exists());
        assert_eq!(uploads.info(young.id).await, Some(young));
    }
}
