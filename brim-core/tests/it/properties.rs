//! Property tests: bounds, no panics on any input, monotonicity, determinism, batch equality.

use brim_core::{AttrValue, Contact, Lead, PRESETS, Scorer, ScoringModel};
use proptest::collection::vec;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z ]{0,12}",
        "\\PC{0,24}",
        prop::sample::select(vec![
            "SaaS",
            "fintech",
            "AI",
            "Operations",
            "DevOps",
            "Zapier",
            "HubSpot",
            "make",
            "raises $20M in Series B",
            "lays off 10%",
            "acquires Beta",
            "ÉDUCATION",
            "İstanbul",
            "Head of Ops",
            "Automation Engineer",
            "€",
            "$",
            "Series",
            "seed",
        ])
        .prop_map(str::to_string),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

prop_compose! {
    fn arb_lead()(
        company_name in "\\PC{1,30}",
        employee_count in prop::option::of(prop_oneof![0u64..1000, any::<u64>()]),
        industry in opt_text(),
        funding_stage in opt_text(),
        tech_stack in vec(text(), 0..8),
        recent_job_posts in vec(text(), 0..8),
        news_mentions in vec(text(), 0..6),
        email in prop::option::of("[a-z]{1,8}@[a-z]{1,8}\\.com"),
        seats in prop::option::of(prop_oneof![any::<f64>(), -1e300..1e300f64]),
    ) -> Lead {
        let mut attributes = std::collections::BTreeMap::new();
        if let Some(s) = seats { attributes.insert("seats".to_string(), AttrValue::Number(s)); }
        Lead {
            company_name, employee_count, industry, funding_stage, tech_stack, recent_job_posts,
            news_mentions, attributes,
            contact: email.map(|e| Contact { email: Some(e), ..Contact::default() }),
            ..Lead::default()
        }
    }
}

