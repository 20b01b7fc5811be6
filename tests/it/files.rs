//! Files: uploads streamed with their SHA-256, copied into job workspaces, listed and
//! downloaded (with Range), and never reachable outside the workspace.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const CSV: &str = "a,b\n1,2\n3,6\n";

async fn upload(app: &TestApp, name: &str, bytes: &[u8]) -> crate::helpers::Reply {
    app.post_raw(
        &format!("/files?name={name}"),
        "application/octet-stream",
        bytes.to_vec(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_uploaded_file_feeds_a_job_whose_output_files_can_be_downloaded() {
    let app = spawn_app(&["csv_column_statistics"]).await;
    let uploaded = upload(&app, "data.csv", CSV.as_bytes()).await;
    assert_eq!(uploaded.status, 201, "{uploaded:?}");
    assert_eq!(
        uploaded.body["sha256"],
        hex::encode(Sha256::digest(CSV.as_bytes()))
    );
    assert_eq!(uploaded.body["size"], CSV.len());
    let file_id = uploaded.body["fileID"].as_str().expect("id").to_owned();
    assert_eq!(
        app.get(&format!("/files/{file_id}")).await.body,
        uploaded.body
    );

    let body = json!({"inputs": {"file_name": "in/data.csv"}, "files": {"in/data.csv": file_id}});
    let id = app.submit_ok("CsvColumnStatistics", &body).await;
    let job = app.wait_for_job(&id).await;
    assert_eq!(job["status"], "successful", "{job}");
    let results = app.get(&format!("/jobs/{id}/results")).await.body;
    assert_eq!(results["mean"], json!([2.0, 4.0]));

    let listed = app.get(&format!("/jobs/{id}/files")).await.body;
    let paths: Vec<&str> = listed["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        vec!["in/data.csv", "in/data_summary.csv"],
        "{listed}"
    );
    let summary = app
        .client
        .get(format!(
            "{}/jobs/{id}/files/in/data_summary.csv",
            app.address
        ))
        .send()
        .await
        .expect("GET");
    assert_eq!(summary.status(), 200);
    let summary = summary.text().await.expect("text");
    assert!(
        summary.contains("a,2") && summary.contains("b,4"),
        "{summary}"
    );
    let part = app
        .client
        .get(format!("{}/jobs/{id}/files/in/data.csv", app.address))
        .header("range", "bytes=0-3")
        .send()
        .await
        .expect("GET");
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().await.expect("text"), "a,b\n");

    // The synchronous path takes the same files.
    let synchronous = app.execute("CsvColumnStatistics", &body).await;
    assert_eq!(synchronous.status, 200, "{synchronous:?}");
    assert_eq!(synchronous.body["mean"], json!([2.0, 4.0]));
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_stay_inside_the_workspace() {
    let app = spawn_app(&["csv_column_statistics", "adversary"]).await;
    let file_id = upload(&app, "data.csv", CSV.as_bytes()).await.body["fileID"].clone();
    for path in ["../escape.csv", "/etc/data.csv", "a/../../b", ""] {
        let body = json!({"inputs": {"file_name": "x"}, "files": {path: file_id}});
        let refused = app.submit("CsvColumnStatistics", &body).await;
        assert_eq!(
            refused.problem_slug(),
            "malformed-request",
            "{path}: {refused:?}"
        );
        assert!(
            refused.body["pointer"]
                .as_str()
                .is_some_and(|p| p.starts_with("/files/")),
            "{refused:?}"
        );
    }
    let unknown = json!({"inputs": {"file_name": "x"}, "files": {"x": "00000000-0000-4000-8000-000000000000"}});
    assert_eq!(
        app.submit("CsvColumnStatistics", &unknown)
            .await
            .problem_slug(),
        "malformed-request"
    );
    assert_eq!(
        app.get("/jobs").await.body["jobs"].as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );

    // A guest plants a link to a host file; the download does not follow it.
    let linked = json!({"inputs": {"attack": "symlink", "amount": [0.0], "path": "/etc/passwd"}});
    let id = app.submit_ok("Adversary", &linked).await;
    app.wait_for_job(&id).await;
    let link = app.get(&format!("/jobs/{id}/files/link")).await;
    assert_eq!(link.status, 404, "{link:?}");
    for path in ["..%2F..%2Fjobs.sqlite", "%2Fetc%2Fpasswd", "../jobs.sqlite"] {
        let escape = app
            .client
            .get(format!("{}/jobs/{id}/files/{path}", app.address))
            .send()
            .await
            .expect("GET");
        assert!(
            matches!(escape.status().as_u16(), 400 | 404),
            "{path}: {}",
            escape.status()
        );
        let text = escape.text().await.unwrap_or_default();
        assert!(
            !text.contains("root:") && !text.contains("SQLite"),
            "{path}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_upload_is_refused_and_leaves_nothing_behind() {
    let app = spawn_app_with(&[], |config| config.http.max_upload_bytes = 1000).await;
    let refused = upload(&app, "big.bin", &[7u8; 5000]).await;
    assert_eq!(refused.problem_slug(), "payload-too-large", "{refused:?}");
    let uploads = app.data_dir.path().join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads).expect("uploads dir").collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(upload(&app, "small.bin", &[7u8; 1000]).await.status, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dismissed_job_loses_its_workspace() {
    let app = spawn_app(&["csv_column_statistics"]).await;
    let file_id = upload(&app, "data.csv", CSV.as_bytes()).await.body["fileID"].clone();
    let id = app
        .submit_ok(
            "CsvColumnStatistics",
            &json!({"inputs": {"file_name": "data.csv"}, "files": {"data.csv": file_id}}),
        )
        .await;
    app.wait_for_job(&id).await;
    let workspace = app.data_dir.path().join("jobs").join(&id);
    assert!(workspace.join("data_summary.csv").exists());
    app.delete(&format!("/jobs/{id}")).await;
    let started = std::time::Instant::now();
    while workspace.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the workspace stayed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let listed: Value = app.get(&format!("/jobs/{id}/files")).await.body;
    assert_eq!(listed["files"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_broken_off_halfway_leaves_nothing_behind() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app(&[]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!(
        "POST /files?name=half.bin HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&[1u8; 50_000])
        .await
        .expect("half the body");
    stream.flush().await.expect("flush");
    let uploads = app.data_dir.path().join("uploads");
    // Wait until the server holds the partial file, then break the connection.
    let started = std::time::Instant::now();
    while std::fs::read_dir(&uploads).expect("uploads dir").count() == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the upload never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(stream);
    let started = std::time::Instant::now();
    while std::fs::read_dir(&uploads).expect("uploads dir").count() > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "a partial upload stayed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A multipart/form-data body: a JSON part named `execute`, then file parts.
fn multipart(execute: &Value, files: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "disciplines-test-boundary";
    let mut body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"execute\"\r\ncontent-type: application/json\r\n\r\n{execute}\r\n"
    );
    for (name, content) in files {
        body.push_str(&format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\ncontent-type: text/csv\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn files_can_come_with_the_submission_as_multipart() {
    let app = spawn_app(&["csv_column_statistics"]).await;
    let (content_type, body) = multipart(
        &json!({"inputs": {"file_name": "data.csv"}}),
        &[("data.csv", CSV)],
    );
    let synchronous = app
        .post_raw(
            "/processes/CsvColumnStatistics/execution",
            &content_type,
            body.clone(),
        )
        .await;
    assert_eq!(synchronous.status, 200, "{synchronous:?}");
    assert_eq!(synchronous.body["mean"], json!([2.0, 4.0]));

    let submitted = app
        .client
        .post(format!(
            "{}/processes/CsvColumnStatistics/execution",
            app.address
        ))
        .header("content-type", &content_type)
        .header("prefer", "respond-async")
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(submitted.status(), 201);
    let id = submitted.json::<Value>().await.expect("JSON")["jobID"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.wait_for_job(&id).await["status"], "successful");
    let listed = app.get(&format!("/jobs/{id}/files")).await.body;
    assert_eq!(listed["files"][0]["path"], "data.csv", "{listed}");

    let (content_type, no_json) = multipart(&json!({}), &[("data.csv", CSV)]);
    let no_json = String::from_utf8(no_json).expect("utf-8").replace(
        "name=\"execute\"\r\ncontent-type: application/json",
        "name=\"other\"",
    );
    let refused = app
        .post_raw(
            "/processes/CsvColumnStatistics/execution",
            &content_type,
            no_json.into_bytes(),
        )
        .await;
    assert_eq!(refused.problem_slug(), "malformed-request", "{refused:?}");
    let (content_type, escaping) = multipart(
        &json!({"inputs": {"file_name": "x"}}),
        &[("../escape.csv", CSV)],
    );
    let refused = app
        .post_raw(
            "/processes/CsvColumnStatistics/execution",
            &content_type,
            escaping,
        )
        .await;
    assert_eq!(refused.problem_slug(), "malformed-request", "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn workspace_files_count_against_the_storage_cap() {
    let app = spawn_app_with(&["csv_column_statistics"], |config| {
        config.jobs.max_result_bytes = 4000;
        config.jobs.gc_interval = std::time::Duration::from_millis(50);
    })
    .await;
    let rows: String = (0..1000).map(|i| format!("{i},{}\n", i * 2)).collect();
    let file_id = upload(&app, "data.csv", format!("a,b\n{rows}").as_bytes())
        .await
        .body["fileID"]
        .clone();
    let body = json!({"inputs": {"file_name": "data.csv"}, "files": {"data.csv": file_id}});
    let id = app.submit_ok("CsvColumnStatistics", &body).await;
    app.wait_for_job(&id).await;
    let workspace = app.data_dir.path().join("jobs").join(&id);
    let started = std::time::Instant::now();
    while workspace.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "a workspace past the cap stayed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.get(&format!("/jobs/{id}/results")).await.problem_slug(),
        "expired"
    );
}
