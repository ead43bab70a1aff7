# The Process program of Python's multiprocessing documentation, with one line changed: the
# import. f runs in a sandboxed CPython instance; what it prints reaches this stdout.
from hecaton import Process

def f(name):
    print('hello', name)

if __name__ == '__main__':
    p = Process(target=f, args=('bob',))
    p.start()
    p.join()
