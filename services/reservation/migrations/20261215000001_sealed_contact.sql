-- Phone numbers at rest: a reservation keeps its number only sealed to
-- notification's public key (yeyak_platform::contact), which this service
-- cannot open. New rows write sealed_contact only.
ALTER TABLE reservations ADD COLUMN sealed_contact bytea;

-- Rows written before sealing (or by a replica of the previous build during
-- a rolling upgrade) still have a plain number: every replica seals them at
-- start-up and then every few minutes (app/contacts.rs), and clears the
-- plain column. This index finds them without reading the table.
ALTER TABLE reservations ALTER COLUMN contact_phone DROP NOT NULL;
CREATE INDEX reservations_plain_contact ON reservations (reservation_id) WHERE contact_phone IS NOT NULL;

-- The request fingerprint (domain::request_hash) no longer covers the phone
-- number: an unkeyed hash of a number from a space of 10^8 gives the number
-- back to whoever reads it. v2 covers the slot, the dose and the agent; the
-- stored v1 hashes are rewritten here. A reservation rescheduled since its
-- booking gets the hash of its current slot, so a retry of its original
-- CreateReservation would be refused as a reused key (retries come seconds
-- after the booking, long before a reschedule).
UPDATE reservations SET request_hash = sha256(
    convert_to('yeyak-reservation-request:v2', 'UTF8')
    || uuid_send(slot_id)
    || int4send(dose_number)
    || int8send(octet_length(convert_to(agent_subject_id, 'UTF8'))::bigint)
    || convert_to(agent_subject_id, 'UTF8'));

-- Published events are kept a week for operators only; those written before
-- sealing carry the plain number in their payload, so they go now. Events
-- still unpublished go out as they are (notification ignores the removed
-- field: no SMS for them) and are deleted by the relay's retention.
DELETE FROM outbox WHERE published_at IS NOT NULL;
