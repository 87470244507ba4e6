-- What a waiting room must not lose when its Redis does (docs/admission.md,
-- "Losing Redis"). Redis holds the live counters; these rows bound them from
-- above, so a rebuilt Redis never hands out a place twice, never demotes
-- anyone admitted and never forgets an operator's setting.

-- Operator settings. NULL: the deployment's configured default.
CREATE TABLE queue_settings (
    queue_id        text PRIMARY KEY,
    rate_per_second double precision,
    max_active      bigint,
    paused          boolean NOT NULL DEFAULT false,
    closed          boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- High-water marks, reserved ahead in blocks: every lottery entry below
-- lottery_reserved and every arrival up to places_reserved may have been
-- handed out; nothing above was.
CREATE TABLE queue_marks (
    queue_id         text PRIMARY KEY,
    -- The lottery seed, drawn once per queue and kept: the draw never changes.
    seed             text NOT NULL,
    lottery_reserved bigint NOT NULL DEFAULT 0 CHECK (lottery_reserved >= 0),
    -- The lottery pool, frozen at the opening.
    pool             bigint CHECK (pool >= 0),
    places_reserved  bigint NOT NULL DEFAULT 0 CHECK (places_reserved >= 0),
    rebuilds         bigint NOT NULL DEFAULT 0
);

-- Admitted places, one row per admission batch, written before anyone in it
-- is told they are in: the frontier is the highest last_place.
CREATE TABLE admitted_batches (
    queue_id    text NOT NULL,
    first_place bigint NOT NULL,
    last_place  bigint NOT NULL CHECK (last_place >= first_place),
    -- When the batch's seats (and passes) expire.
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (queue_id, first_place)
);

-- Seats freed before their expiry (EndSession, a booking): a rebuild must
-- not give them back.
CREATE TABLE ended_seats (
    queue_id   text NOT NULL,
    place      bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (queue_id, place)
);
