-- The booking event (admission queue) whose funnel a confirmation SMS ends:
-- the sender counts it as `sms_sent` or `sms_failed` of that event
-- (yeyak_funnel_total, docs/operations.md). NULL for the other messages
-- (cancellation, reschedule) and for rows written before.
ALTER TABLE deliveries ADD COLUMN funnel_event text;
