//! The server's one configuration: defaults, then a TOML file, then `DISCIPLINES_*` environment
//! variables, then command-line flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::AuthMode;
use crate::auth::oidc::OidcSettings;
use crate::limits::{ExecutionLimits, LimitPolicy};
use crate::quotas::Quotas;
use crate::sandbox::{ChildCompiler, Compilation, SandboxConfig};

/// Everything the server can be told. Every member has a default; see `disciplines config`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory scanned for `*.wasm` discipline components.
    pub modules_dir: PathBuf,
    /// Directory for the server's own state (compiled-artifact cache, workspaces).
    pub data_dir: PathBuf,
    /// Resource limits of executions.
    pub limits: LimitsConfig,
    /// Engine settings.
    pub sandbox: SandboxSettings,
    /// Concurrency and back-pressure.
    pub execution: ExecutionSettings,
    /// HTTP settings.
    pub http: HttpSettings,
    /// Asynchronous jobs.
    pub jobs: JobSettings,
    /// Module discovery, deployment and hot reload.
    pub modules: ModuleSettings,
    /// Authentication.
    pub auth: AuthSettings,
    /// Per-user quotas: `[quotas.default]`, and `[quotas.users.<name>]` overrides.
    pub quotas: Quotas,
    /// Logging.
    pub log: LogSettings,
}

/// Default and maximum limits; a request may ask for anything up to the maximum.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Used where a request says nothing.
    pub default: LimitValues,
    /// The most a request may ask for.
    pub maximum: LimitValues,
    /// Cap on the outputs (and Jacobian) JSON text of one execution, in bytes.
    pub output_bytes: u64,
    /// Cap on each of stdout, stderr and the log of one execution, in bytes.
    pub log_bytes: u64,
    /// WASI handles one execution may hold at once (open files and directories, streams,
    /// pollables); past it the guest traps with `descriptor-limit`.
    pub descriptors: u64,
}

/// One set of fuel, memory and deadline values.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitValues {
    /// Fuel budget (≈ one unit per wasm instruction; ≈ 7·10⁹ per second here).
    pub fuel: u64,
    /// Memory cap in bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline, e.g. "60s" or "500ms".
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// Disk the workspace of one execution may use (blocks allocated), in bytes.
    pub workspace_bytes: u64,
    /// Entries (files, directories, links) the workspace of one execution may hold.
    pub workspace_files: u64,
}

/// How the wasm engine is set up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Count fuel. Off: guests run ≈ 40 % faster, bounded by their deadline alone.
    pub fuel_metering: bool,
    /// Wasm stack size in bytes; deeper recursion fails with "stack overflow".
    pub max_wasm_stack_bytes: usize,
    /// Resolution of deadlines and cancellation, e.g. "5ms".
    #[serde(with = "humantime_serde")]
    pub epoch_tick: Duration,
    /// Fuel of one `describe()` call (at load time and for `GET /processes/{id}?options=…`).
    pub describe_fuel: u64,
    /// Wall-clock deadline of one `describe()` call, e.g. "1s".
    #[serde(with = "humantime_serde")]
    pub describe_deadline: Duration,
    /// Cap on a description (name, version, text, schemas and defaults), in bytes.
    pub max_description_bytes: u64,
    /// How long compiling one module may take before it is refused, e.g. "60s".
    #[serde(with = "humantime_serde")]
    pub compile_timeout: Duration,
    /// How much memory compiling one module may use before it is refused, in bytes.
    pub compile_memory_bytes: u64,
    /// The `disciplines` binary, which compiles modules in a child process bounded by
    /// `compile_timeout` and `compile_memory_bytes`: the command line sets it to itself. None
    /// (library tests, benchmarks): compile in this process, unbounded. Not a file key.
    #[serde(skip)]
    pub compiler: Option<PathBuf>,
}

