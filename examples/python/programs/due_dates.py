# Date arithmetic: invoice due dates in business days (weekends and holidays skipped), and ages.
import datetime

from hecaton import Pool
from tasks import age_on, due_date

INVOICES = [("INV-001", "2024-06-28", 5), ("INV-002", "2024-11-27", 3),
            ("INV-003", "2024-12-20", 10), ("INV-004", "2024-02-27", 2)]
PEOPLE = [("Ada", "1815-12-10"), ("Alan", "1912-06-23"), ("Grace", "1906-12-09")]

if __name__ == '__main__':
    with Pool(2) as pool:
        dues = pool.starmap(due_date, [(day, n) for _, day, n in INVOICES])
        ages = pool.starmap(age_on, [(born, "2024-06-23") for _, born in PEOPLE])
    for (number, day, n), due in zip(INVOICES, dues):
        issued = datetime.date.fromisoformat(day)
        print(f"{number} issued {day}, due in {n} business days: {due:%a %d %b %Y}"
              f" ({(due - issued).days} calendar days)")
    print(dict(zip((name for name, _ in PEOPLE), ages)))
    print("latest:", max(dues).isoformat())
