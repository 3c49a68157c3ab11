/**
 * Tables and the append function shared by the PostgreSQL and PGlite adapters: one SQL text,
 * so that the embedded store behaves exactly like the deployed one.
 *
 * Ordering (docs/event-store.md): every append takes the row lock on `registo_log_head`
 * before it assigns positions, and holds it until it commits. Appends therefore commit one
 * after another in position order, a rolled-back append gives its positions back, and a
 * reader that has seen position N can never later find a smaller one appear: `position > N`
 * is a complete and gap-free way to read on. Concurrent callers are batched into one call
 * of `registo_append` by the adapter to make up for the serialisation.
 */
export const EVENT_STORE_SCHEMA_VERSION = 1;

export const EVENT_STORE_DDL = `
-- The store's identity: a random id drawn once, when the store is created (a store made before
-- this table gets its id at its first open after the upgrade). Kafka checkpoints and consumer
-- offsets carry it, so that a topic prefix reused with another database is recognised.
CREATE TABLE IF NOT EXISTS registo_store_identity (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  store_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO registo_store_identity (singleton, store_id)
VALUES (true, gen_random_uuid()) ON CONFLICT (singleton) DO NOTHING;

CREATE TABLE IF NOT EXISTS registo_log_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  position bigint NOT NULL,
  schema_version int NOT NULL
);
INSERT INTO registo_log_head (singleton, position, schema_version)
VALUES (true, 0, ${EVENT_STORE_SCHEMA_VERSION}) ON CONFLICT (singleton) DO NOTHING;

CREATE TABLE IF NOT EXISTS registo_events (
  position bigint PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  stream_id text NOT NULL,
  category text NOT NULL,
  revision bigint NOT NULL,
  type text NOT NULL,
  schema_version int NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  hash text NOT NULL,
  UNIQUE (stream_id, revision)
);

-- One call appends a batch of independent appends, each to its own stream with its own
-- expectation. Results come back per append: ok, duplicate (all event ids already stored,
-- same content), conflict (expectation not met), stale (the caller computed revisions from
-- an older head of the stream; it retries with actual_revision), reused (an event id is
-- stored with other content, or only some of the ids are stored).
CREATE OR REPLACE FUNCTION registo_append(p_appends jsonb)
RETURNS TABLE (idx int, status text, actual_revision bigint, first_position bigint)
LANGUAGE plpgsql
-- Plan every statement for the table as it is now: a plan cached while the table was small
-- would keep scanning it whole long after it has grown.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_head bigint;
  v_start bigint;
  v_append jsonb;
  v_idx bigint;
  v_actual bigint;
  v_count int;
  v_found int;
  v_same int;
  v_any_stored boolean;
BEGIN
  SELECT h.position INTO v_head FROM registo_log_head h WHERE h.singleton FOR UPDATE;
  v_start := v_head;
  -- Fast path: one index probe for the whole batch tells whether any event id is stored already.
  SELECT EXISTS (
    SELECT 1 FROM registo_events e
     WHERE e.event_id = ANY (ARRAY(
       SELECT (x.value->>'eventId')::uuid
         FROM jsonb_array_elements(p_appends) a, jsonb_array_elements(a.value->'events') x))
  ) INTO v_any_stored;

  FOR v_append, v_idx IN SELECT a.value, a.ordinality FROM jsonb_array_elements(p_appends) WITH ORDINALITY a LOOP
    idx := v_idx::int;
    v_count := jsonb_array_length(v_append->'events');
    first_position := NULL;

    IF v_any_stored THEN
      SELECT count(*)::int,
             count(*) FILTER (WHERE e.stream_id = v_append->>'stream' AND e.type = x.value->>'type'
                               AND e.data = x.value->'data')::int,
             min(e.position)
        INTO v_found, v_same, first_position
        FROM jsonb_array_elements(v_append->'events') x
        JOIN registo_events e ON e.event_id = (x.value->>'eventId')::uuid;
      IF v_found > 0 THEN
        status := CASE WHEN v_found = v_count AND v_same = v_count THEN 'duplicate' ELSE 'reused' END;
        actual_revision := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;

    SELECT coalesce(max(e.revision), -1) INTO v_actual FROM registo_events e WHERE e.stream_id = v_append->>'stream';
    actual_revision := v_actual;
    IF (v_append->>'kind' = 'no_stream' AND v_actual <> -1)
       OR (v_append->>'kind' = 'exact' AND v_actual <> (v_append->>'assumed')::bigint)
       OR (v_append->>'kind' = 'stream_exists' AND v_actual = -1) THEN
      status := 'conflict';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF v_actual <> (v_append->>'assumed')::bigint THEN
      status := 'stale';
      RETURN NEXT;
      CONTINUE;
    END IF;

    INSERT INTO registo_events (position, event_id, stream_id, category, revision, type, schema_version, data, metadata, hash)
    SELECT v_head + x.ordinality, (x.value->>'eventId')::uuid, v_append->>'stream', v_append->>'category',
           v_actual + x.ordinality, x.value->>'type', (x.value->>'schemaVersion')::int,
           x.value->'data', x.value->'metadata', x.value->>'hash'
      FROM jsonb_array_elements(v_append->'events') WITH ORDINALITY x;
    status := 'ok';
    first_position := v_head + 1;
    v_head := v_head + v_count;
    RETURN NEXT;
  END LOOP;
  IF v_head > v_start THEN
    UPDATE registo_log_head SET position = v_head WHERE singleton;
    PERFORM pg_notify('registo_events', v_head::text);
  END IF;
END
$$;`;

export const EVENT_COLUMNS =
  'position, event_id, stream_id, revision, type, schema_version, data, metadata, hash';
