//! The gemseo-http `Job` document of a job row, and what the client sent that it shows back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::scheduler::StoredRequest;
use crate::store::{JobRecord, JobStatus};

/// What the client sent that the `Job` document shows back (kept in the job's request as its
/// `echo`), beyond what the core stores anyway.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Echo {
    /// The name the client gave its discipline.
    pub name: String,
    /// The input data as given (before defaults), `null` when none was given.
    pub input_data: Value,
    /// Whether the Jacobian was asked for.
    pub linearize: bool,
    pub linearization_mode: String,
    pub linearize_options: Map<String, Value>,
    pub differentiated_inputs: Vec<String>,
    pub differentiated_outputs: Vec<String>,
}

/// The status word gemseo-http uses for a job, and whether the job is `finished` with results
/// still there.
fn status_word(job: &JobRecord) -> &'static str {
    match job.status {
        JobStatus::Accepted => "pending",
        JobStatus::Running => "running",
        JobStatus::Successful if job.expired_at.is_none() => "finished",
        JobStatus::Successful | JobStatus::Failed | JobStatus::Dismissed => "failed",
    }
}

/// The `Job` document of `job`, owned by user number `user_id`.
pub(super) fn job_document(job: &JobRecord, user_id: i64) -> Value {
    let stored: Option<StoredRequest> = serde_json::from_str(&job.request).ok();
    let echo = stored
        .as_ref()
        .and_then(|stored| stored.echo.clone())
        .and_then(|echo| serde_json::from_value::<Echo>(echo).ok())
        .unwrap_or_else(|| echo_of_other_face(job, stored.as_ref()));
    let status = status_word(job);
    let finished = status == "finished";
    let (inputs, options) = stored
        .map(|stored| (stored.inputs, stored.options))
        .unwrap_or_default();
    let input_data = match (&echo.input_data, finished) {
        (Value::Null, true) => Value::String(Value::Object(inputs).to_string()),
        (given, true) => Value::String(given.to_string()),
        (given, false) => given.clone(),
    };
    // The outputs only: the reference server also echoes the inputs here, but GEMSEO validates
    // this whole object against the output grammar, which a schema with
    // `additionalProperties: false` then refuses.
    let output_data = if finished {
        parse_object(job.outputs.as_deref())
    } else {
        Map::new()
    };
    let jacobian_data = if finished {
        parse_object(job.jacobian.as_deref())
    } else {
        Map::new()
    };
    json!({
        "job_type": if echo.linearize { "execute_and_linearize" } else { "execute" },
        "name": echo.name,
        "discipline_class_name": job.process_id,
        "job_status": status,
        "workdir": "",
        "linearization_mode": if echo.linearize { echo.linearization_mode.as_str() } else { "auto" },
        "differentiated_inputs": if echo.linearize { echo.differentiated_inputs } else { Vec::new() },
        "input_data": input_data,
        "jacobian_data": jacobian_data,
        "id": job.seq,
        "discipline_options": options,
        "user_id": user_id,
        "traceback": traceback(job),
        "linearize_options": if echo.linearize { echo.linearize_options } else { Map::new() },
        "differentiated_outputs": if echo.linearize { echo.differentiated_outputs } else { Vec::new() },
        "output_data": output_data,
    })
}

/// What a job submitted through the OGC routes would have sent through this face.
fn echo_of_other_face(job: &JobRecord, stored: Option<&StoredRequest>) -> Echo {
    let linearize = stored.and_then(|stored| stored.linearize.as_ref());
    Echo {
        name: job.process_id.clone(),
        input_data: stored.map_or(Value::Null, |stored| Value::Object(stored.inputs.clone())),
        linearize: linearize.is_some(),
        linearization_mode: "auto".into(),
        linearize_options: Map::new(),
        differentiated_inputs: linearize.map(|l| l.inputs.clone()).unwrap_or_default(),
        differentiated_outputs: linearize.map(|l| l.outputs.clone()).unwrap_or_default(),
    }
}

fn parse_object(json: Option<&str>) -> Map<String, Value> {
    json.and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// Why the job did not finish, as the client raises it: the problem's title and detail, then
/// what the guest wrote to stderr (a Python guest's traceback lands there).
fn traceback(job: &JobRecord) -> String {
    if job.status == JobStatus::Successful {
        return match job.expired_at {
            Some(_) => format!(
                "the results of job {} have expired and were removed",
                job.seq
            ),
            None => String::new(),
        };
    }
    let Some(problem) = job
        .error
        .as_deref()
        .and_then(|error| serde_json::from_str::<Value>(error).ok())
    else {
        return String::new();
    };
    let text = |name: &str| {
        problem
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let mut traceback = format!("{}: {}", text("title"), text("detail"));
    if let Some(pointer) = problem.get("pointer").and_then(Value::as_str) {
        traceback.push_str(&format!(" (at {pointer})"));
    }
    let stderr = job
        .logs
        .as_deref()
        .and_then(|logs| serde_json::from_str::<Value>(logs).ok())
        .and_then(|logs| {
            logs.get("stderr")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if !stderr.trim().is_empty() {
        traceback.push_str("\nguest stderr:\n");
        traceback.push_str(&stderr);
    }
    traceback
}
