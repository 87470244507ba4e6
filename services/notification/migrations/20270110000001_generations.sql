-- Generations and claim tokens (docs/notification.md, "Gateway failover"
-- and "Rolling upgrade": senders of the previous build must be stopped
-- before this migration runs).
--
-- Don't queue behind a long transaction while holding up every writer
-- behind us: fail, and let the deploy retry.
SET LOCAL lock_timeout = '5s';

-- First the checks 20261230000001 added NOT VALID. VALIDATE scans the table
-- under SHARE UPDATE EXCLUSIVE only (the sender and the consumer keep
-- reading and writing); the ACCESS EXCLUSIVE lock of the column changes
-- below comes after the scan and lasts an instant (no rewrite: the defaults
-- are constants).
ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_due_only_while_pending;
ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_unknown_names_its_gateway;

-- generation: the message is sent to a gateway under the reference
-- `<message_id>` (generation 0, as before) or `<message_id>.<generation>`.
-- A gateway's lookup that answers "absent" voids the reference there for
-- good; the next send (to any gateway, the same one included) takes the
-- next generation, so a voided reference never makes a message unsendable,
-- while a late copy of the old one is still refused.
--
-- claim: the token of the claim (sender round) that holds the row. Every
-- update a round makes names it, so a round whose lease expired while
-- another claimed the row changes nothing (it cannot name a gateway, clear
-- one, or record an outcome over the newer round's).
--
-- checks: lookups of an unknown outcome made so far (they set its backoff;
-- they are not attempts, so they never use up YEYAK_SMS_MAX_ATTEMPTS).
ALTER TABLE deliveries
    ADD COLUMN generation integer NOT NULL DEFAULT 0,
    ADD COLUMN claim uuid,
    ADD COLUMN checks integer NOT NULL DEFAULT 0;
