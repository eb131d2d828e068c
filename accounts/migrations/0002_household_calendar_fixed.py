from django.db import migrations, models


def fix_calendars(apps, schema_editor):
    """SPEC §1: a household whose bytes already moved (a usage record, a grant or a
    rollover, a period close) has its calendar fixed."""
    Household = apps.get_model("accounts", "Household")
    Bucket = apps.get_model("plans", "Bucket")
    PeriodClose = apps.get_model("plans", "PeriodClose")
    UsageRecord = apps.get_model("usage", "UsageRecord")
    moved = (
        models.Exists(UsageRecord.objects.filter(household=models.OuterRef("pk")))
        | models.Exists(
            Bucket.objects.filter(household=models.OuterRef("pk")).exclude(kind="allowance")
        )
        | models.Exists(PeriodClose.objects.filter(household=models.OuterRef("pk")))
    )
    Household.objects.filter(moved, calendar_fixed=False).update(calendar_fixed=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("plans", "0002_ledger_close_index_where_set"),
        ("usage", "0002_composite_indexes_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="household",
            name="calendar_fixed",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(fix_calendars, migrations.RunPython.noop),
    ]
