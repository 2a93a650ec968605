from apps.billing.models import Plan


def plan_get(*, slug: str) -> Plan | None:
    return Plan.objects.filter(slug=slug).first()


def plan_list() -> list[Plan]:
    return list(Plan.objects.all())
