-- The offline vulnerability database: one row per OSV record (the record itself as JSON
-- text) and one row per package it names, keyed by ecosystem family (`Debian`, not
-- `Debian:12`) and normalised name, so a scan asks for a whole inventory in a few queries.
CREATE TABLE advisories (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    published TEXT,
    withdrawn TEXT,
    record TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);

CREATE TABLE advisory_packages (
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    advisory TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, advisory)
);
CREATE INDEX advisory_packages_advisory ON advisory_packages (advisory);
