"""The feature SQL on Spark: DuckDB's statements transpiled by sqlglot, never a second copy.

The catalogue is written once, in DuckDB SQL, in a subset both engines can express: times
as microseconds since the epoch (`epoch_us`), list items by `list_extract` (1-based in both,
negative from the end), list lengths by `array_length`. sqlglot translates the rest; the few
DuckDB list functions Spark lacks are rewritten here (REWRITES), and anything sqlglot cannot
translate raises instead of running as something else. Spark runs with ANSI mode off, so an
out-of-range item or a division by zero is NULL, as in DuckDB.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

# DuckDB function (upper case) -> Spark SQL template over its argument {0} (and {1}).
REWRITES: dict[str, str] = {
    "EPOCH_US": "UNIX_MICROS(CAST({0} AS TIMESTAMP))",
    "LIST_EXTRACT": "ELEMENT_AT({0}, {1})",
    # quantile_cont(0.5) of the list: the middle item, or the mean of the two middle ones
    "LIST_MEDIAN": (
        "CASE WHEN SIZE({0}) > 0 THEN CASE WHEN SIZE({0}) % 2 = 1 "
        "THEN ELEMENT_AT(ARRAY_SORT({0}), CAST(SIZE({0}) DIV 2 + 1 AS INT)) "
        "ELSE ELEMENT_AT(ARRAY_SORT({0}), CAST(SIZE({0}) DIV 2 AS INT)) + "
        "(ELEMENT_AT(ARRAY_SORT({0}), CAST(SIZE({0}) DIV 2 + 1 AS INT)) - "
        "ELEMENT_AT(ARRAY_SORT({0}), CAST(SIZE({0}) DIV 2 AS INT))) * 0.5 END END"
    ),
    # sample standard deviation of the list (NULL below two items), in two passes
    "LIST_STDDEV_SAMP": (
        "CASE WHEN SIZE({0}) > 1 THEN SQRT(AGGREGATE({0}, CAST(0 AS DOUBLE), "
        "(acc, x) -> acc + (x - AGGREGATE({0}, CAST(0 AS DOUBLE), (s, y) -> s + y) / SIZE({0})) "
        "* (x - AGGREGATE({0}, CAST(0 AS DOUBLE), (s, y) -> s + y) / SIZE({0}))) "
        "/ (SIZE({0}) - 1)) END"
    ),
}


def _rewrite(node: exp.Expr) -> exp.Expr:
    """Replace a DuckDB-only function call with its Spark form (see REWRITES)."""
    name = _function_name(node)
    if name not in REWRITES:
        return node
    args = [a.sql(dialect="spark") for a in _arguments(node)]
    return sqlglot.parse_one(REWRITES[name].format(*args), read="spark")


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous):
        return node.sql_name().upper()
    return ""


def _arguments(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [v for k, v in node.args.items() if isinstance(v, exp.Expr) and k != "alias"]


def to_spark(sql: str) -> str:
    """One DuckDB statement of the catalogue in Spark SQL; raises on what it cannot say."""
    tree = sqlglot.parse_one(sql, read="duckdb", error_level=ErrorLevel.RAISE)
    tree = tree.transform(_rewrite)
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def to_spark_statement(sql: str) -> tuple[str | None, str]:
    """(name, query) for `CREATE [TEMP] TABLE|VIEW name AS query` (Spark makes it a view
    from the query's plan, which outlives the views the query read), else (None, statement)."""
    tree = sqlglot.parse_one(sql, read="duckdb", error_level=ErrorLevel.RAISE)
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        return tree.this.name, to_spark(tree.expression.sql(dialect="duckdb"))
    return None, to_spark(sql)
