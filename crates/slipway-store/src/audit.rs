//! The audit log in the store: appends inside the transaction of the change they record.
//!
//! `audit_head` holds the last seq and hash. Every append updates it first, which takes the
//! database's write lock (SQLite) or the row's lock (PostgreSQL) before anything is read, so
//! appenders in other processes queue behind it and seq stays dense, with no gaps and no
//! duplicates. A transaction that rolls back takes its entry and the head update with it.

use crate::{Result, Store, StoreError, now_ms};
use slipway_audit::{Checkpoint, Entry, Event, SignedCheckpoint};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

/// Something to record in the audit log.
pub type AuditEvent = Event;
/// An entry of the audit log.
pub type AuditEntry = Entry;

/// Which entries [`Store::audit_entries`] returns. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries about this subject.
    pub subject: Option<String>,
    /// Entries by this actor.
    pub actor: Option<String>,
    /// Entries of this action; a trailing `.*` (`release.*`) matches the prefix.
    pub action: Option<String>,
    /// Entries at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Entries with seq above this.
    pub after_seq: Option<i64>,
    /// At most this many (the newest ones when `newest_first`, else the oldest ones).
    pub limit: Option<i64>,
    /// Newest first instead of in seq order.
    pub newest_first: bool,
}

/// A checkpoint as stored: with the signer's public key, so an export can carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The checkpoint and its signature.
    pub signed: SignedCheckpoint,
    /// The signer's PKIX PEM public key, as it was when signing (not a trust anchor: verify
    /// against keys trusted elsewhere).
    pub public_key_pem: String,
}

const ENTRY_COLUMNS: &str = "seq, at, actor, action, subject, details, prev, hash";

