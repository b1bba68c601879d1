"""benchmarks.search_bench runs end to end on tiny data and reports sensible figures."""

import importlib

import pytest

from benchmarks import search_bench
from benchmarks.search_bench import at_recall, main

TINY = ["--sizes", "1500", "--dims", "16", "--queries", "40", "--single-queries", "5",
        "--ef-search", "20", "200", "--clusters", "30", "--data", "clustered"]


@pytest.fixture
def quick_timing(monkeypatch):
    monkeypatch.setattr(search_bench, "MIN_SECONDS", search_bench.MIN_SECONDS)
    monkeypatch.setattr(search_bench, "REPEATS", search_bench.REPEATS)
    return ["--repeats", "1", "--min-seconds", "0"]


def test_search_bench_runs_on_tiny_data(capsys, quick_timing):
    rows = main([*TINY, *quick_timing, "--methods", "exact", "nmslib", "--no-wrappers"])
    printed = capsys.readouterr().out
    assert [row["method"] for row in rows] == ["exact", "nmslib", "nmslib"]
    assert rows[0]["recall"] == 1.0 and rows[0]["batch_speedup"] == 1.0
    # efSearch 200 on 1500 points of dimension 16 is close to exhaustive.
    assert rows[2]["recall"] >= 0.98 and rows[1]["recall"] <= rows[2]["recall"]
    assert all(row["batch_qps"] > 0 and row["single_qps"] > 0 for row in rows)
    assert "| clustered | 1,500 | 16 | nmslib | M=16 efC=200 ef=200 |" in printed
    assert "best of ≥ 1 runs" in printed and "threads: " in printed and "At recall@10 ≥ 0.99" in printed


def test_search_bench_compares_faiss_and_hnswlib_with_nmslib(capsys, quick_timing):
    pytest.importorskip("faiss")
    pytest.importorskip("hnswlib")
    rows = main(["--n", "1500", "--d", "16", *TINY[4:], *quick_timing])
    printed = capsys.readouterr().out
    methods = {row["method"] for row in rows}
    assert methods == {"exact", "faiss-flat", "nmslib", "nmslib (utils)", "hnswlib", "faiss-hnsw", "faiss-hnsw (utils)"}
    assert next(row for row in rows if row["method"] == "faiss-flat")["recall"] >= 0.99
    chosen = {row["method"]: row for row in at_recall(rows)}
    assert chosen["nmslib"]["batch_vs_nmslib"] == 1.0
    assert all(row["reached"] for row in chosen.values())  # efSearch 200 on 1500 points finds everything
    assert chosen["faiss-hnsw"]["parameters"].endswith(("ef=20", "ef=200")) and chosen["hnswlib"]["latency_ms"] > 0
    assert "| clustered | 1,500 | 16 | faiss-hnsw |" in printed


def test_a_missing_library_is_skipped_with_its_reason(capsys, quick_timing, monkeypatch):
    real_import = importlib.import_module

    def no_faiss(name, *args):
        if name == "faiss":
            raise ImportError("No module named 'faiss'")
        return real_import(name, *args)

    monkeypatch.setattr(search_bench.importlib, "import_module", no_faiss)
    rows = main([*TINY, *quick_timing, "--methods", "exact", "faiss-flat", "faiss-hnsw", "nmslib", "--no-wrappers"])
    printed = capsys.readouterr().out
    assert "skipped faiss-flat: faiss not importable (No module named 'faiss')" in printed
    assert "skipped faiss-hnsw: faiss not importable" in printed
    assert {row["method"] for row in rows} == {"exact", "nmslib"}
