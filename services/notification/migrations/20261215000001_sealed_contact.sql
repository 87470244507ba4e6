-- Phone numbers at rest: a delivery keeps its number only as reservation
-- sealed it to this service's key (yeyak_platform::contact), and only while
-- the message may still be sent; the sender opens it in memory just before
-- calling the gateway. masked_phone ("010-****-5678") is what support sees.
ALTER TABLE deliveries ADD COLUMN sealed_contact bytea;

-- Pending rows written before sealing (or by a replica of the previous build
-- during a rolling upgrade) still have a plain number: every replica seals
-- them with its current key at start-up and then every few minutes
-- (app/contacts.rs). This index finds them without reading the table.
CREATE INDEX deliveries_plain_phone ON deliveries (message_id) WHERE phone IS NOT NULL;
