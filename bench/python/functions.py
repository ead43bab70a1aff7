"""The Python functions bench.py maps, in a module of their own that hecaton builds into a
sandboxed component (``hecaton.Pool(2).map(square, xs)``) and multiprocessing imports in its
workers: one copy of the code for both."""


def square(x: int) -> int:
    return x * x


def is_prime(n: int) -> bool:
    if n < 4:
        return n >= 2
    if n % 2 == 0:
        return False
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def count_primes(bounds) -> int:
    start, end = bounds
    return sum(1 for n in range(start, end) if is_prime(n))
