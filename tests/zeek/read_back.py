"""Read Zeek logs (TSV or JSON) with parsezeeklogs, a Zeek-log reader from
outside synack, and print what it understood as JSON Lines: a header object,
then one object per record. Any line it cannot read is an error."""

import json
import sys

from parsezeeklogs import ZeekLog


def refuse(line_number, line, exc):
    raise SystemExit(f"line {line_number} not read: {exc}: {line!r}")


for path in sys.argv[1:]:
    with ZeekLog(path, on_error=refuse) as log:
        records = list(log)
        header = log.header
        print(json.dumps({
            "file": path,
            "json": log.is_json,
            "path": log.path,
            "fields": log.fields,
            "types": log.types,
            "directives": header.directives if header else {},
            "records": len(records),
        }))
        for r in records:
            print(json.dumps(r))
