-- Per-slot capacity counters this service books against. A slot's row is
-- created from the catalogue's size the first time the slot is booked; the
-- CHECK makes overselling impossible whatever the application does.
CREATE TABLE slot_ledger (
    slot_id    uuid PRIMARY KEY,
    capacity   integer NOT NULL,
    booked     integer NOT NULL DEFAULT 0,
    CONSTRAINT slot_ledger_booked_within_capacity CHECK (booked >= 0 AND booked <= capacity)
);

CREATE TABLE reservations (
    reservation_id   uuid PRIMARY KEY,
    subject_id       text NOT NULL,
    agent_subject_id text NOT NULL DEFAULT '',
    idempotency_key  text NOT NULL,
    -- sha256 over what the client asked for, to tell a retry from a key reused for another request.
    request_hash     bytea NOT NULL,
    slot_id          uuid NOT NULL,
    clinic_id        text NOT NULL,
    clinic_name      text NOT NULL,
    vaccine_code     text NOT NULL,
    dose_number      integer NOT NULL CHECK (dose_number BETWEEN 1 AND 4),
    starts_at        timestamptz NOT NULL,
    contact_phone    text NOT NULL,
    state            text NOT NULL CHECK (state IN ('confirmed', 'cancelled')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT reservations_idempotency UNIQUE (subject_id, idempotency_key)
);

-- One active reservation per person per dose, enforced by the database.
CREATE UNIQUE INDEX reservations_one_active_per_dose ON reservations (subject_id, dose_number) WHERE state = 'confirmed';

-- ListReservations: own bookings and bookings made as an agent, newest first.
CREATE INDEX reservations_by_subject ON reservations (subject_id, created_at DESC, reservation_id DESC);
CREATE INDEX reservations_by_agent ON reservations (agent_subject_id, created_at DESC, reservation_id DESC)
    WHERE agent_subject_id <> '';


-- The transactional outbox is the platform's table
-- (yeyak_platform::messaging::tables), applied together with these migrations.
