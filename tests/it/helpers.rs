//! Test helpers: a real server on port 0 with its own data and modules directories.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use host::{Application, Config};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The `disciplines` binary built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_disciplines");

/// Asserts that a command failed with one line on stderr beginning with `error:`, and returns it.
pub fn one_error_line(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_owned();
    assert!(!output.status.success(), "succeeded: {output:?}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// A running server and what it owns; the server stops when this is dropped.
/// It is also a `Caller` without credentials (through `Deref`).
pub struct TestApp {
    caller: Caller,
    pub data_dir: tempfile::TempDir,
    pub modules_dir: tempfile::TempDir,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Someone calling the server: its address and an HTTP client, with or without a token.
#[derive(Clone)]
pub struct Caller {
    pub address: String,
    pub client: reqwest::Client,
}

impl std::ops::Deref for TestApp {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl TestApp {
    /// A caller presenting `Authorization: Bearer <token>` on every request.
    pub fn with_token(&self, token: &str) -> Caller {
        let mut headers = HeaderMap::new();
        let value = format!("Bearer {token}").parse().expect("a header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Caller {
            address: self.caller.address.clone(),
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("a client"),
        }
    }
}

/// A response: status, headers and the JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The problem type's last path segment (e.g. "invalid-input"), asserting a problem document.
    pub fn problem_slug(&self) -> &str {
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            content_type,
            Some("application/problem+json"),
            "not a problem: {self:?}"
        );
        assert_eq!(
            self.body["status"].as_u64(),
            Some(u64::from(self.status.as_u16())),
            "{self:?}"
        );
        let type_uri = self.body["type"].as_str().expect("problem type");
        type_uri.rsplit('/').next().expect("a segment")
    }
}

/// The path of a built guest component: an example (in modules/) or a fixture.
pub fn guest(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        root.join("modules").join(format!("{name}.wasm")),
        root.join("tests/fixtures/built")
            .join(format!("{name}.wasm")),
    ];
    candidates
        .into_iter()
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("guest {name}.wasm is not built: run `cargo xtask build-guests` (or `cargo xtask test`)"))
}

/// One artifact cache for the whole test run, so each component compiles once per engine setup.
fn shared_cache_root() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE
        .get_or_init(|| tempfile::tempdir().expect("cache dir"))
        .path()
}

/// Test configuration: port 0, fresh directories, small caps that tests can exceed quickly.
pub fn test_config(data_dir: &Path, modules_dir: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data_dir.to_owned(),
        modules_dir: modules_dir.to_owned(),
        ..Config::default()
    };
    // Tests of other features run without authentication (loopback only); tests of
    // authentication switch it on.
    config.auth.mode = host::auth::AuthMode::Open;
    // The tests' callback receivers listen on loopback.
    config.jobs.webhooks_to_private_networks = true;
    config.limits.default.fuel = 20_000_000_000;
    config.limits.default.memory_bytes = 64 << 20;
    config.limits.default.deadline = std::time::Duration::from_secs(20);
    config.limits.maximum.memory_bytes = 512 << 20;
    config.limits.output_bytes = 1 << 20;
    config.limits.log_bytes = 64 << 10;
    config.http.max_body_bytes = 256 << 10;
    // Tests run on whatever disk the machine has, and the disk-full test fills a small one to
    // ENOSPC on purpose: the free-space reserve is tested on its own.
    config.jobs.min_free_disk_bytes = 0;
    // Modules compile as in production: in a bounded child process of the real binary.
    config.sandbox.compiler = Some(BINARY.into());
    config
}

/// Starts a server offering the named guests.
pub async fn spawn_app(guests: &[&str]) -> TestApp {
    spawn_app_with(guests, |_| {}).await
}

/// Starts a server offering the named guests, after `adjust` has changed its configuration.
pub async fn spawn_app_with(guests: &[&str], adjust: impl FnOnce(&mut Config)) -> TestApp {
    let components: Vec<PathBuf> = guests.iter().map(|name| guest(name)).collect();
    spawn_app_serving(&components, adjust).await
}

/// Starts a server whose modules directory holds copies of these component files.
pub async fn spawn_app_serving(
    components: &[PathBuf],
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("data dir");
    spawn_app_in(data_dir, components, adjust).await
}

/// Starts a server on this data directory (on a filesystem of the test's choosing), whose
/// modules directory holds copies of these component files.
pub async fn spawn_app_in(
    data_dir: tempfile::TempDir,
    components: &[PathBuf],
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let modules_dir = tempfile::tempdir().expect("modules dir");
    for component in components {
        let name = component.file_name().expect("a file name");
        std::fs::copy(component, modules_dir.path().join(name)).expect("copy guest");
    }
    let mut config = test_config(data_dir.path(), modules_dir.path());
    adjust(&mut config);
    let cache = shared_cache_root().join("cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    let shared = data_dir.path().join("cache");
    if !shared.exists() {
        std::os::unix::fs::symlink(&cache, &shared).expect("link the shared cache");
    }
    start(config, data_dir, modules_dir).await
}

/// Starts a server on an existing configuration and directories.
pub async fn start(
    config: Config,
    data_dir: tempfile::TempDir,
    modules_dir: tempfile::TempDir,
) -> TestApp {
    let application = Application::build(config)
        .await
        .expect("the application builds");
    let address = format!("http://{}", application.address());
    let (shutdown, stopped) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));
    wait_until_ready(&address).await;
    TestApp {
        caller: Caller {
            address,
            client: reqwest::Client::new(),
        },
        data_dir,
        modules_dir,
        shutdown,
        server,
    }
}

