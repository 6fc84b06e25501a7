"""Validates an OpenAPI document with openapi-spec-validator (OpenAPI 3.1 rules, every $ref
resolved). Usage: validate_spec.py openapi.yaml"""

import sys

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename


def main() -> int:
    spec, _ = read_from_filename(sys.argv[1])
    assert str(spec.get("openapi", "")).startswith("3.1"), "not OpenAPI 3.1"
    try:
        validate(spec)
    except Exception as e:  # the validator's messages embed the whole document: cut them
        print(f"{sys.argv[1]}: INVALID: {type(e).__name__}: {str(e)[:600]}")
        return 1
    print(f"{sys.argv[1]}: valid OpenAPI {spec['openapi']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
