# Word counts over a few texts: one task per text, the counts merged by the caller.
from collections import Counter

from hecaton import Pool
from tasks import count_words

TEXTS = [
    "It was the best of times, it was the worst of times, it was the age of wisdom, "
    "it was the age of foolishness, it was the epoch of belief.",
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no "
    "money in my purse, and nothing particular to interest me on shore.",
    "It is a truth universally acknowledged, that a single man in possession of a good "
    "fortune, must be in want of a wife.",
    "Happy families are all alike; every unhappy family is unhappy in its own way.",
]

if __name__ == '__main__':
    with Pool(2) as pool:
        counts = pool.map(count_words, TEXTS)
    for text, count in zip(TEXTS, counts):
        print(f"{text[:24]!r}: {sum(count.values())} words, {len(count)} distinct")
    total = sum(counts, Counter())
    for word, n in sorted(total.items(), key=lambda item: (-item[1], item[0]))[:6]:
        print(f"{word:>10} {n}")
