-- The inbox (yeyak_platform::messaging::inbox), defined once for every
-- consuming service that deduplicates by event id: an event's id is recorded
-- in the same transaction as the work it causes.
CREATE TABLE processed_events (
    event_id     uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
