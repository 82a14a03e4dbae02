//! The learned-model registry: model files kept in the database, so every server and worker
//! on one database sees the same models and the same active one.

/// A learned model to add to the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLearnedModel<'a> {
    /// The model's name (from its file).
    pub name: &'a str,
    /// The model's version (from its file).
    pub version: &'a str,
    /// What a listing shows without reading the file (JSON; the caller's shape).
    pub summary: &'a str,
    /// The model file, as uploaded.
    pub body: &'a str,
}

/// A model of the registry, without its file.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedModelInfo {
    /// The registry's id (increases in upload order).
    pub id: i64,
    /// The model's name.
    pub name: String,
    /// The model's version.
    pub version: String,
    /// What was stored as its summary.
    pub summary: String,
    /// When it was added (Unix ms).
    pub uploaded_at: i64,
}

/// A change of the active learned model.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// Increases in the order of the changes: the greatest is the one in force.
    pub id: i64,
    /// The model scoring from then on; `None`: the rules alone.
    pub model_id: Option<i64>,
    /// The model's share of the total score, 0..=1.
    pub weight: f64,
    /// For a rollback: the activation it brought back.
    pub restores: Option<i64>,
    /// When (Unix ms).
    pub activated_at: i64,
}

/// What a rollback brings back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RollbackTarget<'a> {
    /// An earlier activation (its model and weight).
    To(&'a Activation),
    /// The state before the first activation: the rules alone.
    Start,
}

/// `restores` of a rollback to [`RollbackTarget::Start`].
pub const RESTORES_START: i64 = 0;

/// What a rollback brings back, given the history (any order): the activation in force before
/// the current one — where the current one is itself a rollback, before the one it restored,
/// so rolling back twice goes back twice — or, before the first activation, the rules alone.
/// `None`: nothing to go back to (no history, or back at the start already).
pub fn rollback_target(history: &[Activation]) -> Option<RollbackTarget<'_>> {
    let mut sorted: Vec<&Activation> = history.iter().collect();
    sorted.sort_by_key(|a| a.id);
    let mut current = *sorted.last()?;
    // Bounded by the history's length: a damaged chain cannot loop.
    for _ in 0..sorted.len() {
        match current.restores {
            Some(RESTORES_START) => return None,
            Some(r) => match sorted.iter().find(|a| a.id == r) {
                Some(restored) if restored.id < current.id => current = restored,
                _ => break,
            },
            None => break,
        }
    }
    Some(
        sorted
            .iter()
            .rev()
            .find(|a| a.id < current.id)
            .map_or(RollbackTarget::Start, |a| RollbackTarget::To(a)),
    )
}

/// The registry of learned models and which one scores.
///
/// Contract every adapter keeps:
/// - Models are added, never changed: a new version of a model is a new row, so any earlier
///   one can be activated again.
/// - Activations are appended, never changed: the one with the greatest id is in force, and
///   the history says who scored when.
/// - `activate_learned` refuses (answers `None`, adds nothing) a model id that is not in the
///   registry.
/// - `rollback_learned` appends, in one transaction with reading the history, an activation
///   that brings back the [`rollback_target`]: its model and weight with `restores` naming it,
///   or before the first activation the rules alone (`restores` [`RESTORES_START`]). Two
///   rollbacks at once on one database go back twice, never both to the same place. `None`
///   when there is nothing to go back to.
pub trait LearnedModelStore {
    /// Adds a model at `now`; answers its id.
    fn add_learned_model(
        &self,
        model: &NewLearnedModel<'_>,
        now: i64,
    ) -> impl Future<Output = crate::Result<i64>> + Send;
    /// Every model, newest first, without the files.
    fn learned_models(&self) -> impl Future<Output = crate::Result<Vec<LearnedModelInfo>>> + Send;
    /// One model and its file.
    fn learned_model(
        &self,
        id: i64,
    ) -> impl Future<Output = crate::Result<Option<(LearnedModelInfo, String)>>> + Send;
    /// Makes `model_id` (or, with `None`, the rules alone) score from `now` on with `weight`
    /// (clamped to 0..=1).
    fn activate_learned(
        &self,
        model_id: Option<i64>,
        weight: f64,
        now: i64,
    ) -> impl Future<Output = crate::Result<Option<Activation>>> + Send;
    /// Brings back the activation before the current one (see the contract).
    fn rollback_learned(
        &self,
        now: i64,
    ) -> impl Future<Output = crate::Result<Option<Activation>>> + Send;
    /// The `limit` latest activations, newest first (the first is in force).
    fn learned_activations(
        &self,
        limit: u32,
    ) -> impl Future<Output = crate::Result<Vec<Activation>>> + Send;
}

pub(crate) type ActivationRow = (i64, Option<i64>, f64, Option<i64>, i64);

pub(crate) fn activation(
    (id, model_id, weight, restores, activated_at): ActivationRow,
) -> Activation {
    Activation {
        id,
        model_id,
        weight,
        restores,
        activated_at,
    }
}

