-- The operator API (docs/notification.md, "Operator API").
--
-- A resend (ResendForReservation) is a delivery of its own, caused by an
-- operator rather than an event: a fresh UUIDv7 as its event id (no inbox
-- row: nothing was consumed), its own message id, and resend_of naming the
-- message whose text it repeats.
ALTER TABLE deliveries ADD COLUMN resend_of uuid;
-- At most one resend of a reservation in flight, also when two operators
-- race: the second insert fails on this index.
CREATE UNIQUE INDEX deliveries_one_resend_in_flight ON deliveries (reservation_id)
    WHERE resend_of IS NOT NULL AND state IN ('pending', 'unknown');

-- Operators list deliveries by state, newest first, a page at a time, and
-- count them per state and gateway from the same index (the gateway is
-- included, so counting reads the index only). Discarded rows are an
-- operator's own, rare doing.
DROP INDEX deliveries_needing_operators;
CREATE INDEX deliveries_for_operators ON deliveries (state, created_at DESC, message_id DESC) INCLUDE (gateway)
    WHERE state IN ('failed', 'unknown', 'discarded');

-- Sealed numbers are now kept after a delivery ends (sent or failed), for
-- replays and resends, until the retention period has passed: the sweep
-- that erases them finds them here without reading the table.
CREATE INDEX deliveries_kept_contacts ON deliveries (created_at)
    WHERE sealed_contact IS NOT NULL AND state IN ('sent', 'failed');
