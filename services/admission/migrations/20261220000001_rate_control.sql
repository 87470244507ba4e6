-- The automatic admission rate (docs/admission.md, "Automatic admission
-- rate"). Per event, the operators switch the controller on or off and may
-- set its floor; NULL: the deployment's default (YEYAK_ADMISSION_CONTROL,
-- YEYAK_ADMISSION_CONTROL_FLOOR_FRACTION of the operators' rate).
ALTER TABLE queue_settings
    ADD COLUMN auto_rate  boolean,
    ADD COLUMN auto_floor double precision CHECK (auto_floor > 0);

-- Every change the controller made to an event's admission rate, with its
-- reason: the record of who was admitted how fast, and why. At most one row
-- per control interval per event (2 s by default), and only on a change.
CREATE TABLE admission_rate_changes (
    id         bigserial PRIMARY KEY,
    queue_id   text             NOT NULL,
    changed_at timestamptz      NOT NULL,
    old_rate   double precision NOT NULL,
    new_rate   double precision NOT NULL,
    direction  text             NOT NULL CHECK (direction IN ('up', 'down')),
    reason     text             NOT NULL,
    -- The admission replica that held the event's control lease.
    replica    text             NOT NULL
);
CREATE INDEX admission_rate_changes_by_queue ON admission_rate_changes (queue_id, changed_at DESC);
