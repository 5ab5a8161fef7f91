-- Where an operator's systems hear about changes (outbound webhooks). The signing secret must be
-- shown to the receiver, so it is sealed under BERTH_SECRET_KEY (ChaCha20-Poly1305, the endpoint
-- id as associated data), with only a mask in clear; after a rotation the previous secret keeps
-- signing until previous_secret_until. event_types: space-separated spellings.
CREATE TABLE webhook_endpoints (
    id                     TEXT PRIMARY KEY NOT NULL,
    operator_id            TEXT NOT NULL REFERENCES operators (id),
    url                    TEXT NOT NULL,
    description            TEXT NOT NULL,
    event_types            TEXT NOT NULL,
    enabled                INTEGER NOT NULL,
    disabled_reason        TEXT CHECK (disabled_reason IN ('operator', 'failing')),
    disabled_at            TEXT,
    failing_since          TEXT,
    secret_sealed          TEXT NOT NULL,
    secret_mask            TEXT NOT NULL,
    previous_secret_sealed TEXT,
    previous_secret_until  TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    deleted_at             TEXT
);
CREATE INDEX webhook_endpoints_operator ON webhook_endpoints (operator_id, deleted_at);
