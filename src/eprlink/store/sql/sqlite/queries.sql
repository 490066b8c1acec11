-- Named statements of the SQLite store: "-- name: <name>" starts each one. The store loads this
-- file once; sqlite3 keeps every distinct statement text prepared in its statement cache.

-- name: insert_message
INSERT INTO messages (
    channel, peer, control_id, message_type, sending_application, sending_facility,
    received_us, status, ack_code, error, collision, size, sha256, payload
) VALUES (
    :channel, :peer, :control_id, :message_type, :sending_application, :sending_facility,
    :received_us, :status, :ack_code, :error, :collision, :size, :sha256, :payload
)

-- Insert-or-detect: inserts the key, or takes over a row whose first copy left the window;
-- changes() = 0 means a live duplicate holds the key.
-- name: dedupe_claim
INSERT INTO dedupe (
    sending_application, sending_facility, control_id, sha256, message_id, received_us
) VALUES (:app, :facility, :control_id, :sha256, NULL, :received_us)
ON CONFLICT (sending_application, sending_facility, control_id, sha256)
DO UPDATE SET message_id = NULL, received_us = excluded.received_us
WHERE dedupe.received_us < :cutoff

-- name: dedupe_first
SELECT d.message_id, m.ack_code
FROM dedupe AS d JOIN messages AS m ON m.id = d.message_id
WHERE d.sending_application = :app AND d.sending_facility = :facility
  AND d.control_id = :control_id AND d.sha256 = :sha256

-- name: dedupe_collision
SELECT message_id FROM dedupe
WHERE sending_application = :app AND sending_facility = :facility AND control_id = :control_id
  AND sha256 <> :sha256 AND received_us >= :cutoff AND message_id IS NOT NULL
ORDER BY received_us
LIMIT 1

-- name: dedupe_bind
UPDATE dedupe SET message_id = :message_id
WHERE sending_application = :app AND sending_facility = :facility
  AND control_id = :control_id AND sha256 = :sha256

-- name: dedupe_drop
DELETE FROM dedupe
WHERE sending_application = :app AND sending_facility = :facility
  AND control_id = :control_id AND sha256 = :sha256

-- name: insert_receipt
INSERT INTO receipts (kind, channel, peer, received_us, message_id)
VALUES (:kind, :channel, :peer, :received_us, :message_id)

-- name: insert_identifier
INSERT OR IGNORE INTO identifiers (message_id, kind, value) VALUES (?, ?, ?)

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