/// How many executions run at once and how many may wait.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutionSettings {
    /// Executions running at once on the threads jobs and synchronous work share (default: the
    /// number of cores).
    pub concurrency: usize,
    /// Extra threads only synchronous work (executions a client waits on, descriptions) may use,
    /// so that queued jobs never take every thread (0: none).
    pub sync_reserved: usize,
    /// Executions waiting for a guest thread (at least 1), in each lane (synchronous, jobs); one
    /// more synchronous call is answered 503 + Retry-After.
    pub queue: usize,
}

/// Asynchronous jobs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// The SQLite database file (default: `jobs.sqlite` in the data directory).
    pub database: Option<PathBuf>,
    /// Jobs that may wait in the queue; past it, submissions get 503 + Retry-After.
    pub max_queued: u64,
    /// The most items one batch may hold; past it, 413 before any item is read.
    pub max_batch: u64,
    /// Attempts before a job whose worker keeps dying is failed ("worker lost").
    pub max_attempts: u32,
    /// How long a stopping server lets running jobs finish, e.g. "30s"; the rest run again
    /// at the next start.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Finished jobs lose their results and logs after this long, e.g. "7days"; rows stay.
    /// Uploaded files are removed after this long too.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// The most bytes of results, logs and workspace files kept; past it the oldest finished
    /// jobs expire first.
    pub max_result_bytes: u64,
    /// The free space the data directory's disk keeps: below it, uploads and new jobs are
    /// refused (507 storage-full) while reads and running jobs go on.
    pub min_free_disk_bytes: u64,
    /// How often the garbage collector runs (also once at start), e.g. "1min".
    #[serde(with = "humantime_serde")]
    pub gc_interval: Duration,
    /// Let callbacks (`subscriber`) reach loopback, private and link-local addresses. Off:
    /// public addresses only (no SSRF into the server's own network).
    pub webhooks_to_private_networks: bool,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            database: None,
            max_queued: 1_000_000,
            max_batch: 10_000,
            max_attempts: 3,
            shutdown_grace: Duration::from_secs(30),
            retention: Duration::from_secs(7 * 24 * 3600),
            max_result_bytes: 4096 * MIB,
            min_free_disk_bytes: 256 * MIB,
            gc_interval: Duration::from_secs(60),
            webhooks_to_private_networks: false,
        }
    }
}

/// Authentication.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// `tokens`: every call but the public ones needs a bearer token; `open`: none does, every
    /// caller is the administrator `local` (local development only: refused beyond loopback).
    pub mode: AuthMode,
    /// The first administrator's token, used when no user exists yet (default: a random one,
    /// printed once at start). Never printed by `disciplines config`.
    #[serde(serialize_with = "redacted")]
    pub bootstrap_token: Option<String>,
    /// Lifetime of the tokens `POST /token` issues, e.g. "12h".
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    /// How long a checked token is remembered (revocation through the API is immediate;
    /// through the command line, within this delay), e.g. "5s".
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// Failed logins allowed per user name within `login_lockout`; past it, 429.
    pub max_failed_logins: u32,
    /// The window of `max_failed_logins`, e.g. "15min".
    #[serde(with = "humantime_serde")]
    pub login_lockout: Duration,
    /// An external identity provider (OpenID Connect); off while `issuer` is empty.
    pub oidc: OidcSettings,
}

fn redacted<S: serde::Serializer>(
    value: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_some("<redacted>"),
        None => serializer.serialize_none(),
    }
}

/// Module discovery, deployment and hot reload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ModuleSettings {
    /// Watch the modules directory and pick up added, replaced and removed files.
    pub watch: bool,
    /// How long the directory must stay quiet before a burst of changes is applied, e.g.
    /// "250ms" (a file being copied in is loaded once, complete).
    #[serde(with = "humantime_serde")]
    pub reload_debounce: Duration,
    /// Modules compiled at once (default: the number of cores).
    pub compile_threads: usize,
    /// Largest module accepted by `POST /processes`, in bytes.
    pub max_bytes: u64,
}

/// HTTP settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes (uploads excepted).
    pub max_body_bytes: usize,
    /// Largest uploaded file, in bytes; uploads are streamed to disk.
    pub max_upload_bytes: u64,
    /// How long a client may take to send a request's headers, e.g. "30s".
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// How long a client may pause while sending a request's body, e.g. "60s".
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `host=debug,info`; `RUST_LOG` overrides it.
    pub filter: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

