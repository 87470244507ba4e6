-- Booking codes (domain/booking_code.rs): 8 characters of
-- 23456789ABCDEFGHJKMNPQRSTVWXY, the last a check character (weights 8..1
-- over the character values, sum 0 mod 29), stored without the hyphen the
-- API shows. The service draws them at random and retries a taken one; the
-- constraint is what makes them unique, across the whole platform (there is
-- no booking-event entity to scope them to).
--
-- This function draws one the same way, for the rows that exist now and as
-- the column's default for a replica of the previous build during a rolling
-- upgrade (it does not know the column). Such a replica would report a
-- taken code (odds ~ booked / 1.7e10) as "already booked"; the current
-- build never relies on the default. tests/codes.rs checks that its codes
-- pass the service's check.
CREATE FUNCTION reservation_booking_code() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '23456789ABCDEFGHJKMNPQRSTVWXY';
    code text := '';
    total integer := 0;
    v integer;
BEGIN
    FOR i IN 0..6 LOOP
        v := floor(random() * 29)::integer;
        code := code || substr(alphabet, v + 1, 1);
        total := total + (8 - i) * v;
    END LOOP;
    RETURN code || substr(alphabet, (29 - total % 29) % 29 + 1, 1);
END $$;

ALTER TABLE reservations ADD COLUMN booking_code text;
UPDATE reservations SET booking_code = reservation_booking_code();
-- Draw again for the rare rows that drew a code another row holds.
DO $$
BEGIN
    LOOP
        UPDATE reservations SET booking_code = reservation_booking_code()
        WHERE reservation_id IN (
            SELECT reservation_id FROM (
                SELECT reservation_id, row_number() OVER (PARTITION BY booking_code ORDER BY reservation_id) AS nth
                FROM reservations) d
            WHERE nth > 1);
        EXIT WHEN NOT FOUND;
    END LOOP;
END $$;
ALTER TABLE reservations
    ALTER COLUMN booking_code SET DEFAULT reservation_booking_code(),
    ALTER COLUMN booking_code SET NOT NULL,
    ADD CONSTRAINT reservations_booking_code_unique UNIQUE (booking_code),
    ADD CONSTRAINT reservations_booking_code_form CHECK (booking_code ~ '^[2-9A-HJKMNP-TV-Y]{8}$');
