-- Slot sizes follow the catalogue (inventory.slot_resized.v1). A cut below
-- what is already booked is never applied as such: the ledger keeps every
-- booking, stops new ones (capacity = booked) and remembers the size the
-- catalogue asked for. Cancellations then bring capacity down to it, and the
-- flag clears once bookings fit. Operators list the flagged slots with
--   SELECT * FROM slot_ledger WHERE target_capacity IS NOT NULL;
ALTER TABLE slot_ledger
    ADD COLUMN target_capacity integer,
    ADD COLUMN overbooked_since timestamptz,
    ADD CONSTRAINT slot_ledger_target_below_capacity
        CHECK (target_capacity IS NULL OR (target_capacity >= 0 AND target_capacity < capacity AND overbooked_since IS NOT NULL));

-- What a booking copies from the catalogue's slot, kept with its counter the
-- first time the slot is booked: later bookings of the slot need no call to
-- the catalogue (only sizes change after publication, and they arrive as
-- events). NULL for a counter created by a size event before any booking.
ALTER TABLE slot_ledger
    ADD COLUMN clinic_id text,
    ADD COLUMN clinic_name text,
    ADD COLUMN vaccine_code text,
    ADD COLUMN starts_at timestamptz;
