//! The registry's lookup API. It answers by pseudonymous subject id and
//! returns what eligibility needs, never the RRN or the name: the identity
//! service keeps those, and the registry should not hand them back out.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::error::ApiError;

/// The response of `GET /v1/subjects/{subject_id}`.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Subject {
    pub subject_id: String,
    /// Serialised "YYYY-MM-DD".
    pub birth_date: NaiveDate,
    /// "M" or "F".
    pub sex: String,
    pub region_code: String,
    pub insured: bool,
    pub priority_groups: Vec<String>,
    /// `doses[i]` is the date dose i+1 was given.
    pub doses: Vec<NaiveDate>,
}

/// Subject ids are 20-byte HMACs in lowercase hex.
pub fn is_subject_id(value: &str) -> bool {
    value.len() == 40 && value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub async fn find_subject(pool: &PgPool, subject_id: &str) -> Result<Option<Subject>, sqlx::Error> {
    sqlx::query_as(
        "SELECT subject_id, birth_date, sex::text AS sex, region_code, insured, priority_groups, doses \
         FROM people WHERE subject_id = $1",
    )
    .bind(subject_id)
    .fetch_optional(pool)
    .await
}

/// `GET /v1/subjects/{subject_id}`
pub async fn get_subject(State(pool): State<PgPool>, Path(subject_id): Path<String>) -> Result<Json<Subject>, ApiError> {
    if !is_subject_id(&subject_id) {
        return Err(ApiError::bad_request("subject_id", "must be 40 lowercase hex characters"));
    }
    match find_subject(&pool, &subject_id).await {
        Ok(Some(subject)) => Ok(Json(subject)),
        Ok(None) => Err(ApiError::not_found("unknown subject")),
        Err(error) => {
            tracing::error!(%error, "registry lookup failed");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "registry database unavailable"))
        }
    }
}

/// Most subject ids one batch may ask for.
pub const MAX_BATCH: usize = 256;

/// The body of `POST /v1/subjects/batch-get`.
#[derive(Debug, Deserialize)]
pub struct BatchGet {
    pub subject_ids: Vec<String>,
}

/// The response of `POST /v1/subjects/batch-get`: the subjects found, in no
/// particular order; an id the registry does not hold is simply absent.
#[derive(Debug, Serialize)]
pub struct BatchFound {
    pub subjects: Vec<Subject>,
}

/// `POST /v1/subjects/batch-get`: many lookups in one request and one
/// index scan (`= ANY`). A caller under load coalesces its concurrent
/// lookups into one call instead of one call each.
pub async fn batch_get(State(pool): State<PgPool>, Json(body): Json<BatchGet>) -> Result<Json<BatchFound>, ApiError> {
    if body.subject_ids.len() > MAX_BATCH {
        return Err(ApiError::bad_request("subject_ids", "at most 256 per batch"));
    }
    if !body.subject_ids.iter().all(|s| is_subject_id(s)) {
        return Err(ApiError::bad_request("subject_ids", "each must be 40 lowercase hex characters"));
    }
    sqlx::query_as(
        "SELECT subject_id, birth_date, sex::text AS sex, region_code, insured, priority_groups, doses \
         FROM people WHERE subject_id = ANY($1)",
    )
    .bind(&body.subject_ids)
    .fetch_all(&pool)
    .await
    .map(|subjects| Json(BatchFound { subjects }))
    .map_err(|error| {
        tracing::error!(%error, "registry batch lookup failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "registry database unavailable")
    })
}

/// One row of `GET /v1/stats/birth-dates`.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct BirthDateCount {
    pub birth_date: NaiveDate,
    pub priority_groups: Vec<String>,
    /// Doses already given.
    pub doses: i32,
    pub count: i64,
}

/// The response of `GET /v1/stats/birth-dates`.
#[derive(Debug, Serialize)]
pub struct BirthDateStats {
    /// Insured people counted (the uninsured are never eligible).
    pub population: i64,
    pub rows: Vec<BirthDateCount>,
}

/// `GET /v1/stats/birth-dates`: how many insured people share a birth date,
/// set of priority groups and number of doses. An aggregate, with no
/// identifier in it: what an agency could publish for another one to plan
/// with (eligibility's dry run of new rules reads it).
pub async fn birth_date_stats(State(pool): State<PgPool>) -> Result<Json<BirthDateStats>, ApiError> {
    let rows: Vec<BirthDateCount> = sqlx::query_as(
        "SELECT birth_date, priority_groups, cardinality(doses) AS doses, count(*) AS count \
         FROM people WHERE insured GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .map_err(|error| {
        tracing::error!(%error, "registry statistics failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "registry database unavailable")
    })?;
    Ok(Json(BirthDateStats { population: rows.iter().map(|r| r.count).sum(), rows }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_ids_are_40_lowercase_hex() {
        assert!(is_subject_id(&"a1".repeat(20)));
        assert!(!is_subject_id(&"A1".repeat(20)));
        assert!(!is_subject_id(&"a1".repeat(19)));
        assert!(!is_subject_id(&"g1".repeat(20)));
        assert!(!is_subject_id(&format!("{}é", "a".repeat(38))));
    }
}