/// A weight as stored: 0..=1 (not a number: 1, the model alone).
pub(crate) fn weight(w: f64) -> f64 {
    if w.is_finite() {
        w.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Implements [`LearnedModelStore`] for an adapter; `$lock` is the statement that makes a
/// rollback's read-then-append one step (SQLite's write transaction already is: empty).
macro_rules! impl_learned {
    ($store:ty, $lock:expr) => {
        impl $crate::LearnedModelStore for $store {
            async fn add_learned_model(
                &self,
                model: &$crate::NewLearnedModel<'_>,
                now: i64,
            ) -> $crate::Result<i64> {
                let mut tx = self.write_tx().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO learned_models (name, version, summary, body, uploaded_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(model.name)
                .bind(model.version)
                .bind(model.summary)
                .bind(model.body)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn learned_models(&self) -> $crate::Result<Vec<$crate::LearnedModelInfo>> {
                let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
                    "SELECT id, name, version, summary, uploaded_at FROM learned_models \
                     ORDER BY id DESC",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(id, name, version, summary, uploaded_at)| $crate::LearnedModelInfo {
                            id,
                            name,
                            version,
                            summary,
                            uploaded_at,
                        },
                    )
                    .collect())
            }

            async fn learned_model(
                &self,
                id: i64,
            ) -> $crate::Result<Option<($crate::LearnedModelInfo, String)>> {
                let row: Option<(i64, String, String, String, i64, String)> = sqlx::query_as(
                    "SELECT id, name, version, summary, uploaded_at, body FROM learned_models \
                     WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(id, name, version, summary, uploaded_at, body)| {
                    (
                        $crate::LearnedModelInfo {
                            id,
                            name,
                            version,
                            summary,
                            uploaded_at,
                        },
                        body,
                    )
                }))
            }

            async fn activate_learned(
                &self,
                model_id: Option<i64>,
                weight: f64,
                now: i64,
            ) -> $crate::Result<Option<$crate::Activation>> {
                let mut tx = self.write_tx().await?;
                if let Some(id) = model_id {
                    let known: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM learned_models WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if known.is_none() {
                        return Ok(None);
                    }
                }
                let row: $crate::learned::ActivationRow = sqlx::query_as(
                    "INSERT INTO learned_activations (model_id, weight, restores, activated_at) \
                     VALUES ($1, $2, NULL, $3) \
                     RETURNING id, model_id, weight, restores, activated_at",
                )
                .bind(model_id)
                .bind($crate::learned::weight(weight))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some($crate::learned::activation(row)))
            }

            async fn rollback_learned(
                &self,
                now: i64,
            ) -> $crate::Result<Option<$crate::Activation>> {
                let mut tx = self.write_tx().await?;
                let lock: &'static str = $lock;
                if !lock.is_empty() {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                let rows: Vec<$crate::learned::ActivationRow> = sqlx::query_as(
                    "SELECT id, model_id, weight, restores, activated_at FROM learned_activations",
                )
                .fetch_all(&mut *tx)
                .await?;
                let history: Vec<$crate::Activation> =
                    rows.into_iter().map($crate::learned::activation).collect();
                let (model_id, weight, restores) = match $crate::rollback_target(&history) {
                    None => return Ok(None),
                    Some($crate::RollbackTarget::To(a)) => (a.model_id, a.weight, a.id),
                    Some($crate::RollbackTarget::Start) => (None, 1.0, $crate::RESTORES_START),
                };
                let row: $crate::learned::ActivationRow = sqlx::query_as(
                    "INSERT INTO learned_activations (model_id, weight, restores, activated_at) \
                     VALUES ($1, $2, $3, $4) \
                     RETURNING id, model_id, weight, restores, activated_at",
                )
                .bind(model_id)
                .bind(weight)
                .bind(restores)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some($crate::learned::activation(row)))
            }

            async fn learned_activations(
                &self,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::Activation>> {
                let rows: Vec<$crate::learned::ActivationRow> = sqlx::query_as(
                    "SELECT id, model_id, weight, restores, activated_at FROM learned_activations \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map($crate::learned::activation).collect())
            }
        }
    };
}

pub(crate) use impl_learned;

#[cfg(test)]
mod tests {
    use super::*;

    fn a(id: i64, model_id: i64, restores: Option<i64>) -> Activation {
        Activation {
            id,
            model_id: Some(model_id),
            weight: 1.0,
            restores,
            activated_at: id,
        }
    }

    #[test]
    fn rolling_back_twice_goes_back_twice() {
        let id = |t: Option<RollbackTarget<'_>>| match t {
            Some(RollbackTarget::To(a)) => Some(a.id),
            Some(RollbackTarget::Start) => Some(RESTORES_START),
            None => None,
        };
        assert_eq!(id(rollback_target(&[])), None);
        assert_eq!(id(rollback_target(&[a(1, 10, None)])), Some(RESTORES_START));
        let mut history = vec![a(1, 10, None), a(2, 20, None), a(3, 30, None)];
        assert_eq!(id(rollback_target(&history)), Some(2));
        history.push(a(4, 20, Some(2)));
        assert_eq!(id(rollback_target(&history)), Some(1));
        history.push(a(5, 10, Some(1)));
        assert_eq!(id(rollback_target(&history)), Some(RESTORES_START));
        history.push(a(6, 10, Some(RESTORES_START)));
        assert_eq!(id(rollback_target(&history)), None);
        // A new activation after rollbacks: back to the one in force before it.
        history.push(a(7, 40, None));
        assert_eq!(id(rollback_target(&history)), Some(6));
        // A damaged chain (restoring itself) ends.
        assert_eq!(
            id(rollback_target(&[a(1, 1, None), a(2, 2, Some(2))])),
            Some(1)
        );
    }
}