fn scorers() -> Vec<Scorer> {
    PRESETS
        .iter()
        .map(|(n, _)| Scorer::preset(n).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn scores_stay_in_bounds_and_explaining_never_panics(lead in arb_lead()) {
        for s in scorers() {
            let score = s.score(&lead);
            prop_assert!(score.fit_score <= 100 && score.intent_score <= 100 && score.total_score <= 100);
            prop_assert!((0.0..=1.0).contains(&score.confidence));
            let report = s.report(&lead);
            prop_assert_eq!(report.total_score, score.total_score);
            serde_json::to_string(&report).unwrap();
        }
    }

    #[test]
    fn adding_an_automation_tool_never_lowers_intent(lead in arb_lead(), at in 0usize..8) {
        for s in scorers() {
            let before = s.score(&lead).intent_score;
            let mut more = lead.clone();
            let at = at.min(more.tech_stack.len());
            more.tech_stack.insert(at, "Zapier".to_string());
            prop_assert!(s.score(&more).intent_score >= before, "{}", s.model().name);
        }
    }

    #[test]
    fn scoring_is_deterministic_and_batch_equals_one_by_one(leads in vec(arb_lead(), 0..40)) {
        for s in scorers() {
            let batch = s.score_batch(&leads);
            let single: Vec<_> = leads.iter().map(|l| s.score(l)).collect();
            prop_assert_eq!(&batch, &single);
            prop_assert_eq!(s.score_batch(&leads), batch);
            let reports = s.report_batch(&leads);
            let one: Vec<_> = leads.iter().map(|l| s.report(l)).collect();
            prop_assert_eq!(reports, one);
        }
    }

    #[test]
    fn lead_parsing_never_panics(input in "\\PC{0,200}") {
        let _ = Lead::from_json(&input);
    }

    #[test]
    fn lead_parsing_of_any_json_object_never_panics(
        key in prop::sample::select(vec!["company_name", "employee_count", "industry", "tech_stack",
            "contact", "attributes", "id", "timezone", "news_mentions"]),
        value in prop_oneof![
            Just("null".to_string()), Just("[]".to_string()), Just("{}".to_string()),
            any::<i64>().prop_map(|n| n.to_string()), any::<f64>().prop_map(|n| format!("{n:?}")),
            "\\PC{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just("[1, \"a\", null, {}]".to_string()), Just("1e400".to_string()),
        ],
    ) {
        let json = format!(r#"{{"company_name": "x", "{key}": {value}}}"#);
        match Lead::from_json(&json) {
            Ok(lead) => { for s in scorers() { s.report(&lead); } }
            Err(e) => prop_assert!(!e.field.is_empty() && !e.message.is_empty()),
        }
    }

    #[test]
    fn errors_quote_short_and_a_valid_lead_is_within_the_limits(
        key in prop::sample::select(vec!["company_name", "industry", "funding_stage", "country",
            "domain", "id", "timezone", "tech_stack", "news_mentions", "attributes", "contact",
            "employee_count"]),
        len in 0usize..3000,
        items in 0usize..300,
        ch in prop::sample::select(vec!['a', 'é', '東', '🚀', '"', '\\', ' ']),
    ) {
        // Any field of any length or size: an error names the field and stays short (it never
        // echoes the value whole); a lead that parses is within every limit.
        let text: String = std::iter::repeat_n(ch, len).collect();
        let value = match key {
            "tech_stack" | "news_mentions" => serde_json::json!(vec![text.clone(); items]),
            "attributes" => serde_json::Value::Object(
                (0..items).map(|i| (format!("k{i}"), serde_json::json!(text.clone()))).collect()),
            "contact" => serde_json::json!({"name": text.clone(), "email": format!("{text}@x.io")}),
            "employee_count" => serde_json::json!(text.clone()),
            _ => serde_json::json!(text.clone()),
        };
        let mut lead = serde_json::json!({"company_name": "x"});
        lead[key] = value;
        match Lead::from_json(&lead.to_string()) {
            Ok(lead) => prop_assert!(lead.validate().is_ok()),
            Err(e) => {
                prop_assert!(!e.field.is_empty());
                prop_assert!(e.to_string().chars().count() < 200, "{}", e);
            }
        }
    }

    #[test]
    fn model_loading_never_panics(input in "\\PC{0,300}") {
        let _ = ScoringModel::from_toml(&input);
        let _ = ScoringModel::from_json(&input);
    }

    #[test]
    fn a_lead_refilled_row_after_row_equals_fresh_ones(
        rows in vec(vec((prop::sample::select(vec!["company_name", "employee_count", "industry",
            "tech_stack", "news_mentions", "contact.email", "contact.name", "timezone",
            "attributes.plan", "id"]), prop_oneof![Just(String::new()), text(),
            "[0-9]{1,4}".prop_map(|s| s), Just("a; b ;; c".to_string())]), 0..8), 1..6),
    ) {
        // What brim-py does for a frame: one lead, every row's cells set again (an empty cell
        // unsets; an empty attribute is removed); each row must read as a fresh lead given the
        // same cells.
        let mut reused = Lead::default();
        let fields = ["company_name", "employee_count", "industry", "tech_stack", "news_mentions",
            "contact.email", "contact.name", "timezone", "attributes.plan", "id"];
        for cells in rows {
            let mut fresh = Lead::default();
            let mut fresh_ok = true;
            let mut reused_ok = true;
            for name in fields {
                let cell = cells.iter().rev().find(|(n, _)| *n == name).map_or("", |(_, c)| c.as_str());
                fresh_ok &= fresh.set_text_field(name, cell).is_ok();
                if let Some(key) = Lead::attribute_key(name).filter(|_| cell.trim().is_empty()) {
                    reused.attributes.remove(key);
                }
                reused_ok &= reused.set_text_field(name, cell).is_ok();
            }
            prop_assert_eq!(fresh_ok, reused_ok);
            if fresh_ok {
                prop_assert_eq!(&fresh, &reused);
                for s in scorers() {
                    prop_assert_eq!(s.report(&fresh), s.report(&reused));
                }
            } else {
                // A failed row leaves the reused lead half set: start the next row afresh, as
                // brim-py's next row overwrites every column it reads.
                reused = Lead::default();
            }
        }
    }

    #[test]
    fn reasoning_is_the_explanations_reasons(lead in arb_lead()) {
        for s in scorers() {
            let score = s.score(&lead);
            prop_assert_eq!(s.reasoning(&lead, &score), s.explain(&lead, &score).reasoning);
        }
    }

    #[test]
    fn csv_cells_never_panic(field in prop::sample::select(vec!["employee_count", "tech_stack",
            "attributes.x", "contact.email", "company_name"]), cell in "\\PC{0,40}") {
        let mut lead = Lead::new("x");
        let _ = lead.set_text_field(field, &cell);
    }
}

#[test]
fn huge_lists_and_huge_numbers() {
    let mut lead = Lead::new("Big");
    lead.employee_count = Some(u64::MAX);
    lead.tech_stack = (0..100_000).map(|i| format!("tool{i}")).collect();
    lead.recent_job_posts = vec!["x".repeat(100_000)];
    lead.news_mentions = vec!["$".repeat(10_000), "raises ".repeat(5_000)];
    for s in scorers() {
        let r = s.report(&lead);
        assert!(r.total_score <= 100);
    }
}

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "UTC",
];

proptest! {
    #[test]
    fn every_lead_gets_one_of_the_policy_variants(lead in arb_lead(), score in 0u8..=100) {
        for policy in [
            brim_core::VariantPolicy::default(),
            brim_core::VariantPolicy::Experiment {
                variants: vec!["a".into(), "b".into(), "c".into()],
                salt: "s".into(),
            },
        ] {
            let choice = policy.choose(&lead, score);
            prop_assert!(policy.variants().contains(&choice.variant));
            prop_assert!(!choice.reason.is_empty());
            prop_assert_eq!(&choice, &policy.choose(&lead, score));
        }
    }

    #[test]
    fn the_next_opening_is_open_and_nothing_earlier_is(
        at in -2_000_000_000_000i64..4_000_000_000_000,
        zone in prop::sample::select(ZONES.to_vec()),
        days in prop::array::uniform7(any::<bool>()),
        start in 0u16..1439,
        length in 1u16..600,
    ) {
        let end = (start + length).min(1440);
        let window = brim_core::SendWindow::Weekly { days, start, end };
        let tz = brim_core::time_zone(zone).unwrap();
        let next = window.next_open(at, &tz);
        if days.iter().any(|d| *d) && next != i64::MAX {
            prop_assert!(next >= at);
            prop_assert!(window.is_open(next, &tz), "{window} {zone} at {at}: {next}");
            // A minute before the opening (when it is not `at` itself) the window is closed.
            if next > at && next - 60_000 >= at {
                prop_assert!(!window.is_open(next - 60_000, &tz));
            }
        }
    }

    #[test]
    fn window_parsing_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<brim_core::SendWindow>();
    }
}

