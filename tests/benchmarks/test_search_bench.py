"""benchmarks.search_bench runs end to end on tiny data and reports sensible figures."""

from benchmarks.search_bench import main


def test_search_bench_runs_on_tiny_data(capsys):
    rows = main(["--sizes", "1500", "--dims", "16", "--queries", "40", "--single-queries", "5",
                 "--ef-search", "20", "200", "--clusters", "30", "--data", "clustered"])
    printed = capsys.readouterr().out
    assert [row["method"] for row in rows] == ["exact", "nmslib", "nmslib"]
    assert rows[0]["recall"] == 1.0 and rows[0]["batch_speedup"] == 1.0
    # efSearch 200 on 1500 points of dimension 16 is close to exhaustive.
    assert rows[2]["recall"] >= 0.98 and rows[1]["recall"] <= rows[2]["recall"]
    assert all(row["batch_qps"] > 0 and row["single_qps"] > 0 for row in rows)
    assert "| clustered | 1,500 | 16 | nmslib | M=16 efC=200 ef=200 |" in printed
