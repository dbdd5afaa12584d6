"""Money as integer fen; yuan only as text (Decimal for parsing and display, never a float)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


def parse_yuan(value) -> int:
    """'1500', '1,500.00', Decimal('1500.5') → fen. A float is refused (its value is not exact);
    more than two decimals, a negative or a non-number is an error."""
    if isinstance(value, float):
        raise MoneyError("amounts are never floats")
    text = str(value).strip().replace(",", "").replace("，", "").removesuffix("元")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise MoneyError(f"{value!r} is not an amount in yuan with at most two decimals")
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def yuan(fen: int | None) -> str:
    """12345600 → '123456.00' (the JSON and the bank list)."""
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def yuan_decimal(fen: int | None) -> Decimal:
    return Decimal(int(fen or 0)).scaleb(-2)


def yuan_display(fen: int | None) -> str:
    """'123,456.00' for pages."""
    text = yuan(fen)
    whole, _, cents = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}.{cents}"
