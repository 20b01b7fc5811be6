//! How clients name a process: `{id}` (its newest version), `{id}@{version}`, or
//! `{id}@sha256:<hex>` (exact bytes); and the order of versions.

use std::cmp::Ordering;
use std::fmt;

use crate::discipline::ModuleDigest;

/// A reference to a process as written in a URL path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRef {
    /// The discipline's name.
    pub name: String,
    /// Which of its modules.
    pub pin: Pin,
}

/// Which module of a process a reference selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The newest version (to run or describe), or every version (to replace or undeploy).
    Unpinned,
    /// The module of this version.
    Version(String),
    /// The module with exactly these bytes.
    Digest(ModuleDigest),
}

impl ProcessRef {
    /// Parses `name`, `name@version` or `name@sha256:<hex>`.
    pub fn parse(text: &str) -> Self {
        let Some((name, pin)) = text.split_once('@') else {
            return Self {
                name: text.to_owned(),
                pin: Pin::Unpinned,
            };
        };
        let pin = match pin.parse::<ModuleDigest>() {
            Ok(digest) => Pin::Digest(digest),
            Err(_) => Pin::Version(pin.to_owned()),
        };
        Self {
            name: name.to_owned(),
            pin,
        }
    }
}

impl fmt::Display for ProcessRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pin {
            Pin::Unpinned => write!(f, "{}", self.name),
            Pin::Version(version) => write!(f, "{}@{version}", self.name),
            Pin::Digest(digest) => write!(f, "{}@{digest}", self.name),
        }
    }
}

/// Orders versions oldest first: by semantic versioning when both parse, else part by part
/// (numbers numerically, other parts as text), so that "1.10" is newer than "1.9".
pub fn compare_versions(left: &str, right: &str) -> Ordering {
    if let (Ok(left), Ok(right)) = (semver::Version::parse(left), semver::Version::parse(right)) {
        return left.cmp(&right);
    }
    let mut left_parts = left.split(['.', '-', '+']);
    let mut right_parts = right.split(['.', '-', '+']);
    loop {
        match (left_parts.next(), right_parts.next()) {
            (None, None) => return left.cmp(right),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(left_part), Some(right_part)) => {
                let order = match (left_part.parse::<u64>(), right_part.parse::<u64>()) {
                    (Ok(left_number), Ok(right_number)) => left_number.cmp(&right_number),
                    _ => left_part.cmp(right_part),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_into_name_and_pin() {
        assert_eq!(ProcessRef::parse("Sellar1").pin, Pin::Unpinned);
        let pinned = ProcessRef::parse("Sellar1@1.2.0");
        assert_eq!(pinned.name, "Sellar1");
        assert_eq!(pinned.pin, Pin::Version("1.2.0".into()));
        let digest = ModuleDigest::of(b"x");
        let exact = ProcessRef::parse(&format!("Sellar1@{digest}"));
        assert_eq!(exact.pin, Pin::Digest(digest));
        assert_eq!(exact.to_string(), format!("Sellar1@{digest}"));
    }

    #[test]
    fn versions_order_numerically_and_by_semver() {
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
        assert_eq!(compare_versions("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare_versions("beta", "alpha"), Ordering::Greater);
        assert_eq!(compare_versions("1.0", "1.0"), Ordering::Equal);
    }
}
