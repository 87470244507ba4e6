-- Bulk loads of up to 20 million synthetic people (see src/seed.rs).
-- Subject ids and RRNs are ASCII keys compared byte by byte: the "C"
-- collation (memcmp, abbreviated keys) builds and searches their indexes
-- about three times faster than a linguistic collation such as C.UTF-8.
ALTER TABLE people ALTER COLUMN subject_id TYPE text COLLATE "C", ALTER COLUMN rrn TYPE text COLLATE "C";
-- The population is a pure function of (generator seed, count, subject
-- key): it is regenerated, never recovered. Unlogged tables skip the WAL
-- (gigabytes at 20 million people); after a PostgreSQL crash both tables
-- come back empty together, and the next `serve` with YEYAK_SEED_COUNT
-- (or `seed`) loads the population again.
ALTER TABLE people SET UNLOGGED;
ALTER TABLE registry_meta SET UNLOGGED;
