-- Named statements of the PostgreSQL store: "-- name: <name>" starts each one. Parameters are
-- psycopg's %(name)s placeholders; search_path is the store's schema on every connection.

-- name: session_setup
SELECT set_config('search_path', %(search_path)s, false),
       set_config('TimeZone', 'UTC', false),
       set_config('statement_timeout', %(statement_timeout)s, false),
       current_setting('synchronous_commit'),
       current_setting('fsync')

-- name: migrate_lock
SELECT pg_advisory_xact_lock(%(key)s)

-- name: schema_exists
SELECT 1 FROM pg_namespace WHERE nspname = %(schema)s

-- name: schema_version_table
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)

-- name: schema_version_applied
SELECT version FROM schema_version ORDER BY version

-- name: schema_version_record
INSERT INTO schema_version (version, name) VALUES (%(version)s, %(name)s)

-- Both rows of each destination exist before anything locks them.
-- name: streams_ensure
INSERT INTO streams (destination, lock)
SELECT d, l FROM unnest(%(destinations)s::text[]) AS d CROSS JOIN (VALUES ('head'), ('tail')) AS k (l)
ON CONFLICT DO NOTHING

-- Sorted, so two batches never wait for each other in opposite orders.
-- name: streams_lock_tail
SELECT destination FROM streams
WHERE lock = 'tail' AND destination = ANY(%(destinations)s::text[])
ORDER BY destination
FOR UPDATE

-- One group-commit batch as parallel arrays (0002_accept_batch.sql): one row per message.
-- name: accept_batch
SELECT o_position, o_message_id, o_duplicate_of, o_collision, o_ack_code
FROM accept_batch(
    %(notify_channel)s, %(channels)s::text[], %(peers)s::text[], %(control_ids)s::text[],
    %(message_types)s::text[], %(apps)s::text[], %(facilities)s::text[],
    %(received_at)s::timestamptz[], %(statuses)s::text[], %(ack_codes)s::text[],
    %(errors)s::text[], %(sha256)s::bytea[], %(payloads)s::bytea[], %(cutoffs)s::timestamptz[],
    %(reject_collisions)s::boolean[], %(destination_counts)s::integer[],
    %(destinations)s::text[], %(identifier_counts)s::integer[], %(id_kinds)s::text[],
    %(id_values)s::text[]
)

-- name: notify_work
SELECT pg_notify(%(channel)s, d) FROM unnest(%(destinations)s::text[]) AS d

-- name: claim
SELECT c_entry_id, c_message_id, c_payload, c_control_id, c_attempts, c_takeover
FROM claim_head(%(destination)s, %(owner)s, %(fence)s)

-- name: settle
SELECT settle_entry(
    %(entry_id)s, %(fence)s, %(attempts)s, %(state)s, %(action)s, %(ack_code)s,
    %(ack_control_id)s, %(ack_text)s, %(ack_latency)s
)

-- name: recover
WITH back AS (
    UPDATE entries SET state = 'queued'
    WHERE state = 'in_flight' AND (%(owner)s::text IS NULL OR owner = %(owner)s::text)
    RETURNING entry_id, message_id, destination
), audit AS (
    INSERT INTO events (action, message_id, entry_id, operator, reason, details)
    SELECT 'recovered', message_id, entry_id, 'engine', '', 'back to queued' FROM back
)
SELECT destination, pg_notify(%(channel)s, destination)::text FROM back

