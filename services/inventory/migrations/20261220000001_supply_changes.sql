-- Supply changes (docs/supply-changes.md): an operator closes a clinic's
-- slots, or replaces them by slots of another vaccine. A closed slot keeps
-- its row (reservations and events name it) with capacity 0 and the id of
-- the change that closed it; search and GetAvailability leave it out, and
-- the reservation service moves its bookings. Adding a nullable column
-- without a default rewrites nothing, whatever the table's size.
ALTER TABLE slots ADD COLUMN closed_by uuid;
