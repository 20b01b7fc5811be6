//! RFC 9457 problem details: the catalogue of failures, and the one error type of the API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::execution::{ExecutionError, ExecutionFacts};
use crate::quotas::QuotaExceeded;
use crate::registry::ModuleRejection;
use crate::sandbox::SandboxError;
use crate::store::StoreError;

/// OGC API – Processes Part 2's exception for deploying a process that already exists.
const OGC_DUPLICATED_PROCESS: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-2/1.0/duplicated-process";
/// The `type` URI of OGC API – Processes' own exception for an unknown process.
const OGC_NO_SUCH_PROCESS: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process";
/// OGC's exception for an unknown job.
const OGC_NO_SUCH_JOB: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job";
/// OGC's exception for the results of a job that has not finished.
const OGC_RESULT_NOT_READY: &str =
    "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/result-not-ready";

/// Every kind of problem the API reports, with its status, title and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// No process has the requested id.
    NoSuchProcess,
    /// No route matches the path.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The body is not valid JSON, or not of the expected shape.
    MalformedRequest,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// An input fails the process's input schema.
    InvalidInput,
    /// The discipline options are refused by the discipline.
    InvalidOptions,
    /// A requested limit is above the server's maximum.
    LimitTooHigh,
    /// A Jacobian was asked of a process that provides none.
    NoJacobian,
    /// The guest reported a failure, or returned outputs that break its own grammar.
    GuestError,
    /// The guest trapped (panic, unreachable, bad memory access).
    GuestCrashed,
    /// The guest's call stack overflowed.
    StackOverflow,
    /// The fuel budget ran out.
    OutOfFuel,
    /// The wall-clock deadline passed.
    DeadlineExceeded,
    /// The guest tried to use more memory than its cap.
    MemoryLimit,
    /// The guest tried to hold more WASI handles (open files, streams) than its cap.
    DescriptorLimit,
    /// The guest's workspace grew past its disk, entry or depth cap.
    WorkspaceLimit,
    /// Outputs, stdout, stderr or logs grew past their cap.
    OutputTooLarge,
    /// Every execution slot is taken and the wait line is full.
    ServerBusy,
    /// The execution was cancelled.
    Cancelled,
    /// A fault of the server itself.
    Internal,
    /// No job has the requested id (or it belongs to someone else).
    NoSuchJob,
    /// The job has not finished.
    ResultNotReady,
    /// The job was dismissed: it will never have results.
    Dismissed,
    /// The job's worker was lost too many times.
    WorkerLost,
    /// The module a queued job was submitted for is no longer served.
    ModuleUnavailable,
    /// The job's results were removed by garbage collection.
    Expired,
    /// The server is still discovering its modules.
    NotReady,
    /// A deployed file is not a WebAssembly component.
    NotAComponent,
    /// A deployed component does not implement the discipline contract.
    WrongContract,
    /// Compiling a deployed component ran past its bounds, or failed.
    CompileFailed,
    /// A deployed component's `describe()` failed.
    DescribeFailed,
    /// A deployed component describes itself unusably.
    InvalidDescription,
    /// Another module already provides this process and version.
    DuplicatedProcess,
    /// A replacement provides another process than the one it replaces.
    ProcessMismatch,
    /// No valid bearer token.
    Unauthorized,
    /// The caller's role does not allow this.
    Forbidden,
    /// The user name or password is wrong.
    LoginFailed,
    /// Too many failed logins for this user name.
    TooManyLogins,
    /// The user named does not exist.
    NoSuchUser,
    /// A user of this name exists.
    UserExists,
    /// The request would pass one of the caller's quotas.
    QuotaExceeded,
    /// The server's disk is full: nothing was stored.
    StorageFull,
    /// No live token of the caller's has this id.
    NoSuchToken,
    /// The request's URI is longer than the server reads.
    UriTooLong,
    /// The request's header section is larger, or has more fields, than the server reads.
    HeadersTooLarge,
    /// No byte of the requested range is in the file.
    RangeNotSatisfiable,
    /// The client sent its body too slowly.
    RequestTimeout,
    /// The server is shutting down: it takes no new request.
    ShuttingDown,
    /// A precondition of the request (`If-Unmodified-Since`, `If-Match`) does not hold.
    PreconditionFailed,
}

