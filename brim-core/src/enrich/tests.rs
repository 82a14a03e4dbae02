use super::*;

fn lead(json: &str) -> Lead {
    Lead::from_json(json).unwrap()
}

fn record(values: Vec<(&str, Found)>) -> ProviderRecord {
    ProviderRecord {
        provider: "apollo".into(),
        provider_id: Some("org-1".into()),
        fetched_at: 1_000,
        values: values
            .into_iter()
            .map(|(f, v)| (f.to_string(), v))
            .collect(),
    }
}

#[test]
fn the_leads_own_values_win_and_each_filled_value_says_where_it_came_from() {
    let mut l = lead(r#"{"company_name": "Acme", "domain": "acme.com", "industry": "Logistics"}"#);
    let r = record(vec![
        ("industry", Found::Text("Software".into())),
        ("employee_count", Found::Number(120.0)),
        (
            "tech_stack",
            Found::List(vec!["Zapier".into(), "AWS".into()]),
        ),
        ("attributes.annual_revenue", Found::Number(5e6)),
        ("company_name", Found::Text("Evil".into())),
        ("funding_stage", Found::Text("".into())),
    ]);
    let report = merge(&mut l, &r, &MergePolicy::default());
    assert_eq!(l.industry.as_deref(), Some("Logistics"));
    assert_eq!(l.employee_count, Some(120));
    assert_eq!(l.tech_stack, ["Zapier", "AWS"]);
    assert_eq!(l.attributes["annual_revenue"], AttrValue::Number(5e6));
    assert_eq!(l.company_name, "Acme");
    assert_eq!(l.funding_stage, None);
    let filled: Vec<&str> = report.filled.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        filled,
        ["employee_count", "tech_stack", "attributes.annual_revenue"]
    );
    assert!(report.filled.iter().all(|p| p.provider == "apollo"
        && p.provider_id.as_deref() == Some("org-1")
        && p.fetched_at == 1_000));
    assert_eq!(report.kept, ["industry"]);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].field, "company_name");

    // Asked to, the provider's value replaces the lead's.
    let policy = MergePolicy::overwriting([" industry", ""]).unwrap();
    assert_eq!(policy.overwrite, ["industry".to_string()].into());
    let e = MergePolicy::overwriting(["industry", "company_name"]).unwrap_err();
    assert!(
        e.starts_with("\"company_name\" is not a field a provider may set (employee_count,"),
        "{e}"
    );
    let report = merge(&mut l, &r, &policy);
    assert_eq!(l.industry.as_deref(), Some("Software"));
    assert_eq!(report.filled.len(), 1);
}

