-- The catalogue (owned here) and the availability read model (kept up to
-- date from reservation events; the authoritative ledger is in reservation).

CREATE TABLE provinces (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    name text NOT NULL
);

CREATE TABLE districts (
    code          text PRIMARY KEY CHECK (code ~ '^[0-9]{5}$'),
    name          text NOT NULL,
    province_code text NOT NULL REFERENCES provinces (code)
);
CREATE INDEX districts_by_province ON districts (province_code, code);

CREATE TABLE clinics (
    clinic_id     uuid PRIMARY KEY,
    district_code text NOT NULL REFERENCES districts (code),
    province_code text NOT NULL REFERENCES provinces (code),
    name          text NOT NULL,
    address       text NOT NULL
);

CREATE TABLE clinic_vaccines (
    clinic_id    uuid NOT NULL REFERENCES clinics (clinic_id),
    vaccine_code text NOT NULL,
    PRIMARY KEY (clinic_id, vaccine_code)
);

-- booked is not indexed and the tables leave room on each page, so the
-- counter updates the consumer makes stay HOT (no index writes). Slots carry
-- no foreign key: only the catalogue loader writes them (from clinic_vaccines),
-- and a per-row FK check would double the time to load millions of slots.
CREATE TABLE slots (
    slot_id      uuid PRIMARY KEY,
    clinic_id    uuid NOT NULL,
    vaccine_code text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    local_date   date NOT NULL, -- Asia/Seoul day of starts_at
    capacity     int NOT NULL CHECK (capacity >= 0),
    booked       int NOT NULL DEFAULT 0,
    CHECK (booked >= 0 AND booked <= capacity),
    CHECK (ends_at > starts_at)
) WITH (fillfactor = 90);
-- GetAvailability: one clinic and vaccine, a starts_at range, in start order.
CREATE INDEX slots_availability ON slots (clinic_id, vaccine_code, starts_at);

-- One row per clinic, vaccine and Seoul day: search reads only this table.
-- Province and district are copied in so one index range serves a search
-- in clinic-id order (keyset pagination) without touching clinics or slots.
CREATE TABLE daily_availability (
    clinic_id     uuid NOT NULL,
    vaccine_code  text NOT NULL,
    local_date    date NOT NULL,
    province_code text NOT NULL,
    district_code text NOT NULL,
    capacity      int NOT NULL CHECK (capacity >= 0),
    booked        int NOT NULL DEFAULT 0,
    CHECK (booked >= 0 AND booked <= capacity),
    PRIMARY KEY (clinic_id, vaccine_code, local_date),
    FOREIGN KEY (clinic_id, vaccine_code) REFERENCES clinic_vaccines (clinic_id, vaccine_code)
) WITH (fillfactor = 90);
CREATE INDEX daily_availability_by_province ON daily_availability (province_code, vaccine_code, clinic_id, local_date);
CREATE INDEX daily_availability_by_district ON daily_availability (district_code, vaccine_code, clinic_id, local_date);

-- The inbox (processed_events: reservation events already applied) and the
-- outbox (slot size changes for the reservation service's capacity ledger,
-- committed together with the change) are the platform's
-- (yeyak_platform::messaging::tables), applied with these migrations.
