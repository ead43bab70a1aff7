# Fractions: the exact chance of each total with three dice, one task per total.
from fractions import Fraction

from hecaton import Pool
from tasks import chance_of_total

if __name__ == '__main__':
    totals = range(3, 19)
    with Pool(2) as pool:
        result = pool.starmap_async(chance_of_total, [(3, t) for t in totals])
        chances = result.get(timeout=60)
    for total, chance in zip(totals, chances):
        print(f"{total:>2}: {str(chance):>6}  {'#' * (chance * 216).numerator}")
    print("sum:", sum(chances), "| ten or more:", sum(chances[7:], Fraction(0)))
    print("most likely:", [t for t, c in zip(totals, chances) if c == max(chances)])
