//! Per-user quotas: running and queued jobs, fuel and memory per execution, and the storage a
//! user's finished jobs keep. Configured defaults, overridden per user name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::{ExecutionLimits, LimitPolicy, RequestedLimits};
use crate::store::RunningCaps;

/// One user's quotas; `None`: no quota (the server's own limits still apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaValues {
    /// Jobs running at once.
    pub max_running: Option<u64>,
    /// Jobs waiting in the queue.
    pub max_queued: Option<u64>,
    /// Fuel of one execution.
    pub max_fuel: Option<u64>,
    /// Memory of one execution, in bytes.
    pub max_memory_bytes: Option<u64>,
    /// Bytes kept by the user's finished jobs (results, logs and workspace files).
    pub max_workspace_bytes: Option<u64>,
}

/// The quotas of every user: defaults, and overrides by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quotas {
    /// The quotas of users without their own.
    pub default: QuotaValues,
    /// Overrides by user name; a member left out keeps the default.
    pub users: BTreeMap<String, QuotaValues>,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            default: QuotaValues {
                max_running: None,
                max_queued: Some(100_000),
                max_fuel: None,
                max_memory_bytes: None,
                max_workspace_bytes: Some(10 << 30),
            },
            users: BTreeMap::new(),
        }
    }
}

/// A quota a request would exceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct QuotaExceeded {
    /// The quota's name, as in the configuration (e.g. `max_queued`).
    pub quota: &'static str,
    /// What happened, for people.
    pub detail: String,
}

impl Quotas {
    /// The quotas of `user`: their overrides over the defaults.
    pub fn of(&self, user: &str) -> QuotaValues {
        let Some(own) = self.users.get(user) else {
            return self.default;
        };
        QuotaValues {
            max_running: own.max_running.or(self.default.max_running),
            max_queued: own.max_queued.or(self.default.max_queued),
            max_fuel: own.max_fuel.or(self.default.max_fuel),
            max_memory_bytes: own.max_memory_bytes.or(self.default.max_memory_bytes),
            max_workspace_bytes: own.max_workspace_bytes.or(self.default.max_workspace_bytes),
        }
    }

    /// The running caps the scheduler claims under.
    pub fn running_caps(&self) -> RunningCaps {
        RunningCaps {
            default: self.default.max_running,
            per_user: self
                .users
                .keys()
                .filter_map(|user| Some((user.clone(), self.of(user).max_running?)))
                .collect(),
        }
    }
}

impl QuotaValues {
    /// The server's policy narrowed to these quotas: defaults and maximums never above them.
    pub fn narrow(&self, policy: &LimitPolicy) -> LimitPolicy {
        let clamp = |limits: &ExecutionLimits| ExecutionLimits {
            fuel: self
                .max_fuel
                .map_or(limits.fuel, |max| limits.fuel.min(max)),
            memory_bytes: self
                .max_memory_bytes
                .map_or(limits.memory_bytes, |max| limits.memory_bytes.min(max)),
            // One execution's workspace never holds more than the user may keep in all.
            workspace_bytes: self
                .max_workspace_bytes
                .map_or(limits.workspace_bytes, |max| {
                    limits.workspace_bytes.min(max)
                }),
            ..*limits
        };
        LimitPolicy {
            default: clamp(&policy.default),
            maximum: clamp(&policy.maximum),
        }
    }

