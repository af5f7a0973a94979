//! The offline vulnerability database: OSV records (as JSON text) indexed by the packages
//! they name. The store does not read the records; the caller (which knows the OSV format)
//! passes each record's id, times, JSON and package keys.

use crate::{Result, Store, now_ms};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// One record to import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisoryRow {
    /// The advisory id.
    pub id: String,
    /// When the record last changed (RFC 3339); a newer one replaces an older one.
    pub modified: String,
    /// When it was published (RFC 3339).
    pub published: Option<String>,
    /// When it was withdrawn, if it was.
    pub withdrawn: Option<String>,
    /// The whole record, as JSON.
    pub record: String,
    /// (ecosystem family, normalised package name) of every package it names.
    pub packages: Vec<(String, String)>,
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Records that were not in the store.
    pub inserted: u64,
    /// Records replaced by a newer `modified`.
    pub updated: u64,
    /// Records already present with the same or a newer `modified`.
    pub unchanged: u64,
}

/// The database's state for one ecosystem family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EcosystemStatus {
    /// The ecosystem family (`PyPI`, `Go`, `Debian`).
    pub ecosystem: String,
    /// Records that name a package of it and are not withdrawn.
    pub records: i64,
    /// Withdrawn records that name a package of it.
    pub withdrawn: i64,
    /// The newest `modified`, ignoring placeholder dates before 1970 (Go's repository copies
    /// carry `0001-01-01T00:00:00Z`); `None` when no record has a real one.
    pub newest_modified: Option<String>,
    /// The newest `published`, ignoring placeholder dates the same way.
    pub newest_published: Option<String>,
    /// When a record of it was last imported (epoch milliseconds): the only freshness
    /// signal for a database whose records carry placeholder dates.
    pub last_imported: Option<i64>,
}

/// Records per transaction: big enough to amortise the commit, small enough to keep a
/// PostgreSQL transaction short.
const BATCH: usize = 1000;
/// Rows per multi-row INSERT, well under SQLite's and PostgreSQL's parameter limits.
const ROWS_PER_INSERT: usize = 100;
/// Package keys per lookup query.
const KEYS_PER_QUERY: usize = 200;

/// Orders RFC 3339 times written with or without fractional seconds: `…:23Z` is before
/// `…:23.5Z`, which plain string order gets wrong.
fn time_key(time: &str) -> (&str, &str) {
    let time = time.trim().trim_end_matches(['Z', 'z']);
    match time.split_once('.') {
        Some((seconds, fraction)) => (seconds, fraction),
        None => (time, ""),
    }
}

