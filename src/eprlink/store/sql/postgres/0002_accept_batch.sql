-- 0002: a whole group-commit batch in one statement. Before, a batch sent one statement per
-- message plus four around them; each costs a protocol exchange, a bind and, on the client, a
-- good deal of Python. accept_batch takes the batch as parallel arrays (destinations and
-- identifiers flattened, with a count per message) and does the same work in the same order:
-- create the streams' lock rows, lock their 'tail' rows and then the sender keys, both in
-- sorted order, run accept_message for each message in turn, and queue the NOTIFY. Each
-- result row carries the message's position in the batch, so the caller never relies on the
-- order a set-returning function happens to produce.
CREATE FUNCTION accept_batch(
    p_notify_channel text,
    p_channels text[], p_peers text[], p_control_ids text[], p_message_types text[],
    p_apps text[], p_facilities text[], p_received_at timestamptz[], p_statuses text[],
    p_ack_codes text[], p_errors text[], p_sha256 bytea[], p_payloads bytea[],
    p_cutoffs timestamptz[], p_reject_collisions boolean[],
    p_destination_counts integer[], p_destinations text[],
    p_identifier_counts integer[], p_id_kinds text[], p_id_values text[]
) RETURNS TABLE (
    o_position integer, o_message_id bigint, o_duplicate_of bigint, o_collision boolean,
    o_ack_code text
) LANGUAGE plpgsql AS $$
DECLARE
    v_streams text[];
    v_next_destination integer := 1;
    v_next_identifier integer := 1;
    v_destinations integer;
    v_identifiers integer;
BEGIN
    SELECT coalesce(array_agg(DISTINCT d ORDER BY d), '{}') INTO v_streams
    FROM unnest(p_destinations) AS d;
    IF cardinality(v_streams) > 0 THEN
        INSERT INTO streams (destination, lock)
        SELECT d, l FROM unnest(v_streams) AS d CROSS JOIN (VALUES ('head'), ('tail')) AS k (l)
        ON CONFLICT DO NOTHING;
        PERFORM 1 FROM streams
        WHERE lock = 'tail' AND destination = ANY(v_streams)
        ORDER BY destination
        FOR UPDATE;
    END IF;

    INSERT INTO dedupe_keys AS k (sending_application, sending_facility, control_id, last_received)
    SELECT coalesce(a, ''), coalesce(f, ''), c, max(t)
    FROM unnest(p_apps, p_facilities, p_control_ids, p_received_at) AS u (a, f, c, t)
    WHERE c IS NOT NULL
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (sending_application, sending_facility, control_id)
    DO UPDATE SET last_received = greatest(k.last_received, excluded.last_received);

    FOR i IN 1 .. coalesce(cardinality(p_channels), 0) LOOP
        v_destinations := p_destination_counts[i];
        v_identifiers := p_identifier_counts[i];
        RETURN QUERY
        SELECT i, a.o_message_id, a.o_duplicate_of, a.o_collision, a.o_ack_code
        FROM accept_message(
            p_channels[i], p_peers[i], p_control_ids[i], p_message_types[i], p_apps[i],
            p_facilities[i], p_received_at[i], p_statuses[i], p_ack_codes[i], p_errors[i],
            p_sha256[i], p_payloads[i],
            p_destinations[v_next_destination : v_next_destination + v_destinations - 1],
            p_id_kinds[v_next_identifier : v_next_identifier + v_identifiers - 1],
            p_id_values[v_next_identifier : v_next_identifier + v_identifiers - 1],
            p_cutoffs[i], p_reject_collisions[i]
        ) AS a;
        v_next_destination := v_next_destination + v_destinations;
        v_next_identifier := v_next_identifier + v_identifiers;
    END LOOP;

    PERFORM pg_notify(p_notify_channel, d) FROM unnest(v_streams) AS d;
END;
$$;
