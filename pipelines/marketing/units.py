"""How lists and pages write money, probabilities and counts: the settings' currency and
locale (Babel's CLDR data), one place for every view, so 0.861 is "86.1%" everywhere and a
money figure always names its currency."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from models.timing import PROBABILITY_DAYS

MONEY_COLUMNS = ("expected_value", "value_at_risk", "due_value", "historic_clv",
                 "average_order_value", "predicted_clv_365d", "predicted_clv_365d_p10",
                 "predicted_clv_365d_p90")  # fmt: skip
PROBABILITY_COLUMNS = ("churn_probability", "order_probability",
                       *(f"order_probability_{d}d" for d in PROBABILITY_DAYS))  # fmt: skip
EXCEL_PERCENT = "0.0%"
EXCEL_NUMBER = "#,##0.00"


@dataclass(frozen=True)
class Units:
    """Formatting in one currency and locale; `money_is_orders` for a source without amounts
    (its 'value' columns count expected orders, not money)."""

    currency: str = "USD"
    locale: str = "en_US"
    money_is_orders: bool = False

    def money(self, amount: float | None, decimals: int = 0) -> str:
        """'$1,234' (en_US, USD) or '1.234 €' (de_DE, EUR); '-' when there is no figure."""
        if amount is None or not math.isfinite(amount):
            return "-"
        if self.money_is_orders:
            return f"{self.number(amount, 1)} orders"
        from babel.numbers import format_currency

        pattern = f"¤#,##0{'.' + '0' * decimals if decimals else ''}"
        if self._symbol_after():
            pattern = f"#,##0{'.' + '0' * decimals if decimals else ''}\xa0¤"
        return str(format_currency(amount, self.currency, pattern, locale=self.locale,
                                   currency_digits=False))  # fmt: skip

    def number(self, value: float | None, decimals: int = 0) -> str:
        """Thousands separators of the locale: '13,971' or '13.971'."""
        if value is None or not math.isfinite(value):
            return "-"
        from babel.numbers import format_decimal

        fmt = f"#,##0{'.' + '0' * decimals if decimals else ''}"
        return str(format_decimal(value, fmt, locale=self.locale))

    def percent(self, share: float | None, decimals: int = 1) -> str:
        """A probability or share as '86.1%' (en) or '86,1 %' (de); '-' when there is none."""
        if share is None or not math.isfinite(share):
            return "-"
        from babel.numbers import format_percent

        fmt = f"#,##0{'.' + '0' * decimals if decimals else ''}%"
        return str(format_percent(share, fmt, locale=self.locale))

    @staticmethod
    def date(value: object) -> str:
        """A date as ISO (YYYY-MM-DD), '-' when there is none."""
        if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return str(pd.Timestamp(str(value)).date())

    def _symbol_after(self) -> bool:
        from babel import Locale

        pattern = Locale.parse(self.locale).currency_formats["standard"].pattern
        return pattern.split(";")[0].rstrip().endswith("¤")

    def excel_formats(self) -> dict[str, str]:
        """Excel number formats by list column: probabilities as percentages, money in the
        currency (its symbol where the locale puts it)."""
        from babel.numbers import get_currency_symbol

        symbol = get_currency_symbol(self.currency, locale=self.locale).replace('"', "")
        money = (
            f'{EXCEL_NUMBER} "{symbol}"' if self._symbol_after() else f'"{symbol}"{EXCEL_NUMBER}'
        )
        formats = {c: EXCEL_PERCENT for c in PROBABILITY_COLUMNS}
        formats |= {c: EXCEL_NUMBER if self.money_is_orders else money for c in MONEY_COLUMNS}
        return formats
