-- Named statements of the SQLite store: "-- name: <name>" starts each one. The store loads this
-- file once; sqlite3 keeps every distinct statement text prepared in its statement cache.

-- Intake (sqlite_accept.py). The writer holds the write lock from BEGIN IMMEDIATE to COMMIT,
-- so the next ids read here are the ones AUTOINCREMENT would choose, and nobody else can take
-- them before the group's inserts; inserting them explicitly advances sqlite_sequence too.
-- name: accept_next_ids
SELECT
    max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),
        coalesce((SELECT max(id) FROM messages), 0)) + 1,
    max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0),
        coalesce((SELECT max(id) FROM entries), 0)) + 1

-- Every hash stored under one sender key, with the copy that holds it and its ACK code.
-- name: accept_dedupe_copies
SELECT d.sha256, d.message_id, d.received_us, m.ack_code
FROM dedupe AS d JOIN messages AS m ON m.id = d.message_id
WHERE d.sending_application = ? AND d.sending_facility = ? AND d.control_id = ?

-- name: accept_messages
INSERT INTO messages (
    id, channel, peer, control_id, message_type, sending_application, sending_facility,
    received_us, status, ack_code, error, collision, size, sha256, payload
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- The newest stored copy holds its hash's key: a row left from an expired copy is taken over.
-- name: accept_dedupe
INSERT INTO dedupe (
    sending_application, sending_facility, control_id, sha256, message_id, received_us
) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (sending_application, sending_facility, control_id, sha256)
DO UPDATE SET message_id = excluded.message_id, received_us = excluded.received_us

-- name: accept_identifiers
INSERT OR IGNORE INTO identifiers (message_id, kind, value) VALUES (?, ?, ?)

-- name: accept_entries
INSERT INTO entries (id, message_id, destination, state, replayed, created_us)
VALUES (?, ?, ?, 'queued', 0, ?)

-- name: accept_receipts
INSERT INTO receipts (kind, channel, peer, received_us, message_id) VALUES (?, ?, ?, ?, ?)

-- name: accept_events
INSERT INTO events (at_us, action, message_id, entry_id, operator, reason, details)
VALUES (?, ?, ?, ?, 'engine', '', ?)

-- name: insert_entry
INSERT INTO entries (message_id, destination, state, replayed, created_us)
VALUES (:message_id, :destination, 'queued', :replayed, :created_us)

-- name: insert_event
INSERT INTO events (at_us, action, message_id, entry_id, operator, reason, details)
VALUES (:at_us, :action, :message_id, :entry_id, :operator, :reason, :details)

-- name: head
SELECT e.id, e.state, e.attempts, e.message_id
FROM entries AS e
WHERE e.destination = :destination AND e.state IN ('queued', 'in_flight', 'retrying', 'held')
ORDER BY e.id
LIMIT 1

-- name: claim_entry
UPDATE entries
SET state = 'in_flight', attempts = attempts + 1, owner = :owner, fence = :fence,
    claimed_us = :now_us
WHERE id = :entry_id AND state IN ('queued', 'retrying')

-- name: delivery_payload
SELECT payload, control_id FROM messages WHERE id = :message_id

-- name: settle_entry
UPDATE entries
SET state = :state, ack_code = :ack_code, ack_control_id = :ack_control_id,
    ack_text = :ack_text, ack_latency = :ack_latency, settled_us = :now_us,
    last_error = CASE WHEN :failed THEN :ack_text ELSE last_error END
WHERE id = :entry_id AND state = 'in_flight' AND fence = :fence AND attempts = :attempts

-- name: recover_entries
UPDATE entries SET state = 'queued'
WHERE state = 'in_flight' AND (:owner IS NULL OR owner = :owner)
RETURNING id, message_id

-- name: releasable
SELECT id, message_id, state FROM entries
WHERE destination = :destination
  AND (state = 'held' OR (:include_dead AND state = 'dead'))
  AND (:entry_ids IS NULL OR id IN (SELECT value FROM json_each(:entry_ids)))
ORDER BY id

-- name: release_entry
UPDATE entries SET state = 'queued' WHERE id = :entry_id

-- name: existing_messages
SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(:ids))

