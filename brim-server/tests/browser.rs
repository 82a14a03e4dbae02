//! The dashboard and the activation page in headless Chromium (playwright-core from npm,
//! Debian's chromium): `brim serve` on SQLite is filled with leads over HTTP, then
//! `tests/browser/pages.mjs` clicks through both pages (see that file for what it checks), and a
//! second server with an API key checks the dashboard's key prompt. scripts/test installs
//! Chromium and the npm package; under `CI=true` their absence fails the test, elsewhere it is
//! skipped with a message.

mod common;

use std::path::Path;
use std::process::Command;

use common::{http, http_with, serve};

fn browser_ready(dir: &Path) -> Result<String, String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Err(format!(
            "no playwright-core in {} (npm ci there)",
            dir.display()
        ));
    }
    Ok(chromium)
}

#[test]
fn dashboard_and_activation_page_work_in_a_browser() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = match browser_ready(&scripts) {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("the browser tests are required under CI=true: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPING: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    // A real SMTP server: addresses starting with "bounce" get 550, so one e-mail goes dead
    // (to re-queue from the lead panel).
    let smtp_port = common::free_port();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let _smtp = common::smtp_server(smtp_port, &inbox);
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    // A data provider: a local static HTTP server with one company's record (any other
    // domain: 404), described by a configuration file as any provider would be.
    let data = dir.path().join("provider");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("globex.example.json"),
        r#"{"id": "gx-7", "employees": 5000, "tech": ["Snowflake", "Zapier"], "founded": 1999}"#,
    )
    .unwrap();
    let data_port = common::free_port();
    let _provider = common::Proc::spawn({
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "http.server",
            &data_port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(&data)
        .stdout(std::process::Stdio::null());
        c
    });
    common::wait_for("the provider to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", data_port)).is_ok()
    });
    let provider_file = dir.path().join("localdata.toml");
    std::fs::write(
        &provider_file,
        format!(
            "name = \"localdata\"\n[request]\nurl = \"http://127.0.0.1:{data_port}/{{domain}}.json\"\n\
             [response]\nid = \"/id\"\n[fields]\nemployee_count = \"/employees\"\n\
             tech_stack = \"/tech\"\n\"attributes.founded_year\" = \"/founded\"\n"
        ),
    )
    .unwrap();
    let server = serve(
        dir.path(),
        port,
        &[
            "--send-window",
            "always",
            "--worker-interval",
            "1",
            "--smtp-url",
            &smtp_url,
            "--enrich",
            provider_file.to_str().unwrap(),
        ],
    );
    // 60 leads of varied fit, one named like an attack, one to search for.
    let industries = ["SaaS", "Logistics", "Fintech", "Retail", "Food"];
    let mut qualified = 0;
    let mut names: Vec<String> = (0..58).map(|i| format!("Company {i:02}")).collect();
    names.push("Globex Logistics".into());
    names.push("<img src=x onerror=\"window.__xss=1\">".into());
    let stages = ["Seed", "Series A", "Series B", "Series C"];
    let mut leads: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            serde_json::json!({
                "company_name": name,
                "employee_count": 20 + (i * 37) % 900,
                "industry": industries[i % industries.len()],
                "funding_stage": stages[i % 4],
                "tech_stack": if i % 3 == 0 { vec!["Salesforce", "Zapier"] } else { vec![] },
                "recent_job_posts": if i % 2 == 0 { vec!["Head of Operations"] } else { vec![] },
                "contact": {"email": format!("ops{i}@example.com")},
            })
        })
        .collect();
    // Strong fits (outreach: they get an e-mail): one whose address bounces (its e-mail goes
    // dead), one without a contact (its e-mail waits for one), one to delete, and one with the
    // longest name allowed.
    let strong = |name: &str, email: Option<&str>| {
        let mut lead = serde_json::json!({
            "company_name": name, "employee_count": 150, "industry": "SaaS",
            "funding_stage": "Series A", "tech_stack": ["Salesforce", "Zapier"],
            "recent_job_posts": ["Head of Operations"],
        });
        if let Some(email) = email {
            lead["contact"] = serde_json::json!({"email": email, "name": "Robin"});
        }
        lead
    };
    let long_name = format!(
        "Longest Name {}",
        "x".repeat(brim_core::limits::COMPANY_NAME - 13)
    );
    leads[58]["domain"] = serde_json::json!("globex.example");
    leads.push(strong("Bounce Corp", Some("bounce@bounce.example")));
    leads.push(strong("Waiting Inc", None));
    leads.push(strong("Delete Me Ltd", Some("ceo@deleteme.example")));
    leads.push(strong(&long_name, Some("ceo@long.example")));
    let mut company_ids = Vec::new();
    for lead in &leads {
        let reply = http(port, "POST", "/api/score-company", &lead.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
        let score: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        if score["total_score"].as_u64().unwrap() > 75 {
            qualified += 1;
        }
        company_ids.push(score["company_id"].as_str().unwrap().to_string());
    }
    // Two learned models trained on these leads' outcomes (the dashboard's learned panel
    // activates, compares and rolls them back), and the outcomes the comparison reads.
    let parsed: Vec<brim_core::Lead> = leads
        .iter()
        .map(|l| brim_core::Lead::from_json(&l.to_string()).unwrap())
        .collect();
    let converted: Vec<bool> = (0..parsed.len())
        .map(|i| (i % 3 == 0) ^ (i % 7 == 0) || i >= 58)
        .collect();
    for (i, id) in company_ids.iter().enumerate() {
        let outcome = if converted[i] {
            "closed_won"
        } else {
            "not_a_fit"
        };
        let body = serde_json::json!({"company_id": id, "outcome": outcome}).to_string();
        assert_eq!(http(port, "POST", "/api/report-outcome", &body).status, 201);
    }
    for (learner, version) in [
        (brim_core::learn::Learner::Logistic, "1"),
        (brim_core::learn::Learner::Ensemble, "2"),
    ] {
        let table = brim_core::learn::lead_table(&parsed, Some(&converted), None);
        let options = brim_core::learn::TrainOptions {
            learner,
            min_per_class: 10,
            ..brim_core::learn::TrainOptions::new("converted")
        };
        let mut model = brim_core::learn::train(&table, &options, 0).unwrap();
        model.evaluation = Some(brim_core::learn::cross_validate(&table, &options, 3).unwrap());
        model.name = "conversion".into();
        model.version = version.into();
        let reply = http(port, "POST", "/api/learned-models", &model.to_json());
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    assert!(
        qualified > 0,
        "some leads must qualify for the KPI check to mean anything"
    );
    // One character more is refused, naming the field and the limit.
    let too_long = strong(&format!("{long_name}x"), None);
    let reply = http(port, "POST", "/api/score-company", &too_long.to_string());
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(
        reply.body.contains(r#""field":"company_name""#)
            && reply.body.contains("at most 100 characters"),
        "{}",
        reply.body
    );
    // The panel's e-mail buttons need a dead and a waiting e-mail.
    for status in ["dead", "waiting"] {
        common::wait_for(&format!("a {status} e-mail"), || {
            http(
                port,
                "GET",
                &format!("/api/analytics/scored-leads-table?status={status}"),
                "",
            )
            .head
            .to_lowercase()
            .contains("x-total-count: 1")
        });
    }

    let keyed_port = common::free_port();
    let key_dir = tempfile::tempdir().unwrap();
    let key = "browser-test-key-0123456789";
    std::fs::write(key_dir.path().join("key"), key).unwrap();
    let keyed = serve(key_dir.path(), keyed_port, &["--api-key-file", "key"]);
    assert_eq!(
        http(keyed_port, "GET", "/api/analytics/top-leads", "").status,
        401
    );
    assert_eq!(
        http_with(
            keyed_port,
            "GET",
            "/api/analytics/top-leads",
            &[("authorization", &format!("Bearer {key}"))],
            ""
        )
        .status,
        200
    );

    let shots = std::env::var("BRIM_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    // coreutils' timeout: a browser that hangs fails the test instead of holding CI.
    let out = Command::new("timeout")
        .arg("180")
        .arg("node")
        .arg(scripts.join("pages.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(format!("http://127.0.0.1:{keyed_port}"))
        .arg(key)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .env("EXPECT_QUALIFIED", qualified.to_string())
        .env("EXPECT_LEADS", leads.len().to_string())
        .current_dir(&scripts)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stdout}\n{stderr}\nserver log:\n{}",
        server.stderr()
    );
    assert_eq!(
        stdout.matches("ok   ").count(),
        stdout
            .lines()
            .filter(|l| l.starts_with("ok   ") || l.starts_with("FAIL "))
            .count(),
        "{stdout}"
    );
    assert!(stdout.matches("ok   ").count() >= 17, "{stdout}");
    drop(keyed);
    drop(server);
}
