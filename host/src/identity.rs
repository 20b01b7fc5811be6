//! Who a caller is and what they may do: shared by authentication, the store and the HTTP
//! layer, so that none of them depends on another for it.

use serde::{Deserialize, Serialize};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Deploys and undeploys modules, manages users, sees every job.
    Admin,
    /// Executes processes; sees and manages only its own jobs and files.
    User,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's stable name: it owns jobs and files, and quotas count against it.
    pub user: String,
    /// What the user may do.
    pub role: Role,
}

impl Identity {
    /// Whether this caller may see and act on what `owner` owns.
    pub fn may_access(&self, owner: &str) -> bool {
        self.role == Role::Admin || self.user == owner
    }
}
