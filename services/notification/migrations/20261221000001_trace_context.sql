-- The W3C trace context (`traceparent`) of the message that caused the
-- delivery: the sender, which runs later, makes the SMS gateway call a child
-- of it, so the SMS is part of the booking's trace (docs/tracing.md). NULL
-- when the message carried none (tracing off) and for rows written before.
ALTER TABLE deliveries ADD COLUMN traceparent text;
