//! The learned-model registry over HTTP: upload, activate with a weight, scores that blend the
//! model in and say why, rollback, compare on reported outcomes, and a second server on the same
//! database following the first.

use std::sync::Arc;

use axum::http::StatusCode;
use brim_core::Lead;
use brim_core::learn::{self, Learner, TrainOptions};
use brim_email::Clock;
use brim_server::{App, router};
use brim_store::SqliteStore;
use serde_json::{Value, json};

#[path = "common/router.rs"]
mod router;
use router::call;

struct FixedClock;
impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        1_795_514_400_000
    }
}

fn composer() -> Arc<brim_email::Composer> {
    let config =
        brim_email::MessageConfig::new("Sam <sam@brim.example>", "http://localhost:8000").unwrap();
    Arc::new(brim_email::Composer::new(
        config,
        brim_email::Signer::new("test secret of 16+ bytes").unwrap(),
    ))
}

async fn app_on(store: Arc<SqliteStore>) -> (axum::Router, Arc<App<SqliteStore>>) {
    let app = Arc::new(App::new(store, Arc::new(FixedClock), composer(), None));
    (router(app.clone()), app)
}

/// 400 leads in which using Zapier and hiring for operations make conversion likely, and
/// their outcomes.
fn leads() -> (Vec<String>, Vec<bool>) {
    let mut out = Vec::new();
    let mut converted = Vec::new();
    for i in 0..400 {
        let zapier = i % 2 == 0;
        let ops = i % 3 == 0;
        let industry = ["SaaS", "Retail", "Logistics"][i % 3];
        out.push(
            json!({
                "id": format!("c{i}"),
                "company_name": format!("Company {i}"),
                "employee_count": 10 + (i * 7) % 300,
                "industry": industry,
                "tech_stack": if zapier { vec!["Zapier", "AWS"] } else { vec!["AWS"] },
                "recent_job_posts": if ops { vec!["Head of Operations"] } else { vec![] },
                "attributes": {"seats": i % 40},
            })
            .to_string(),
        );
        converted.push((zapier && i % 5 != 1) || (ops && i % 7 == 0));
    }
    (out, converted)
}

fn train(leads: &[Lead], y: &[bool], learner: Learner, version: &str) -> learn::LearnedModel {
    let table = learn::lead_table(leads, Some(y), None);
    let options = TrainOptions {
        learner,
        min_per_class: 20,
        ..TrainOptions::new("converted")
    };
    let mut model = learn::train(&table, &options, 1).unwrap();
    model.evaluation = Some(learn::cross_validate(&table, &options, 3).unwrap());
    model.name = "conversion".into();
    model.version = version.into();
    model
}

