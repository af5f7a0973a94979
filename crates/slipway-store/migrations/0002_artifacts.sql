-- Artifacts and the evidence bound to them. The blobs live in the object store; these tables
-- are the index: which manifest digests are artifacts, their tags, the blobs each one holds
-- (for garbage collection) and the evidence attached to each digest.
CREATE TABLE artifacts (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    run_id TEXT,
    repository TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    git_ref TEXT NOT NULL,
    event TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX artifacts_created ON artifacts (created_at);

CREATE TABLE artifact_tags (
    tag TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX artifact_tags_digest ON artifact_tags (digest);

CREATE TABLE artifact_blobs (
    artifact TEXT NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (artifact, blob)
);
CREATE INDEX artifact_blobs_blob ON artifact_blobs (blob);

CREATE TABLE evidence (
    digest TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    predicate_type TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX evidence_subject ON evidence (subject);

-- Which artifact each environment runs, release by release. Delivery writes it; retention
-- reads it so that an artifact in use or in production's recent history is never deleted.
CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX releases_environment ON releases (environment, created_at);
