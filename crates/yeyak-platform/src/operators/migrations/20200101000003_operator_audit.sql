-- What operators and support staff did (yeyak_platform::operators::audit):
-- who (the operator's name from YEYAK_OPERATORS), what (the action and the
-- thing it concerned), when, and the value before and after a change. One
-- row per action, written with the change (or before a read is answered),
-- in the owning service's own database. Rows never change: an UPDATE is
-- refused; old rows may be deleted once their retention has passed.
CREATE TABLE operator_audit (
    audit_id   uuid PRIMARY KEY,
    at         timestamptz NOT NULL,
    operator   text NOT NULL,
    action     text NOT NULL,
    resource   text NOT NULL,
    old_value  text,
    new_value  text
);
CREATE INDEX operator_audit_by_time ON operator_audit (at);
CREATE INDEX operator_audit_by_operator ON operator_audit (operator, at);

CREATE FUNCTION operator_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_audit rows are never changed';
END;
$$;
CREATE TRIGGER operator_audit_append_only BEFORE UPDATE ON operator_audit
    FOR EACH ROW EXECUTE FUNCTION operator_audit_is_append_only();
