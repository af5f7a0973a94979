-- Run history. Portable DDL for SQLite and PostgreSQL: ids are text, times are epoch
-- milliseconds (BIGINT), JSON is text, booleans are 0/1 integers.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    number BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    commit_sha TEXT NOT NULL,
    git_ref TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    pipeline_path TEXT NOT NULL,
    pipeline_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    dirty INTEGER NOT NULL,
    sandbox INTEGER NOT NULL,
    runner_version TEXT NOT NULL,
    toolchains TEXT NOT NULL,
    concurrency_group TEXT,
    owner TEXT NOT NULL,
    note TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE UNIQUE INDEX runs_repository_number ON runs (repository, number);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE jobs (
    run_id TEXT NOT NULL,
    run_attempt BIGINT NOT NULL,
    job_id TEXT NOT NULL,
    job_key TEXT NOT NULL,
    matrix TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    exit_code BIGINT,
    attempts BIGINT NOT NULL,
    cache TEXT,
    outputs_digest TEXT,
    reused INTEGER NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (run_id, run_attempt, job_id)
);

CREATE TABLE attempts (
    run_id TEXT NOT NULL,
    run_attempt BIGINT NOT NULL,
    job_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    status TEXT NOT NULL,
    exit_code BIGINT,
    failure_class TEXT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, run_attempt, job_id, attempt)
);

CREATE TABLE steps (
    run_id TEXT NOT NULL,
    run_attempt BIGINT NOT NULL,
    job_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    step_index BIGINT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code BIGINT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, run_attempt, job_id, attempt, step_index)
);
