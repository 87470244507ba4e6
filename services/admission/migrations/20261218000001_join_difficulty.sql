-- The proof of work operators set per event (SetJoinDifficulty): leading
-- zero bits asked of each new entry. NULL: the deployment's default
-- (YEYAK_JOIN_POW_BITS) applies.
ALTER TABLE queue_settings
    ADD COLUMN join_pow_bits smallint CHECK (join_pow_bits BETWEEN 0 AND 32);
