//! Who is calling: identities and roles, and how a bearer token becomes an identity.

pub mod oidc;

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
