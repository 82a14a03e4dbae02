//! Enrichment's memory: providers' answers with a time to live, and each provider's request
//! slots shared by every process on one database.

/// A provider's answer as the cache keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAnswer {
    /// `true`: `record` holds the provider's record; `false`: it did not know the company.
    pub found: bool,
    /// The record (the caller's JSON) when found.
    pub record: Option<String>,
    /// When it was fetched (Unix ms).
    pub fetched_at: i64,
    /// Until when it is used (Unix ms).
    pub expires_at: i64,
}

/// The enrichment cache and the shared rate limit.
///
/// Contract every adapter keeps:
/// - `cached_answer` returns an answer only while `now < expires_at`; `cache_answer` replaces
///   the provider's answer for that lookup.
/// - `take_slot(provider, interval_us, now_us)` reserves the provider's next request slot and
///   answers its time (Unix µs; `now_us` or later): slots are at least `interval_us` apart for
///   **every caller on the database together** — one atomic statement, so two processes never
///   get the same slot. The caller waits until its slot, then sends.
pub trait EnrichmentStore {
    /// The cached answer for `lookup` at `provider`, if it has not expired at `now`.
    fn cached_answer(
        &self,
        provider: &str,
        lookup: &str,
        now: i64,
    ) -> impl Future<Output = crate::Result<Option<CachedAnswer>>> + Send;
    /// Keeps `answer` for `lookup` at `provider` (replacing any).
    fn cache_answer(
        &self,
        provider: &str,
        lookup: &str,
        answer: &CachedAnswer,
    ) -> impl Future<Output = crate::Result<()>> + Send;
    /// Reserves `provider`'s next request slot, `interval_us` after the last one reserved.
    fn take_slot(
        &self,
        provider: &str,
        interval_us: i64,
        now_us: i64,
    ) -> impl Future<Output = crate::Result<i64>> + Send;
}

/// Implements [`EnrichmentStore`]; `$max` is the database's two-argument maximum (`max` in
/// SQLite, `GREATEST` in PostgreSQL).
macro_rules! impl_enrichment {
    ($store:ty, $max:literal) => {
        impl $crate::EnrichmentStore for $store {
            async fn cached_answer(
                &self,
                provider: &str,
                lookup: &str,
                now: i64,
            ) -> $crate::Result<Option<$crate::CachedAnswer>> {
                let row: Option<(i16, Option<String>, i64, i64)> = sqlx::query_as(
                    "SELECT found, record, fetched_at, expires_at FROM enrichment_cache \
                     WHERE provider = $1 AND lookup = $2 AND expires_at > $3",
                )
                .bind(provider)
                .bind(lookup)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(
                    |(found, record, fetched_at, expires_at)| $crate::CachedAnswer {
                        found: found != 0,
                        record,
                        fetched_at,
                        expires_at,
                    },
                ))
            }

            async fn cache_answer(
                &self,
                provider: &str,
                lookup: &str,
                answer: &$crate::CachedAnswer,
            ) -> $crate::Result<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "INSERT INTO enrichment_cache \
                     (provider, lookup, found, record, fetched_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (provider, lookup) DO UPDATE SET found = excluded.found, \
                     record = excluded.record, fetched_at = excluded.fetched_at, \
                     expires_at = excluded.expires_at",
                )
                .bind(provider)
                .bind(lookup)
                .bind(i16::from(answer.found))
                .bind(answer.record.as_deref())
                .bind(answer.fetched_at)
                .bind(answer.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_slot(
                &self,
                provider: &str,
                interval_us: i64,
                now_us: i64,
            ) -> $crate::Result<i64> {
                let mut tx = self.write_tx().await?;
                let (next,): (i64,) = sqlx::query_as(concat!(
                    "INSERT INTO enrichment_rate (provider, next_at_us) VALUES ($1, $2 + $3) \
                     ON CONFLICT (provider) DO UPDATE SET next_at_us = ",
                    $max,
                    "(enrichment_rate.next_at_us, $2) + $3 RETURNING next_at_us"
                ))
                .bind(provider)
                .bind(now_us)
                .bind(interval_us.max(0))
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(next - interval_us.max(0))
            }
        }
    };
}

pub(crate) use impl_enrichment;
