//! What a queued job runs, as stored in its row: validated at submission, rebuilt by a worker.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::webhooks::Subscriber;
use crate::execution::Differentiation;
use crate::limits::ExecutionLimits;

/// The JSON of a job's `request` column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredRequest {
    /// Complete inputs, merged with defaults and validated.
    pub inputs: Map<String, Value>,
    /// Discipline options.
    pub options: Map<String, Value>,
    /// Which Jacobian blocks to compute, if any.
    pub linearize: Option<StoredDifferentiation>,
    /// Which outputs to return (all when absent).
    pub outputs: Option<Vec<String>>,
    /// The limits resolved at submission.
    pub limits: StoredLimits,
    /// Where to send news of the job.
    #[serde(default)]
    pub subscriber: Option<Subscriber>,
    /// Uploaded files copied into the workspace: (path inside, stored upload).
    #[serde(default)]
    pub files: Vec<(String, PathBuf)>,
    /// What another face of the API (gemseo-http) was sent and shows back in its own job
    /// documents; the scheduler never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<Value>,
}

/// Jacobian blocks to compute.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredDifferentiation {
    /// With respect to these inputs (all when empty).
    pub inputs: Vec<String>,
    /// Of these outputs (all when empty).
    pub outputs: Vec<String>,
}

/// Limits as stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredLimits {
    fuel: u64,
    memory_bytes: u64,
    deadline_ms: u64,
    output_bytes: u64,
    log_bytes: u64,
    /// Absent in rows stored before these limits existed: the built-in defaults then apply.
    #[serde(default)]
    workspace_bytes: Option<u64>,
    #[serde(default)]
    workspace_files: Option<u64>,
    #[serde(default)]
    descriptors: Option<u64>,
}

impl From<&ExecutionLimits> for StoredLimits {
    fn from(limits: &ExecutionLimits) -> Self {
        Self {
            fuel: limits.fuel,
            memory_bytes: limits.memory_bytes,
            deadline_ms: u64::try_from(limits.deadline.as_millis()).unwrap_or(u64::MAX),
            output_bytes: limits.output_bytes,
            log_bytes: limits.log_bytes,
            workspace_bytes: Some(limits.workspace_bytes),
            workspace_files: Some(limits.workspace_files),
            descriptors: Some(limits.descriptors),
        }
    }
}

impl From<StoredLimits> for ExecutionLimits {
    fn from(limits: StoredLimits) -> Self {
        let built_in = crate::config::LimitsConfig::default();
        Self {
            fuel: limits.fuel,
            memory_bytes: limits.memory_bytes,
            deadline: Duration::from_millis(limits.deadline_ms),
            output_bytes: limits.output_bytes,
            log_bytes: limits.log_bytes,
            workspace_bytes: limits
                .workspace_bytes
                .unwrap_or(built_in.default.workspace_bytes),
            workspace_files: limits
                .workspace_files
                .unwrap_or(built_in.default.workspace_files),
            descriptors: limits.descriptors.unwrap_or(built_in.descriptors),
        }
    }
}

impl From<&Differentiation> for StoredDifferentiation {
    fn from(differentiation: &Differentiation) -> Self {
        Self {
            inputs: differentiation.inputs.clone(),
            outputs: differentiation.outputs.clone(),
        }
    }
}

impl From<StoredDifferentiation> for Differentiation {
    fn from(stored: StoredDifferentiation) -> Self {
        Self {
            inputs: stored.inputs,
            outputs: stored.outputs,
        }
    }
}
