"""benchmarks.loader_bench runs end to end in seconds and reports sensible figures."""

from benchmarks.loader_bench import main


def test_loader_bench_quick_run_reports_loader_model_and_ratio(capsys):
    results = main(["--quick", "--workers", "0", "1", "--backbones", "resnet34"])
    printed = capsys.readouterr().out
    assert results["build"].written == 24 and not results["build"].failed
    assert [row["workers"] for row in results["loader"]] == [0, 1]
    assert all(row["full-size images/s"] > 0 and row["cache images/s"] > 0 for row in results["loader"])
    # 640x480 sources against an 80-pixel cache: decoding the cache is several times faster, even on a busy machine.
    assert results["loader"][0]["cache speed-up"] > 1.5
    assert [row["backbone"] for row in results["model"]] == ["resnet34"] and results["model"][0]["train images/s"] > 0
    ratio = results["ratio"][0]
    assert ratio["cache loader / model"] > ratio["full-size loader / model"] > 0
    assert "| workers | full-size images/s | cache images/s | cache speed-up |" in printed
    assert "cache vs full-size with 1 worker(s):" in printed
