"""Audit log hardening: chain-head anchors, and PostgreSQL triggers that make the audit tables
append-only.

The triggers refuse every UPDATE, and every DELETE unless the transaction has run
`SET LOCAL casb.audit_purge = 'on'` (see apps.tenants.audit.purge_allowed: tenant offboarding
and retention). On SQLite (the demo) these steps do nothing.
"""

import uuid

from django.db import migrations, models

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION casb_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('casb.audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit records are never changed; deleting them needs '
                     'SET LOCAL casb.audit_purge = ''on'' (apps.tenants.audit.purge_allowed).';
END;
$$;
"""


def _trigger_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION casb_audit_append_only();
"""


def _installer(table: str):
    def install(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(FUNCTION_SQL, params=None)
        schema_editor.execute(_trigger_sql(table), params=None)

    return install


def _remover(table: str, drop_function: bool):
    def remove(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        if drop_function:
            schema_editor.execute("DROP FUNCTION IF EXISTS casb_audit_append_only();")

    return remove


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("tenant_id", models.UUIDField(db_index=True, editable=False)),
                ("seq", models.PositiveBigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-seq"],
                "default_permissions": (),
            },
        ),
        # The audit table lives in every geo database: the hint runs this step on each of them.
        migrations.RunPython(
            _installer("tenants_auditevent"),
            _remover("tenants_auditevent", drop_function=True),
            hints={"tenant_data": True},
        ),
        # Anchors are control-plane rows: default database only.
        migrations.RunPython(
            _installer("tenants_auditanchor"),
            _remover("tenants_auditanchor", drop_function=False),
        ),
    ]