-- Fully settled: no entry still pending (P11, policy 6.2). Rejected messages have no entries.
-- name: prunable
SELECT m.id FROM messages AS m
WHERE m.received_us < :cutoff
  AND NOT EXISTS (
      SELECT 1 FROM entries AS e
      WHERE e.message_id = m.id AND e.state IN ('queued', 'in_flight', 'retrying', 'held')
  )
ORDER BY m.received_us
LIMIT :batch

-- name: count_entries_of
SELECT count(*) FROM entries WHERE message_id IN (SELECT value FROM json_each(:ids))

-- name: delete_messages
DELETE FROM messages WHERE id IN (SELECT value FROM json_each(:ids))

-- name: message_by_id
SELECT id, channel, received_us, control_id, message_type, status, size,
       payload, sha256, peer, sending_application, sending_facility, ack_code, error
FROM messages WHERE id = :message_id

-- name: entries_of_message
SELECT id, destination, state, attempts FROM entries WHERE message_id = :message_id ORDER BY id

-- Search is this head plus the filter fragments below joined with AND (only those given).
-- name: search_head
SELECT m.id, m.channel, m.received_us, m.control_id, m.message_type, m.status, m.size
FROM messages AS m
WHERE 1 = 1

-- name: search_tail
ORDER BY m.id DESC
LIMIT :limit

-- name: filter_channel
AND m.channel = :channel

-- name: filter_control_id
AND m.control_id = :control_id

-- "ADT" matches ADT^A01; "ADT^A01" matches itself and ADT^A01^ADT_A01, never ADT^A011.
-- name: filter_message_type
AND (m.message_type = :message_type
     OR substr(m.message_type, 1, length(:message_type) + 1) = :message_type || '^')

-- name: filter_status
AND m.status = :status

-- name: filter_entry
AND EXISTS (
    SELECT 1 FROM entries AS e
    WHERE e.message_id = m.id
      AND (:entry_state IS NULL OR e.state = :entry_state)
      AND (:destination IS NULL OR e.destination = :destination)
)

-- name: filter_identifier
AND m.id IN (SELECT message_id FROM identifiers WHERE kind = :id_kind AND value = :id_value)

-- name: filter_received_from
AND m.received_us >= :received_from

-- name: filter_received_to
AND m.received_us < :received_to

-- name: stats_counts
SELECT destination, state, count(*) FROM entries GROUP BY destination, state

-- name: stats_oldest
SELECT e.destination, min(m.received_us)
FROM entries AS e JOIN messages AS m ON m.id = e.message_id
WHERE e.state IN ('queued', 'in_flight', 'retrying', 'held')
GROUP BY e.destination

-- name: reconcile_messages
SELECT status, count(*) FROM messages
WHERE channel = :channel AND received_us >= :start AND received_us < :end
GROUP BY status

-- name: reconcile_receipts
SELECT kind, count(*) FROM receipts
WHERE channel = :channel AND received_us >= :start AND received_us < :end
GROUP BY kind

-- name: reconcile_entries
SELECT e.destination, e.state, count(*)
FROM messages AS m JOIN entries AS e ON e.message_id = m.id
WHERE m.channel = :channel AND m.received_us >= :start AND m.received_us < :end
GROUP BY e.destination, e.state

-- name: control_ids
SELECT control_id FROM messages
WHERE channel = :channel AND received_us >= :start AND received_us < :end
  AND control_id IS NOT NULL
ORDER BY id

-- name: events_all
SELECT id, at_us, action, message_id, entry_id, operator, reason, details
FROM events ORDER BY id DESC LIMIT :limit

-- name: events_of_message
SELECT id, at_us, action, message_id, entry_id, operator, reason, details
FROM events WHERE message_id = :message_id ORDER BY id DESC LIMIT :limit
