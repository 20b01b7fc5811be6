//! Paths inside a workspace, checked once at the boundary: relative, normalised, no escape.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// A relative path that stays inside the directory it is joined to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkspacePath(String);

/// Why a path cannot name a file in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} is not a file name inside the workspace: {reason}")]
pub struct BadPath {
    /// The path given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl WorkspacePath {
    /// Checks a path given by a client: relative, no `..`, no NUL, at most 1024 bytes.
    pub fn parse(text: &str) -> Result<Self, BadPath> {
        let bad = |reason| BadPath {
            path: text.to_owned(),
            reason,
        };
        if text.is_empty() || text.len() > 1024 {
            return Err(bad("it must have 1 to 1024 bytes"));
        }
        if text.contains('\0') || text.contains('\\') {
            return Err(bad("it must not contain NUL or backslashes"));
        }
        let mut parts = Vec::new();
        for component in Path::new(text).components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => return Err(bad("it must not contain '..'")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(bad("it must be relative"));
                }
            }
        }
        if parts.is_empty() {
            return Err(bad("it names no file"));
        }
        Ok(Self(parts.join("/")))
    }

    /// The path under `root`. Callers still refuse symbolic links met on the way (see
    /// [`open_inside`]).
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkspacePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The regular file `path` names under `root`, refusing any symbolic link on the way (a guest
/// may have planted one pointing out of its workspace).
pub fn open_inside(root: &Path, path: &WorkspacePath) -> Option<PathBuf> {
    let mut current = root.to_owned();
    for part in path.as_str().split('/') {
        current.push(part);
        let metadata = std::fs::symlink_metadata(&current).ok()?;
        if metadata.file_type().is_symlink() {
            return None;
        }
    }
    std::fs::symlink_metadata(&current)
        .ok()
        .filter(|metadata| metadata.is_file())
        .map(|_| current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalised() {
        assert_eq!(
            WorkspacePath::parse("a/./b.csv").map(|p| p.0),
            Ok("a/b.csv".to_owned())
        );
    }

    #[test]
    fn escapes_are_refused() {
        for path in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "",
            ".",
            "a\0b",
            "a\\..\\b",
        ] {
            assert!(WorkspacePath::parse(path).is_err(), "{path:?}");
        }
    }

    #[test]
    fn symbolic_links_are_not_followed() {
        let root = tempfile::tempdir().expect("dir");
        std::fs::write(root.path().join("real"), b"x").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("link")).expect("link");
        let real = WorkspacePath::parse("real").expect("valid");
        let link = WorkspacePath::parse("link").expect("valid");
        assert!(open_inside(root.path(), &real).is_some());
        assert!(open_inside(root.path(), &link).is_none());
    }
}
