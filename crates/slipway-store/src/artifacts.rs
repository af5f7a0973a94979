//! The artifact index: artifacts by manifest digest, their tags, the blobs each holds, the
//! evidence attached to each digest, and the releases that put a digest in an environment.

use crate::{Result, Store, StoreError, now_ms};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// An artifact as recorded. `digest` is the OCI manifest digest (`sha256:<hex>`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ArtifactRecord {
    pub digest: String,
    pub name: String,
    pub run_id: Option<String>,
    pub repository: String,
    pub commit_sha: String,
    pub git_ref: String,
    pub event: String,
    /// Bytes of the manifest, config and layers together.
    pub size: i64,
    pub created_at: i64,
    pub tags: Vec<String>,
}

/// What a new artifact is recorded with.
#[derive(Clone, Debug)]
pub struct NewArtifact {
    pub digest: String,
    pub name: String,
    pub run_id: Option<String>,
    pub repository: String,
    pub commit_sha: String,
    pub git_ref: String,
    pub event: String,
    pub size: i64,
    /// Every blob the artifact holds: manifest, config and layers.
    pub blobs: Vec<String>,
}

/// A piece of evidence: a signed envelope stored as a blob under its own digest.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvidenceRecord {
    pub digest: String,
    /// The artifact digest the evidence is about.
    pub subject: String,
    /// `provenance`, `sbom-cyclonedx`, `sbom-spdx`, `test-results`, …
    pub kind: String,
    pub predicate_type: String,
    pub media_type: String,
    pub size: i64,
    pub created_at: i64,
}

/// One release: an environment started running a digest.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReleaseRecord {
    pub id: String,
    pub environment: String,
    pub digest: String,
    pub created_at: i64,
}

impl Store {
    /// Records an artifact and tags it, in one transaction. Recording a digest again is a no-op
    /// for the artifact; a tag that already names another digest is refused
    /// ([`StoreError::TagMoved`]): tags never move.
    pub async fn record_artifact(&self, new: &NewArtifact, tag: &str) -> Result<ArtifactRecord> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let exists = sqlx::query("SELECT 1 FROM artifacts WHERE digest = $1")
            .bind(&new.digest)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            sqlx::query(
                "INSERT INTO artifacts (digest, name, run_id, repository, commit_sha, git_ref, event, size, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&new.digest)
            .bind(&new.name)
            .bind(&new.run_id)
            .bind(&new.repository)
            .bind(&new.commit_sha)
            .bind(&new.git_ref)
            .bind(&new.event)
            .bind(new.size)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for blob in &new.blobs {
                sqlx::query(
                    "INSERT INTO artifact_blobs (artifact, blob) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(&new.digest)
                .bind(blob)
                .execute(&mut *tx)
                .await?;
            }
        }
        insert_tag(&mut tx, tag, &new.digest, now).await?;
        tx.commit().await?;
        self.artifact(&new.digest)
            .await?
            .ok_or_else(|| StoreError::NoArtifact(new.digest.clone()))
    }

