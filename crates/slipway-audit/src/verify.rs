//! Verifying the chain: one pass over the entries in seq order, in constant memory (the
//! checkpoints, a few per thousand entries, are held).

use crate::checkpoint::SignedCheckpoint;
use crate::entry::{Entry, ZERO_HASH, check_details, entry_hash_checked, format_millis};
use serde::Serialize;
use slipway_sign::PublicKey;
use std::collections::VecDeque;

/// Where a verification starts: entry `first_seq`, whose `prev` must be `prev`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The first entry expected.
    pub first_seq: i64,
    /// The hash of entry `first_seq - 1` ([`ZERO_HASH`] before entry 1).
    pub prev: String,
}

impl Anchor {
    /// The start of a whole log: entry 1 after [`ZERO_HASH`].
    pub fn genesis() -> Anchor {
        Anchor {
            first_seq: 1,
            prev: ZERO_HASH.to_owned(),
        }
    }
}

/// The outcome of a verification, as `slipway audit verify --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Every entry and checkpoint checked out.
    pub ok: bool,
    /// Entries that verified (all of them when `ok`).
    pub entries: i64,
    /// The seq of the first entry that does not match: edited, missing, out of place, or the
    /// first one cut off. `None` when all entries match but a checkpoint is bad, or when `ok`.
    pub first_bad: Option<i64>,
    /// Why not ok.
    pub reason: Option<String>,
    /// The first entry checked.
    pub first_seq: i64,
    /// The hash of the last entry that verified.
    pub head: Option<String>,
    /// Signed checkpoints whose signature and head matched.
    pub checkpoints_verified: usize,
}

/// Checks entries one at a time: feed them with [`ChainVerifier::push`] in seq order, then
/// [`ChainVerifier::finish`]. Stops at the first problem (`push` returns `false`).
#[derive(Debug)]
pub struct ChainVerifier {
    first_seq: i64,
    next_seq: i64,
    prev: String,
    pending: VecDeque<SignedCheckpoint>,
    last_checkpoint: i64,
    checkpoints_verified: usize,
    entries: i64,
    claimed: Option<(i64, String)>,
    failure: Option<(Option<i64>, String)>,
}

impl ChainVerifier {
    /// A verifier that starts at `anchor` and holds the log to `checkpoints`, each of which
    /// must be signed by one of `trusted`. Checkpoints before the anchor are ignored; one at
    /// the anchor itself must name the anchor's hash.
    pub fn new(
        anchor: Anchor,
        mut checkpoints: Vec<SignedCheckpoint>,
        trusted: &[PublicKey],
    ) -> ChainVerifier {
        checkpoints.retain(|c| c.checkpoint.count >= anchor.first_seq - 1);
        checkpoints.sort_by_key(|c| c.checkpoint.count);
        let mut verifier = ChainVerifier {
            first_seq: anchor.first_seq,
            next_seq: anchor.first_seq,
            prev: anchor.prev,
            pending: checkpoints.into(),
            last_checkpoint: anchor.first_seq - 1,
            checkpoints_verified: 0,
            entries: 0,
            claimed: None,
            failure: None,
        };
        if let Some(problem) = verifier
            .pending
            .iter()
            .find_map(|c| c.verify(trusted).err())
        {
            verifier.failure = Some((None, problem.to_string()));
            return verifier;
        }
        verifier.check_checkpoints_at(anchor.first_seq - 1);
        verifier
    }

    /// Also requires at least `count` entries, as an unsigned record (`source`, like "the
    /// store's head record") says there are.
    pub fn expect_count(&mut self, count: i64, source: impl Into<String>) {
        self.claimed = Some((count, source.into()));
    }

    /// Whether a problem has been found.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// The seq the next entry must have.
    pub fn next_seq(&self) -> i64 {
        self.next_seq
    }

    /// Records an entry that could not even be read (a malformed export line): it is the
    /// first bad one.
    pub fn unreadable(&mut self, reason: impl Into<String>) {
        if self.failure.is_none() {
            self.failure = Some((Some(self.next_seq), reason.into()));
        }
    }

    /// Checks the next entry; `false` once a problem is found (further entries are ignored).
    pub fn push(&mut self, entry: &Entry) -> bool {
        if self.failure.is_some() {
            return false;
        }
        let seq = self.next_seq;
        if entry.seq != seq {
            let reason = if entry.seq > seq {
                format!(
                    "entry {seq} is missing: the log goes from entry {} to entry {}",
                    seq - 1,
                    entry.seq
                )
            } else {
                format!(
                    "entry {} comes where entry {seq} should: entries are out of order or repeated",
                    entry.seq
                )
            };
            return self.fail(Some(seq), reason);
        }
        if entry.prev != self.prev {
            return self.fail(
                Some(seq),
                format!(
                    "entry {seq}'s prev is not the hash of entry {}: entries were reordered, removed or inserted",
                    seq - 1
                ),
            );
        }
        if let Err(problem) = check_details(&entry.details) {
            return self.fail(Some(seq), format!("entry {seq}: {problem}"));
        }
        match entry_hash_checked(entry) {
            Ok(hash) if hash == entry.hash => {}
            Ok(_) => {
                return self.fail(
                    Some(seq),
                    format!("entry {seq} no longer matches its hash: it was edited"),
                );
            }
            Err(problem) => return self.fail(Some(seq), format!("entry {seq}: {problem}")),
        }
        self.prev.clone_from(&entry.hash);
        self.next_seq += 1;
        self.entries += 1;
        self.check_checkpoints_at(seq);
        self.failure.is_none()
    }

