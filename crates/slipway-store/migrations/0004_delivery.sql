-- Delivery: releases grow from "which digest an environment runs" into the full record of a
-- promotion (who, why, how it ended); beside them the environments' desired and observed
-- state, approvals, rollout events, analysis measurements and the digests known to be bad.
ALTER TABLE releases ADD COLUMN kind TEXT NOT NULL DEFAULT 'promote';
ALTER TABLE releases ADD COLUMN status TEXT NOT NULL DEFAULT 'succeeded';
ALTER TABLE releases ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN previous_digest TEXT;
ALTER TABLE releases ADD COLUMN break_glass_reason TEXT;
ALTER TABLE releases ADD COLUMN commit_authors TEXT NOT NULL DEFAULT '[]';
ALTER TABLE releases ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE releases ADD COLUMN note TEXT;
ALTER TABLE releases ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN finished_at BIGINT;

-- One row per environment: what the controller must converge to and what it last did.
CREATE TABLE environment_state (
    environment TEXT PRIMARY KEY,
    stable_release TEXT,
    canary_release TEXT,
    phase TEXT NOT NULL,
    step BIGINT NOT NULL DEFAULT 0,
    weight BIGINT NOT NULL DEFAULT 0,
    step_started_at BIGINT,
    paused_reason TEXT,
    request TEXT,
    request_actor TEXT,
    last_known_good TEXT,
    address TEXT,
    controller_pid BIGINT,
    controller_seen_at BIGINT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE approvals (
    release_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    comment TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (release_id, actor)
);

CREATE TABLE rollout_events (
    id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL,
    environment TEXT NOT NULL,
    kind TEXT NOT NULL,
    step BIGINT NOT NULL,
    weight BIGINT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rollout_events_release ON rollout_events (release_id, created_at);

CREATE TABLE measurements (
    id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL,
    analysis TEXT NOT NULL,
    value DOUBLE PRECISION,
    samples BIGINT NOT NULL,
    verdict TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX measurements_release ON measurements (release_id, created_at);

CREATE TABLE known_bad (
    environment TEXT NOT NULL,
    digest TEXT NOT NULL,
    release_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (environment, digest)
);
