-- Events already handled (consumer-side deduplication) live in the
-- platform's inbox table, processed_events (messaging::tables::Table::Inbox).

-- One SMS per event. message_id is derived from the event id and is the
-- Idempotency-Key at the gateway, so a resend after a crash is deduplicated.
CREATE TABLE deliveries (
    message_id      uuid PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    reservation_id  uuid NOT NULL,
    event_type      text NOT NULL,
    -- Personal data: kept only while the message may still be sent.
    phone           text,
    masked_phone    text NOT NULL,
    text            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);

-- The sender's scan touches only what is still pending.
CREATE INDEX deliveries_pending ON deliveries (created_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_reservation ON deliveries (reservation_id, created_at);