    fn check_checkpoints_at(&mut self, seq: i64) {
        while self
            .pending
            .front()
            .is_some_and(|c| c.checkpoint.count <= seq)
        {
            let Some(signed) = self.pending.pop_front() else {
                return;
            };
            if signed.checkpoint.head != self.prev {
                let from = self.last_checkpoint + 1;
                self.fail(
                    Some(from),
                    format!(
                        "the checkpoint signed at {} by key {} says entry {seq} hashes to {}, but it hashes to {}: entries from {from} on were rewritten",
                        describe_time(signed.checkpoint.at_ms),
                        short(&signed.key_id),
                        short(&signed.checkpoint.head),
                        short(&self.prev),
                    ),
                );
                return;
            }
            self.last_checkpoint = seq;
            self.checkpoints_verified += 1;
        }
    }

    fn fail(&mut self, first_bad: Option<i64>, reason: String) -> bool {
        self.failure = Some((first_bad, reason));
        false
    }

    /// The report: also catches a log that ends before a checkpoint (or the claimed count)
    /// says it should.
    pub fn finish(mut self) -> VerifyReport {
        let last = self.next_seq - 1;
        if self.failure.is_none() {
            if let Some(signed) = self.pending.back() {
                self.failure = Some((
                    Some(self.next_seq),
                    format!(
                        "the log ends at entry {last}, but the checkpoint signed at {} by key {} counts {} entries: entries {}..={} were cut off",
                        describe_time(signed.checkpoint.at_ms),
                        short(&signed.key_id),
                        signed.checkpoint.count,
                        self.next_seq,
                        signed.checkpoint.count
                    ),
                ));
            } else if let Some((count, source)) = &self.claimed
                && *count > last
            {
                self.failure = Some((
                    Some(self.next_seq),
                    format!(
                        "the log ends at entry {last}, but {source} counts {count} entries: entries {}..={count} were cut off",
                        self.next_seq
                    ),
                ));
            }
        }
        let (first_bad, reason) = match self.failure {
            Some((first_bad, reason)) => (first_bad, Some(reason)),
            None => (None, None),
        };
        VerifyReport {
            ok: reason.is_none(),
            entries: self.entries,
            first_bad,
            reason,
            first_seq: self.first_seq,
            head: (self.entries > 0).then_some(self.prev),
            checkpoints_verified: self.checkpoints_verified,
        }
    }
}

/// Verifies a whole sequence of entries (in seq order) from `anchor`; stops reading at the
/// first problem. An error of the source stops the verification and is returned.
pub fn verify_chain<I, E>(
    entries: I,
    anchor: Anchor,
    checkpoints: Vec<SignedCheckpoint>,
    trusted: &[PublicKey],
) -> Result<VerifyReport, E>
where
    I: IntoIterator<Item = Result<Entry, E>>,
{
    let mut verifier = ChainVerifier::new(anchor, checkpoints, trusted);
    for entry in entries {
        if !verifier.push(&entry?) {
            break;
        }
    }
    Ok(verifier.finish())
}

