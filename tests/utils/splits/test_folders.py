"""The items of a split folder: a seeded share of every class held out."""

from pathlib import Path

from utils.splits.folders import split_items_per_class


def test_split_items_per_class_holds_out_a_share_of_every_class():
    items = [(Path(f"{name}_{i}.jpg"), name) for name in ("a", "b") for i in range(10)] + [(Path("c_0.jpg"), "c")]
    kept, held_out = split_items_per_class(items, 0.3, seed=0)
    assert sorted(kept + held_out) == sorted(items)
    assert [name for _, name in held_out].count("a") == 3 and [name for _, name in held_out].count("b") == 3
    assert ("c_0.jpg" in {str(path) for path, _ in kept})  # a class with one image keeps it for training
    assert split_items_per_class(items, 0.3, seed=0) == (kept, held_out)
