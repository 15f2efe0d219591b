from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def won(value, signed: bool = False) -> str:
    """₩12,345; with ``signed``, a leading + or minus sign (for ledger rows)."""
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return ""
    sign = "\N{MINUS SIGN}" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}₩{intcomma(abs(amount))}"