fn describe_time(at_ms: i64) -> String {
    format_millis(at_ms).unwrap_or_else(|_| format!("{at_ms} ms"))
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::entry::Event;
    use serde_json::json;
    use slipway_sign::{Algorithm, SigningKey};
    use std::convert::Infallible;

    fn log(count: i64) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for seq in 1..=count {
            let prev = entries.last().map_or(ZERO_HASH, |e| e.hash.as_str());
            let event = Event::new(
                "dev@example.org",
                "run.finished",
                format!("r-{seq}"),
                json!({"n": seq}),
            );
            entries.push(Entry::chain(seq, 1_000 * seq, &event, prev).unwrap());
        }
        entries
    }

    fn check(
        entries: &[Entry],
        checkpoints: Vec<SignedCheckpoint>,
        key: &SigningKey,
    ) -> VerifyReport {
        verify_chain(
            entries.iter().cloned().map(Ok::<_, Infallible>),
            Anchor::genesis(),
            checkpoints,
            &[key.public_key()],
        )
        .unwrap()
    }

    fn signed(entries: &[Entry], count: i64, key: &SigningKey) -> SignedCheckpoint {
        Checkpoint {
            count,
            head: entries[count as usize - 1].hash.clone(),
            at_ms: 5,
        }
        .sign(key)
        .unwrap()
    }

    fn key() -> SigningKey {
        SigningKey::generate(Algorithm::Ed25519).unwrap()
    }

    #[test]
    fn a_good_log_verifies_with_its_checkpoints() {
        let key = key();
        let entries = log(10);
        let report = check(
            &entries,
            vec![signed(&entries, 4, &key), signed(&entries, 10, &key)],
            &key,
        );
        assert!(report.ok, "{report:?}");
        assert_eq!((report.entries, report.checkpoints_verified), (10, 2));
        assert_eq!(report.head.as_deref(), Some(entries[9].hash.as_str()));
        let empty = check(&[], vec![], &key);
        assert!(empty.ok && empty.entries == 0 && empty.head.is_none());
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_bad_entry() {
        let key = key();
        let entries = log(10);
        let first_bad = |entries: &[Entry], checkpoints: Vec<SignedCheckpoint>| {
            let report = check(entries, checkpoints, &key);
            assert!(!report.ok);
            (report.first_bad, report.reason.unwrap_or_default())
        };

        let mut edited = entries.clone();
        edited[4].actor = "mallory".into();
        let (bad, reason) = first_bad(&edited, vec![]);
        assert_eq!(bad, Some(5));
        assert!(reason.contains("edited"), "{reason}");

        let mut deleted = entries.clone();
        deleted.remove(6);
        let (bad, reason) = first_bad(&deleted, vec![]);
        assert_eq!(bad, Some(7));
        assert!(reason.contains("missing"), "{reason}");

        let mut reordered = entries.clone();
        reordered.swap(2, 3);
        assert_eq!(first_bad(&reordered, vec![]).0, Some(3));
        // Swapping the seq numbers too keeps seq order but breaks the links.
        reordered[2].seq = 3;
        reordered[3].seq = 4;
        assert_eq!(first_bad(&reordered, vec![]).0, Some(3));

        let (bad, reason) = first_bad(&entries[..6], vec![signed(&entries, 8, &key)]);
        assert_eq!(bad, Some(7));
        assert!(
            reason.contains("cut off") && reason.contains("counts 8"),
            "{reason}"
        );

        // Rewriting entries and re-hashing the chain is caught by the next checkpoint.
        let mut rewritten = entries[..5].to_vec();
        for seq in 6..=10 {
            let event = Event::new("mallory", "run.finished", "r", json!({}));
            let prev = rewritten.last().unwrap().hash.clone();
            rewritten.push(Entry::chain(seq, 1, &event, &prev).unwrap());
        }
        let (bad, reason) = first_bad(
            &rewritten,
            vec![signed(&entries, 3, &key), signed(&entries, 9, &key)],
        );
        assert_eq!(bad, Some(4));
        assert!(reason.contains("rewritten"), "{reason}");
    }

    #[test]
    fn checkpoints_need_a_trusted_signature() {
        let key = key();
        let entries = log(3);
        let mut forged = signed(&entries, 3, &key);
        forged.checkpoint.head = "0".repeat(64);
        let report = check(&entries, vec![forged], &key);
        assert!(!report.ok);
        assert_eq!(report.first_bad, None);
        assert!(report.reason.unwrap().contains("bad signature"));
        let stranger = check(&entries, vec![signed(&entries, 3, &self::key())], &key);
        assert!(stranger.reason.unwrap().contains("not trusted"));
    }

    #[test]
    fn a_partial_log_verifies_from_its_anchor() {
        let key = key();
        let entries = log(6);
        let anchor = Anchor {
            first_seq: 4,
            prev: entries[2].hash.clone(),
        };
        let report = verify_chain(
            entries[3..].iter().cloned().map(Ok::<_, Infallible>),
            anchor.clone(),
            vec![
                signed(&entries, 2, &key),
                signed(&entries, 3, &key),
                signed(&entries, 6, &key),
            ],
            &[key.public_key()],
        )
        .unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!((report.entries, report.checkpoints_verified), (3, 2));
        let wrong_anchor = Anchor {
            prev: entries[1].hash.clone(),
            ..anchor
        };
        let report = verify_chain(
            entries[3..].iter().cloned().map(Ok::<_, Infallible>),
            wrong_anchor,
            vec![signed(&entries, 3, &key)],
            &[key.public_key()],
        )
        .unwrap();
        assert_eq!(report.first_bad, Some(4));
    }

    #[test]
    fn a_claimed_count_catches_a_cut_after_the_last_checkpoint() {
        let key = key();
        let entries = log(5);
        let mut verifier = ChainVerifier::new(Anchor::genesis(), vec![], &[key.public_key()]);
        verifier.expect_count(7, "the head record");
        for entry in &entries {
            assert!(verifier.push(entry));
        }
        let report = verifier.finish();
        assert_eq!(report.first_bad, Some(6));
        assert!(report.reason.unwrap().contains("the head record counts 7"));
    }
}
