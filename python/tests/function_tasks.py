"""Plain Python functions the tests run as tasks (tests/test_functions.py): hecaton builds this
module into a sandboxed component once, and every call runs in a fresh instance of it."""

import collections

# Built at import, once, when the component is built: every instance starts with it.
SQUARES = {n: n * n for n in range(100)}
IMPORTED_AT = "build"


class Custom(Exception):
    """An exception of the module's own."""


def square(x):
    return x * x


def lookup(n):
    return SQUARES[n]


def echo(value):
    return value


def pair(a, b):
    return (a, b)


def greet(name, punct="!"):
    return f"hello {name}{punct}"


def divide(a, b):
    return a / b


def fail_custom(text):
    raise Custom(text)


def count_words(text):
    return dict(collections.Counter(text.split()))


def stdlib_inside(text):
    import base64
    import csv
    import datetime
    import decimal
    import fractions
    import hashlib
    import io
    import statistics
    import unicodedata
    import zlib

    rows = list(csv.reader(io.StringIO(text)))
    return {
        "sha": hashlib.sha256(text.encode()).hexdigest()[:12],
        "decimal": str(decimal.Decimal("1.10") + decimal.Decimal("2.205")),
        "date": datetime.date(2026, 12, 6).isoformat(),
        "fraction": str(fractions.Fraction(3, 9)),
        "mean": statistics.mean([1, 2, 3, 4]),
        "rows": len(rows),
        "crc": zlib.crc32(text.encode()),
        "b64": base64.b64encode(b"hi").decode(),
        "name": unicodedata.name("é"),
    }


def read_file(path):
    with open(path) as file:
        return file.read()


def spin():
    while True:
        pass


def hog(mib):
    return len(bytearray(mib << 20))


def unsupported():
    return object()


if __name__ == "__main__":
    raise SystemExit("the main block must not run when the module is built")
