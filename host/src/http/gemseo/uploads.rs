//! `POST /v1/file/upload` (gemseo-http's chunked multipart upload: one request per chunk, the
//! `File` record answered with the last) and `GET /v1/file`. Uploads are the core's; a file
//! name is only a label (its last component), never a path on the server.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::user::{UserIds, user_id};
use crate::auth::{Identity, Role};
use crate::files::{Chunk, MAX_CHUNKS, UploadError, UploadInfo, base_name};
use crate::http::AppState;
use crate::http::extract::multipart_problem;
use crate::http::files::{upload_problem, upload_room};
use crate::problem::{Problem, ProblemKind};

/// The most files `GET /v1/file` lists.
const MAX_LISTED: u32 = 10_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/file", get(list))
        .route("/v1/file/upload", post(upload))
}

/// The form of one chunk request: its number, how many chunks the file has, and the chunk
/// itself as one or more file parts (one per file).
struct ChunkForm {
    chunk_number: u64,
    total_chunks: u64,
    parts: Vec<(String, Chunk)>,
}

async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    request: Request,
) -> Result<Json<Value>, Problem> {
    let form = read_form(&state, &caller, request).await?;
    if form.total_chunks == 0 || form.chunk_number >= form.total_chunks {
        return Err(malformed(format!(
            "chunk_number {} is not below total_chunks {}",
            form.chunk_number, form.total_chunks
        )));
    }
    if form.total_chunks > MAX_CHUNKS {
        return Err(upload_problem(UploadError::TooManyChunks(MAX_CHUNKS)));
    }
    let is_last = form.chunk_number + 1 == form.total_chunks;
    let mut names = Vec::with_capacity(form.parts.len());
    for (name, chunk) in form.parts {
        state
            .uploads
            .file_chunk(chunk, &caller.user, &name, form.chunk_number)
            .await
            .map_err(upload_problem)?;
        names.push(name);
    }
    if !is_last {
        return Ok(Json(json!("Chunks uploaded")));
    }
    let user_id = user_id(&state, &caller.user).await?;
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let room = upload_room(&state, &caller.user).await?;
        let info = state
            .uploads
            .assemble(
                &caller.user,
                &name,
                form.total_chunks,
                room.bytes,
                room.owner_cap,
            )
            .await
            .map_err(|error| room.problem(error))?;
        let number = state
            .store
            .number_upload(info.id, &caller.user)
            .await
            .map_err(Problem::from)?;
        files.push(file_document(&info, number, user_id));
    }
    Ok(Json(Value::Array(files)))
}

/// Reads the multipart form, streaming each file part to a chunk file as it comes.
async fn read_form(
    state: &AppState,
    caller: &Identity,
    request: Request,
) -> Result<ChunkForm, Problem> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| malformed(rejection.body_text()))?;
    let mut form = ChunkForm {
        chunk_number: 0,
        total_chunks: 1,
        parts: Vec::new(),
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| multipart_problem(&error))?
    {
        let field_name = field.name().unwrap_or_default().to_owned();
        match field_name.as_str() {
            "files" => {
                let given = field.file_name().unwrap_or_default().to_owned();
                let name = base_name(&given)
                    .ok_or_else(|| malformed(format!("{given:?} does not name a file")))?
                    .to_owned();
                let room = upload_room(state, &caller.user).await?;
                let chunk = state
                    .uploads
                    .receive_chunk(field, room.bytes)
                    .await
                    .map_err(|error| room.problem(error))?;
                form.parts.push((name, chunk));
            }
            "chunk_number" | "total_chunks" => {
                let text = field
                    .text()
                    .await
                    .map_err(|error| multipart_problem(&error))?;
                let number = text.trim().parse().map_err(|_| {
                    malformed(format!(
                        "{field_name} is {text:?}: it must be a whole number"
                    ))
                })?;
                if field_name == "chunk_number" {
                    form.chunk_number = number;
                } else {
                    form.total_chunks = number;
                }
            }
            other => return Err(malformed(format!("unexpected form field {other:?}"))),
        }
    }
    if form.parts.is_empty() {
        return Err(malformed("no file part named \"files\"".into()));
    }
    Ok(form)
}

fn malformed(message: String) -> Problem {
    Problem::new(ProblemKind::MalformedRequest, message)
}

/// The caller's uploads made through this face (everyone's for an administrator).
async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
) -> Result<Json<Value>, Problem> {
    let owner = (caller.role != Role::Admin).then_some(caller.user.as_str());
    let numbered = state
        .store
        .numbered_uploads(owner, MAX_LISTED)
        .await
        .map_err(Problem::from)?;
    let mut user_ids = UserIds::new(&state);
    let mut files = Vec::with_capacity(numbered.len());
    for upload in numbered {
        if let Some(info) = state.uploads.info(upload.upload_id).await {
            let user_id = user_ids.of(&info.owner).await?;
            files.push(file_document(&info, upload.number, user_id));
        }
    }
    Ok(Json(Value::Array(files)))
}

/// gemseo-http's `File` record of an upload.
fn file_document(info: &UploadInfo, number: i64, user_id: i64) -> Value {
    json!({
        "filename": info.name,
        "id": number,
        "sha256sum": info.sha256,
        "user_id": user_id,
        "unique_filename": info.id,
    })
}
