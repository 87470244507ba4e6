-- Who may read a delivery besides support staff (GetDeliveryStatus with an
-- admission pass and identity assertion): the reservation's pseudonymous
-- subject id and, for a proxy booking, the agent's, as the event carried
-- them (yeyak_platform::pseudonym: an HMAC of the person, not the person).
-- NULL for deliveries recorded before this column: support staff only.
-- A reader's lookup narrows by reservation id, booking code or message id
-- first (indexed) and checks these on the reservation's few rows.
ALTER TABLE deliveries ADD COLUMN subject_id text;
ALTER TABLE deliveries ADD COLUMN agent_subject_id text;