impl Store {
    /// Imports records, one transaction per batch of 1000. A record already present is
    /// replaced only by a strictly newer `modified`, so importing the same data again changes
    /// nothing.
    pub async fn import_advisories(&self, rows: &[AdvisoryRow]) -> Result<ImportCounts> {
        let mut counts = ImportCounts::default();
        let now = now_ms();
        for batch in rows.chunks(BATCH) {
            let mut tx = self.begin_write().await?;
            let mut known: HashMap<String, String> = HashMap::new();
            let ids: Vec<&str> = batch.iter().map(|row| row.id.as_str()).collect();
            for chunk in ids.chunks(KEYS_PER_QUERY) {
                let sql = format!(
                    "SELECT id, modified FROM advisories WHERE id IN ({})",
                    placeholders(1, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(*id);
                }
                for row in query.fetch_all(&mut *tx).await? {
                    known.insert(row.try_get("id")?, row.try_get("modified")?);
                }
            }
            let mut inserts: Vec<&AdvisoryRow> = Vec::new();
            let mut updates: Vec<&AdvisoryRow> = Vec::new();
            // The newest row per id within the batch decides.
            let mut chosen: HashMap<&str, &AdvisoryRow> = HashMap::new();
            for row in batch {
                match chosen.get(row.id.as_str()) {
                    Some(kept) if time_key(&kept.modified) >= time_key(&row.modified) => {
                        counts.unchanged += 1;
                    }
                    Some(_) => {
                        counts.unchanged += 1;
                        chosen.insert(&row.id, row);
                    }
                    None => {
                        chosen.insert(&row.id, row);
                    }
                }
            }
            let mut chosen: Vec<&AdvisoryRow> = chosen.into_values().collect();
            chosen.sort_by(|a, b| a.id.cmp(&b.id));
            for row in chosen {
                match known.get(&row.id) {
                    None => inserts.push(row),
                    Some(stored) if time_key(&row.modified) > time_key(stored) => {
                        updates.push(row);
                    }
                    Some(_) => counts.unchanged += 1,
                }
            }
            for row in &updates {
                sqlx::query("DELETE FROM advisory_packages WHERE advisory = $1")
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM advisories WHERE id = $1")
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let written: Vec<&AdvisoryRow> =
                inserts.iter().chain(updates.iter()).copied().collect();
            for chunk in written.chunks(ROWS_PER_INSERT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("({})", placeholders(i * 6 + 1, 6)))
                    .collect();
                let sql = format!(
                    "INSERT INTO advisories (id, modified, published, withdrawn, record, imported_at) VALUES {}",
                    values.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in chunk {
                    query = query
                        .bind(&row.id)
                        .bind(&row.modified)
                        .bind(&row.published)
                        .bind(&row.withdrawn)
                        .bind(&row.record)
                        .bind(now);
                }
                query.execute(&mut *tx).await?;
            }
            let mut packages: Vec<(&str, &str, &str)> = written
                .iter()
                .flat_map(|row| {
                    row.packages.iter().map(|(ecosystem, name)| {
                        (ecosystem.as_str(), name.as_str(), row.id.as_str())
                    })
                })
                .collect();
            packages.sort_unstable();
            packages.dedup();
            for chunk in packages.chunks(ROWS_PER_INSERT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("({})", placeholders(i * 3 + 1, 3)))
                    .collect();
                let sql = format!(
                    "INSERT INTO advisory_packages (ecosystem, name, advisory) VALUES {}",
                    values.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (ecosystem, name, advisory) in chunk {
                    query = query.bind(*ecosystem).bind(*name).bind(*advisory);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            counts.inserted += inserts.len() as u64;
            counts.updated += updates.len() as u64;
        }
        Ok(counts)
    }

    /// The JSON of every non-withdrawn record that names one of the (ecosystem family,
    /// normalised name) keys, each record once, sorted by id.
    pub async fn advisories_for(&self, packages: &[(String, String)]) -> Result<Vec<String>> {
        let mut found: std::collections::BTreeMap<String, String> = Default::default();
        for chunk in packages.chunks(KEYS_PER_QUERY) {
            let conditions: Vec<String> = (0..chunk.len())
                .map(|i| format!("(ecosystem = ${} AND name = ${})", i * 2 + 1, i * 2 + 2))
                .collect();
            let sql = format!(
                "SELECT id, record FROM advisories WHERE withdrawn IS NULL AND id IN \
                 (SELECT advisory FROM advisory_packages WHERE {})",
                conditions.join(" OR ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (ecosystem, name) in chunk {
                query = query.bind(ecosystem).bind(name);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.insert(row.try_get("id")?, row.try_get("record")?);
            }
        }
        Ok(found.into_values().collect())
    }

    /// Counts and newest dates per ecosystem family, sorted by family.
    pub async fn advisory_status(&self) -> Result<Vec<EcosystemStatus>> {
        let rows = sqlx::query(
            "SELECT p.ecosystem AS ecosystem, \
               COUNT(DISTINCT CASE WHEN a.withdrawn IS NULL THEN a.id END) AS records, \
               COUNT(DISTINCT CASE WHEN a.withdrawn IS NOT NULL THEN a.id END) AS withdrawn, \
               MAX(CASE WHEN a.modified >= '1970' THEN a.modified END) AS newest_modified, \
               MAX(CASE WHEN a.published >= '1970' THEN a.published END) AS newest_published, \
               MAX(a.imported_at) AS last_imported \
             FROM advisory_packages p JOIN advisories a ON a.id = p.advisory \
             GROUP BY p.ecosystem ORDER BY p.ecosystem",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(status_from_row).collect()
    }
}

fn status_from_row(row: &AnyRow) -> Result<EcosystemStatus> {
    Ok(EcosystemStatus {
        ecosystem: row.try_get("ecosystem")?,
        records: row.try_get("records")?,
        withdrawn: row.try_get("withdrawn")?,
        newest_modified: row.try_get("newest_modified")?,
        newest_published: row.try_get("newest_published")?,
        last_imported: row.try_get("last_imported")?,
    })
}

/// `$first, $first+1, …` for `count` parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_seconds_order_after_whole_seconds() {
        assert!(time_key("2023-11-07T20:24:23.5Z") > time_key("2023-11-07T20:24:23Z"));
        assert!(time_key("2024-01-01T00:00:00Z") > time_key("2023-12-31T23:59:59.999Z"));
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
