"""The activity-privacy list (spec 1.6) apart from the roles: global admins, who held "view
private activities" through their role until now, are put on it, so nobody loses or gains it."""

from django.db import migrations, models


def global_admins_on_the_list(apps, schema_editor):
    Membership = apps.get_model("tenants", "Membership")
    Membership.objects.filter(role="global_admin").update(may_view_private=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_tenant_offboarding"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="may_view_private",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(global_admins_on_the_list, migrations.RunPython.noop),
    ]
