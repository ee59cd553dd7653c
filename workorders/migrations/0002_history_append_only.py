"""The database itself refuses to change or delete work-order history: a trigger on the event table
raises on UPDATE, DELETE and TRUNCATE, whoever the client (the ORM refuses too, models.Event)."""

from django.db import migrations

FORBID = """
CREATE FUNCTION workorders_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'work-order history is append-only: % on workorders_event refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workorders_event_append_only
    BEFORE UPDATE OR DELETE ON workorders_event
    FOR EACH ROW EXECUTE FUNCTION workorders_event_append_only();
CREATE TRIGGER workorders_event_no_truncate
    BEFORE TRUNCATE ON workorders_event
    FOR EACH STATEMENT EXECUTE FUNCTION workorders_event_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS workorders_event_no_truncate ON workorders_event;
DROP TRIGGER IF EXISTS workorders_event_append_only ON workorders_event;
DROP FUNCTION IF EXISTS workorders_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