impl ProblemKind {
    /// All kinds, for the documentation endpoint.
    pub const ALL: [Self; 51] = [
        Self::NoSuchProcess,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::MalformedRequest,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::InvalidInput,
        Self::InvalidOptions,
        Self::LimitTooHigh,
        Self::NoJacobian,
        Self::GuestError,
        Self::GuestCrashed,
        Self::StackOverflow,
        Self::OutOfFuel,
        Self::DeadlineExceeded,
        Self::MemoryLimit,
        Self::DescriptorLimit,
        Self::WorkspaceLimit,
        Self::OutputTooLarge,
        Self::ServerBusy,
        Self::Cancelled,
        Self::Internal,
        Self::NoSuchJob,
        Self::ResultNotReady,
        Self::Dismissed,
        Self::WorkerLost,
        Self::ModuleUnavailable,
        Self::Expired,
        Self::NotReady,
        Self::NotAComponent,
        Self::WrongContract,
        Self::CompileFailed,
        Self::DescribeFailed,
        Self::InvalidDescription,
        Self::DuplicatedProcess,
        Self::ProcessMismatch,
        Self::Unauthorized,
        Self::Forbidden,
        Self::LoginFailed,
        Self::TooManyLogins,
        Self::NoSuchUser,
        Self::UserExists,
        Self::QuotaExceeded,
        Self::StorageFull,
        Self::NoSuchToken,
        Self::UriTooLong,
        Self::HeadersTooLarge,
        Self::RangeNotSatisfiable,
        Self::RequestTimeout,
        Self::ShuttingDown,
        Self::PreconditionFailed,
    ];