const MIB: u64 = 1 << 20;

/// The fewest WASI handles an execution can work with.
const MIN_DESCRIPTORS: u64 = 16;

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            modules_dir: PathBuf::from("modules"),
            data_dir: PathBuf::from("data"),
            limits: LimitsConfig::default(),
            sandbox: SandboxSettings::default(),
            execution: ExecutionSettings::default(),
            http: HttpSettings::default(),
            jobs: JobSettings::default(),
            modules: ModuleSettings::default(),
            auth: AuthSettings::default(),
            quotas: Quotas::default(),
            log: LogSettings::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            default: LimitValues {
                fuel: 300_000_000_000,
                memory_bytes: 256 * MIB,
                deadline: Duration::from_secs(60),
                workspace_bytes: 1024 * MIB,
                workspace_files: 10_000,
            },
            maximum: LimitValues {
                fuel: 10_000_000_000_000,
                memory_bytes: 4096 * MIB,
                deadline: Duration::from_secs(3600),
                workspace_bytes: 64 * 1024 * MIB,
                workspace_files: 1_000_000,
            },
            output_bytes: 16 * MIB,
            log_bytes: MIB,
            descriptors: 256,
        }
    }
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            fuel_metering: true,
            max_wasm_stack_bytes: 512 << 10,
            epoch_tick: Duration::from_millis(5),
            describe_fuel: 5_000_000_000,
            describe_deadline: Duration::from_secs(1),
            max_description_bytes: MIB,
            compile_timeout: Duration::from_secs(60),
            compile_memory_bytes: 4096 * MIB,
            compiler: None,
        }
    }
}

impl ExecutionSettings {
    /// Every guest thread: the shared ones and those reserved for synchronous work.
    pub fn guest_threads(&self) -> usize {
        self.concurrency.saturating_add(self.sync_reserved)
    }
}

impl Default for ExecutionSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            concurrency: cores,
            sync_reserved: 1,
            queue: 256,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::Tokens,
            bootstrap_token: None,
            token_lifetime: Duration::from_secs(12 * 3600),
            cache_ttl: Duration::from_secs(5),
            max_failed_logins: 5,
            login_lockout: Duration::from_secs(15 * 60),
            oidc: OidcSettings::default(),
        }
    }
}