#[tokio::test]
async fn a_learned_model_is_uploaded_activated_blended_rolled_back_and_compared() {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let (router, _) = app_on(store.clone()).await;
    let (texts, y) = leads();
    let parsed: Vec<Lead> = texts.iter().map(|t| Lead::from_json(t).unwrap()).collect();

    let (status, empty) = call(&router, "GET", "/api/learned-models", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty, json!({"active": null, "models": [], "history": []}));

    // Refusals: not a model, a model of columns no lead has, a bad weight, unknown ids.
    let (status, e) = call(&router, "POST", "/api/learned-models", "{\"a\": 1}").await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("body"))
    );
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("brim train --output"),
        "{e}"
    );
    let crm = learn::Table::from_text_columns(
        vec!["Lead Source".into(), "Converted".into()],
        vec![
            (0..300)
                .map(|i| Some(["Web", "Ads"][i % 2].to_string()))
                .collect(),
            (0..300).map(|i| Some((i % 2).to_string())).collect(),
        ],
    );
    let foreign = learn::train(
        &crm,
        &TrainOptions {
            min_per_class: 10,
            ..TrainOptions::new("Converted")
        },
        0,
    )
    .unwrap();
    let (status, e) = call(&router, "POST", "/api/learned-models", &foreign.to_json()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("none of a lead's fields"),
        "{e}"
    );
    assert!(e["detail"].as_str().unwrap().contains("Lead Source"), "{e}");

    let a = train(&parsed, &y, Learner::Logistic, "1");
    let b = train(&parsed, &y, Learner::Ensemble, "2");
    let (status, up_a) = call(&router, "POST", "/api/learned-models", &a.to_json()).await;
    assert_eq!(status, StatusCode::CREATED, "{up_a}");
    assert_eq!(
        (
            &up_a["name"],
            &up_a["version"],
            &up_a["learner"],
            &up_a["active"]
        ),
        (
            &json!("conversion"),
            &json!("1"),
            &json!("logistic"),
            &json!(false)
        )
    );
    assert!(up_a["roc_auc"].as_f64().unwrap() > 0.8, "{up_a}");
    assert_eq!(up_a["calibration"].as_array().unwrap().len(), 10);
    assert_eq!(up_a["warnings"], json!([]));
    let (_, up_b) = call(&router, "POST", "/api/learned-models", &b.to_json()).await;
    let (id_a, id_b) = (up_a["id"].as_i64().unwrap(), up_b["id"].as_i64().unwrap());
    let (status, listed) = call(&router, "GET", "/api/learned-models", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["models"][0]["id"], id_b);
    assert_eq!(listed["models"][1]["n_rows"], 400);
    let (status, one) = call(&router, "GET", &format!("/api/learned-models/{id_a}"), "").await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &json!(id_a)));
    for bad in ["/api/learned-models/999", "/api/learned-models/x"] {
        assert_eq!(
            call(&router, "GET", bad, "").await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }

    // Before any activation: the rules alone.
    let lead = &texts[0];
    let (_, rules) = call(&router, "POST", "/api/score-company", lead).await;
    assert!(rules.get("learned").is_none(), "{rules}");

    for (body, field) in [
        (r#"{"weight": 2}"#, "weight"),
        (r#"{"weight": "x"}"#, "weight"),
    ] {
        let (status, e) = call(
            &router,
            "POST",
            &format!("/api/learned-models/{id_a}/activate"),
            body,
        )
        .await;
        assert_eq!(
            (status, e["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{e}"
        );
    }
    let (status, _) = call(&router, "POST", "/api/learned-models/999/activate", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A alone (weight 1): the total is its probability in per cent, with the features behind it.
    let (status, act) = call(
        &router,
        "POST",
        &format!("/api/learned-models/{id_a}/activate"),
        r#"{"weight": 1}"#,
    )
    .await;
    assert_eq!(
        (status, &act["model_id"], &act["weight"]),
        (StatusCode::OK, &json!(id_a), &json!(1.0))
    );
    let (_, scored) = call(&router, "POST", "/api/score-company", lead).await;
    let p = a.predict_leads(&parsed[..1]).unwrap()[0];
    assert_eq!(
        scored["total_score"],
        json!((100.0 * p).round() as u8),
        "{scored}"
    );
    let learned = &scored["learned"];
    assert_eq!(
        (&learned["model"], &learned["version"]),
        (&json!("conversion"), &json!("1"))
    );
    assert_eq!(learned["rule_score"], rules["total_score"]);
    assert!((learned["probability"].as_f64().unwrap() - p).abs() < 1e-4);
    let features: Vec<&str> = learned["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["feature"].as_str().unwrap())
        .collect();
    assert!(features.contains(&"uses zapier"), "{features:?}");
    // The stored score is the blended one, and the lead's page shows it.
    let (_, page) = call(&router, "GET", "/api/leads/c0", "").await;
    assert_eq!(
        page["scores"][0]["report"]["learned"]["model"], "conversion",
        "{page}"
    );

    // B at half weight: half the rule total, half the probability.
    call(
        &router,
        "POST",
        &format!("/api/learned-models/{id_b}/activate"),
        "",
    )
    .await;
    let (_, scored) = call(&router, "POST", "/api/score-company", lead).await;
    let pb = b.predict_leads(&parsed[..1]).unwrap()[0];
    let rule = rules["total_score"].as_f64().unwrap();
    assert_eq!(
        scored["total_score"],
        json!((0.5 * rule + 50.0 * pb).round() as u8)
    );
    assert_eq!(
        (&scored["learned"]["version"], &scored["learned"]["weight"]),
        (&json!("2"), &json!(0.5))
    );
    let (_, listed) = call(&router, "GET", "/api/learned-models", "").await;
    assert_eq!(listed["active"]["model_id"], id_b);
    assert_eq!(listed["models"][0]["active"], true);

    // Rollback: back to A at weight 1, then to the rules alone of before, then nothing earlier.
    let (status, back) = call(&router, "POST", "/api/learned-models/rollback", "").await;
    assert_eq!(
        (status, &back["model_id"], &back["weight"]),
        (StatusCode::OK, &json!(id_a), &json!(1.0))
    );
    let (_, scored) = call(&router, "POST", "/api/score-company", lead).await;
    assert_eq!(scored["learned"]["version"], "1");
    let (status, start) = call(&router, "POST", "/api/learned-models/rollback", "").await;
    assert_eq!((status, &start["model_id"]), (StatusCode::OK, &Value::Null));
    let (_, scored) = call(&router, "POST", "/api/score-company", lead).await;
    assert!(scored.get("learned").is_none());
    let (status, e) = call(&router, "POST", "/api/learned-models/rollback", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    // Deactivate: the rules alone again.
    let (status, off) = call(&router, "POST", "/api/learned-models/deactivate", "").await;
    assert_eq!((status, &off["model_id"]), (StatusCode::OK, &Value::Null));
    let (_, scored) = call(&router, "POST", "/api/score-company", lead).await;
    assert!(scored.get("learned").is_none());
    assert_eq!(scored["total_score"], rules["total_score"]);
    let (_, listed) = call(&router, "GET", "/api/learned-models", "").await;
    assert_eq!(listed["active"], Value::Null);
    assert_eq!(listed["history"].as_array().unwrap().len(), 5);

    // Compare: without outcomes a 409 that says what to do; with them, both models' metrics.
    let uri = format!("/api/learned-models/compare?a={id_a}&b={id_b}");
    let (status, e) = call(&router, "GET", &uri, "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("/api/report-outcome"),
        "{e}"
    );
    let (status, _) = call(&router, "GET", "/api/learned-models/compare?a=1", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (i, t) in texts.iter().enumerate() {
        let (status, _) = call(&router, "POST", "/api/score-company", t).await;
        assert_eq!(status, StatusCode::OK);
        let outcome = if y[i] { "closed_won" } else { "not_a_fit" };
        let (status, e) = call(
            &router,
            "POST",
            "/api/report-outcome",
            &json!({"company_id": format!("c{i}"), "outcome": outcome}).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
    }
    let (status, c) = call(&router, "GET", &uri, "").await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["rows"], 400);
    assert_eq!(
        (&c["a_model"]["id"], &c["b_model"]["id"]),
        (&json!(id_a), &json!(id_b))
    );
    assert!(c["a"]["roc_auc"].as_f64().unwrap() > 0.8, "{c}");
    assert!(c["verdict"].as_str().unwrap().contains("rows"), "{c}");
    let ci = c["roc_auc_difference_ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
}

#[tokio::test]
async fn a_second_server_on_the_database_follows_the_registry() {
    let dir = std::env::temp_dir().join(format!("brim-learned-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/brim.db", dir.display());
    let one = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let two = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let (router_one, _) = app_on(one).await;
    let (router_two, app_two) = app_on(two).await;
    let (texts, y) = leads();
    let parsed: Vec<Lead> = texts.iter().map(|t| Lead::from_json(t).unwrap()).collect();
    let model = train(&parsed, &y, Learner::Logistic, "7");
    let (_, up) = call(&router_one, "POST", "/api/learned-models", &model.to_json()).await;
    let id = up["id"].as_i64().unwrap();
    call(
        &router_one,
        "POST",
        &format!("/api/learned-models/{id}/activate"),
        r#"{"weight": 0.25}"#,
    )
    .await;
    // The second server has not read the registry yet: rules alone; once it has, the model.
    let (_, before) = call(&router_two, "POST", "/api/score-company", &texts[3]).await;
    assert!(before.get("learned").is_none());
    app_two.refresh_learned().await.unwrap();
    let active = app_two.active_learned().unwrap();
    assert_eq!((active.model_id, active.weight), (id, 0.25));
    let (_, after) = call(&router_two, "POST", "/api/score-company", &texts[3]).await;
    assert_eq!(after["learned"]["version"], "7");
    let _ = std::fs::remove_dir_all(&dir);
}
