-- 0001: messages exactly as received, one FIFO queue per destination, dedupe key locks,
-- identifiers, not-stored receipts, the audit trail, stream locks and leases (multi-node).
--
-- Order is never a time: ids come from identity sequences (P11). Every statement runs with
-- search_path set to the store's schema, so no name here is schema-qualified.

CREATE TABLE messages (
    message_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel             text        NOT NULL,
    peer                text        NOT NULL,
    control_id          text,
    message_type        text,
    sending_application text,
    sending_facility    text,
    received_at         timestamptz NOT NULL,
    status              text        NOT NULL CHECK (status IN ('accepted', 'rejected')),
    ack_code            text        NOT NULL,
    error               text        NOT NULL,
    collision           boolean     NOT NULL DEFAULT false,
    size                integer     NOT NULL,
    sha256              bytea       NOT NULL,
    payload             bytea       NOT NULL
);

CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_channel_received ON messages (channel, received_at);
CREATE INDEX messages_control_id ON messages (control_id, received_at)
    WHERE control_id IS NOT NULL;

CREATE TABLE entries (
    entry_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id     bigint      NOT NULL REFERENCES messages ON DELETE CASCADE,
    destination    text        NOT NULL,
    state          text        NOT NULL CHECK (
        state IN ('queued', 'in_flight', 'delivered', 'retrying', 'held', 'dead')
    ),
    attempts       integer     NOT NULL DEFAULT 0,
    owner          text,
    fence          bigint      NOT NULL DEFAULT 0,
    replayed       boolean     NOT NULL DEFAULT false,
    last_error     text        NOT NULL DEFAULT '',
    ack_code       text,
    ack_control_id text,
    ack_text       text,
    ack_latency    double precision,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_at     timestamptz,
    settled_at     timestamptz
);

-- The head of a destination's queue is its lowest pending id; the partial index stays small.
CREATE INDEX entries_pending ON entries (destination, entry_id)
    WHERE state IN ('queued', 'in_flight', 'retrying', 'held');
-- One entry in flight per destination, whichever process claimed it (multi-node, P3).
CREATE UNIQUE INDEX entries_one_in_flight ON entries (destination) WHERE state = 'in_flight';
CREATE INDEX entries_destination_state ON entries (destination, state);
CREATE INDEX entries_message ON entries (message_id);

-- Two lock rows per destination: accepts lock 'tail' so that entry ids of one destination are
-- allocated in commit order (a claimer never sees id 11 committed before id 10); claims lock
-- 'head' with SKIP LOCKED so that one claimer at a time inspects the head. Separate rows keep
-- claims from waiting behind accepts.
CREATE TABLE streams (
    destination text NOT NULL,
    lock        text NOT NULL CHECK (lock IN ('head', 'tail')),
    PRIMARY KEY (destination, lock)
);

-- One row per sender key: INSERT … ON CONFLICT DO UPDATE locks it, so concurrent accepts of the
-- same (MSH-3, MSH-4, MSH-10) from any process are serialised (F36). Only a lock: pruning may
-- delete rows freely, the next accept inserts them again.
CREATE TABLE dedupe_keys (
    sending_application text        NOT NULL,
    sending_facility    text        NOT NULL,
    control_id          text        NOT NULL,
    last_received       timestamptz NOT NULL,
    PRIMARY KEY (sending_application, sending_facility, control_id)
);

-- Receipts answered but not stored again: duplicates and refused collisions (P7).
CREATE TABLE receipts (
    receipt_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('duplicate', 'collision_rejected')),
    channel     text        NOT NULL,
    peer        text        NOT NULL,
    received_at timestamptz NOT NULL,
    message_id  bigint      NOT NULL REFERENCES messages ON DELETE CASCADE
);

CREATE INDEX receipts_channel_received ON receipts (channel, received_at);
CREATE INDEX receipts_message ON receipts (message_id);

CREATE TABLE identifiers (
    message_id bigint NOT NULL REFERENCES messages ON DELETE CASCADE,
    kind       text   NOT NULL,
    value      text   NOT NULL,
    PRIMARY KEY (kind, value, message_id)
);

CREATE INDEX identifiers_message ON identifiers (message_id);

-- The audit trail outlives pruned messages: no foreign keys here.
CREATE TABLE events (
    event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    action     text        NOT NULL,
    message_id bigint,
    entry_id   bigint,
    operator   text        NOT NULL,
    reason     text        NOT NULL,
    details    text        NOT NULL
);

CREATE INDEX events_message ON events (message_id, event_id) WHERE message_id IS NOT NULL;

