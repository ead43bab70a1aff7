# Money: invoice totals in Decimal (exact cents, VAT rounded half-up), summed by the caller.
from decimal import Decimal

from hecaton import Pool
from tasks import invoice_total

INVOICES = {
    "ACME-17": ([("3", "19.99"), ("1", "0.10"), ("12", "1.05")], "0.20"),
    "ACME-18": ([("1", "1499.00"), ("2", "0.015")], "0.20"),
    "BOLT-02": ([("7", "3.33"), ("7", "3.33"), ("1", "-5.00")], "0.055"),
    "CORE-99": ([("0.5", "80.00")], "0"),
}

if __name__ == '__main__':
    with Pool(2) as pool:
        totals = pool.starmap(invoice_total, INVOICES.values())
    for number, total in zip(INVOICES, totals):
        print(f"{number}: {total:>10}")
    grand = sum(totals, Decimal("0"))
    print("total:", grand, "| as float it would be", sum(float(t) for t in totals))
    print("average:", (grand / len(totals)).quantize(Decimal("0.01")))
