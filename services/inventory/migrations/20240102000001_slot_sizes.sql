-- A slot's booked count is the exact sum of the (deduplicated) booking events,
-- no longer clamped to [0, capacity]: after a size cut below what is booked
-- it stays above capacity (the reservation ledger keeps those bookings, so a
-- later increase must not forget them), and an event applied out of order may
-- take it below zero for a moment. What is shown is clamped: remaining places
-- are in [0, capacity], and each day summary counts its slots' booked places
-- clamped the same way, so the summaries keep their CHECK.
ALTER TABLE slots DROP CONSTRAINT slots_check;