    /// The short name used in the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::NoSuchProcess => "no-such-process",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::MalformedRequest => "malformed-request",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::InvalidInput => "invalid-input",
            Self::InvalidOptions => "invalid-options",
            Self::LimitTooHigh => "limit-too-high",
            Self::NoJacobian => "no-jacobian",
            Self::GuestError => "guest-error",
            Self::GuestCrashed => "guest-crashed",
            Self::StackOverflow => "stack-overflow",
            Self::OutOfFuel => "out-of-fuel",
            Self::DeadlineExceeded => "deadline-exceeded",
            Self::MemoryLimit => "memory-limit",
            Self::DescriptorLimit => "descriptor-limit",
            Self::WorkspaceLimit => "workspace-limit",
            Self::OutputTooLarge => "output-too-large",
            Self::ServerBusy => "server-busy",
            Self::Cancelled => "cancelled",
            Self::Internal => "internal",
            Self::NoSuchJob => "no-such-job",
            Self::ResultNotReady => "result-not-ready",
            Self::Dismissed => "dismissed",
            Self::WorkerLost => "worker-lost",
            Self::ModuleUnavailable => "module-unavailable",
            Self::Expired => "expired",
            Self::NotReady => "not-ready",
            Self::NotAComponent => "not-a-component",
            Self::WrongContract => "wrong-contract",
            Self::CompileFailed => "compile-failed",
            Self::DescribeFailed => "describe-failed",
            Self::InvalidDescription => "invalid-description",
            Self::DuplicatedProcess => "duplicated-process",
            Self::ProcessMismatch => "process-mismatch",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::LoginFailed => "login-failed",
            Self::TooManyLogins => "too-many-logins",
            Self::NoSuchUser => "no-such-user",
            Self::UserExists => "user-exists",
            Self::QuotaExceeded => "quota-exceeded",
            Self::StorageFull => "storage-full",
            Self::NoSuchToken => "no-such-token",
            Self::UriTooLong => "uri-too-long",
            Self::HeadersTooLarge => "headers-too-large",
            Self::RangeNotSatisfiable => "range-not-satisfiable",
            Self::RequestTimeout => "request-timeout",
            Self::ShuttingDown => "shutting-down",
            Self::PreconditionFailed => "precondition-failed",
        }
    }

    /// The `type` member: OGC's URI where the standard defines one, else this server's
    /// `/problems/{slug}`, which documents it.
    pub fn type_uri(self) -> String {
        match self {
            Self::NoSuchProcess => OGC_NO_SUCH_PROCESS.to_owned(),
            Self::NoSuchJob => OGC_NO_SUCH_JOB.to_owned(),
            Self::ResultNotReady => OGC_RESULT_NOT_READY.to_owned(),
            Self::DuplicatedProcess => OGC_DUPLICATED_PROCESS.to_owned(),
            other => format!("/problems/{}", other.slug()),
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::NoSuchProcess
            | Self::NotFound
            | Self::NoSuchJob
            | Self::ResultNotReady
            | Self::Dismissed => StatusCode::NOT_FOUND,
            Self::ModuleUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Expired => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized | Self::LoginFailed => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyLogins | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::NoSuchUser | Self::NoSuchToken => StatusCode::NOT_FOUND,
            Self::UserExists => StatusCode::CONFLICT,
            Self::MalformedRequest
            | Self::InvalidInput
            | Self::InvalidOptions
            | Self::LimitTooHigh
            | Self::NoJacobian => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::GuestError
            | Self::GuestCrashed
            | Self::StackOverflow
            | Self::OutOfFuel
            | Self::DeadlineExceeded
            | Self::MemoryLimit
            | Self::DescriptorLimit
            | Self::WorkspaceLimit
            | Self::OutputTooLarge
            | Self::WorkerLost => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ServerBusy | Self::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::Cancelled | Self::DuplicatedProcess | Self::ProcessMismatch => {
                StatusCode::CONFLICT
            }
            Self::NotAComponent
            | Self::WrongContract
            | Self::CompileFailed
            | Self::DescribeFailed
            | Self::InvalidDescription => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        }
    }

    /// The kind an error response of `status` is reported as when it was made without a
    /// problem document (by the HTTP framework or a file server): the kind of that status, or
    /// `malformed-request` for another 4xx and `internal` for another 5xx.
    pub fn of_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => Self::RequestTimeout,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::URI_TOO_LONG => Self::UriTooLong,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::RANGE_NOT_SATISFIABLE => Self::RangeNotSatisfiable,
            StatusCode::PRECONDITION_FAILED => Self::PreconditionFailed,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::HeadersTooLarge,
            StatusCode::SERVICE_UNAVAILABLE => Self::ServerBusy,
            StatusCode::INSUFFICIENT_STORAGE => Self::StorageFull,
            status if status.is_client_error() => Self::MalformedRequest,
            _ => Self::Internal,
        }
    }

    /// A short, fixed summary.
    pub fn title(self) -> &'static str {
        match self {
            Self::NoSuchProcess => "No such process",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::MalformedRequest => "Malformed request",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::InvalidInput => "Invalid input",
            Self::InvalidOptions => "Invalid discipline options",
            Self::LimitTooHigh => "Limit above the server's maximum",
            Self::NoJacobian => "No Jacobian",
            Self::GuestError => "The discipline failed",
            Self::GuestCrashed => "The discipline crashed",
            Self::StackOverflow => "Stack overflow",
            Self::OutOfFuel => "Out of fuel",
            Self::DeadlineExceeded => "Deadline exceeded",
            Self::MemoryLimit => "Memory limit exceeded",
            Self::DescriptorLimit => "Descriptor limit exceeded",
            Self::WorkspaceLimit => "Workspace limit exceeded",
            Self::OutputTooLarge => "Output too large",
            Self::ServerBusy => "Server busy",
            Self::Cancelled => "Cancelled",
            Self::Internal => "Internal server error",
            Self::NoSuchJob => "No such job",
            Self::ResultNotReady => "Result not ready",
            Self::Dismissed => "Job dismissed",
            Self::WorkerLost => "Worker lost",
            Self::ModuleUnavailable => "Module unavailable",
            Self::Expired => "Results expired",
            Self::NotReady => "Not ready",
            Self::NotAComponent => "Not a WebAssembly component",
            Self::WrongContract => "Wrong contract",
            Self::CompileFailed => "Compilation failed",
            Self::DescribeFailed => "describe() failed",
            Self::InvalidDescription => "Invalid self-description",
            Self::DuplicatedProcess => "Duplicated process",
            Self::ProcessMismatch => "Process mismatch",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::LoginFailed => "Login failed",
            Self::TooManyLogins => "Too many failed logins",
            Self::NoSuchUser => "No such user",
            Self::UserExists => "User exists",
            Self::QuotaExceeded => "Quota exceeded",
            Self::StorageFull => "Storage full",
            Self::NoSuchToken => "No such token",
            Self::UriTooLong => "URI too long",
            Self::HeadersTooLarge => "Request headers too large",
            Self::RangeNotSatisfiable => "Range not satisfiable",
            Self::RequestTimeout => "Request timeout",
            Self::ShuttingDown => "Shutting down",
            Self::PreconditionFailed => "Precondition failed",
        }
    }

    /// What it means and what to do, for `/problems/{slug}`.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::NoSuchProcess => "No process has this id. GET /processes lists them.",
            Self::NotFound => "No resource at this path.",
            Self::MethodNotAllowed => "The resource exists but does not accept this method.",
            Self::MalformedRequest => {
                "The body is not valid JSON or not of the documented shape; `pointer` names the member."
            }
            Self::PayloadTooLarge => "The body is larger than the server's configured maximum.",
            Self::UnsupportedMediaType => {
                "Send the body as application/json (application/wasm to deploy a module)."
            }
            Self::InvalidInput => {
                "An input fails the process's input schema, or is not one of its inputs; `pointer` names it. Nothing ran."
            }
            Self::InvalidOptions => {
                "The discipline refused its options when describing itself. Nothing ran."
            }
            Self::LimitTooHigh => {
                "A requested limit (fuel, memory, deadline) is above what the server allows. Ask for less."
            }
            Self::NoJacobian => {
                "The process does not compute a Jacobian, or the request names variables it does not have."
            }
            Self::GuestError => {
                "The discipline reported a failure for these inputs, or returned outputs that break its own output schema."
            }
            Self::GuestCrashed => {
                "The discipline trapped (for example a panic); `detail` quotes the trap and the end of its stderr."
            }
            Self::StackOverflow => "The discipline's call stack overflowed (too deep a recursion).",
            Self::OutOfFuel => {
                "The execution used its whole fuel budget. Ask for more fuel (limits.fuel) up to the server's maximum."
            }
            Self::DeadlineExceeded => {
                "The execution ran past its wall-clock deadline and was stopped. Ask for a longer one (limits.deadlineMs)."
            }
            Self::MemoryLimit => {
                "The discipline tried to grow its memory past its cap. Ask for more (limits.memoryBytes)."
            }
            Self::DescriptorLimit => {
                "The discipline tried to hold more open files, directories or streams at once than the server allows (limits.descriptors in its configuration)."
            }
            Self::WorkspaceLimit => {
                "The discipline's workspace grew past its cap: disk bytes (limits.workspaceBytes), entries (limits.workspaceFiles) or directory depth. Ask for more, up to the server's maximum and your storage quota."
            }
            Self::OutputTooLarge => {
                "The outputs, stdout, stderr or log of the discipline exceeded the server's cap."
            }
            Self::ServerBusy => {
                "Every execution slot is taken and the wait line is full. Retry after the Retry-After delay."
            }
            Self::Cancelled => "The execution was cancelled before it finished.",
            Self::Internal => "A fault of the server. It is logged; the details are not sent.",
            Self::NoSuchJob => "No job has this id. GET /jobs lists yours.",
            Self::ResultNotReady => {
                "The job has not finished; wait for it (GET /jobs/{id}?wait=30 or its events)."
            }
            Self::Dismissed => {
                "The job was dismissed: it was cancelled, or its results were removed."
            }
            Self::WorkerLost => {
                "The process running the job died too many times; the job was given up."
            }
            Self::ModuleUnavailable => "The module the job was submitted for is no longer served.",
            Self::Expired => {
                "The job finished long enough ago (jobs.retention), or its owner's results took too much room (the owner's max_workspace_bytes quota, or more than a fair share of jobs.max_result_bytes): its results and logs were removed; its status remains."
            }
            Self::NotReady => {
                "The server is still discovering its modules (GET /ready turns 200 when done). Retry after the Retry-After delay."
            }
            Self::NotAComponent => {
                "The deployed file is not a WebAssembly component (a core module, or not WebAssembly at all). Build it for wasm32-wasip2 with the guest SDK. Nothing was stored."
            }
            Self::WrongContract => {
                "The component does not export the discipline contract disciplines:discipline@0.1.0, or imports what this server does not offer. Nothing was stored."
            }
            Self::CompileFailed => {
                "Compiling the component took longer than sandbox.compile_timeout, needed more memory than sandbox.compile_memory_bytes, or the compiler failed; `detail` says which. Nothing was stored."
            }
            Self::DescribeFailed => {
                "The component's describe() trapped, ran past a limit or returned an error; `detail` says which. Nothing was stored."
            }
            Self::InvalidDescription => {
                "The component's self-description is unusable: its name, version, a schema, or default inputs that fail their own schema. Nothing was stored."
            }
            Self::DuplicatedProcess => {
                "Another module already provides this process at this version. Bump the version, or replace it with PUT /processes/{id}@{version}. Nothing was stored."
            }
            Self::ProcessMismatch => {
                "A replacement (PUT /processes/{id}) must provide the process it replaces. Nothing was stored."
            }
            Self::Unauthorized => {
                "The call needs `Authorization: Bearer <token>` with a valid, unexpired, unrevoked token. POST /token (OAuth2 password flow) gives one; administrators create API tokens."
            }
            Self::Forbidden => {
                "Your role does not allow this: deploying, replacing and undeploying modules and managing users need the admin role."
            }
            Self::LoginFailed => "The user name or the password is wrong.",
            Self::TooManyLogins => {
                "Too many failed logins for this user name: wait for the Retry-After delay."
            }
            Self::NoSuchUser => "No user has this name.",
            Self::UserExists => "A user of this name exists already.",
            Self::QuotaExceeded => {
                "The request would pass one of your quotas; `quota` names it (max_queued, max_workspace_bytes, max_fuel, max_memory_bytes). Wait for jobs to finish, dismiss finished ones, or ask for less."
            }
            Self::NoSuchToken => "No live token of yours has this id. GET /tokens lists them.",
            Self::UriTooLong => {
                "The path and query string are longer than the server reads (16 KiB). Send large parameters in a body."
            }
            Self::HeadersTooLarge => {
                "The request's headers are larger than the server reads (64 KiB, at most 64 fields)."
            }
            Self::RangeNotSatisfiable => {
                "No byte of the requested Range is in the file; Content-Range gives its size."
            }
            Self::RequestTimeout => {
                "The body arrived too slowly: a pause between two of its pieces was longer than http.body_timeout."
            }
            Self::ShuttingDown => {
                "The server is shutting down and takes no new request; the request was not run. Retry after the Retry-After delay (on another instance, or once it is back)."
            }
            Self::PreconditionFailed => {
                "A precondition of the request (If-Unmodified-Since, If-Match) does not hold: the file changed since."
            }
            Self::StorageFull => {
                "The server's disk is full: nothing of this request was stored. Reads keep working; retry after the Retry-After delay, once the operator has freed space (the server recovers by itself)."
            }
        }
    }
}

