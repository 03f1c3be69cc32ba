#!/usr/bin/env python3
"""Validates JSON Lines against a JSON Schema with the `jsonschema` package (not kdig's code).

usage: validate_jsonl.py SCHEMA FILE...
Checks the schema itself against its metaschema, then every line of every FILE. Prints one
line per violation (file:line: path: message) and exits 1 if there is any; else prints how
many lines were valid and exits 0. Exits 2 when jsonschema is missing: tests must fail then.
"""
import importlib.metadata
import json
import sys

try:
    import jsonschema
except ImportError:
    print("jsonschema is not installed: run bash Samples/test-tools.sh", file=sys.stderr)
    sys.exit(2)


def explain(error, obj):
    """A top-level oneOf failure says only "not valid under any of the given schemas": show
    the errors of the branch the line means to be (oneOf[1] for a summary, else oneOf[0])."""
    if not error.context or error.validator != "oneOf" or error.absolute_path:
        return [error]
    branch = 1 if isinstance(obj, dict) and "summary" in obj else 0
    mine = [c for c in error.context if c.relative_schema_path and c.relative_schema_path[0] == branch]
    return mine or [error]


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    problems = 0
    valid = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                obj = json.loads(line)
                errors = list(validator.iter_errors(obj))
                for e in errors:
                    for why in explain(e, obj):
                        where = "/".join(str(p) for p in why.absolute_path) or "(line)"
                        print(f"{path}:{number}: {where}: {why.message[:300]}")
                problems += len(errors)
                valid += not errors
    if problems:
        return 1
    print(f"{valid} lines valid against {argv[1]} ({validator_class.__name__}, jsonschema {importlib.metadata.version('jsonschema')})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