impl Store {
    /// Appends one entry in its own transaction.
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry> {
        let mut tx = self.begin_write().await?;
        let entry = append_in(&mut tx, event, now_ms()).await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Entries matching `filter`.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut conditions = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mut next = |value: Bind, condition: &str, binds: &mut Vec<Bind>| {
            binds.push(value);
            conditions.push(condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(subject) = &filter.subject {
            next(Bind::Text(subject.clone()), "subject = ?", &mut binds);
        }
        if let Some(actor) = &filter.actor {
            next(Bind::Text(actor.clone()), "actor = ?", &mut binds);
        }
        if let Some(action) = &filter.action {
            match action.strip_suffix(".*") {
                Some(prefix) => {
                    // A range instead of LIKE: no escaping, and the action index serves it.
                    next(Bind::Text(format!("{prefix}.")), "action >= ?", &mut binds);
                    next(Bind::Text(format!("{prefix}/")), "action < ?", &mut binds);
                }
                None => next(Bind::Text(action.clone()), "action = ?", &mut binds),
            }
        }
        if let Some(since) = filter.since_ms {
            next(Bind::Int(since), "at >= ?", &mut binds);
        }
        if let Some(after) = filter.after_seq {
            next(Bind::Int(after), "seq > ?", &mut binds);
        }
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(if filter.newest_first {
            " ORDER BY seq DESC"
        } else {
            " ORDER BY seq"
        });
        if let Some(limit) = filter.limit {
            binds.push(Bind::Int(limit.max(0)));
            sql.push_str(&format!(" LIMIT ${}", binds.len()));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(number) => query.bind(number),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Up to `limit` entries with seq above `after_seq`, in seq order: page through a log of
    /// any length in bounded memory (verify, export).
    pub async fn audit_page(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = self.raw_audit_page(after_seq, limit).await?;
        Ok(rows.into_iter().map(entry_from_raw).collect())
    }

    /// Hands every entry with seq above `after_seq`, in seq order, to `visit` together with
    /// `state`, and returns the state. `visit` runs on a thread of its own while the next page
    /// of `page` entries is read, so a whole-log pass (verification) costs about the slower of
    /// reading and visiting rather than their sum; at most three pages are held at once.
    /// Stops early when `visit` returns `false`. A panic in `visit` is resumed here.
    pub async fn scan_audit<S, F>(
        &self,
        after_seq: i64,
        page: i64,
        state: S,
        mut visit: F,
    ) -> Result<S>
    where
        S: Send + 'static,
        F: FnMut(&mut S, &AuditEntry) -> bool + Send + 'static,
    {
        let (pages, mut received) = tokio::sync::mpsc::channel::<Vec<RawEntry>>(1);
        let visitor = tokio::task::spawn_blocking(move || {
            let mut state = state;
            while let Some(rows) = received.blocking_recv() {
                for row in rows {
                    if !visit(&mut state, &entry_from_raw(row)) {
                        return state;
                    }
                }
            }
            state
        });
        let page = page.max(1);
        let read = async {
            let mut after = after_seq;
            loop {
                let rows = self.raw_audit_page(after, page).await?;
                let Some(last) = rows.last() else {
                    return Ok(());
                };
                after = last.0;
                let full = rows.len() as i64 == page;
                // A closed channel means the visitor stopped: nothing more to read.
                if pages.send(rows).await.is_err() || !full {
                    return Ok(());
                }
            }
        }
        .await;
        drop(pages);
        let state = match visitor.await {
            Ok(state) => state,
            Err(failed) => std::panic::resume_unwind(failed.into_panic()),
        };
        read.map(|()| state)
    }

    /// One entry by seq.
    pub async fn audit_entry(&self, seq: i64) -> Result<Option<AuditEntry>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq = $1"
        )))
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// The seq of the first entry at or after `at_ms`, if any.
    pub async fn audit_first_seq_since(&self, at_ms: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(seq) FROM audit_log WHERE at >= $1")
            .bind(at_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// The last entry's seq and hash; `None` for an empty log.
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// How many entries the head record (updated by every append) says were appended:
    /// unsigned, but a cut made after the last checkpoint shows against it.
    pub async fn audit_head_record(&self) -> Result<i64> {
        let row = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
    }

    /// Stores a signed checkpoint; `false` when one for that count exists already (it is
    /// kept: checkpoints are never replaced).
    pub async fn record_checkpoint(
        &self,
        signed: &SignedCheckpoint,
        public_key_pem: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO audit_checkpoints (count, head, at, key_id, public_key, signature) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (count) DO NOTHING",
        )
        .bind(signed.checkpoint.count)
        .bind(&signed.checkpoint.head)
        .bind(signed.checkpoint.at_ms)
        .bind(&signed.key_id)
        .bind(public_key_pem)
        .bind(&signed.signature)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stored checkpoints with count at or above `from_count`, oldest first.
    pub async fn checkpoints(&self, from_count: i64) -> Result<Vec<StoredCheckpoint>> {
        let rows = sqlx::query(
            "SELECT count, head, at, key_id, public_key, signature FROM audit_checkpoints \
             WHERE count >= $1 ORDER BY count",
        )
        .bind(from_count)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredCheckpoint {
                    signed: SignedCheckpoint {
                        checkpoint: Checkpoint {
                            count: row.try_get("count")?,
                            head: row.try_get("head")?,
                            at_ms: row.try_get("at")?,
                        },
                        key_id: row.try_get("key_id")?,
                        signature: row.try_get("signature")?,
                    },
                    public_key_pem: row.try_get("public_key")?,
                })
            })
            .collect()
    }

    /// The checkpoints due and not yet taken, to be signed and recorded: one at every multiple
    /// of `every` since the last checkpoint, and one at the head if it is past the last.
    pub async fn pending_checkpoints(&self, every: i64) -> Result<Vec<Checkpoint>> {
        let last: i64 = sqlx::query("SELECT COALESCE(MAX(count), 0) FROM audit_checkpoints")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let Some((head_seq, head_hash)) = self.audit_head().await? else {
            return Ok(Vec::new());
        };
        if head_seq <= last {
            return Ok(Vec::new());
        }
        let at_ms = now_ms();
        let rows = sqlx::query(
            "SELECT seq, hash FROM audit_log WHERE seq > $1 AND seq < $2 AND seq % $3 = 0 ORDER BY seq",
        )
        .bind(last)
        .bind(head_seq)
        .bind(every.max(1))
        .fetch_all(&self.pool)
        .await?;
        let mut due = Vec::with_capacity(rows.len() + 1);
        for row in &rows {
            due.push(Checkpoint {
                count: row.try_get(0)?,
                head: row.try_get(1)?,
                at_ms,
            });
        }
        due.push(Checkpoint {
            count: head_seq,
            head: head_hash,
            at_ms,
        });
        Ok(due)
    }