/// An RFC 9457 problem document, ready to send.
#[derive(Debug, Clone)]
pub struct Problem {
    kind: ProblemKind,
    detail: String,
    extensions: Map<String, Value>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(flatten)]
    extensions: &'a Map<String, Value>,
}

impl Problem {
    /// A problem of `kind` with a human `detail`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            extensions: Map::new(),
        }
    }

    /// Adds an extension member (e.g. `pointer`).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(name.to_owned(), value.into());
        self
    }

    /// What went wrong, for a person.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Its kind.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The problem an execution's failure is reported as.
    pub fn of_execution(error: ExecutionError, facts: &ExecutionFacts) -> Self {
        let detail = error.to_string();
        let kind = match &error {
            ExecutionError::Sandbox(sandbox) => match sandbox {
                SandboxError::InvalidInput(_) => ProblemKind::InvalidInput,
                SandboxError::Failure(_) => ProblemKind::GuestError,
                SandboxError::OutOfFuel { .. } => ProblemKind::OutOfFuel,
                SandboxError::DeadlineExceeded { .. } => ProblemKind::DeadlineExceeded,
                SandboxError::Cancelled => ProblemKind::Cancelled,
                SandboxError::MemoryLimit { .. } => ProblemKind::MemoryLimit,
                SandboxError::DescriptorLimit { .. } => ProblemKind::DescriptorLimit,
                SandboxError::WorkspaceLimit { .. } => ProblemKind::WorkspaceLimit,
                SandboxError::StackOverflow => ProblemKind::StackOverflow,
                SandboxError::Crashed { .. } => ProblemKind::GuestCrashed,
                SandboxError::OutputTooLarge { .. } => ProblemKind::OutputTooLarge,
                SandboxError::Setup(_) => return Self::internal(detail),
            },
            ExecutionError::InvalidOutputs(_) | ExecutionError::InvalidJacobian(_) => {
                ProblemKind::GuestError
            }
            ExecutionError::Internal(_) => return Self::internal(detail),
        };
        let mut problem = Self::new(kind, detail).with("moduleDigest", facts.digest.to_string());
        if let Some(fuel) = facts.fuel_consumed {
            problem = problem.with("fuelConsumed", fuel);
        }
        problem
    }

    /// Nothing was stored for want of disk space: logged, and told to the client.
    pub fn storage_full(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "the disk is full");
        Self::new(
            ProblemKind::StorageFull,
            "the server's disk is full; nothing was stored, retry later",
        )
    }

    /// A failed file operation: `storage-full` when the disk had no room, else internal
    /// (`whole` is what is logged for it).
    pub fn of_io(io: &std::io::Error, whole: impl std::fmt::Display) -> Self {
        if io.kind() == std::io::ErrorKind::StorageFull {
            Self::storage_full(whole)
        } else {
            Self::internal(whole)
        }
    }

    /// A fault of the server: logged in full, sent without its cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ProblemKind::Internal,
            "the server failed; the fault is logged",
        )
    }
}

