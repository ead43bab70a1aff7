# The task functions of the programs in this folder, in one module: hecaton builds a module
# into its sandboxed component once (then caches it), so one module serves all twelve
# programs with one build. Each program imports what it runs from here; under
# multiprocessing they are ordinary functions of an ordinary module.
import csv
import hashlib
import io
import json
import re
from collections import Counter

WORD = re.compile(r"[a-z']+")
LOG_LINE = re.compile(
    r"^(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) \S+ \S+ \[(?P<when>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) (?P<size>\d+|-)'
)
STOP_WORDS = frozenset("a an and the of to in is it that was for on with as".split())
# Built once, at import: in every task's instance for free.
HOLIDAYS = frozenset(
    ["2024-01-01", "2024-05-27", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"]
)


# word_count.py
def count_words(text):
    return Counter(w for w in WORD.findall(text.lower()) if w not in STOP_WORDS)


# csv_sales.py
def region_totals(csv_text):
    totals = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        units, cents = totals.get(row["region"], (0, 0))
        price = round(float(row["unit_price"]) * 100)
        totals[row["region"]] = (units + int(row["units"]), cents + int(row["units"]) * price)
    return totals


# hashing.py
def fingerprint(name, text):
    data = text.encode("utf-8")
    return name, len(data), hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def signature(secret, message):
    import hmac

    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return digest[:8]


def blake(text):
    return hashlib.blake2b(text.encode(), digest_size=16, person=b"hecaton").hexdigest()


# due_dates.py
def due_date(invoice_day, business_days):
    import datetime

    day = datetime.date.fromisoformat(invoice_day)
    while business_days > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5 and day.isoformat() not in HOLIDAYS:
            business_days -= 1
    return day


def age_on(birthday, on):
    from datetime import date

    born, today = date.fromisoformat(birthday), date.fromisoformat(on)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# invoices.py
def invoice_total(lines, vat_rate):
    from decimal import ROUND_HALF_UP, Decimal

    cent = Decimal("0.01")
    net = sum((Decimal(qty) * Decimal(price) for qty, price in lines), Decimal("0"))
    vat = (net * Decimal(vat_rate)).quantize(cent, rounding=ROUND_HALF_UP)
    return net.quantize(cent) + vat


# dice.py
def chance_of_total(dice, total):
    from fractions import Fraction
    from itertools import product

    rolls = list(product(range(1, 7), repeat=dice))
    return Fraction(sum(1 for roll in rolls if sum(roll) == total), len(rolls))


# sensor_stats.py
def summarize(item):
    import statistics

    sensor, readings = item

    return {
        "sensor": sensor,
        "n": len(readings),
        "mean": statistics.mean(readings),
        "median": statistics.median(readings),
        "stdev": statistics.stdev(readings),
        "quartiles": statistics.quantiles(readings, n=4),
        "mode": statistics.mode(round(r) for r in readings),
    }


# json_records.py
def normalize(line):
    import unicodedata

    record = json.loads(line)
    name = unicodedata.normalize("NFKD", record["name"]).encode("ascii", "ignore").decode()
    return {
        "id": int(record["id"]),
        "name": " ".join(name.split()).title(),
        "email": record.get("email", "").strip().lower() or None,
        "tags": sorted({t.strip().lower() for t in record.get("tags", []) if t.strip()}),
        "active": bool(record.get("active", True)),
    }


# log_lines.py
def parse_log(chunk):
    ips, errors, paths = set(), [], Counter()
    for line in chunk.splitlines():
        m = LOG_LINE.match(line)
        if m is None:
            continue
        ips.add(m["ip"])
        paths[m["path"]] += 1
        if m["status"].startswith("5"):
            errors.append((m["ip"], m["path"], int(m["status"])))
    return ips, errors, dict(paths)


# errors.py
def parse_amount(text):
    value = float(text)
    if value < 0:
        raise ValueError(f"negative amount: {text}")
    return round(value, 2)


def lookup_price(catalog, sku):
    return catalog[sku]


def ratio(a, b):
    return a / b


# callbacks.py
def count_primes(lo, hi):
    import math

    return lo, hi, sum(
        1 for n in range(max(lo, 2), hi) if all(n % d for d in range(2, math.isqrt(n) + 1))
    )


# process_report.py
def report(department, salaries, currency="EUR"):
    total = sum(salaries)
    print(f"{department}: {len(salaries)} people, payroll {total:,} {currency}")
    print(f"{department}: highest {max(salaries):,}, lowest {min(salaries):,}")
    if total > 1_000_000:
        raise ValueError(f"{department} payroll over budget")
