//! The example disciplines over HTTP: GEMSEO's reference answers, and Jacobians that agree
//! with finite differences.

use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, reference, spawn_app};

const SELLAR: [(&str, &str); 3] = [
    ("Sellar1", "sellar1"),
    ("Sellar2", "sellar2"),
    ("SellarSystem", "sellar_system"),
];

async fn sellar_app() -> TestApp {
    spawn_app(&["sellar1", "sellar2", "sellar_system", "rosenbrock"]).await
}

fn without_meta_schema(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}

#[tokio::test(flavor = "multi_thread")]
async fn sellar_descriptions_match_gemseo() {
    let app = sellar_app().await;
    for (process, _) in SELLAR {
        let description = app.get(&format!("/processes/{process}")).await;
        assert_eq!(description.status, 200, "{description:?}");
        let body = &description.body;
        assert_eq!(
            without_meta_schema(&body["inputSchema"]),
            without_meta_schema(&reference(&format!("{process}.inputs_schema.json"))),
            "{process} input schema"
        );
        assert_eq!(
            without_meta_schema(&body["outputSchema"]),
            without_meta_schema(&reference(&format!("{process}.outputs_schema.json"))),
            "{process} output schema"
        );
        assert_eq!(
            body["inputNames"],
            reference(&format!("{process}.input_names.json")),
            "{process}"
        );
        assert_eq!(
            body["outputNames"],
            reference(&format!("{process}.output_names.json")),
            "{process}"
        );
        assert_eq!(
            body["defaultInputs"],
            reference(&format!("{process}.default_input_data.json")),
            "{process} defaults"
        );
        assert_eq!(body["hasJacobian"], true);
        assert!(
            body["moduleDigest"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:"))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sellar_outputs_at_defaults_match_gemseo() {
    let app = sellar_app().await;
    for (process, _) in SELLAR {
        let executed = app.execute(process, &json!({})).await;
        assert_eq!(executed.status, 200, "{executed:?}");
        let expected = reference(&format!("{process}.execute_defaults.json"));
        let output_names = reference(&format!("{process}.output_names.json"));
        for name in output_names.as_array().expect("names") {
            let name = name.as_str().expect("name");
            assert_eq!(
                executed.body[name], expected["output_data"][name],
                "{process}.{name}"
            );
        }
        let digest = executed
            .headers
            .get("x-module-digest")
            .and_then(|v| v.to_str().ok());
        assert!(
            digest.is_some_and(|d| d.starts_with("sha256:")),
            "{executed:?}"
        );
        let fuel: u64 = executed.headers["x-fuel-consumed"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("a number");
        assert!(fuel > 0);
        assert!(executed.headers.contains_key("server-timing"));
    }
}

/// Executes with `inputs` and returns the outputs object.
async fn outputs_at(
    app: &TestApp,
    process: &str,
    inputs: &Map<String, Value>,
    options: &Value,
) -> Map<String, Value> {
    let executed = app
        .execute(process, &json!({"inputs": inputs, "options": options}))
        .await;
    assert_eq!(executed.status, 200, "{executed:?}");
    executed.body.as_object().cloned().expect("outputs object")
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Checks every Jacobian block at `inputs` against central finite differences.
async fn check_jacobian_at(
    app: &TestApp,
    process: &str,
    inputs: Map<String, Value>,
    options: Value,
) {
    let linearized = app
        .execute(
            process,
            &json!({"inputs": inputs, "options": options, "linearize": {}}),
        )
        .await;
    assert_eq!(linearized.status, 200, "{linearized:?}");
    let jacobian = &linearized.body["jacobian"];
    let outputs = linearized.body["outputs"]
        .as_object()
        .expect("outputs")
        .clone();
    assert_eq!(
        outputs,
        outputs_at(app, process, &inputs, &options).await,
        "linearize and execute agree"
    );
    for (input, value) in &inputs {
        let x = numbers(value);
        for column in 0..x.len() {
            let step = 1e-6 * x[column].abs().max(1.0);
            let shifted = |delta: f64| {
                let mut moved = inputs.clone();
                let mut entries = x.clone();
                entries[column] += delta;
                moved.insert(input.clone(), json!(entries));
                moved
            };
            let (plus, minus) = (shifted(step), shifted(-step));
            let above = outputs_at(app, process, &plus, &options).await;
            let below = outputs_at(app, process, &minus, &options).await;
            for output in outputs.keys() {
                let (f_above, f_below) = (numbers(&above[output]), numbers(&below[output]));
                for row in 0..f_above.len() {
                    let finite_difference = (f_above[row] - f_below[row]) / (2.0 * step);
                    let analytic = jacobian[output][input][row][column]
                        .as_f64()
                        .expect("a number");
                    let tolerance = 1e-5 * finite_difference.abs().max(1.0);
                    assert!(
                        (analytic - finite_difference).abs() <= tolerance,
                        "{process}: d{output}[{row}]/d{input}[{column}] = {analytic}, finite differences give {finite_difference}"
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sellar_jacobians_agree_with_finite_differences() {
    let app = sellar_app().await;
    for (process, _) in SELLAR {
        let defaults = reference(&format!("{process}.default_input_data.json"));
        let defaults = defaults.as_object().expect("object").clone();
        check_jacobian_at(&app, process, defaults.clone(), json!({})).await;
        let mut elsewhere = defaults;
        for value in elsewhere.values_mut() {
            *value = json!(
                numbers(value)
                    .iter()
                    .map(|x| x * 1.3 + 0.7)
                    .collect::<Vec<_>>()
            );
        }
        check_jacobian_at(&app, process, elsewhere, json!({})).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rosenbrock_options_change_its_grammar_and_its_gradient_is_right() {
    let app = sellar_app().await;
    let default = app.get("/processes/Rosenbrock").await;
    assert_eq!(default.status, 200, "{default:?}");
    let three = app
        .get("/processes/Rosenbrock?options=%7B%22dimension%22%3A3%7D")
        .await;
    assert_eq!(three.status, 200, "{three:?}");
    let default_x = default.body["defaultInputs"]["x"]
        .as_array()
        .expect("x")
        .len();
    let three_x = three.body["defaultInputs"]["x"]
        .as_array()
        .expect("x")
        .len();
    assert_eq!((default_x, three_x), (2, 3));
    let at_minimum = app
        .execute(
            "Rosenbrock",
            &json!({"inputs": {"x": [1.0, 1.0, 1.0]}, "options": {"dimension": 3}}),
        )
        .await;
    assert_eq!(at_minimum.status, 200, "{at_minimum:?}");
    let inputs = json!({"x": [-1.2, 1.0, 0.5]})
        .as_object()
        .cloned()
        .expect("object");
    check_jacobian_at(&app, "Rosenbrock", inputs, json!({"dimension": 3})).await;
    let wrong_length = app
        .execute(
            "Rosenbrock",
            &json!({"inputs": {"x": [1.0, 1.0]}, "options": {"dimension": 3}}),
        )
        .await;
    assert_eq!(
        wrong_length.problem_slug(),
        "invalid-input",
        "{wrong_length:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discipline_written_in_python_runs_in_the_same_sandbox() {
    let app = spawn_app(&["python_paraboloid"]).await;
    let description = app.get("/processes/PythonParaboloid").await;
    assert_eq!(description.status, 200, "{description:?}");
    assert_eq!(
        description.body["defaultInputs"],
        json!({"x": [0.0, 0.0], "c": [1.0]})
    );
    let executed = app
        .execute("PythonParaboloid", &json!({"inputs": {"x": [3.0, 1.0]}}))
        .await;
    assert_eq!(executed.body, json!({"f": [4.0]}), "{executed:?}");
    let inputs = json!({"x": [3.0, -2.0, 0.5], "c": [0.25]});
    check_jacobian_at(
        &app,
        "PythonParaboloid",
        inputs.as_object().expect("object").clone(),
        json!({}),
    )
    .await;
    let refused = app
        .execute("PythonParaboloid", &json!({"inputs": {"x": []}}))
        .await;
    assert_eq!(refused.problem_slug(), "invalid-input", "{refused:?}");
}