impl From<StoreError> for Problem {
    /// A full disk is the client's to know (and retry); any other store error is internal.
    fn from(error: StoreError) -> Self {
        if error.is_disk_full() {
            Self::storage_full(error)
        } else {
            Self::internal(error)
        }
    }
}

impl From<QuotaExceeded> for Problem {
    fn from(exceeded: QuotaExceeded) -> Self {
        Self::new(ProblemKind::QuotaExceeded, exceeded.detail).with("quota", exceeded.quota)
    }
}

impl From<ModuleRejection> for Problem {
    /// The problem a refused module is reported as, by the server and by
    /// `disciplines modules validate` alike.
    fn from(rejection: ModuleRejection) -> Self {
        let kind = match &rejection {
            ModuleRejection::NotAComponent(_) => ProblemKind::NotAComponent,
            ModuleRejection::WrongContract(_) => ProblemKind::WrongContract,
            ModuleRejection::CompileFailed(_) => ProblemKind::CompileFailed,
            ModuleRejection::DescribeFailed(_) => ProblemKind::DescribeFailed,
            ModuleRejection::InvalidDescription(_) => ProblemKind::InvalidDescription,
        };
        Self::new(kind, rejection.to_string())
    }
}

/// `slug: detail`, the one line the command line prints.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.slug(), self.detail)
    }
}

impl std::error::Error for Problem {}

impl Problem {
    /// The problem document as JSON, as sent and as stored with a failed job.
    pub fn to_json(&self) -> String {
        let body = ProblemBody {
            type_uri: self.kind.type_uri(),
            title: self.kind.title(),
            status: self.kind.status().as_u16(),
            detail: &self.detail,
            extensions: &self.extensions,
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}

/// Sends a problem document that was stored as JSON (a failed job's error).
pub fn stored_problem_response(json: &str) -> Response {
    let status = serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|body| body.get("status").and_then(Value::as_u64))
        .and_then(|status| StatusCode::from_u16(u16::try_from(status).ok()?).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, json.to_owned()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let body = self.to_json();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if [
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::INSUFFICIENT_STORAGE,
        ]
        .contains(&status)
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.kind.status() == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.extensions.get("retryAfter").and_then(Value::as_u64)
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_storage_full_and_other_io_failures_are_internal() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let full = Problem::of_io(&full, "writing");
        assert_eq!(full.kind.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert!(
            full.into_response()
                .headers()
                .contains_key(header::RETRY_AFTER)
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            Problem::of_io(&denied, "writing").kind,
            ProblemKind::Internal
        );
    }
}
