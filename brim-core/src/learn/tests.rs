use super::*;

/// A synthetic table: `x` drives the label, `colour` a little, `noise` not at all; `leak` is
/// the label itself.
fn synthetic(n: usize, seed: u64) -> Table {
    let mut rng = SplitMix64(seed);
    let mut uniform = move || (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    let (mut x, mut colour, mut noise, mut leak, mut label) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let xi = uniform() * 4.0 - 2.0;
        let c = ["red", "green", "blue"][i % 3];
        let z = 2.0 * xi + if c == "red" { 0.8 } else { -0.4 };
        let y = uniform() < sigmoid(z);
        x.push(if i % 17 == 0 { None } else { Some(xi) });
        colour.push(Some(c.to_string()));
        noise.push(Some(uniform()));
        leak.push(Some(if y { "won" } else { "lost" }.to_string()));
        label.push(Some(f64::from(u8::from(y))));
    }
    Table {
        names: ["x", "colour", "noise", "leak", "converted"]
            .map(String::from)
            .to_vec(),
        columns: vec![
            Values::Numbers(x),
            Values::Texts(colour),
            Values::Numbers(noise),
            Values::Texts(leak),
            Values::Numbers(label),
        ],
    }
}

fn options() -> TrainOptions {
    TrainOptions {
        drop: vec!["leak".into()],
        ..TrainOptions::new("converted")
    }
}

#[test]
fn every_learner_learns_the_signal_and_is_deterministic() {
    let table = synthetic(2000, 1);
    for learner in [Learner::Logistic, Learner::Boosted, Learner::Ensemble] {
        let options = TrainOptions {
            learner,
            ..options()
        };
        let eval = cross_validate(&table, &options, 5).unwrap();
        // The Bayes rate's AUC for this signal is about 0.87.
        assert!(eval.roc_auc > 0.82, "{learner}: {eval:?}");
        assert!(eval.log_loss < 0.55, "{learner}: {eval:?}");
        assert_eq!(
            cross_validate(&table, &options, 5).unwrap(),
            eval,
            "same seed, same result"
        );
    }
}

#[test]
fn a_model_saves_predicts_and_explains() {
    let table = synthetic(2000, 2);
    let model = train(&table, &options(), 1_700_000_000_000).unwrap();
    assert_eq!(model.n_rows, 2000);
    assert!(model.leak_warnings.is_empty(), "leak was dropped");
    let again = LearnedModel::from_json(&model.to_json()).unwrap();
    let p = model.predict(&table).unwrap();
    let q = again.predict(&table).unwrap();
    let worst = p
        .iter()
        .zip(&q)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-12,
        "saved and read back, it predicts the same: {worst}"
    );
    assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(roc_auc(&p, &labels_of(&table)) > 0.82);
    // The strongest feature is x, positively.
    assert_eq!(model.top_features[0].feature, "x");
    let why = model.explain(&table, 0, 3).unwrap();
    assert!(!why.is_empty());
    assert!(why.iter().any(|c| c.feature == "x"), "{why:?}");
    // A table without some columns still scores (they are missing values).
    let partial = Table {
        names: vec!["x".into()],
        columns: vec![Values::Numbers(vec![Some(1.5), None])],
    };
    assert_eq!(model.predict(&partial).unwrap().len(), 2);
}

fn labels_of(table: &Table) -> Vec<bool> {
    label_column(table, "converted", false)
        .unwrap()
        .into_iter()
        .map(|l| l.unwrap())
        .collect()
}

#[test]
fn refusals_and_warnings() {
    let table = synthetic(200, 3);
    match train(&table, &TrainOptions::new("converted"), 0) {
        Err(LearnError::TooLittleData { min: 120, .. }) => {}
        other => panic!("{other:?}"),
    }
    let opts = TrainOptions {
        min_per_class: 10,
        ..TrainOptions::new("converted")
    };
    let model = train(&table, &opts, 0).unwrap();
    assert_eq!(model.leak_warnings.len(), 1, "{:?}", model.leak_warnings);
    assert_eq!(model.leak_warnings[0].column, "leak");
    assert!(matches!(
        train(&table, &TrainOptions::new("nope"), 0),
        Err(LearnError::Input(m)) if m.starts_with("no label column \"nope\"")
    ));
    let bad = TrainOptions {
        drop: vec!["missing_column".into()],
        ..opts.clone()
    };
    assert!(
        matches!(train(&table, &bad, 0), Err(LearnError::Input(m)) if m.contains("missing_column"))
    );
    assert!(LearnedModel::from_json("{}").is_err());
}

#[test]
fn text_labels_and_typed_columns() {
    let table = Table::from_text_columns(
        vec!["n".into(), "t".into(), "y".into()],
        vec![
            vec![Some("1".into()), Some(" ".into()), Some("2.5".into())],
            vec![Some("a".into()), Some("1".into()), None],
            vec![
                Some("won".into()),
                Some("lost".into()),
                Some("maybe".into()),
            ],
        ],
    );
    assert!(matches!(table.columns[0], Values::Numbers(_)));
    assert!(matches!(table.columns[1], Values::Texts(_)));
    let err = label_column(&table, "y", false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("row 3: y: expected 1/0, true/false, yes/no or won/lost, got \"maybe\""),
        "{err}"
    );
    assert_eq!(
        label_column(&table, "y", true).unwrap(),
        [Some(true), Some(false), None]
    );
}

