//! The error a discipline returns: bad inputs (the caller's fault) or a failed computation.

use std::fmt;

/// Why a discipline call did not produce a result.
///
/// It crosses the component boundary as the WIT `error` variant: the host reports
/// [`Error::InvalidInput`] as a client error and [`Error::Failure`] as a failed execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The inputs or options are not acceptable; the message says which and why.
    InvalidInput(String),
    /// The computation itself failed.
    Failure(String),
}

impl Error {
    /// Builds an [`Error::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    /// Builds an [`Error::Failure`].
    pub fn failure(message: impl Into<String>) -> Self {
        Self::Failure(message.into())
    }

    /// The human-readable message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidInput(message) | Self::Failure(message) => message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput(message) => write!(formatter, "invalid input: {message}"),
            Self::Failure(message) => write!(formatter, "failure: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// An I/O error inside a computation is a failure; report a missing input file with
/// [`Error::invalid_input`] instead, naming the file.
impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Failure(error.to_string())
    }
}

/// A JSON error inside a computation (the SDK reports undecodable inputs itself).
impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::Failure(error.to_string())
    }
}
