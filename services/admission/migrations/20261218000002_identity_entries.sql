-- Identity-first events (YEYAK_JOIN_REQUIRE_IDENTITY): one entry per person
-- per event. The subject is identity's pseudonymous subject id (a keyed
-- hash of the resident number, never the number). Kept here, not only in
-- Redis, because a map Redis could forget would let a person enter twice.
CREATE TABLE identity_entries (
    queue_id      text        NOT NULL,
    subject       text        NOT NULL,
    -- The place in line; 0 for a pre-opening lottery entry.
    place         bigint      NOT NULL,
    lottery_entry bigint,
    session_id    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue_id, subject)
);
