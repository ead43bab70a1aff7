"""A Python test guest (componentize-py, world `guest` in wit/guest.wit).

`collections` is imported at the top level on purpose: only modules imported while
componentize-py pre-initialises the app are in the component's memory snapshot.
"""

from collections import Counter

import wit_world
from componentize_py_types import Err


class WitWorld(wit_world.WitWorld):
    def square(self, x: int) -> int:
        # s64 wraps, as the other guests' `square` does.
        return (x * x + 2**63) % 2**64 - 2**63

    def greet(self, name: str) -> str:
        return f"Hello, {name}!"

    def stats(self, xs: list[float]) -> wit_world.Summary:
        mean = sum(xs) / len(xs) if xs else 0.0
        return wit_world.Summary(count=len(xs), mean=mean, maximum=max(xs, default=None))

    def parse(self, s: str) -> int:
        try:
            return int(s)
        except ValueError:
            raise Err(f"not a number: {s}")

    def fail(self) -> None:
        raise ValueError("bad")

    def spin(self) -> None:
        while True:
            pass

    def hog(self, mib: int) -> int:
        block = bytearray(mib << 20)
        return len(block) >> 20

    def word_count(self, text: str) -> list[tuple[str, int]]:
        counts = Counter(text.split())
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