    /// Adds a tag to a recorded artifact; refused when the tag names another digest.
    pub async fn tag_artifact(&self, tag: &str, digest: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if sqlx::query("SELECT 1 FROM artifacts WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Err(StoreError::NoArtifact(digest.to_owned()));
        }
        insert_tag(&mut tx, tag, digest, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One artifact by its full digest.
    pub async fn artifact(&self, digest: &str) -> Result<Option<ArtifactRecord>> {
        let row = sqlx::query(
            "SELECT digest, name, run_id, repository, commit_sha, git_ref, event, size, created_at FROM artifacts WHERE digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => {
                let mut record = artifact_from_row(&row)?;
                record.tags = self.tags_of(digest).await?;
                Ok(Some(record))
            }
            None => Ok(None),
        }
    }

    /// Finds an artifact by digest (`sha256:<hex>`, or a unique prefix of at least 12 hex digits,
    /// with or without `sha256:`) or by tag.
    pub async fn resolve_artifact(&self, reference: &str) -> Result<ArtifactRecord> {
        if let Some(digest) = sqlx::query("SELECT digest FROM artifact_tags WHERE tag = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?
        {
            let digest: String = digest.try_get(0)?;
            return self
                .artifact(&digest)
                .await?
                .ok_or(StoreError::NoArtifact(digest));
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        let is_hex = hex.len() >= 12
            && hex.len() <= 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hex {
            return Err(StoreError::NoArtifact(reference.to_owned()));
        }
        let rows = sqlx::query("SELECT digest FROM artifacts WHERE digest LIKE $1 LIMIT 2")
            .bind(format!("sha256:{hex}%"))
            .fetch_all(&self.pool)
            .await?;
        match rows.as_slice() {
            [row] => {
                let digest: String = row.try_get(0)?;
                self.artifact(&digest)
                    .await?
                    .ok_or(StoreError::NoArtifact(digest))
            }
            [] => Err(StoreError::NoArtifact(reference.to_owned())),
            _ => Err(StoreError::AmbiguousDigest(reference.to_owned())),
        }
    }

    /// Recorded artifacts, newest first.
    pub async fn artifacts(&self, limit: i64) -> Result<Vec<ArtifactRecord>> {
        let rows = sqlx::query(
            "SELECT digest, name, run_id, repository, commit_sha, git_ref, event, size, created_at FROM artifacts \
             ORDER BY created_at DESC, digest LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut record = artifact_from_row(row)?;
            record.tags = self.tags_of(&record.digest).await?;
            out.push(record);
        }
        Ok(out)
    }

    /// The blobs an artifact holds.
    pub async fn artifact_blobs(&self, digest: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT blob FROM artifact_blobs WHERE artifact = $1 ORDER BY blob")
            .bind(digest)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(StoreError::from))
            .collect()
    }

    /// Records a piece of evidence; recording the same digest again for the same subject is a
    /// no-op, for another subject an error ([`StoreError::EvidenceElsewhere`]).
    pub async fn record_evidence(&self, evidence: &EvidenceRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO evidence (digest, subject, kind, predicate_type, media_type, size, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&evidence.digest)
        .bind(&evidence.subject)
        .bind(&evidence.kind)
        .bind(&evidence.predicate_type)
        .bind(&evidence.media_type)
        .bind(evidence.size)
        .bind(evidence.created_at)
        .execute(&mut *tx)
        .await?;
        let existing: String = sqlx::query("SELECT subject FROM evidence WHERE digest = $1")
            .bind(&evidence.digest)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if existing != evidence.subject {
            return Err(StoreError::EvidenceElsewhere {
                digest: evidence.digest.clone(),
                existing,
                attempted: evidence.subject.clone(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// The evidence attached to a digest, oldest first.
    pub async fn evidence_for(&self, subject: &str) -> Result<Vec<EvidenceRecord>> {
        let rows = sqlx::query(
            "SELECT digest, subject, kind, predicate_type, media_type, size, created_at FROM evidence \
             WHERE subject = $1 ORDER BY created_at, kind, digest",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EvidenceRecord {
                    digest: row.try_get("digest")?,
                    subject: row.try_get("subject")?,
                    kind: row.try_get("kind")?,
                    predicate_type: row.try_get("predicate_type")?,
                    media_type: row.try_get("media_type")?,
                    size: row.try_get("size")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Removes an artifact with its tags and evidence from the index, in one transaction.
    /// Returns the blobs (layers, config, manifest and evidence) that no remaining artifact or
    /// evidence refers to: the caller deletes those from the object store.
    pub async fn delete_artifact(&self, digest: &str) -> Result<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let mut candidates: Vec<String> =
            sqlx::query("SELECT blob FROM artifact_blobs WHERE artifact = $1")
                .bind(digest)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
        let evidence: Vec<String> = sqlx::query("SELECT digest FROM evidence WHERE subject = $1")
            .bind(digest)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for statement in [
            "DELETE FROM artifact_tags WHERE digest = $1",
            "DELETE FROM artifact_blobs WHERE artifact = $1",
            "DELETE FROM evidence WHERE subject = $1",
            "DELETE FROM artifacts WHERE digest = $1",
        ] {
            sqlx::query(statement)
                .bind(digest)
                .execute(&mut *tx)
                .await?;
        }
        let mut unreferenced = evidence;
        candidates.sort();
        candidates.dedup();
        for blob in candidates {
            let still_used = sqlx::query("SELECT 1 FROM artifact_blobs WHERE blob = $1 LIMIT 1")
                .bind(&blob)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
                || sqlx::query("SELECT 1 FROM evidence WHERE digest = $1 LIMIT 1")
                    .bind(&blob)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            if !still_used {
                unreferenced.push(blob);
            }
        }
        tx.commit().await?;
        unreferenced.sort();
        unreferenced.dedup();
        Ok(unreferenced)
    }

    /// Records that an environment now runs a digest.
    pub async fn record_release(&self, environment: &str, digest: &str) -> Result<ReleaseRecord> {
        let record = ReleaseRecord {
            id: format!("{}-{}", environment, crate::short_id()),
            environment: environment.to_owned(),
            digest: digest.to_owned(),
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO releases (id, environment, digest, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&record.id)
        .bind(&record.environment)
        .bind(&record.digest)
        .bind(record.created_at)
        .execute(&self.pool)
        .await?;
        Ok(record)
    }

    /// Every release, newest first.
    pub async fn releases(&self) -> Result<Vec<ReleaseRecord>> {
        let rows = sqlx::query(
            "SELECT id, environment, digest, created_at FROM releases ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReleaseRecord {
                    id: row.try_get("id")?,
                    environment: row.try_get("environment")?,
                    digest: row.try_get("digest")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Every (artifact, blob) pair, and every (subject, evidence digest) pair: what garbage
    /// collection needs to know which blobs a deletion would free.
    pub async fn blob_references(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT artifact, blob FROM artifact_blobs UNION ALL SELECT subject, digest FROM evidence ORDER BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Every blob named by an artifact or a piece of evidence.
    pub async fn referenced_blobs(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT blob FROM artifact_blobs UNION SELECT digest FROM evidence ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(StoreError::from))
            .collect()
    }

    async fn tags_of(&self, digest: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT tag FROM artifact_tags WHERE digest = $1 ORDER BY created_at, tag")
                .bind(digest)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(StoreError::from))
            .collect()
    }
}

async fn insert_tag(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tag: &str,
    digest: &str,
    now: i64,
) -> Result<()> {
    let existing = sqlx::query("SELECT digest FROM artifact_tags WHERE tag = $1")
        .bind(tag)
        .fetch_optional(&mut **tx)
        .await?;
    match existing {
        Some(row) => {
            let existing: String = row.try_get(0)?;
            if existing == digest {
                Ok(())
            } else {
                Err(StoreError::TagMoved {
                    tag: tag.to_owned(),
                    existing,
                    attempted: digest.to_owned(),
                })
            }
        }
        None => {
            sqlx::query("INSERT INTO artifact_tags (tag, digest, created_at) VALUES ($1, $2, $3)")
                .bind(tag)
                .bind(digest)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
    }
}

fn artifact_from_row(row: &AnyRow) -> Result<ArtifactRecord> {
    Ok(ArtifactRecord {
        digest: row.try_get("digest")?,
        name: row.try_get("name")?,
        run_id: row.try_get("run_id")?,
        repository: row.try_get("repository")?,
        commit_sha: row.try_get("commit_sha")?,
        git_ref: row.try_get("git_ref")?,
        event: row.try_get("event")?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
        tags: Vec::new(),
    })
}