-- Locks the messages (FOR KEY SHARE) before reviving their dead entries: a prune that already
-- holds one (FOR UPDATE) goes first and the entry goes with its message; otherwise the prune
-- waits and then sees the entry pending.
-- name: release
WITH chosen AS (
    SELECT e.entry_id FROM entries AS e JOIN messages AS m ON m.message_id = e.message_id
    WHERE e.destination = %(destination)s
      AND (e.state = 'held' OR (%(include_dead)s AND e.state = 'dead'))
      AND (%(entry_ids)s::bigint[] IS NULL OR e.entry_id = ANY(%(entry_ids)s::bigint[]))
    FOR KEY SHARE OF m
), back AS (
    UPDATE entries AS e SET state = 'queued'
    FROM chosen AS c
    WHERE e.entry_id = c.entry_id AND (e.state = 'held' OR (%(include_dead)s AND e.state = 'dead'))
    RETURNING e.entry_id, e.message_id
), audit AS (
    INSERT INTO events (action, message_id, entry_id, operator, reason, details)
    SELECT 'released', message_id, entry_id, %(operator)s, %(reason)s, 'back to queued'
    FROM back ORDER BY entry_id
), notified AS (
    SELECT pg_notify(%(channel)s, %(destination)s)::text FROM back LIMIT 1
)
SELECT (SELECT count(*) FROM back), (SELECT count(*) FROM notified)

-- Locks the messages against a concurrent prune while their new entries are inserted.
-- name: replay_messages
SELECT message_id FROM messages WHERE message_id = ANY(%(ids)s::bigint[]) FOR KEY SHARE

-- name: replay_entry
WITH entry AS (
    INSERT INTO entries (message_id, destination, state, replayed)
    VALUES (%(message_id)s, %(destination)s, 'queued', true)
    RETURNING entry_id, message_id
), audit AS (
    INSERT INTO events (action, message_id, entry_id, operator, reason, details)
    SELECT 'replayed', message_id, entry_id, %(operator)s, %(reason)s,
           'to ' || %(destination)s::text
    FROM entry
)
SELECT entry_id FROM entry

-- name: message_by_id
SELECT message_id, channel, received_at, control_id, message_type, status, size,
       payload, sha256, peer, sending_application, sending_facility, ack_code, error
FROM messages WHERE message_id = %(message_id)s

-- name: entries_of_message
SELECT entry_id, destination, state, attempts FROM entries
WHERE message_id = %(message_id)s ORDER BY entry_id

-- Search is this head plus the filter fragments below joined with AND (only those given).
-- name: search_head
SELECT m.message_id, m.channel, m.received_at, m.control_id, m.message_type, m.status, m.size
FROM messages AS m
WHERE true

-- name: search_tail
ORDER BY m.message_id DESC
LIMIT %(limit)s

-- name: filter_channel
AND m.channel = %(channel)s

-- name: filter_control_id
AND m.control_id = %(control_id)s

-- "ADT" matches ADT^A01; "ADT^A01" matches itself and ADT^A01^ADT_A01, never ADT^A011.
-- name: filter_message_type
AND (m.message_type = %(message_type)s
     OR left(m.message_type, length(%(message_type)s) + 1) = %(message_type)s || '^')

-- name: filter_status
AND m.status = %(status)s

-- name: filter_entry
AND EXISTS (
    SELECT 1 FROM entries AS e
    WHERE e.message_id = m.message_id
      AND (%(entry_state)s::text IS NULL OR e.state = %(entry_state)s::text)
      AND (%(destination)s::text IS NULL OR e.destination = %(destination)s::text)
)

-- name: filter_identifier
AND m.message_id IN (
    SELECT i.message_id FROM identifiers AS i WHERE i.kind = %(id_kind)s AND i.value = %(id_value)s
)

-- name: filter_received_from
AND m.received_at >= %(received_from)s

-- name: filter_received_to
AND m.received_at < %(received_to)s

-- name: stats_counts
SELECT destination, state, count(*) FROM entries GROUP BY destination, state

-- name: stats_oldest
SELECT e.destination, min(m.received_at)
FROM entries AS e JOIN messages AS m ON m.message_id = e.message_id
WHERE e.state IN ('queued', 'in_flight', 'retrying', 'held')
GROUP BY e.destination

-- name: reconcile_messages
SELECT status, count(*) FROM messages
WHERE channel = %(channel)s AND received_at >= %(start)s AND received_at < %(end)s
GROUP BY status

-- name: reconcile_receipts
SELECT kind, count(*) FROM receipts
WHERE channel = %(channel)s AND received_at >= %(start)s AND received_at < %(end)s
GROUP BY kind

