-- Booking events as data (docs/admission.md, "Booking events"): each event
-- is its own line with its own rate and rule set, created, changed and
-- closed by operators without a restart. The operator settings in
-- queue_settings stay the live overrides (rate, seats, pause, difficulty);
-- an event's row holds its definition and its starting settings.
-- The catalog's version: one row, bumped by every change inside its
-- transaction. Its row lock orders the writers, so versions are handed out
-- in commit order and a replica that read version v has every change up to
-- v (a sequence would not: a later nextval can commit first).
CREATE TABLE booking_event_catalog (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint  NOT NULL
);
INSERT INTO booking_event_catalog (version) VALUES (0);

CREATE TABLE booking_events (
    event_id          text PRIMARY KEY CHECK (event_id ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    title             text NOT NULL,
    opens_at          timestamptz NOT NULL,
    closes_at         timestamptz CHECK (closes_at > opens_at),
    -- Eligibility's rule set; '' means eligibility's default rules file.
    rule_set          text NOT NULL DEFAULT '',
    rate_per_second   double precision NOT NULL CHECK (rate_per_second > 0),
    max_active        bigint NOT NULL CHECK (max_active > 0),
    -- How long before the opening arrivals may join; NULL: any time.
    pre_open_seconds  bigint CHECK (pre_open_seconds >= 0),
    join_pow_bits     smallint NOT NULL DEFAULT 0 CHECK (join_pow_bits BETWEEN 0 AND 32),
    -- Identity-first: the event whose pass verifies the person first.
    verify_in         text,
    closed            boolean NOT NULL DEFAULT false,
    -- The catalog's version of the event's last change.
    version           bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL
);