    /// Up to `limit` rows with seq above `after_seq`, in seq order, their details not parsed.
    async fn raw_audit_page(&self, after_seq: i64, limit: i64) -> Result<Vec<RawEntry>> {
        let limit = limit.max(1);
        let Some(reader) = &self.reader else {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, subject, details, prev, hash \
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            return rows.iter().map(raw_from_row).collect();
        };
        // On SQLite the page comes back as one JSON array of rows built inside SQLite: handing
        // rows one at a time from the driver's thread costs more than reading them (a copy of
        // every value and a channel hand-off per row). Every value keeps its type (integers
        // stay integers, text stays text, details stay their stored text), so the entries are
        // exactly what a row-by-row read gives. The subquery decides which rows (the `limit`
        // lowest seqs above `after_seq`); their order is set here, as SQL leaves the order in
        // an aggregate open (an ORDER BY inside it would make SQLite sort into a temporary
        // b-tree), and a page that comes back in order is checked in one pass.
        let page: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(seq, at, actor, action, subject, details, prev, \
             hash)) FROM (SELECT seq, at, actor, action, subject, details, prev, hash \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2)",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_one(reader)
        .await?;
        let mut rows: Vec<RawEntry> = serde_json::from_str(&page)
            .map_err(|problem| StoreError::Query(sqlx::Error::Decode(Box::new(problem))))?;
        if !rows.is_sorted_by_key(|row| row.0) {
            rows.sort_unstable_by_key(|row| row.0);
        }
        Ok(rows)
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Takes the lock every append takes (SQLite's write lock, PostgreSQL's row lock on the head)
/// without appending: for a transaction that must read before its first write and append later,
/// so that concurrent ones queue here instead of racing on what they read.
pub(crate) async fn lock_head(tx: &mut Transaction<'_, Any>) -> Result<()> {
    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Appends an entry inside the caller's transaction, so a state change and the entry that
/// records it commit or roll back together. The head update comes first: on SQLite call
/// this before the transaction reads anything it then writes, or as its first write.
pub(crate) async fn append_in(
    tx: &mut Transaction<'_, Any>,
    event: &AuditEvent,
    at_ms: i64,
) -> Result<AuditEntry> {
    slipway_audit::check_event(event)?;
    sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let (seq, prev): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
    let entry = Entry::chain(seq, at_ms, event, &prev)?;
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.seq)
    .bind(entry.at_ms)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(entry.details.to_string())
    .bind(&entry.prev)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&entry.hash)
        .execute(&mut **tx)
        .await?;
    Ok(entry)
}

/// `run.created`: who started which commit, for which event.
pub(crate) fn run_created(id: &str, number: i64, new: &crate::NewRun) -> AuditEvent {
    AuditEvent::new(
        actor_or_unknown(&new.actor),
        "run.created",
        id,
        serde_json::json!({
            "number": number,
            "repository": new.repository,
            "commit": new.commit_sha,
            "ref": new.git_ref,
            "event": new.event,
            "pipeline": new.pipeline_path,
            "pipeline_sha256": new.pipeline_sha256,
            "dirty": new.dirty,
        }),
    )
}

/// `run.finished`, after the run's final status was written in the same transaction.
pub(crate) async fn append_run_finished(
    tx: &mut Transaction<'_, Any>,
    run_id: &str,
    at_ms: i64,
) -> Result<()> {
    let Some(row) = sqlx::query("SELECT actor, attempt, status, note FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    let actor: String = row.try_get("actor")?;
    let event = AuditEvent::new(
        actor_or_unknown(&actor),
        "run.finished",
        run_id,
        serde_json::json!({
            "status": row.try_get::<String, _>("status")?,
            "attempt": row.try_get::<i64, _>("attempt")?,
            "note": row.try_get::<Option<String>, _>("note")?,
        }),
    );
    append_in(tx, &event, at_ms).await?;
    Ok(())
}

fn actor_or_unknown(actor: &str) -> &str {
    if actor.trim().is_empty() {
        "unknown"
    } else {
        actor
    }
}

/// An audit row as read: seq, at, actor, action, subject, details (JSON text), prev, hash.
type RawEntry = (i64, i64, String, String, String, String, String, String);

fn raw_from_row(row: &AnyRow) -> Result<RawEntry> {
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
        row.try_get(7)?,
    ))
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry> {
    raw_from_row(row).map(entry_from_raw)
}

fn entry_from_raw(
    (seq, at_ms, actor, action, subject, details, prev, hash): RawEntry,
) -> AuditEntry {
    // Details that are not JSON any more were edited in the database: keep them visible as a
    // string, which verification then reports at this entry (details must be an object).
    let details = serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details));
    Entry {
        seq,
        at_ms,
        actor,
        action,
        subject,
        details,
        prev,
        hash,
    }
}