-- name: reconcile_entries
SELECT e.destination, e.state, count(*)
FROM messages AS m JOIN entries AS e ON e.message_id = m.message_id
WHERE m.channel = %(channel)s AND m.received_at >= %(start)s AND m.received_at < %(end)s
GROUP BY e.destination, e.state

-- name: control_ids
SELECT control_id FROM messages
WHERE channel = %(channel)s AND received_at >= %(start)s AND received_at < %(end)s
  AND control_id IS NOT NULL
ORDER BY message_id

-- name: insert_event
INSERT INTO events (action, message_id, entry_id, operator, reason, details)
VALUES (%(action)s, %(message_id)s, %(entry_id)s, %(operator)s, %(reason)s, %(details)s)

-- name: events_all
SELECT event_id, at, action, message_id, entry_id, operator, reason, details
FROM events ORDER BY event_id DESC LIMIT %(limit)s

-- name: events_of_message
SELECT event_id, at, action, message_id, entry_id, operator, reason, details
FROM events WHERE message_id = %(message_id)s ORDER BY event_id DESC LIMIT %(limit)s

-- Candidates, locked so that a concurrent replay (FOR KEY SHARE) waits for this batch.
-- name: prune_candidates
SELECT m.message_id FROM messages AS m
WHERE m.received_at < %(cutoff)s
  AND NOT EXISTS (
      SELECT 1 FROM entries AS e
      WHERE e.message_id = m.message_id AND e.state IN ('queued', 'in_flight', 'retrying', 'held')
  )
ORDER BY m.message_id
LIMIT %(batch)s
FOR UPDATE OF m SKIP LOCKED

-- A fresh snapshot after the locks: a replay committed meanwhile keeps its message. Entries,
-- identifiers and receipts go with their message (ON DELETE CASCADE).
-- name: prune_delete
WITH doomed AS (
    SELECT m.message_id, m.size,
           (SELECT count(*) FROM entries AS e WHERE e.message_id = m.message_id) AS n_entries
    FROM messages AS m
    WHERE m.message_id = ANY(%(ids)s::bigint[])
      AND NOT EXISTS (
          SELECT 1 FROM entries AS e
          WHERE e.message_id = m.message_id
            AND e.state IN ('queued', 'in_flight', 'retrying', 'held')
      )
), gone AS (
    DELETE FROM messages AS m USING doomed AS d WHERE m.message_id = d.message_id
    RETURNING d.size, d.n_entries
)
SELECT count(*), coalesce(sum(n_entries), 0), coalesce(sum(size), 0) FROM gone

-- name: prune_dedupe_keys
DELETE FROM dedupe_keys WHERE last_received < %(cutoff)s

-- name: prune_event
INSERT INTO events (action, operator, reason, details)
VALUES ('pruned', 'engine', '', %(details)s)

-- name: lease_acquire
INSERT INTO leases AS l (stream, owner, token, acquired_at, expires_at)
VALUES (%(stream)s, %(owner)s, 1, clock_timestamp(),
        clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (stream) DO UPDATE SET
    token = CASE WHEN l.owner = excluded.owner AND l.expires_at > clock_timestamp()
                 THEN l.token ELSE l.token + 1 END,
    acquired_at = CASE WHEN l.owner = excluded.owner AND l.expires_at > clock_timestamp()
                       THEN l.acquired_at ELSE clock_timestamp() END,
    owner = excluded.owner,
    expires_at = excluded.expires_at
WHERE l.owner = excluded.owner OR l.expires_at <= clock_timestamp()
RETURNING token

-- name: lease_renew
UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
WHERE stream = %(stream)s AND owner = %(owner)s AND token = %(token)s
  AND expires_at > clock_timestamp()
RETURNING token

-- name: lease_release
UPDATE leases SET expires_at = clock_timestamp()
WHERE stream = %(stream)s AND owner = %(owner)s AND token = %(token)s
  AND expires_at > clock_timestamp()
RETURNING token
