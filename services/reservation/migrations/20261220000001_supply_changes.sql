-- Supply changes (docs/supply-changes.md): an operator closed a clinic's
-- slots (inventory.supply_changed.v1) and every booking of them moves to an
-- equivalent open slot, or is cancelled when none has a place. One job per
-- change, keyed by inventory's change id, so a redelivered event starts
-- nothing twice; one item per affected reservation, filled in the job's
-- first transaction. Every replica's workers take pending items with
-- FOR UPDATE SKIP LOCKED and move each in one transaction (ledger, the
-- reservation, the item and the outbox row), so a process killed halfway
-- leaves every item moved or pending, and the next one continues.
CREATE TABLE supply_changes (
    change_id      uuid PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('close', 'change_vaccine')),
    clinic_id      text NOT NULL,
    -- The closed slots, with the vaccine and start the moves are ranked by.
    slot_ids       uuid[] NOT NULL,
    slot_vaccines  text[] NOT NULL,
    slot_starts    timestamptz[] NOT NULL,
    max_move_days  integer NOT NULL CHECK (max_move_days BETWEEN 1 AND 28),
    requested_by   text NOT NULL,
    total          integer NOT NULL DEFAULT 0,
    state          text NOT NULL CHECK (state IN ('running', 'done')),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    CHECK (cardinality(slot_ids) = cardinality(slot_vaccines) AND cardinality(slot_ids) = cardinality(slot_starts))
);
CREATE INDEX supply_changes_running ON supply_changes (started_at) WHERE state = 'running';

CREATE TABLE supply_change_items (
    change_id      uuid NOT NULL REFERENCES supply_changes (change_id),
    reservation_id uuid NOT NULL,
    from_slot_id   uuid NOT NULL,
    -- A second or later dose only moves later (the interval since the last).
    dose_number    integer NOT NULL,
    -- pending: not handled yet; moved: to to_slot_id; cancelled: no slot had
    -- a place; skipped: its holder cancelled or moved it first.
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'moved', 'cancelled', 'skipped')),
    to_slot_id     uuid,
    done_at        timestamptz,
    PRIMARY KEY (change_id, reservation_id),
    CHECK ((state = 'moved') = (to_slot_id IS NOT NULL)),
    CHECK ((state = 'pending') = (done_at IS NULL))
);
CREATE INDEX supply_change_items_pending ON supply_change_items (change_id, reservation_id) WHERE state = 'pending';
