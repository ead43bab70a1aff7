# Statistics per sensor: mean, median, standard deviation, quartiles and mode, in map_async.
from hecaton import Pool
from tasks import summarize

READINGS = {
    "t-kitchen": [21.5, 21.7, 22.0, 21.9, 23.4, 22.1, 21.8, 21.6],
    "t-garage": [11.0, 10.4, 9.8, 9.9, 10.1, 12.7, 10.0],
    "t-attic": [28.25, 29.5, 31.0, 30.75, 29.0, 28.5, 33.25, 30.0, 29.75],
}

if __name__ == '__main__':
    with Pool(3) as pool:
        result = pool.map_async(summarize, READINGS.items())
        summaries = result.get(timeout=60)
    print("successful:", result.successful())
    for s in summaries:
        print(f"{s['sensor']:<10} n={s['n']} mean={s['mean']:.3f} median={s['median']}"
              f" stdev={s['stdev']} mode={s['mode']}")
        print(" " * 10, "quartiles", s["quartiles"])
    print(max(summaries, key=lambda s: s["stdev"])["sensor"], "varies most")