#[test]
fn hostile_values_are_refused_and_the_field_left_alone() {
    let mut l = lead(r#"{"company_name": "Acme"}"#);
    let huge = "x".repeat(1_000_000);
    let r = record(vec![
        ("industry", Found::Text(huge.clone())),
        ("tech_stack", Found::List(vec!["a".into(); 500])),
        ("timezone", Found::Text("Mars/Olympus".into())),
        ("employee_count", Found::Number(-3.0)),
        ("employee_count", Found::Number(12.0)),
        ("country", Found::List(vec!["DE".into()])),
        (
            "attributes.note",
            Found::Text("<script>alert(1)</script>".into()),
        ),
    ]);
    let report = merge(&mut l, &r, &MergePolicy::default());
    assert_eq!(l.industry, None);
    assert!(l.tech_stack.is_empty());
    assert_eq!(l.timezone, None);
    assert_eq!(
        l.employee_count, None,
        "the first value of a field is the provider's"
    );
    assert_eq!(l.country, None);
    // Markup is only text: it is kept as the provider said it, and shown as text.
    assert_eq!(
        l.attributes["note"],
        AttrValue::Text("<script>alert(1)</script>".into())
    );
    let refused: Vec<&str> = report.refused.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(
        refused,
        [
            "industry",
            "tech_stack",
            "timezone",
            "employee_count",
            "country"
        ]
    );
    assert!(
        report.refused[0].reason.contains("at most 100"),
        "{:?}",
        report.refused[0]
    );
    assert!(report.refused.iter().all(|r| r.reason.len() < 300));
    l.validate().unwrap();
}

#[test]
fn the_shipped_providers_read_their_documented_answers() {
    let apollo = preset("apollo").unwrap();
    let l = lead(r#"{"company_name": "Acme & Co", "domain": "acme.com"}"#);
    let req = apollo.request(&l, Some("k-123")).unwrap();
    assert_eq!(
        req.url,
        "https://api.apollo.io/api/v1/organizations/enrich?domain=acme.com"
    );
    assert!(req.headers.contains(&("x-api-key".into(), "k-123".into())));
    assert_eq!(apollo.lookup_key(&l).as_deref(), Some("domain=acme.com"));
    assert_eq!(
        apollo.request(&lead(r#"{"company_name": "No Domain"}"#), Some("k")),
        Err("no domain to look up".into())
    );
    let answer = r#"{"organization": {"id": "5e66b6381e05b4008c8331b8", "name": "Acme",
        "estimated_num_employees": 120, "industry": "information technology & services",
        "country": "United States", "technology_names": ["Salesforce", "Zapier"],
        "annual_revenue": 12000000, "founded_year": 2015, "latest_funding_stage": "Series B",
        "total_funding": null}}"#;
    let rec = apollo.record(answer, 7).unwrap();
    assert_eq!(rec.provider_id.as_deref(), Some("5e66b6381e05b4008c8331b8"));
    let mut enriched = l.clone();
    let report = merge(&mut enriched, &rec, &MergePolicy::default());
    assert_eq!(enriched.employee_count, Some(120));
    assert_eq!(enriched.funding_stage.as_deref(), Some("Series B"));
    assert_eq!(enriched.tech_stack, ["Salesforce", "Zapier"]);
    assert_eq!(
        enriched.attributes["founded_year"],
        AttrValue::Number(2015.0)
    );
    assert!(!enriched.attributes.contains_key("total_funding"));
    assert_eq!(report.filled.len(), 7, "{report:?}");

    let clearbit = preset("clearbit").unwrap();
    assert_eq!(clearbit.pending, [202]);
    let req = clearbit.request(&l, Some("sk_1")).unwrap();
    assert!(
        req.headers
            .contains(&("authorization".into(), "Bearer sk_1".into()))
    );
    let answer = r#"{"id": "3f5d6a4e", "name": "Acme", "domain": "acme.com",
        "category": {"sector": "Information Technology", "industry": "Internet Software & Services"},
        "metrics": {"employees": 55, "estimatedAnnualRevenue": "$10M-$50M", "raised": 1000000},
        "tech": ["google_analytics", "hubspot"], "geo": {"country": "Germany"},
        "timeZone": "Europe/Berlin", "foundedYear": 2010}"#;
    let mut enriched = l.clone();
    merge(
        &mut enriched,
        &clearbit.record(answer, 7).unwrap(),
        &MergePolicy::default(),
    );
    assert_eq!(enriched.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        enriched.industry.as_deref(),
        Some("Internet Software & Services")
    );
    assert_eq!(
        enriched.attributes["annual_revenue"],
        AttrValue::Text("$10M-$50M".into())
    );
    assert!(
        clearbit
            .record("<html>nope</html>", 7)
            .unwrap_err()
            .contains("not JSON")
    );
}

#[test]
fn a_configuration_lists_every_problem() {
    let bad = r#"
        name = "my provider"
        [request]
        method = "PUT"
        url = "ftp://x/{domian}"
        headers = { "x-key" = "{key}" }
        [limits]
        requests_per_second = 0
        [fields]
        company_name = "/name"
        industry = "industry"
    "#;
    let e = ProviderConfig::from_toml(bad).unwrap_err();
    let text = e.to_string();
    for part in [
        "name:",
        "request.method",
        "request.url: expected an http",
        "unknown placeholder {domian}",
        "nothing names the company",
        "key: {key} is used",
        "limits.requests_per_second",
        "fields.company_name",
        "fields.industry: expected a JSON pointer",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let typo = "name = \"x\"\n[request]\nurl = \"https://x/{domain}\"\nheaderz = {}\n[fields]\nindustry = \"/i\"";
    assert!(
        ProviderConfig::from_toml(typo)
            .unwrap_err()
            .to_string()
            .contains("headerz")
    );
    for (name, text) in PRESETS {
        ProviderConfig::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn requests_escape_the_leads_values() {
    let config = ProviderConfig::from_toml(
        r#"
        name = "custom"
        [request]
        method = "POST"
        url = "https://data.example/lookup?name={name}"
        body = '{"domain": "{domain}", "token": "{key}"}'
        [key]
        file = "/run/secrets/custom"
        [fields]
        industry = "/industry"
        "#,
    )
    .unwrap();
    let l = lead(r#"{"company_name": "A&B \"Co\"/?", "domain": "x\"y.com"}"#);
    let req = config.request(&l, Some("t")).unwrap();
    assert_eq!(
        req.url,
        "https://data.example/lookup?name=A%26B%20%22Co%22%2F%3F"
    );
    assert_eq!(
        req.body.as_deref(),
        Some(r#"{"domain": "x\"y.com", "token": "t"}"#)
    );
    assert!(config.uses_key());
    assert_eq!(config.request(&l, None), Err("no API key".into()));
    // A lead's value that looks like a placeholder is text: the key goes nowhere else.
    let sneaky = lead(r#"{"company_name": "{key}", "domain": "{key}"}"#);
    let req = config.request(&sneaky, Some("t")).unwrap();
    assert_eq!(req.url, "https://data.example/lookup?name=%7Bkey%7D");
    assert_eq!(
        req.body.as_deref(),
        Some(r#"{"domain": "{key}", "token": "t"}"#)
    );
    // Without a [response] table: the same defaults as with an empty one.
    assert_eq!(config.not_found, [404]);
    assert_eq!(
        (
            config.requests_per_second,
            config.cache_hours,
            config.retries
        ),
        (5.0, 24.0, 3)
    );
}

#[test]
fn provenance_travels_with_the_lead_and_the_explanation_names_it() {
    let mut l = lead(r#"{"company_name": "Acme", "domain": "acme.com"}"#);
    let r = record(vec![
        ("employee_count", Found::Number(150.0)),
        ("industry", Found::Text("SaaS".into())),
    ]);
    merge(&mut l, &r, &MergePolicy::default());
    assert_eq!(l.sources["employee_count"].provider, "apollo");
    assert_eq!(l.sources["industry"].id.as_deref(), Some("org-1"));
    // It survives JSON (as the store keeps leads) and validation.
    let back = Lead::from_json(&serde_json::to_string(&l).unwrap()).unwrap();
    assert_eq!(back, l);
    // The score's reasons say which rested on enriched values.
    let scorer = crate::Scorer::preset("balanced").unwrap();
    let report = scorer.report(&l);
    assert!(
        report
            .reasoning
            .positive
            .iter()
            .any(|r| r.ends_with("(from apollo)")),
        "{:?}",
        report.reasoning
    );
    let plain = scorer.report(&lead(
        r#"{"company_name": "Acme", "employee_count": 150, "industry": "SaaS"}"#,
    ));
    assert!(
        plain
            .reasoning
            .positive
            .iter()
            .all(|r| !r.contains("(from"))
    );
    assert_eq!(report.total_score, plain.total_score);
    assert_eq!(
        report.confidence, plain.confidence,
        "enriched values count as known"
    );
    // A newer record stating a field makes it the user's own again.
    let mut stored = l.clone();
    stored.merge(lead(r#"{"company_name": "Acme", "industry": "Retail"}"#));
    assert!(!stored.sources.contains_key("industry"));
    assert!(stored.sources.contains_key("employee_count"));
    // Provenance from input is checked like any field.
    let bad =
        r#"{"company_name": "A", "sources": {"company_name": {"provider": "x", "fetched_at": 1}}}"#;
    assert_eq!(Lead::from_json(bad).unwrap_err().field, "sources");
}
