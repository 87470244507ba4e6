-- The national health-insurance registry's own schema. Subject ids are
-- HMAC(key, rrn): the registry shares the key with Yeyak's identity service
-- so lookups never carry a raw resident registration number.
CREATE TABLE IF NOT EXISTS people (
    subject_id      text PRIMARY KEY,
    rrn             text NOT NULL UNIQUE,
    name            text NOT NULL,
    birth_date      date NOT NULL,
    sex             char(1) NOT NULL CHECK (sex IN ('M', 'F')),
    region_code     text NOT NULL,
    insured         boolean NOT NULL,
    priority_groups text[] NOT NULL DEFAULT '{}',
    -- doses[i] is the date dose i+1 was given.
    doses           date[] NOT NULL DEFAULT '{}'
);

-- What the current population was generated from: population_size,
-- generator_seed and subject_key_fingerprint (first 16 hex chars of
-- SHA-256 of the subject hash key), so a restart re-seeds only on change.
CREATE TABLE IF NOT EXISTS registry_meta (
    key   text PRIMARY KEY,
    value text
);
