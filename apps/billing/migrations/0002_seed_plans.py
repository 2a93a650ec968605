from django.db import migrations

PLANS = [
    {
        "slug": "free",
        "name": "Free",
        "monthly_price_cents": 0,
        "monthly_credits": 1_000,
        "limits": {
            "events_per_day": 500,
            "events_per_minute": 10,
            "api_calls_per_day": 1_000,
            "api_calls_per_minute": 20,
            "executions_per_day": 1_000,
            "connections": 25,
            "storage_bytes": 100 * 1024**2,
        },
    },
    {
        "slug": "pro",
        "name": "Pro",
        "monthly_price_cents": 49_900,
        "monthly_credits": 100_000,
        "limits": {
            "events_per_day": 100_000,
            "events_per_minute": 1_000,
            "api_calls_per_day": 200_000,
            "api_calls_per_minute": 2_000,
            "executions_per_day": 100_000,
            "connections": 5_000,
            "storage_bytes": 10 * 1024**3,
        },
    },
    {
        "slug": "unlimited",
        "name": "Unlimited",
        "monthly_price_cents": 0,
        "monthly_credits": 0,
        "limits": {
            "events_per_day": None,
            "events_per_minute": None,
            "api_calls_per_day": None,
            "api_calls_per_minute": None,
            "executions_per_day": None,
            "connections": None,
            "storage_bytes": None,
        },
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(slug=plan["slug"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
