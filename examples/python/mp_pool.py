# The first program of Python's multiprocessing documentation, with one line changed: the
# import. Each call of f runs in a fresh, sandboxed CPython instance.
from hecaton import Pool

def f(x):
    return x*x

if __name__ == '__main__':
    with Pool(5) as p:
        print(p.map(f, [1, 2, 3]))
