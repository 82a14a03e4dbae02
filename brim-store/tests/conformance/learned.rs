//! The learned-model registry: models kept, activations appended, rollbacks that go back step
//! by step, also when two happen at once.

use brim_store::{LearnedModelStore, NewLearnedModel};

use crate::for_each_store;

fn model<'a>(name: &'a str, version: &'a str, body: &'a str) -> NewLearnedModel<'a> {
    NewLearnedModel {
        name,
        version,
        summary: r#"{"roc_auc": 0.9}"#,
        body,
    }
}

#[tokio::test]
async fn models_are_kept_and_activations_roll_back_step_by_step() {
    for_each_store!(|store| {
        assert!(store.learned_models().await.unwrap().is_empty());
        assert!(store.learned_activations(10).await.unwrap().is_empty());
        assert!(store.rollback_learned(1).await.unwrap().is_none());
        let a = store
            .add_learned_model(&model("churn", "1", "{\"a\": 1}"), 100)
            .await
            .unwrap();
        let b = store
            .add_learned_model(&model("churn", "2", "{\"b\": 2}"), 200)
            .await
            .unwrap();
        assert!(b > a);
        let listed = store.learned_models().await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|m| (m.id, m.version.as_str()))
                .collect::<Vec<_>>(),
            vec![(b, "2"), (a, "1")]
        );
        assert_eq!(listed[1].uploaded_at, 100);
        assert_eq!(listed[1].summary, r#"{"roc_auc": 0.9}"#);
        let (info, body) = store.learned_model(a).await.unwrap().unwrap();
        assert_eq!((info.name.as_str(), body.as_str()), ("churn", "{\"a\": 1}"));
        assert!(store.learned_model(b + 100).await.unwrap().is_none());

        // An unknown model is refused and adds nothing.
        assert!(
            store
                .activate_learned(Some(b + 100), 1.0, 1)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.learned_activations(10).await.unwrap().is_empty());

        let first = store
            .activate_learned(Some(a), 0.5, 300)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (first.model_id, first.weight, first.restores),
            (Some(a), 0.5, None)
        );
        // Weights are clamped; not a number is the model alone.
        let second = store
            .activate_learned(Some(b), 3.0, 400)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.weight, 1.0);
        let off = store
            .activate_learned(None, f64::NAN, 500)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((off.model_id, off.weight), (None, 1.0));
        let history = store.learned_activations(10).await.unwrap();
        assert_eq!(
            history.iter().map(|h| h.id).collect::<Vec<_>>(),
            vec![off.id, second.id, first.id]
        );
        assert_eq!(
            store.learned_activations(1).await.unwrap(),
            vec![off.clone()]
        );

        // Rolling back: to b, then to a (with its weight), then to the rules alone of before
        // the first activation, then nothing is left.
        let back = store.rollback_learned(600).await.unwrap().unwrap();
        assert_eq!(
            (back.model_id, back.weight, back.restores),
            (Some(b), 1.0, Some(second.id))
        );
        let back = store.rollback_learned(700).await.unwrap().unwrap();
        assert_eq!(
            (back.model_id, back.weight, back.restores),
            (Some(a), 0.5, Some(first.id))
        );
        assert_eq!(back.activated_at, 700);
        let start = store.rollback_learned(800).await.unwrap().unwrap();
        assert_eq!(
            (start.model_id, start.restores),
            (None, Some(brim_store::RESTORES_START))
        );
        assert!(store.rollback_learned(900).await.unwrap().is_none());
        assert_eq!(store.learned_activations(1).await.unwrap()[0], start);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_rollbacks_at_once_go_back_twice() {
    for_each_store!(|store| {
        let mut ids = Vec::new();
        for v in 0..3 {
            let id = store
                .add_learned_model(&model("m", &v.to_string(), "{}"), v)
                .await
                .unwrap();
            store
                .activate_learned(Some(id), 1.0, v)
                .await
                .unwrap()
                .unwrap();
            ids.push(id);
        }
        let (x, y) = tokio::join!(store.rollback_learned(10), store.rollback_learned(10));
        let mut restored = vec![
            x.unwrap().unwrap().model_id.unwrap(),
            y.unwrap().unwrap().model_id.unwrap(),
        ];
        restored.sort();
        assert_eq!(restored, vec![ids[0], ids[1]]);
        let now = store.learned_activations(1).await.unwrap();
        assert_eq!(now[0].model_id, Some(ids[0]));
    });
}
