-- PostgreSQL twin of migrations/sqlite/0001_templates.sql: the same tables and columns.
-- INTEGER is BIGINT (i64 on both), timestamps RFC 3339 UTC text. Keys and cursors compare
-- as bytes (COLLATE "C"), as SQLite's text does, whatever the database's default collation.

CREATE TABLE template_heads (
    name            TEXT COLLATE "C" PRIMARY KEY,
    latest_version  BIGINT NOT NULL,
    flow_type       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL,
    -- A deleted template keeps its history so version numbers are never reused.
    deleted_at      TEXT COLLATE "C"
);

CREATE TABLE template_versions (
    name          TEXT COLLATE "C" NOT NULL REFERENCES template_heads (name),
    version       BIGINT NOT NULL,
    flow_type     TEXT NOT NULL,
    description   TEXT,
    content_hash  TEXT NOT NULL,
    document      TEXT NOT NULL,
    -- Warnings found when the version was stored (JSON array of findings).
    warnings      TEXT NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE INDEX template_heads_type ON template_heads (flow_type, name);

-- What is deployed in each target; provisioning jobs write it. Kept here because a
-- template cannot be deleted while a flow record was provisioned from it.
CREATE TABLE flow_records (
    target            TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL,
    flow_type         TEXT NOT NULL,
    flow_id           TEXT,
    template_name     TEXT COLLATE "C" NOT NULL,
    template_version  BIGINT NOT NULL,
    content_hash      TEXT NOT NULL,
    published_version TEXT,
    yaml              TEXT NOT NULL,
    updated_at        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (target, name)
);

CREATE INDEX flow_records_template ON flow_records (template_name);