/// Any bytes, pushed in any pieces: the same rows as in one piece, never a panic, and every
/// row reads again from its own bytes as the same lead or error.
fn read_stream(
    format: brim_core::StreamFormat,
    input: &[u8],
    cuts: &[usize],
) -> Result<Vec<brim_core::Row>, brim_core::InputError> {
    let mut stream = brim_core::LeadStream::new(format);
    let mut rows = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        let cut = cut.min(input.len()).max(at);
        stream.push(&input[at..cut], &mut rows)?;
        at = cut;
    }
    stream.push(&input[at..], &mut rows)?;
    stream.finish(&mut rows)?;
    for row in &rows {
        let bytes = &input[row.bytes.start as usize..row.bytes.end as usize];
        assert_eq!(stream.read_again(bytes), row.lead, "line {}", row.line);
    }
    Ok(rows)
}

fn csv_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[a-z\",\n\r; ]{0,10}",
        prop::sample::select(vec![
            "12",
            "-3",
            "many",
            "Zapier; Make",
            "a@b.example",
            "\"\""
        ])
        .prop_map(str::to_string),
    ]
}

proptest! {
    #[test]
    fn a_lead_stream_reads_any_csv_the_same_in_any_pieces(
        columns in prop::sample::subsequence(
            vec!["company_name", "employee_count", "industry", "tech_stack", "contact.email",
                 "recent_job_posts", "notes", "attributes.tier"], 1..8),
        records in vec(vec(csv_cell(), 8), 0..12),
        quote_all in any::<bool>(),
        crlf in any::<bool>(),
        mut cuts in vec(0usize..600, 0..8),
    ) {
        let cell = |c: &str| if quote_all || c.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        };
        let end = if crlf { "\r\n" } else { "\n" };
        let mut input = columns.join(",") + end;
        for record in &records {
            let cells: Vec<String> = columns.iter().zip(record).map(|(_, c)| cell(c)).collect();
            input += &(cells.join(",") + end);
        }
        cuts.sort_unstable();
        let whole = read_stream(brim_core::StreamFormat::Csv, input.as_bytes(), &[]);
        let pieces = read_stream(brim_core::StreamFormat::Csv, input.as_bytes(), &cuts);
        prop_assert_eq!(&whole, &pieces);
        if let Ok(rows) = whole
            && columns.contains(&"company_name")
        {
            prop_assert_eq!(rows.len(), records.iter()
                .filter(|r| columns.len() > 1 || quote_all || !r[0].is_empty()).count());
        }
    }

    #[test]
    fn a_lead_stream_never_panics_on_any_bytes(
        input in vec(any::<u8>(), 0..400),
        json in any::<bool>(),
        mut cuts in vec(0usize..400, 0..6),
    ) {
        cuts.sort_unstable();
        let format = if json { brim_core::StreamFormat::JsonLines } else { brim_core::StreamFormat::Csv };
        let whole = read_stream(format, &input, &[]);
        let pieces = read_stream(format, &input, &cuts);
        prop_assert_eq!(whole, pieces);
    }
}

