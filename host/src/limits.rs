//! Resource limits of one execution: what a request may ask for and what the server allows.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The limits one execution runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionLimits {
    /// Fuel budget (roughly one unit per wasm instruction); ignored when metering is off.
    pub fuel: u64,
    /// Cap on the guest's linear memory, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline measured from the start of instantiation.
    pub deadline: Duration,
    /// Cap on the size of the outputs (and Jacobian) JSON text, in bytes.
    pub output_bytes: u64,
    /// Cap on each of stdout, stderr and the `log` import, in bytes.
    pub log_bytes: u64,
    /// Cap on the disk the workspace uses (blocks allocated, not apparent sizes), in bytes.
    pub workspace_bytes: u64,
    /// Cap on the entries (files, directories, links) in the workspace.
    pub workspace_files: u64,
    /// Cap on the WASI handles the guest holds at once (open files and directories, streams,
    /// pollables): each open file is a host descriptor.
    pub descriptors: u64,
}

/// Limits a request asks for; each member absent means "the server's default". Each is a
/// whole number, written as an integer or not (`1e9` and `1000.0` are whole).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestedLimits {
    /// Fuel budget.
    #[serde(default, deserialize_with = "whole_number")]
    pub fuel: Option<u64>,
    /// Memory cap in bytes.
    #[serde(default, deserialize_with = "whole_number")]
    pub memory_bytes: Option<u64>,
    /// Deadline in milliseconds, at least [`MIN_DEADLINE_MS`].
    #[serde(default, deserialize_with = "deadline_ms")]
    pub deadline_ms: Option<u64>,
    /// Workspace disk use in bytes.
    #[serde(default, deserialize_with = "whole_number")]
    pub workspace_bytes: Option<u64>,
    /// Workspace entries.
    #[serde(default, deserialize_with = "whole_number")]
    pub workspace_files: Option<u64>,
}

/// The shortest deadline a request may ask for: below it no guest gets to run at all.
pub const MIN_DEADLINE_MS: u64 = 10;

/// A whole number of milliseconds, at least [`MIN_DEADLINE_MS`].
fn deadline_ms<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match whole_number(deserializer)? {
        Some(ms) if ms < MIN_DEADLINE_MS => Err(serde::de::Error::custom(format!(
            "{ms} is below the shortest deadline, {MIN_DEADLINE_MS} ms"
        ))),
        ms => Ok(ms),
    }
}

/// A JSON number that is whole, from 0 to 2⁶⁴ − 1, however it is written. One written with a
/// fraction or an exponent is read as a double first: past 2⁵³ it is the nearest double's
/// value (`1e19` is exact; `9007199254740993.0` reads as …992).
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            // `u64::MAX as f64` rounds up to 2⁶⁴ exactly: the first value out of range.
            .filter(|value| value.fract() == 0.0 && (0.0..u64::MAX as f64).contains(value))
            // Whole and in range: the conversion is exact.
            .map(|value| value as u64)
    });
    whole.map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{number} is not a whole number from 0 to 18446744073709551615"
        ))
    })
}

/// The server's default and maximum limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitPolicy {
    /// Limits used where a request says nothing.
    pub default: ExecutionLimits,
    /// The most a request may ask for.
    pub maximum: ExecutionLimits,
}

/// A requested limit above the server's maximum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} = {requested} is above the server's maximum of {maximum}")]
pub struct LimitTooHigh {
    /// The member of `limits` at fault, as in the request (camelCase).
    pub name: &'static str,
    /// What was asked.
    pub requested: u64,
    /// What is allowed.
    pub maximum: u64,
}

