-- The transactional outbox (yeyak_platform::messaging::outbox), defined once
-- for every publishing service: events are written here in the transaction
-- that changes state, and the relay publishes them with publisher confirms.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    routing_key  text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- Keeps the relay's scan of unpublished rows cheap whatever the table's size.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
