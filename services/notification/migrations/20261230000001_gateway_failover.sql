-- Several SMS gateways (docs/notification.md, "Gateway failover").
--
-- gateway: the gateway this delivery was last handed to. Written *before*
-- the send (just before each send, 20270110000001), so a round that never recorded
-- its outcome (a replica that died mid-send) is known to have possibly
-- reached that gateway: the next round asks it first instead of sending
-- elsewhere. Cleared when every gateway provably did not take the message;
-- kept once sent (which gateway sent it).
ALTER TABLE deliveries ADD COLUMN gateway text;

-- 'unknown': handed to `gateway`, whose answer never came and whose status
-- lookup could not tell either. Re-checked at that gateway (never resent
-- elsewhere) until it answers, or an operator resolves it.
-- 'discarded': an operator dropped a failed or unknown delivery.
--
-- The checks are added NOT VALID: enforced for every row written from now
-- on, without scanning the table while this transaction holds its ACCESS
-- EXCLUSIVE lock (which would stop the sender and the consumer for as long
-- as the scan takes). The existing rows are checked by VALIDATE CONSTRAINT
-- in a later migration's own transaction (20270110000001_generations.sql),
-- which holds only SHARE UPDATE EXCLUSIVE: reads and writes go on meanwhile.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('pending', 'sent', 'failed', 'unknown', 'discarded')) NOT VALID;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_due_only_while_pending;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_due_only_while_pending
    CHECK ((state IN ('pending', 'unknown')) = (next_attempt_at IS NOT NULL)) NOT VALID;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_unknown_names_its_gateway
    CHECK (state <> 'unknown' OR gateway IS NOT NULL) NOT VALID;

-- Operators list what needs them (failed, unknown) by state, newest first.
CREATE INDEX deliveries_needing_operators ON deliveries (state, created_at) WHERE state IN ('failed', 'unknown');