impl LimitPolicy {
    /// Resolves a request's limits against the policy: defaults fill gaps, nothing may exceed the maximum.
    pub fn resolve(&self, requested: &RequestedLimits) -> Result<ExecutionLimits, LimitTooHigh> {
        let fuel = pick("fuel", requested.fuel, self.default.fuel, self.maximum.fuel)?;
        let memory_bytes = pick(
            "memoryBytes",
            requested.memory_bytes,
            self.default.memory_bytes,
            self.maximum.memory_bytes,
        )?;
        let deadline_ms = pick(
            "deadlineMs",
            requested.deadline_ms,
            millis(self.default.deadline),
            millis(self.maximum.deadline),
        )?;
        let workspace_bytes = pick(
            "workspaceBytes",
            requested.workspace_bytes,
            self.default.workspace_bytes,
            self.maximum.workspace_bytes,
        )?;
        let workspace_files = pick(
            "workspaceFiles",
            requested.workspace_files,
            self.default.workspace_files,
            self.maximum.workspace_files,
        )?;
        Ok(ExecutionLimits {
            fuel,
            memory_bytes,
            deadline: Duration::from_millis(deadline_ms),
            workspace_bytes,
            workspace_files,
            ..self.default
        })
    }
}

fn pick(
    name: &'static str,
    requested: Option<u64>,
    default: u64,
    maximum: u64,
) -> Result<u64, LimitTooHigh> {
    match requested {
        None => Ok(default.min(maximum)),
        Some(requested) if requested > maximum => Err(LimitTooHigh {
            name,
            requested,
            maximum,
        }),
        Some(requested) => Ok(requested),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LimitPolicy {
        let default = ExecutionLimits {
            fuel: 100,
            memory_bytes: 1 << 20,
            deadline: Duration::from_secs(1),
            output_bytes: 1000,
            log_bytes: 1000,
            workspace_bytes: 1 << 20,
            workspace_files: 10,
            descriptors: 16,
        };
        LimitPolicy {
            default,
            maximum: ExecutionLimits {
                fuel: 1000,
                deadline: Duration::from_secs(10),
                ..default
            },
        }
    }

    #[test]
    fn absent_members_take_the_defaults() {
        let limits = policy().resolve(&RequestedLimits::default());
        assert_eq!(limits, Ok(policy().default));
    }

    #[test]
    fn a_request_may_ask_for_less_or_up_to_the_maximum() {
        let requested = RequestedLimits {
            fuel: Some(1000),
            memory_bytes: Some(10),
            deadline_ms: Some(5),
            workspace_bytes: Some(100),
            workspace_files: None,
        };
        let limits = policy().resolve(&requested).expect("within the maximum");
        assert_eq!(limits.fuel, 1000);
        assert_eq!(limits.memory_bytes, 10);
        assert_eq!(limits.deadline, Duration::from_millis(5));
        assert_eq!(limits.workspace_bytes, 100);
        assert_eq!(limits.workspace_files, 10);
    }

    #[test]
    fn whole_numbers_are_accepted_however_written_and_others_refused() {
        let parse = |text: &str| serde_json::from_str::<RequestedLimits>(text);
        let limits = parse(r#"{"fuel": 1e9, "memoryBytes": 1048576.0, "deadlineMs": 2000}"#)
            .expect("whole numbers");
        assert_eq!(limits.fuel, Some(1_000_000_000));
        assert_eq!(limits.memory_bytes, Some(1 << 20));
        assert_eq!(limits.deadline_ms, Some(2000));
        assert_eq!(parse("{}").expect("empty"), RequestedLimits::default());
        for bad in [
            r#"{"fuel": 1.5}"#,
            r#"{"fuel": -1}"#,
            r#"{"fuel": 1e20}"#,
            r#"{"fuel": "9"}"#,
            r#"{"deadlineMs": 0}"#,
            r#"{"deadlineMs": 9}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let shortest = parse(r#"{"deadlineMs": 10}"#).expect("the shortest deadline");
        assert_eq!(shortest.deadline_ms, Some(MIN_DEADLINE_MS));
    }

    #[test]
    fn a_workspace_above_the_maximum_is_refused_by_its_name() {
        let requested = RequestedLimits {
            workspace_files: Some(11),
            ..RequestedLimits::default()
        };
        let error = policy().resolve(&requested).expect_err("above the maximum");
        assert_eq!(error.name, "workspaceFiles");
    }

    #[test]
    fn a_request_above_the_maximum_names_the_limit() {
        let requested = RequestedLimits {
            fuel: Some(1001),
            ..RequestedLimits::default()
        };
        let error = policy().resolve(&requested).expect_err("above the maximum");
        assert_eq!(error.name, "fuel");
        assert_eq!(error.maximum, 1000);
    }
}