-- Multi-node leases, one per ordered stream (the destination's name). The token only grows:
-- the row is never deleted, a release only expires it. Expiry is judged by the database clock.
CREATE TABLE leases (
    stream      text        PRIMARY KEY,
    owner       text        NOT NULL,
    token       bigint      NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- One message of an accept batch: dedupe, store, queue, audit; one round trip each, pipelined.
-- The caller has already locked the destinations' tail rows and the sender keys, in sorted order.
CREATE FUNCTION accept_message(
    p_channel text, p_peer text, p_control_id text, p_message_type text, p_app text,
    p_facility text, p_received_at timestamptz, p_status text, p_ack_code text, p_error text,
    p_sha256 bytea, p_payload bytea, p_destinations text[], p_id_kinds text[],
    p_id_values text[], p_cutoff timestamptz, p_reject_collisions boolean,
    OUT o_message_id bigint, OUT o_duplicate_of bigint, OUT o_collision boolean,
    OUT o_ack_code text
) LANGUAGE plpgsql AS $$
DECLARE
    v_first_id bigint;
    v_first_ack text;
    v_other_id bigint;
    v_entry_id bigint;
    v_destination text;
BEGIN
    o_collision := false;
    o_ack_code := p_ack_code;
    IF p_control_id IS NOT NULL THEN
        SELECT m.message_id, m.ack_code INTO v_first_id, v_first_ack
        FROM messages AS m
        WHERE m.control_id = p_control_id AND m.received_at >= p_cutoff
          AND m.sending_application IS NOT DISTINCT FROM p_app
          AND m.sending_facility IS NOT DISTINCT FROM p_facility
          AND m.sha256 = p_sha256
        ORDER BY m.message_id
        LIMIT 1;
        IF v_first_id IS NOT NULL THEN
            o_duplicate_of := v_first_id;
            o_ack_code := v_first_ack;
            INSERT INTO receipts (kind, channel, peer, received_at, message_id)
            VALUES ('duplicate', p_channel, p_peer, p_received_at, v_first_id);
            INSERT INTO events (action, message_id, operator, reason, details)
            VALUES ('duplicate', v_first_id, 'engine', '', 'ack=' || v_first_ack);
            RETURN;
        END IF;
        SELECT m.message_id INTO v_other_id
        FROM messages AS m
        WHERE m.control_id = p_control_id AND m.received_at >= p_cutoff
          AND m.sending_application IS NOT DISTINCT FROM p_app
          AND m.sending_facility IS NOT DISTINCT FROM p_facility
        ORDER BY m.message_id
        LIMIT 1;
        o_collision := v_other_id IS NOT NULL;
        IF o_collision AND p_reject_collisions THEN
            INSERT INTO receipts (kind, channel, peer, received_at, message_id)
            VALUES ('collision_rejected', p_channel, p_peer, p_received_at, v_other_id);
            INSERT INTO events (action, message_id, operator, reason, details)
            VALUES ('collision', v_other_id, 'engine', '', 'rejected');
            RETURN;
        END IF;
    END IF;

    INSERT INTO messages (
        channel, peer, control_id, message_type, sending_application, sending_facility,
        received_at, status, ack_code, error, collision, size, sha256, payload
    ) VALUES (
        p_channel, p_peer, p_control_id, p_message_type, p_app, p_facility, p_received_at,
        p_status, p_ack_code, p_error, o_collision, octet_length(p_payload), p_sha256, p_payload
    ) RETURNING message_id INTO o_message_id;

    INSERT INTO identifiers (message_id, kind, value)
    SELECT o_message_id, k, v FROM unnest(p_id_kinds, p_id_values) AS i (k, v)
    ON CONFLICT DO NOTHING;

    INSERT INTO events (action, message_id, operator, reason, details)
    VALUES (CASE WHEN p_status = 'rejected' THEN 'rejected' ELSE 'received' END,
            o_message_id, 'engine', '', 'ack=' || p_ack_code);
    IF o_collision THEN
        INSERT INTO events (action, message_id, operator, reason, details)
        VALUES ('collision', o_message_id, 'engine', '', 'first=' || v_other_id);
    END IF;

    IF p_status = 'accepted' THEN
        FOREACH v_destination IN ARRAY p_destinations LOOP
            INSERT INTO entries (message_id, destination, state)
            VALUES (o_message_id, v_destination, 'queued')
            RETURNING entry_id INTO v_entry_id;
            INSERT INTO events (action, message_id, entry_id, operator, reason, details)
            VALUES ('queued', o_message_id, v_entry_id, 'engine', '', '');
        END LOOP;
    END IF;
END;
$$;

-- Claim the head of one destination. The 'head' row is taken with SKIP LOCKED: when another
-- claimer (any process) holds it, that claimer is looking at the same head, so this one returns
-- nothing rather than skipping ahead. With a lease on the stream, only the current holder may
-- claim, and it takes over an in-flight head left by an older token (a paused former holder).
CREATE FUNCTION claim_head(p_destination text, p_owner text, p_fence bigint)
RETURNS TABLE (
    c_entry_id bigint, c_message_id bigint, c_payload bytea, c_control_id text,
    c_attempts integer, c_takeover boolean
) LANGUAGE plpgsql AS $$
DECLARE
    v_leased boolean;
    v_live boolean;
    v_owner text;
    v_token bigint;
    v_entry_id bigint;
    v_state text;
    v_fence bigint;
    v_takeover boolean := false;
BEGIN
    PERFORM 1 FROM streams AS s
    WHERE s.destination = p_destination AND s.lock = 'head'
    FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    SELECT l.owner, l.token, l.expires_at > clock_timestamp() INTO v_owner, v_token, v_live
    FROM leases AS l WHERE l.stream = p_destination
    FOR SHARE;
    v_leased := FOUND;
    IF v_leased AND NOT (v_live AND v_owner = p_owner AND v_token = p_fence) THEN
        RETURN;
    END IF;

    SELECT e.entry_id, e.state, e.fence INTO v_entry_id, v_state, v_fence
    FROM entries AS e
    WHERE e.destination = p_destination
      AND e.state IN ('queued', 'in_flight', 'retrying', 'held')
    ORDER BY e.entry_id
    LIMIT 1
    FOR UPDATE;
    IF v_entry_id IS NULL OR v_state = 'held' THEN
        RETURN;
    END IF;
    IF v_state = 'in_flight' THEN
        IF NOT (v_leased AND v_fence < p_fence) THEN
            RETURN;
        END IF;
        v_takeover := true;
    END IF;

    UPDATE entries AS e
    SET state = 'in_flight', attempts = e.attempts + 1, owner = p_owner, fence = p_fence,
        claimed_at = clock_timestamp()
    WHERE e.entry_id = v_entry_id;
    INSERT INTO events (action, message_id, entry_id, operator, reason, details)
    SELECT 'claimed', e.message_id, e.entry_id, 'engine', '',
           format('attempt=%s fence=%s%s', e.attempts, e.fence,
                  CASE WHEN v_takeover THEN ' takeover' ELSE '' END)
    FROM entries AS e WHERE e.entry_id = v_entry_id;

    RETURN QUERY
    SELECT e.entry_id, e.message_id, m.payload, m.control_id, e.attempts, v_takeover
    FROM entries AS e JOIN messages AS m ON m.message_id = e.message_id
    WHERE e.entry_id = v_entry_id;
END;
$$;

-- Record an attempt's result, only for the claim that made it: same fence, same attempt, still
-- in flight, and (with a lease on the stream) a fence equal to the current token.
CREATE FUNCTION settle_entry(
    p_entry_id bigint, p_fence bigint, p_attempts integer, p_state text, p_action text,
    p_ack_code text, p_ack_control_id text, p_ack_text text, p_ack_latency double precision
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_destination text;
    v_message_id bigint;
    v_token bigint;
BEGIN
    SELECT e.destination, e.message_id INTO v_destination, v_message_id
    FROM entries AS e
    WHERE e.entry_id = p_entry_id AND e.state = 'in_flight' AND e.fence = p_fence
      AND e.attempts = p_attempts
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT l.token INTO v_token FROM leases AS l WHERE l.stream = v_destination FOR SHARE;
    IF FOUND AND v_token <> p_fence THEN
        RETURN false;
    END IF;

    UPDATE entries AS e
    SET state = p_state, ack_code = p_ack_code, ack_control_id = p_ack_control_id,
        ack_text = p_ack_text, ack_latency = p_ack_latency, settled_at = clock_timestamp(),
        last_error = CASE WHEN p_state = 'delivered' THEN e.last_error ELSE p_ack_text END
    WHERE e.entry_id = p_entry_id;
    INSERT INTO events (action, message_id, entry_id, operator, reason, details)
    VALUES (p_action, v_message_id, p_entry_id, 'engine', '',
            format('ack=%s attempt=%s', coalesce(p_ack_code, 'none'), p_attempts));
    RETURN true;
END;
$$;
