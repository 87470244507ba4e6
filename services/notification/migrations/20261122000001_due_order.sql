-- The sender claims deliveries in due order, and a delivery that is sent or
-- given up has no next attempt. The claim's plan then reads only the head of
-- one range index, whatever the backlog, even before the planner has
-- statistics for a new table (the old partial index on state let it sort
-- the whole backlog on every claim, which made a backlog grow in a surge).
ALTER TABLE deliveries ALTER COLUMN next_attempt_at DROP NOT NULL;
UPDATE deliveries SET next_attempt_at = NULL WHERE state <> 'pending';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_due_only_while_pending
    CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL));
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
-- No partial index on state: "is an older message of this reservation still
-- unsent?" is answered by deliveries_by_reservation (a reservation has a
-- handful of messages), and one on state would be the planner's pick for
-- the sender's updates by message id, read whole, before statistics exist.

-- A claim leases a delivery without touching any indexed column, so the
-- update stays on its page (HOT) and costs no index entries: only sending
-- or failing moves it in the due index.
ALTER TABLE deliveries ADD COLUMN leased_until timestamptz;
