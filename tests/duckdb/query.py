"""Run SQL (standard input) in DuckDB in the current directory, for tests/duckdb.rs.

Every statement runs in order; each SELECT's rows are printed as one JSON
line (a list of rows, each a list of values). Timestamps are written as
synack writes them (RFC 3339, UTC, microseconds), wide integers as numbers.
"""

import datetime
import decimal
import json
import sys

import duckdb


def plain(v):
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, decimal.Decimal):
        return int(v)
    return v


def main():
    con = duckdb.connect()
    for statement in con.extract_statements(sys.stdin.read()):
        result = con.execute(statement)
        if statement.type == duckdb.StatementType.SELECT:
            rows = [[plain(v) for v in row] for row in result.fetchall()]
            print(json.dumps(rows))


main()