// ---- enrichment: the merge ---------------------------------------------------------------

fn found() -> impl Strategy<Value = brim_core::enrich::Found> {
    use brim_core::enrich::Found;
    prop_oneof![
        prop_oneof![any::<f64>(), 0.0..5000.0f64, Just(120.0)].prop_map(Found::Number),
        text().prop_map(Found::Text),
        "\\PC{290,320}".prop_map(Found::Text),
        vec(text(), 0..6).prop_map(Found::List),
        vec("x{0,400}", 95..105).prop_map(Found::List),
        any::<bool>().prop_map(Found::Flag),
    ]
}

fn provider_record() -> impl Strategy<Value = brim_core::enrich::ProviderRecord> {
    let field = prop::sample::select(vec![
        "employee_count",
        "industry",
        "funding_stage",
        "tech_stack",
        "recent_job_posts",
        "news_mentions",
        "country",
        "domain",
        "timezone",
        "attributes.seats",
        "attributes.revenue",
        "company_name",
        "id",
        "contact.email",
        "nonsense",
    ]);
    (
        vec((field, found()), 0..12),
        prop::option::of("[a-z0-9]{1,12}"),
        any::<i64>(),
    )
        .prop_map(
            |(values, provider_id, fetched_at)| brim_core::enrich::ProviderRecord {
                provider: "p".into(),
                provider_id,
                fetched_at,
                values: values
                    .into_iter()
                    .map(|(f, v)| (f.to_string(), v))
                    .collect(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Idempotent; the lead's own values preserved; every changed field has its provenance and
    /// nothing else does; the result is still a valid lead.
    #[test]
    fn enrichment_merges_keep_the_leads_values_and_say_where_each_new_one_came_from(
        lead in arb_lead(), record in provider_record(), overwrite in any::<bool>(),
    ) {
        use brim_core::enrich::{ENRICHABLE, MergePolicy, current, merge};
        prop_assume!(lead.validate().is_ok());
        let policy = if overwrite {
            MergePolicy { overwrite: ["industry".to_string(), "tech_stack".to_string()].into() }
        } else {
            MergePolicy::default()
        };
        let mut once = lead.clone();
        let report = merge(&mut once, &record, &policy);
        prop_assert!(once.validate().is_ok(), "{:?}", once.validate());
        let mut twice = once.clone();
        merge(&mut twice, &record, &policy);
        prop_assert_eq!(&twice, &once, "merging again changes nothing");
        // Identity and contact never change.
        prop_assert_eq!(&once.company_name, &lead.company_name);
        prop_assert_eq!(&once.id, &lead.id);
        prop_assert_eq!(&once.contact, &lead.contact);
        let fields = ENRICHABLE.iter().map(|f| f.to_string())
            .chain(["attributes.seats".to_string(), "attributes.revenue".to_string()]);
        for field in fields {
            let (before, after) = (current(&lead, &field), current(&once, &field));
            let has_provenance = report.filled.iter().any(|p| p.field == field);
            if before.is_some() && !policy.overwrite.contains(&field) {
                prop_assert_eq!(&after, &before, "{} was the lead's own", field);
            }
            if after != before {
                prop_assert!(has_provenance, "{} changed without provenance", field);
            }
            if has_provenance {
                let p = report.filled.iter().find(|p| p.field == field).unwrap();
                prop_assert_eq!(&p.provider, &record.provider);
                prop_assert_eq!(&p.provider_id, &record.provider_id);
                prop_assert_eq!(p.fetched_at, record.fetched_at);
                prop_assert!(after.is_some());
            }
        }
        for r in &report.refused {
            prop_assert!(r.reason.chars().count() < 400, "{:?}", r);
        }
    }

    #[test]
    fn provider_answers_never_panic(body in "\\PC{0,300}", json in proptest::arbitrary::any::<u8>()) {
        let config = brim_core::enrich::preset("apollo").unwrap();
        let _ = config.record(&body, 0);
        let doc = format!(r#"{{"organization": {{"industry": {json}, "technology_names": [{json}, "x"], "id": [1]}}}}"#);
        let rec = config.record(&doc, 0).unwrap();
        let mut lead = Lead { company_name: "A".into(), ..Lead::default() };
        brim_core::enrich::merge(&mut lead, &rec, &Default::default());
    }
}
