//! Chunked uploads: a file sent as numbered chunks, one request each, assembled into an upload
//! when the last arrives. Chunks wait in `.chunks/` under a key of (owner, file name), so two
//! users, or two files, never mix; chunk 0 starts the file afresh.

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt, stream};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{StreamFailure, UploadError, UploadInfo, Uploads, stream_to_file};

/// The most chunks one file may be sent in (the client chooses the count).
pub const MAX_CHUNKS: u64 = 100_000;

/// One received chunk, not yet filed under its number.
#[derive(Debug)]
pub struct Chunk {
    path: PathBuf,
}

impl Drop for Chunk {
    /// A chunk dropped before it was filed (its request failed) leaves nothing behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The last component of a client's file name (`/` or `\` separated), if it names a file.
pub fn base_name(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let usable = !base.is_empty() && base != "." && base != ".." && !base.contains('\0');
    usable.then_some(base)
}

impl Uploads {
    pub(super) fn chunks_dir(&self) -> PathBuf {
        self.dir.join(".chunks")
    }

    /// Where chunk `number` of `owner`'s file `name` waits.
    fn chunk_path(&self, owner: &str, name: &str, number: u64) -> PathBuf {
        self.chunks_dir()
            .join(format!("{}.{number}", chunk_key(owner, name)))
    }

    /// Streams one chunk to disk: at most `max_bytes`, and never more than the upload cap.
    pub async fn receive_chunk<E: StreamFailure>(
        &self,
        body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        max_bytes: u64,
    ) -> Result<Chunk, UploadError> {
        tokio::fs::create_dir_all(self.chunks_dir()).await?;
        let path = self.chunks_dir().join(format!("{}.part", Uuid::new_v4()));
        let max_bytes = max_bytes.min(self.max_bytes);
        if let Err(error) = stream_to_file(&path, body, max_bytes).await {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(error);
        }
        Ok(Chunk { path })
    }

    /// Files `chunk` as chunk `number` of `owner`'s file `name`; chunk 0 first removes what an
    /// earlier, unfinished upload of the same file left.
    pub async fn file_chunk(
        &self,
        chunk: Chunk,
        owner: &str,
        name: &str,
        number: u64,
    ) -> Result<(), UploadError> {
        if number >= MAX_CHUNKS {
            return Err(UploadError::TooManyChunks(MAX_CHUNKS));
        }
        if number == 0 {
            let key = chunk_key(owner, name);
            let dir = self.chunks_dir();
            tokio::task::spawn_blocking(move || remove_chunks(&dir, &key))
                .await
                .map_err(std::io::Error::other)?;
        }
        let target = self.chunk_path(owner, name, number);
        if let Err(error) = tokio::fs::rename(&chunk.path, &target).await {
            let _ = tokio::fs::remove_file(&chunk.path).await;
            return Err(error.into());
        }
        Ok(())
    }

    /// Joins chunks `0..total` of `owner`'s file `name` into one upload and removes them.
    pub async fn assemble(
        &self,
        owner: &str,
        name: &str,
        total: u64,
        max_bytes: u64,
        owner_cap: Option<u64>,
    ) -> Result<UploadInfo, UploadError> {
        if total > MAX_CHUNKS {
            return Err(UploadError::TooManyChunks(MAX_CHUNKS));
        }
        let paths: Vec<PathBuf> = (0..total)
            .map(|number| self.chunk_path(owner, name, number))
            .collect();
        for (number, path) in (0..).zip(&paths) {
            if !tokio::fs::try_exists(path).await.unwrap_or(false) {
                return Err(UploadError::MissingChunk(number));
            }
        }
        let chunks = stream::iter(paths.clone())
            .then(|path| async move { tokio::fs::read(path).await.map(Bytes::from) })
            .boxed();
        let saved = self
            .save(owner, name.to_owned(), chunks, max_bytes, owner_cap)
            .await;
        for path in &paths {
            let _ = tokio::fs::remove_file(path).await;
        }
        saved
    }
}

/// The file-name-safe key of (owner, name).
fn chunk_key(owner: &str, name: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(owner.as_bytes());
    hasher.update([0]);
    hasher.update(name.as_bytes());
    hex::encode(hasher.finalize())
}

/// Removes the chunks of `key` (abandoned chunked uploads of other keys are the collector's).
fn remove_chunks(dir: &Path, key: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let mine = name.to_str().is_some_and(|name| {
            name.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with('.'))
        });
        if mine {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_component_of_a_client_file_name_is_kept() {
        assert_eq!(base_name("data.csv"), Some("data.csv"));
        assert_eq!(base_name("../../etc/passwd"), Some("passwd"));
        assert_eq!(base_name("C:\\Users\\me\\data.csv"), Some("data.csv"));
        assert_eq!(base_name("dir/"), None);
        assert_eq!(base_name(".."), None);
        assert_eq!(base_name("a\0b"), None);
    }

    #[tokio::test]
    async fn chunks_are_joined_in_order_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().expect("works");
        let uploads = Uploads::new(dir.path(), 1024).expect("works");
        let send = |bytes: &'static [u8]| {
            let uploads = uploads.clone();
            async move {
                let body = stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(bytes))]);
                uploads.receive_chunk(body, u64::MAX).await.expect("works")
            }
        };
        uploads
            .file_chunk(send(b"ab").await, "alice", "x.csv", 0)
            .await
            .expect("works");
        uploads
            .file_chunk(send(b"cd").await, "bob", "x.csv", 1)
            .await
            .expect("works");
        assert!(matches!(
            uploads.assemble("alice", "x.csv", 2, u64::MAX, None).await,
            Err(UploadError::MissingChunk(1))
        ));
        assert!(matches!(
            uploads
                .assemble("alice", "x.csv", u64::MAX, u64::MAX, None)
                .await,
            Err(UploadError::TooManyChunks(MAX_CHUNKS))
        ));
        uploads
            .file_chunk(send(b"cd").await, "alice", "x.csv", 1)
            .await
            .expect("works");
        uploads
            .file_chunk(send(b"").await, "alice", "x.csv", 2)
            .await
            .expect("works");
        let info = uploads
            .assemble("alice", "x.csv", 3, u64::MAX, None)
            .await
            .expect("works");
        assert_eq!(
            std::fs::read(uploads.blob(info.id)).expect("works"),
            b"abcd"
        );
        assert_eq!(info.size, 4);
        assert_eq!(
            (info.owner.as_str(), info.name.as_str()),
            ("alice", "x.csv")
        );
    }
}
