//! Evidence is about one artifact: the same envelope recorded again for its subject is a
//! no-op, and for another subject an error, never a silent success.

use slipway_store::{EvidenceRecord, Store, StoreError};

#[tokio::test]
async fn an_envelope_belongs_to_one_subject() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let record = |subject: &str| EvidenceRecord {
        digest: format!("sha256:{}", "e".repeat(64)),
        subject: subject.to_owned(),
        kind: "security-gates".into(),
        predicate_type: "https://slipway.invalid/attestation/security-gates/v1".into(),
        media_type: "application/vnd.dsse.envelope.v1+json".into(),
        size: 10,
        created_at: 1,
    };
    let a = format!("sha256:{}", "a".repeat(64));
    let b = format!("sha256:{}", "b".repeat(64));
    store.record_evidence(&record(&a)).await.unwrap();
    store.record_evidence(&record(&a)).await.unwrap();
    let error = store.record_evidence(&record(&b)).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::EvidenceElsewhere { existing, attempted, .. } if *existing == a && *attempted == b),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("is already attached to sha256:aaaa")
    );
    assert_eq!(store.evidence_for(&a).await.unwrap().len(), 1);
    assert!(store.evidence_for(&b).await.unwrap().is_empty());
}
