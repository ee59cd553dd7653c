"""The database refuses to change or delete the assessment's evidence: survey responses, closed periods
and amendments (the models refuse too, models.AppendOnly)."""

from django.db import migrations

TABLES = ("workorders_surveyresponse", "workorders_periodclosure", "workorders_amendment")

FORBID = """
CREATE FUNCTION workorders_record_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'assessment records are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION workorders_record_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION workorders_record_append_only();
"""
    for table in TABLES
)

ALLOW = (
    "".join(
        f"""
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
"""
        for table in TABLES
    )
    + "DROP FUNCTION IF EXISTS workorders_record_append_only();"
)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0003_assessment_records")]
    operations = [migrations.RunSQL(FORBID, ALLOW)]
