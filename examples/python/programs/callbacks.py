# apply_async with callbacks: prime counts over ranges, gathered by a callback as they finish
# (sorted afterwards: the order of completion is not fixed), and a map_async callback.
from hecaton import Pool
from tasks import count_primes

if __name__ == '__main__':
    done = []
    ranges = [(lo, lo + 2500) for lo in range(0, 20000, 2500)]
    with Pool(2) as pool:
        results = [pool.apply_async(count_primes, r, callback=done.append) for r in ranges]
        counts = [result.get(timeout=60) for result in results]
        whole = []
        batch = pool.starmap_async(count_primes, [(0, 100), (100, 200)], callback=whole.append)
        batch.wait(60)
    print("callbacks:", len(done), "results in order:", counts == sorted(done))
    for lo, hi, n in sorted(done):
        print(f"[{lo:>5}, {hi:>5}): {n:>4} primes {'#' * (n // 20)}")
    print("total below 20000:", sum(n for _, _, n in done))
    print("starmap_async callback:", whole)
