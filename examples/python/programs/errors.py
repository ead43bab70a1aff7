# Errors raised in tasks and caught by the caller: a batch with a bad amount fails, then each
# amount alone, its failure caught and its message printed; a KeyError and a ZeroDivisionError
# through apply and apply_async's error_callback. (One bad amount in the batch: with two,
# multiprocessing raises whichever fails first in time.)
from hecaton import Pool
from tasks import lookup_price, parse_amount, ratio

AMOUNTS = ["12.50", "7", "-3.20", "abc", "0.125", "1e3"]

if __name__ == '__main__':
    with Pool(2) as pool:
        try:
            print(pool.map(parse_amount, AMOUNTS[:3]))
        except ValueError as error:
            print("batch rejected:", error)
        for amount in AMOUNTS:
            try:
                print(f"{amount!r} -> {pool.apply(parse_amount, (amount,))}")
            except ValueError as error:
                print(f"{amount!r} rejected: {error}")
        try:
            pool.apply(lookup_price, ({"A1": 9.5, "B2": 4.25}, "C3"))
        except KeyError as error:
            print("unknown sku:", error, error.args)
        failures = []
        result = pool.apply_async(ratio, (1, 0), error_callback=failures.append)
        result.wait()
        print("successful:", result.successful())
        print("error_callback got:", [(type(e).__name__, str(e)) for e in failures])
        try:
            result.get()
        except ZeroDivisionError as error:
            print("get raised:", repr(error))
