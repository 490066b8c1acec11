-- 0001: messages exactly as received, one FIFO queue per destination, dedupe keys, identifiers,
-- not-stored receipts (duplicates, refused collisions) and the event/audit trail.
--
-- Times are integer microseconds since 1970-01-01 UTC (wall clock: display, days, retention).
-- Order is never a time: ids come from AUTOINCREMENT sequences, which are never reused even
-- after the newest rows are pruned (P11).

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    channel             TEXT    NOT NULL,
    peer                TEXT    NOT NULL,
    control_id          TEXT,
    message_type        TEXT,
    sending_application TEXT,
    sending_facility    TEXT,
    received_us         INTEGER NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('accepted', 'rejected')),
    ack_code            TEXT    NOT NULL,
    error               TEXT    NOT NULL,
    collision           INTEGER NOT NULL DEFAULT 0,
    size                INTEGER NOT NULL,
    sha256              BLOB    NOT NULL,
    payload             BLOB    NOT NULL  -- last, so metadata reads never touch overflow pages
);

CREATE INDEX messages_received ON messages (received_us);
CREATE INDEX messages_channel_received ON messages (channel, received_us);
CREATE INDEX messages_control_id ON messages (control_id) WHERE control_id IS NOT NULL;

CREATE TABLE entries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    destination    TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (
        state IN ('queued', 'in_flight', 'delivered', 'retrying', 'held', 'dead')
    ),
    attempts       INTEGER NOT NULL DEFAULT 0,
    owner          TEXT,
    fence          INTEGER NOT NULL DEFAULT 0,
    replayed       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT    NOT NULL DEFAULT '',
    ack_code       TEXT,
    ack_control_id TEXT,
    ack_text       TEXT,
    ack_latency    REAL,
    created_us     INTEGER NOT NULL,
    claimed_us     INTEGER,
    settled_us     INTEGER
);

-- The head of a destination's queue: its lowest pending id (a partial index stays small).
CREATE INDEX entries_pending ON entries (destination, id)
    WHERE state IN ('queued', 'in_flight', 'retrying', 'held');
CREATE INDEX entries_destination_state ON entries (destination, state);
CREATE INDEX entries_message ON entries (message_id);

-- One row per (sender, control id, payload hash): the UNIQUE key that makes duplicate detection
-- safe under concurrency (F36). message_id is NULL only inside the accepting transaction.
CREATE TABLE dedupe (
    sending_application TEXT    NOT NULL,
    sending_facility    TEXT    NOT NULL,
    control_id          TEXT    NOT NULL,
    sha256              BLOB    NOT NULL,
    message_id          INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    received_us         INTEGER NOT NULL,
    PRIMARY KEY (sending_application, sending_facility, control_id, sha256)
) WITHOUT ROWID;

CREATE INDEX dedupe_message ON dedupe (message_id);

-- Receipts that were answered but not stored again: duplicates and refused collisions (P7).
CREATE TABLE receipts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL CHECK (kind IN ('duplicate', 'collision_rejected')),
    channel     TEXT    NOT NULL,
    peer        TEXT    NOT NULL,
    received_us INTEGER NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE
);

CREATE INDEX receipts_channel_received ON receipts (channel, received_us);
CREATE INDEX receipts_message ON receipts (message_id);

-- Columns are declared in primary-key order: SQLite 3.40's quick_check misreports a WITHOUT
-- ROWID table whose key order differs from its column order.
CREATE TABLE identifiers (
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, message_id)
) WITHOUT ROWID;

CREATE INDEX identifiers_message ON identifiers (message_id);

-- The audit trail outlives pruned messages (policy 6.2): no foreign keys here.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us       INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    message_id  INTEGER,
    entry_id    INTEGER,
    operator    TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    details     TEXT    NOT NULL
);

CREATE INDEX events_message ON events (message_id, id) WHERE message_id IS NOT NULL;
