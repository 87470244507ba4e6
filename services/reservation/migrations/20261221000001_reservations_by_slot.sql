-- no-transaction
-- A supply change finds the confirmed bookings of the slots it closes (the
-- job's start, which holds those slots' ledger rows, and every dry run):
-- without this index that is a scan of every reservation. Built
-- CONCURRENTLY, outside a transaction (and alone in this file: several
-- statements would run in one implicit transaction), so a deployment's
-- migration never blocks bookings while it builds. An interrupted build
-- leaves an INVALID index that the rerun refuses to overwrite: drop
-- reservations_confirmed_by_slot and run the migration again.
CREATE INDEX CONCURRENTLY reservations_confirmed_by_slot ON reservations (slot_id) WHERE state = 'confirmed';