impl Default for ModuleSettings {
    fn default() -> Self {
        Self {
            watch: true,
            reload_debounce: Duration::from_millis(250),
            compile_threads: std::thread::available_parallelism().map_or(2, usize::from),
            max_bytes: 256 * MIB,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * MIB as usize,
            max_upload_bytes: 64 * 1024 * MIB,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

/// `DISCIPLINES_*` variables that are not the server's settings: the configuration file's path,
/// and the command-line client's server address and token, which client users export in the
/// same shell that may start a server.
const NOT_SERVER_SETTINGS: &[&str] = &["config", "server", "token"];

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a value has the wrong type.
    #[error(transparent)]
    Load(#[from] Box<figment::Error>),
    /// Values that contradict each other.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if any), then `DISCIPLINES_*` variables (nested keys joined
    /// by `__`, e.g. `DISCIPLINES_LIMITS__DEFAULT__FUEL`), then `overrides`.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let config: Config = figment
            .merge(
                Env::prefixed("DISCIPLINES_")
                    .split("__")
                    .ignore(NOT_SERVER_SETTINGS),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let (default, maximum) = (&self.limits.default, &self.limits.maximum);
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if default.fuel > maximum.fuel
            || default.memory_bytes > maximum.memory_bytes
            || default.deadline > maximum.deadline
            || default.workspace_bytes > maximum.workspace_bytes
            || default.workspace_files > maximum.workspace_files
        {
            return invalid("every limits.default value must be at most its limits.maximum");
        }
        if self.execution.concurrency == 0 || self.execution.queue == 0 {
            return invalid("execution.concurrency and execution.queue must be at least 1");
        }
        if self.jobs.gc_interval.is_zero() {
            return invalid("jobs.gc_interval must be positive");
        }
        if self.http.body_timeout >= crate::files::ABANDONED_AFTER {
            return invalid(
                "http.body_timeout must be under 15 minutes: an upload idle that long is taken for abandoned and removed",
            );
        }
        if self.auth.mode == AuthMode::Open && !self.listen.ip().is_loopback() {
            return invalid(
                "auth.mode = \"open\" lets anyone in as an administrator: listen on a loopback address, or use auth.mode = \"tokens\"",
            );
        }
        if self
            .auth
            .bootstrap_token
            .as_ref()
            .is_some_and(|token| token.len() < 32)
        {
            return invalid("auth.bootstrap_token must be at least 32 characters");
        }
        if self.modules.compile_threads == 0 {
            return invalid("modules.compile_threads must be at least 1");
        }
        if self.limits.descriptors < MIN_DESCRIPTORS {
            return invalid(
                "limits.descriptors must be at least 16 (a guest's standard streams and its workspace take a few)",
            );
        }
        if self.sandbox.epoch_tick.is_zero() {
            return invalid("sandbox.epoch_tick must be positive");
        }
        if self.sandbox.describe_deadline.is_zero() || self.sandbox.compile_timeout.is_zero() {
            return invalid(
                "sandbox.describe_deadline and sandbox.compile_timeout must be positive",
            );
        }
        Ok(())
    }

    /// The limit policy the configuration describes.
    pub fn limit_policy(&self) -> LimitPolicy {
        let values = |values: &LimitValues| ExecutionLimits {
            fuel: values.fuel,
            memory_bytes: values.memory_bytes,
            deadline: values.deadline,
            output_bytes: self.limits.output_bytes,
            log_bytes: self.limits.log_bytes,
            workspace_bytes: values.workspace_bytes,
            workspace_files: values.workspace_files,
            descriptors: self.limits.descriptors,
        };
        LimitPolicy {
            default: values(&self.limits.default),
            maximum: values(&self.limits.maximum),
        }
    }

    /// Compiles modules in child processes of the running program, which must be the
    /// `disciplines` binary (it answers `__compile`).
    /// On Linux the program is named by `/proc/self/exe`, which a child resolves to this very
    /// binary even after an upgrade replaced the file (its artifacts then still load here).
    pub fn compile_with_this_program(&mut self) -> std::io::Result<()> {
        let this = Path::new("/proc/self/exe");
        self.sandbox.compiler = Some(if this.exists() {
            this.to_owned()
        } else {
            std::env::current_exe()?
        });
        Ok(())
    }

    /// The limits of every `describe()` call: its own small fuel, deadline and size cap, the
    /// default memory cap.
    pub fn describe_limits(&self) -> ExecutionLimits {
        ExecutionLimits {
            fuel: self.sandbox.describe_fuel,
            deadline: self.sandbox.describe_deadline,
            output_bytes: self.sandbox.max_description_bytes,
            ..self.limit_policy().default
        }
    }

    /// How the sandbox is set up: pool sized for the executions plus descriptions.
    pub fn sandbox_config(&self) -> SandboxConfig {
        let live = self
            .execution
            .guest_threads()
            .saturating_mul(2)
            .saturating_add(8);
        SandboxConfig {
            fuel_metering: self.sandbox.fuel_metering,
            max_memory_bytes: self.limits.maximum.memory_bytes,
            max_live_instances: u32::try_from(live).unwrap_or(u32::MAX),
            max_wasm_stack_bytes: self.sandbox.max_wasm_stack_bytes,
            epoch_tick: self.sandbox.epoch_tick,
            cache_dir: self.cache_dir(),
            compilation: match &self.sandbox.compiler {
                Some(program) => Compilation::Child(ChildCompiler {
                    program: program.clone(),
                    timeout: self.sandbox.compile_timeout,
                    memory_bytes: self.sandbox.compile_memory_bytes,
                    at_once: self.modules.compile_threads,
                }),
                None => Compilation::InProcess,
            },
        }
    }

    /// Where precompiled artifacts are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }

    /// The job database file.
    pub fn jobs_database(&self) -> PathBuf {
        self.jobs
            .database
            .clone()
            .unwrap_or_else(|| self.data_dir.join("jobs.sqlite"))
    }

    /// Where uploaded files live.
    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    /// Where the workspaces of jobs live.
    pub fn jobs_dir(&self) -> PathBuf {
        self.data_dir.join("jobs")
    }

    /// Where execution workspaces live.
    pub fn workspaces_dir(&self) -> PathBuf {
        self.data_dir.join("workspaces")
    }

    /// Where trees guests wrote go when they cannot be removed, for an operator to look at.
    pub fn quarantine_dir(&self) -> PathBuf {
        self.data_dir.join("quarantine")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_overridden_by_flags() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("disciplines.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\n[limits.default]\nfuel = 5\nmemory_bytes = 1024\ndeadline = \"2s\"\n")
            .expect("write");
        let config = Config::load(Some(&file), serde_json::json!({"modules_dir": "elsewhere"}))
            .expect("loads");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.default.fuel, 5);
        assert_eq!(config.limits.default.deadline, Duration::from_secs(2));
        assert_eq!(config.modules_dir, PathBuf::from("elsewhere"));
    }

    #[test]
    fn a_limits_table_naming_some_values_keeps_the_built_in_others_of_its_role() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("older.toml");
        std::fs::write(
            &file,
            "[limits.maximum]\nfuel = 10000000000000\nmemory_bytes = 4294967296\ndeadline = \"2h\"\n",
        )
        .expect("write");
        let config = Config::load(Some(&file), serde_json::json!({})).expect("loads");
        let built_in = LimitsConfig::default();
        assert_eq!(config.limits.maximum.deadline, Duration::from_secs(7200));
        assert_eq!(
            config.limits.maximum.workspace_bytes,
            built_in.maximum.workspace_bytes
        );
        assert_eq!(
            config.limits.maximum.workspace_files,
            built_in.maximum.workspace_files
        );
    }

    #[test]
    fn unknown_keys_and_contradictions_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listne = \"127.0.0.1:9000\"\n").expect("write");
        let error = Config::load(Some(&file), serde_json::json!({})).expect_err("typo");
        assert!(error.to_string().contains("listne"), "{error}");
        let overrides = serde_json::json!({"limits": {"default": {"fuel": 10, "memory_bytes": 1, "deadline": "1s"},
                                                      "maximum": {"fuel": 5, "memory_bytes": 1, "deadline": "1s"}}});
        let error = Config::load(None, overrides).expect_err("default above maximum");
        assert!(matches!(error, ConfigError::Invalid(_)), "{error}");
        let slow = serde_json::json!({"http": {"body_timeout": "20m"}});
        let error = Config::load(None, slow).expect_err("a body timeout past the upload sweep");
        assert!(error.to_string().contains("body_timeout"), "{error}");
    }

    #[test]
    fn open_mode_is_refused_beyond_loopback_and_the_bootstrap_token_is_never_printed() {
        let open_everywhere =
            serde_json::json!({"listen": "0.0.0.0:8080", "auth": {"mode": "open"}});
        let error = Config::load(None, open_everywhere).expect_err("open beyond loopback");
        assert!(error.to_string().contains("loopback"), "{error}");
        let open_locally =
            serde_json::json!({"listen": "127.0.0.1:8080", "auth": {"mode": "open"}});
        assert!(Config::load(None, open_locally).is_ok());
        let secret = "a-bootstrap-token-that-is-long-enough-0123";
        let config = Config::load(
            None,
            serde_json::json!({"auth": {"bootstrap_token": secret}}),
        )
        .expect("valid");
        let printed = toml::to_string_pretty(&config).expect("TOML");
        assert!(
            !printed.contains(secret) && printed.contains("<redacted>"),
            "{printed}"
        );
        let short = serde_json::json!({"auth": {"bootstrap_token": "short"}});
        assert!(
            Config::load(None, short).is_err(),
            "a guessable bootstrap token"
        );
    }
}