#[test]
fn a_damaged_model_file_is_refused_not_followed() {
    let table = synthetic(400, 5);
    let opts = TrainOptions {
        min_per_class: 10,
        ..options()
    };
    let model = train(&table, &opts, 0).unwrap();
    let mut bad = model.clone();
    if let Some(b) = bad.boosted.as_mut()
        && let Some(split) = b.trees[0].nodes[0].split.as_mut()
    {
        split.left = 0; // a loop
    }
    assert!(
        matches!(LearnedModel::from_json(&bad.to_json()), Err(LearnError::Model(m)) if m.contains("out of range"))
    );
    let mut short = model.clone();
    short.logistic.as_mut().unwrap().weights.pop();
    assert!(LearnedModel::from_json(&short.to_json()).is_err());
    // Bins are text: no number in the file exceeds what JavaScript's JSON.parse keeps exactly
    // (2^53), and a version 1 file (bins as four numbers) still reads the same.
    let text = model.to_json();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn check(v: &serde_json::Value) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    assert!(u < 1 << 53, "{u}");
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(check),
            serde_json::Value::Object(o) => o.values().for_each(check),
            _ => {}
        }
    }
    check(&value);
    let mut v1 = value.clone();
    v1["format_version"] = 1.into();
    for tree in v1["boosted"]["trees"].as_array_mut().unwrap() {
        for node in tree["nodes"].as_array_mut().unwrap() {
            if let Some(split) = node.get_mut("split").filter(|s| !s.is_null()) {
                let hex = split["left_bins"].as_str().unwrap().to_string();
                let words: Vec<u64> = (0..4)
                    .map(|i| u64::from_str_radix(&hex[(3 - i) * 16..(4 - i) * 16], 16).unwrap())
                    .collect();
                split["left_bins"] = serde_json::json!(words);
            }
        }
    }
    let old = LearnedModel::from_json(&v1.to_string()).unwrap();
    let new = LearnedModel::from_json(&text).unwrap();
    assert!(
        old.boosted == new.boosted,
        "version 1's bins read as version 2's"
    );
    assert!(new == model, "a saved model reads back exactly");
    assert_eq!(old.predict(&table).unwrap(), new.predict(&table).unwrap());
    let mut bad_bins = value.clone();
    bad_bins["boosted"]["trees"][0]["nodes"][0]["split"]["left_bins"] = "zz".into();
    assert!(LearnedModel::from_json(&bad_bins.to_string()).is_err());
    let mut future = value;
    future["format_version"] = 3.into();
    assert!(LearnedModel::from_json(&future.to_string()).is_err());
    // Two columns of one name are refused.
    let mut twice = table.clone();
    twice.names[1] = "x".into();
    assert!(
        matches!(train(&twice, &opts, 0), Err(LearnError::Input(m)) if m.contains("appears twice"))
    );
}

#[test]
fn present_against_missing_is_a_split_the_trees_can_make() {
    // A flag that is 1 or blank, and converts when 1: only "present vs missing" separates.
    let n = 400;
    let flag: Vec<Option<f64>> = (0..n).map(|i| (i % 2 == 0).then_some(1.0)).collect();
    let y: Vec<Option<f64>> = (0..n)
        .map(|i| Some(if i % 2 == 0 && i % 10 != 0 { 1.0 } else { 0.0 }))
        .collect();
    let table = Table {
        names: vec!["flag".into(), "converted".into()],
        columns: vec![Values::Numbers(flag), Values::Numbers(y)],
    };
    let opts = TrainOptions {
        learner: Learner::Boosted,
        min_per_class: 10,
        ..TrainOptions::new("converted")
    };
    let eval = cross_validate(&table, &opts, 5).unwrap();
    assert!(eval.roc_auc > 0.85, "{eval:?}");
}

#[test]
fn comparing_two_models_names_the_better_one_with_an_interval() {
    let table = synthetic(1500, 9);
    let y = labels_of(&table);
    let weak = TrainOptions {
        drop: vec!["leak".into(), "x".into()],
        min_per_class: 10,
        ..options()
    };
    let strong = TrainOptions {
        min_per_class: 10,
        ..options()
    };
    let a = train(&table, &weak, 0).unwrap().predict(&table).unwrap();
    let b = train(&table, &strong, 0).unwrap().predict(&table).unwrap();
    let c = compare(&a, &b, &y, 0);
    assert!(c.b.roc_auc > c.a.roc_auc + 0.1, "{c:?}");
    assert!(
        c.roc_auc_difference_ci[0] > 0.0,
        "the interval excludes 0: {c:?}"
    );
    let same = compare(&b, &b, &y, 0);
    assert_eq!(same.roc_auc_difference_ci, [0.0, 0.0]);
    assert_eq!(compare(&a, &b, &y, 0), c, "seeded");
}
