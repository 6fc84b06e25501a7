-- Templates are immutable versions of a named document. SQL kept portable to Postgres:
-- TEXT timestamps (RFC 3339, UTC), no SQLite-only types.

CREATE TABLE template_heads (
    name            TEXT PRIMARY KEY,
    latest_version  INTEGER NOT NULL,
    flow_type       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- A deleted template keeps its history so version numbers are never reused.
    deleted_at      TEXT
);

CREATE TABLE template_versions (
    name          TEXT NOT NULL REFERENCES template_heads (name),
    version       INTEGER NOT NULL,
    flow_type     TEXT NOT NULL,
    description   TEXT,
    content_hash  TEXT NOT NULL,
    document      TEXT NOT NULL,
    -- Warnings found when the version was stored (JSON array of findings).
    warnings      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE INDEX template_heads_type ON template_heads (flow_type, name);

-- What is deployed in each target; provisioning jobs write it. Kept here because a
-- template cannot be deleted while a flow record was provisioned from it.
CREATE TABLE flow_records (
    target            TEXT NOT NULL,
    name              TEXT NOT NULL,
    flow_type         TEXT NOT NULL,
    flow_id           TEXT,
    template_name     TEXT NOT NULL,
    template_version  INTEGER NOT NULL,
    content_hash      TEXT NOT NULL,
    published_version TEXT,
    yaml              TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (target, name)
);

CREATE INDEX flow_records_template ON flow_records (template_name);