    /// Refuses `adding` more queued jobs to `queued` past `max_queued`.
    pub fn check_queued(&self, queued: u64, adding: u64) -> Result<(), QuotaExceeded> {
        match self.max_queued {
            Some(max) if queued.saturating_add(adding) > max => Err(QuotaExceeded {
                quota: "max_queued",
                detail: format!(
                    "you have {queued} jobs queued; {adding} more would pass your quota of {max}"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Refuses new jobs and uploads while the user's finished jobs and uploads keep `stored`
    /// bytes, at or past the quota.
    pub fn check_storage(&self, stored: u64) -> Result<(), QuotaExceeded> {
        match self.max_workspace_bytes {
            Some(max) if stored >= max => Err(QuotaExceeded {
                quota: "max_workspace_bytes",
                detail: format!(
                    "your jobs and uploads keep {stored} bytes, at or past your quota of {max}: dismiss jobs or wait for uploads to expire"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Refuses an upload that passed the room the user's storage quota had left (`left` bytes).
    pub fn upload_too_large(left: u64) -> QuotaExceeded {
        let detail = if left == 0 {
            "your jobs and uploads fill your storage quota: dismiss jobs or wait for uploads to expire".to_owned()
        } else {
            format!(
                "this upload is larger than the {left} bytes your storage quota has left; nothing of it was kept"
            )
        };
        QuotaExceeded {
            quota: "max_workspace_bytes",
            detail,
        }
    }

    /// Refuses a request asking more fuel, memory or workspace than the quota (asking less is
    /// fine), naming the quota.
    pub fn check_request(&self, requested: &RequestedLimits) -> Result<(), QuotaExceeded> {
        let checks = [
            ("max_fuel", requested.fuel, self.max_fuel, "fuel"),
            (
                "max_memory_bytes",
                requested.memory_bytes,
                self.max_memory_bytes,
                "bytes of memory",
            ),
            (
                "max_workspace_bytes",
                requested.workspace_bytes,
                self.max_workspace_bytes,
                "bytes of workspace",
            ),
        ];
        for (quota, asked, max, what) in checks {
            if let (Some(asked), Some(max)) = (asked, max)
                && asked > max
            {
                return Err(QuotaExceeded {
                    quota,
                    detail: format!("{asked} {what} is more than your quota of {max}"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_overrides_sit_over_the_defaults() {
        let quotas = Quotas {
            default: QuotaValues {
                max_running: Some(2),
                max_queued: Some(10),
                ..QuotaValues::default()
            },
            users: BTreeMap::from([(
                "alice".to_owned(),
                QuotaValues {
                    max_queued: Some(100),
                    ..QuotaValues::default()
                },
            )]),
        };
        assert_eq!(quotas.of("alice").max_queued, Some(100));
        assert_eq!(quotas.of("alice").max_running, Some(2));
        assert_eq!(quotas.of("bob").max_queued, Some(10));
        assert_eq!(quotas.running_caps().of("alice"), 2);
    }

    #[test]
    fn each_check_holds_at_its_limit_and_refuses_past_it() {
        let quota = QuotaValues {
            max_queued: Some(10),
            max_fuel: Some(1000),
            max_memory_bytes: Some(64),
            max_workspace_bytes: Some(500),
            ..QuotaValues::default()
        };
        assert!(quota.check_queued(8, 2).is_ok());
        assert_eq!(
            quota.check_queued(8, 3).map_err(|e| e.quota),
            Err("max_queued")
        );
        assert!(quota.check_storage(499).is_ok());
        assert_eq!(
            quota.check_storage(500).map_err(|e| e.quota),
            Err("max_workspace_bytes")
        );
        let asking = |fuel, memory_bytes, workspace_bytes| RequestedLimits {
            fuel,
            memory_bytes,
            workspace_bytes,
            ..RequestedLimits::default()
        };
        assert!(
            quota
                .check_request(&asking(Some(1000), Some(64), Some(500)))
                .is_ok()
        );
        assert_eq!(
            quota
                .check_request(&asking(Some(1001), None, None))
                .map_err(|e| e.quota),
            Err("max_fuel")
        );
        assert_eq!(
            quota
                .check_request(&asking(None, Some(65), None))
                .map_err(|e| e.quota),
            Err("max_memory_bytes")
        );
        assert_eq!(
            quota
                .check_request(&asking(None, None, Some(501)))
                .map_err(|e| e.quota),
            Err("max_workspace_bytes")
        );
    }
}
