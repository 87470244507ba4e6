-- The reservation's booking code (reservation's domain/booking_code.rs,
-- canonical form: 8 characters, no hyphen), as the event carried it: the
-- SMS prints it, and support staff find a caller's messages by it
-- (GetDeliveryStatus.booking_code). NULL for events from a build before
-- booking codes; those are found by reservation id.
ALTER TABLE deliveries ADD COLUMN booking_code text;
CREATE INDEX deliveries_by_booking_code ON deliveries (booking_code) WHERE booking_code IS NOT NULL;