/// A server asked to stop, draining: its task (which ends once it has stopped), and its
/// directories, kept until this is dropped.
pub struct Stopping {
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl TestApp {
    /// Asks the server to stop, as SIGTERM does, without waiting.
    pub fn begin_shutdown(self) -> Stopping {
        let _ = self.shutdown.send(());
        Stopping {
            server: self.server,
            _dirs: (self.data_dir, self.modules_dir),
        }
    }

    /// Stops the server cleanly, waits until it has, and starts it again on `config` (which
    /// names the same directories).
    pub async fn restart(self, config: Config) -> TestApp {
        let TestApp {
            data_dir,
            modules_dir,
            shutdown,
            server,
            ..
        } = self;
        let _ = shutdown.send(());
        server
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
        start(config, data_dir, modules_dir).await
    }
}

impl Caller {
    /// GET a path.
    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("GET");
        reply(response).await
    }

    /// POST a JSON body to a path.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .expect("POST");
        reply(response).await
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send_raw(reqwest::Method::POST, path, content_type, body)
            .await
    }

    /// PUT raw bytes with a content type.
    pub async fn put_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send_raw(reqwest::Method::PUT, path, content_type, body)
            .await
    }

    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        reply(response).await
    }

    /// Submits a job (`Prefer: respond-async`).
    pub async fn submit(&self, process: &str, body: &Value) -> Reply {
        let response = self
            .client
            .post(format!("{}/processes/{process}/execution", self.address))
            .header("prefer", "respond-async")
            .json(body)
            .send()
            .await
            .expect("POST");
        reply(response).await
    }

    /// Submits a job that must be accepted, and returns its id.
    pub async fn submit_ok(&self, process: &str, body: &Value) -> String {
        let reply = self.submit(process, body).await;
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.body["jobID"].as_str().expect("a job id").to_owned()
    }

    /// Long-polls a job until it ends (at most 30 s) and returns its status document.
    pub async fn wait_for_job(&self, id: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let status = self.get(&format!("/jobs/{id}?wait=10")).await;
            assert_eq!(status.status, 200, "{status:?}");
            let word = status.body["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if ["successful", "failed", "dismissed"].contains(&word.as_str()) {
                return status.body;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "job {id} never ended: {status:?}"
            );
        }
    }

    /// DELETE a path.
    pub async fn delete(&self, path: &str) -> Reply {
        let response = self
            .client
            .delete(format!("{}{path}", self.address))
            .send()
            .await
            .expect("DELETE");
        reply(response).await
    }

    /// Executes a process synchronously.
    pub async fn execute(&self, process: &str, body: &Value) -> Reply {
        self.post_json(&format!("/processes/{process}/execution"), body)
            .await
    }
}

/// Waits until `running` executions run and `waiting` wait, as /ready reports.
pub async fn wait_for_load(caller: &Caller, running: u64, waiting: u64) {
    let started = std::time::Instant::now();
    loop {
        let ready = caller.get("/ready").await.body;
        let executions = &ready["executions"];
        if executions["running"] == running && executions["waiting"] == waiting {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never reached {running}/{waiting}: {ready}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// A request body of what `receiver` receives, sent as it comes.
pub fn body_of_channel(
    receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> reqwest::Body {
    reqwest::Body::wrap_stream(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    ))
}

/// The content type of [`multipart_file`]'s bodies.
pub const MULTIPART: &str = "multipart/form-data; boundary=x";

/// A multipart body of one file part named `field`, of file name `file_name`.
pub fn multipart_file(field: &str, file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--x\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--x--\r\n");
    body
}

/// Sends a request built by the test and reads its reply.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    reply(request.send().await.expect("the request is answered")).await
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// Polls `path` until `accept` holds for its reply (at most 20 s).
pub async fn eventually(
    app: &TestApp,
    path: &str,
    what: &str,
    accept: impl Fn(u16, &Value) -> bool,
) {
    let started = std::time::Instant::now();
    loop {
        let reply = app.get(path).await;
        if accept(reply.status.as_u16(), &reply.body) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what} never happened: {reply:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The body of an execution of the Adversary's `name` attack, `amount` times.
pub fn attack(name: &str, amount: f64) -> Value {
    serde_json::json!({"inputs": {"attack": name, "amount": [amount]}})
}

/// Reads a reference file of GEMSEO's answers.
pub fn reference(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/reference/gemseo")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).expect("reference JSON")
}

/// Polls `GET /ready` until the server has discovered its modules (at most 60 s).
pub async fn wait_until_ready(address: &str) {
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    loop {
        let status = client
            .get(format!("{address}/ready"))
            .send()
            .await
            .map(|response| response.status());
        match status {
            Ok(StatusCode::OK) => return,
            Ok(StatusCode::SERVICE_UNAVAILABLE) | Err(_) => {}
            Ok(other) => panic!("GET /ready answered {other}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the server never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The same wait, for synchronous tests of the binary.
pub fn wait_until_ready_blocking(address: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(wait_until_ready(address));
}
