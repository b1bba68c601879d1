"""How much faster than exact search are nmslib's, hnswlib's and FAISS's HNSW, and at what recall? Synthetic unit vectors.

For each data kind, dimension and size, builds exact NumPy search (:class:`utils.search.ExactIndex`),
FAISS's exact ``IndexFlatIP`` and three HNSW graphs (Malkov & Yashunin, TPAMI 2018) with the same
``M`` and ``efConstruction``: nmslib (:class:`utils.search.NmslibIndex`, the course's default), hnswlib
and FAISS ``IndexHNSWFlat`` (inner product of unit vectors, i.e. cosine). A method whose library does
not import is skipped with the reason printed. Per ``efSearch`` it reports build time, queries per
second for one batch of queries and for queries sent one at a time, recall@k against exact search,
and the speed ratios to exact search. The HNSW rows call each library directly; the ``(utils)`` rows
time the same graph through :mod:`utils.search` (query normalisation, similarities, checks).

A last table takes each method at its smallest ``efSearch`` reaching recall@k ≥ 0.99 and gives its
ratios to nmslib and to exact NumPy (build time, batch throughput, single-query latency).

Every library runs on ``--threads`` threads (default: every core), NumPy's BLAS included; one query
at a time runs on one thread in the graph libraries.

Two kinds of data, both L2-normalised:

* ``random`` — isotropic Gaussian vectors: the worst case for graph search, since in high dimension
  every point is almost equally far from every other;
* ``clustered`` — points around ``--clusters`` Gaussian centres with relative spread ``--spread``
  (same-cluster cosine about 1 / (1 + spread²), 0.64 by default), like class-structured embeddings.

Queries are fresh draws from the same distribution, never items of the index.

Usage: ``python -m benchmarks.search_bench [--sizes 10000 100000] [--dims 50 300] [--quick]``;
``--n 20000 --d 300 --data clustered`` is a fast single case; ``--methods exact nmslib`` limits the
methods; ``--sizes 1000000`` adds the 1 M case (several minutes to build per dimension on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from utils.search import SEARCH_INDEXES, ExactIndex, NmslibIndex, build_index, recall_at_k, unit_rows

GOAL_SIZE, GOAL_DIMENSION, GOAL_RECALL, GOAL_SPEEDUP = 100_000, 300, 0.99, 20.0


# ----------------------------------------------------------------------------------------- data


def random_unit_vectors(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray:
    """Isotropic Gaussian directions, of shape (count, dimension)."""
    return unit_rows(rng.standard_normal((count, dimension), dtype=np.float32))


def clustered_unit_vectors(
    rng: np.random.Generator, count: int, centers: np.ndarray, spread: float
) -> np.ndarray:
    """Unit vectors around unit ``centers`` (shape (n_clusters, dimension)), of shape (count, dimension).

    Each point is a centre plus isotropic noise of norm about ``spread``, then normalised.
    """
    dimension = centers.shape[1]
    noise = rng.standard_normal((count, dimension), dtype=np.float32) * (spread / np.sqrt(dimension))
    return unit_rows(centers[rng.integers(0, len(centers), count)] + noise)


def make_data(
    kind: str, size: int, dimension: int, n_queries: int, clusters: int, spread: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Items of shape (size, dimension) and queries of shape (n_queries, dimension) of one data kind."""
    rng = np.random.default_rng([seed, size, dimension])
    if kind == "random":
        return random_unit_vectors(rng, size, dimension), random_unit_vectors(rng, n_queries, dimension)
    centers = random_unit_vectors(rng, clusters, dimension)
    return (
        clustered_unit_vectors(rng, size, centers, spread),
        clustered_unit_vectors(rng, n_queries, centers, spread),
    )


# -------------------------------------------------------------------------------------- timing


REPEATS, MIN_SECONDS, MAX_REPEATS = 3, 1.0, 20
"""Each timing is the best of at least ``REPEATS`` runs, more (up to ``MAX_REPEATS``) until ``MIN_SECONDS``
have passed: the CPU is shared, and the fastest run is the least disturbed one."""


def best_seconds(run: Callable[[], object]) -> tuple[float, object]:
    """The shortest wall time of repeated ``run()`` calls, and the last call's result."""
    best, total, count, result = np.inf, 0.0, 0, None
    while count < REPEATS or (total < MIN_SECONDS and count < MAX_REPEATS):
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
        best, total, count = min(best, elapsed), total + elapsed, count + 1
    return best, result


def batch_queries_per_second(search: Callable, queries: np.ndarray) -> tuple[float, np.ndarray]:
    """Queries per second of one call with every query, and the ids it returned."""
    search(queries[:10])  # warm-up: first-touch of the index's memory and the BLAS/thread start-up
    seconds, ids = best_seconds(lambda: search(queries))
    return len(queries) / seconds, ids


def single_queries_per_second(search: Callable, queries: np.ndarray) -> float:
    """Queries per second when queries arrive one at a time (interactive search)."""

    def one_at_a_time():
        for row in range(len(queries)):
            search(queries[row : row + 1])

    seconds, _ = best_seconds(one_at_a_time)
    return len(queries) / seconds


def one_blas_thread():
    """A context with NumPy's BLAS on one thread, when threadpoolctl is importable.

    One query is a matrix-vector product, which threads barely speed up; on a busy shared CPU a BLAS
    thread waiting for a core can make it a hundred times slower. Exact single queries are timed both
    ways and the faster counts, so the speed-ups are against exact search at its best.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def blas_threads(threads: int):
    """A context with NumPy's BLAS on ``threads`` threads, when threadpoolctl is importable."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def blas_description() -> str:
    """NumPy's BLAS library and its thread count, e.g. ``"openblas, 2 threads"``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threads unknown (threadpoolctl not importable)"
    found = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not found:
        return "no BLAS found"
    info = found[0]
    return f"{info['internal_api']}, {info['num_threads']} thread{'s' if info['num_threads'] != 1 else ''}"


# ------------------------------------------------------------------------------------- methods
#
# An approximate builder takes ``(items, M, ef_construction, threads)`` and returns
# ``(set_ef, search)``, ``search(queries, k) → ids`` of shape (n_queries, k). Each calls its library
# directly on unit vectors, so the ratios compare libraries, not wrappers; the ``(utils)`` rows time
# the same graph through :class:`utils.search.SearchIndex` (normalising queries, similarities, checks).

APPROXIMATE = ("nmslib", "hnswlib", "faiss-hnsw")
EXACT = ("exact", "faiss-flat")
METHODS = EXACT + APPROXIMATE


def _build_nmslib(items, M, ef_construction, threads):
    index = NmslibIndex(M=M, ef_construction=ef_construction, num_threads=threads).add(items).build()
    raw = index._index

    def set_ef(ef):
        index.set_ef_search(ef)
        raw.setQueryTimeParams({"efSearch": ef})
        index._query_ef = ef

    def search(queries, k):
        if len(queries) == 1:
            return raw.knnQuery(queries[0], k=k)[0][None, :].astype(np.int64)
        return np.stack([ids for ids, _ in raw.knnQueryBatch(queries, k=k, num_threads=threads)]).astype(np.int64)

    return set_ef, search, index


def _build_hnswlib(items, M, ef_construction, threads):
    import hnswlib

    # Inner product of unit vectors is cosine similarity (space "cosine" would normalise again).
    index = hnswlib.Index(space="ip", dim=items.shape[1])
    index.init_index(max_elements=len(items), ef_construction=ef_construction, M=M)
    index.set_num_threads(threads)
    index.add_items(items, np.arange(len(items)), num_threads=threads)
    return index.set_ef, lambda queries, k: index.knn_query(queries, k=k)[0].astype(np.int64), None


def _build_faiss_hnsw(items, M, ef_construction, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    if "faiss-hnsw" in SEARCH_INDEXES:
        wrapper = build_index("faiss-hnsw", items, M=M, ef_construction=ef_construction, num_threads=threads)
        index = wrapper._index
    else:
        wrapper = None
        index = faiss.IndexHNSWFlat(items.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(items)

    def set_ef(ef):
        index.hnsw.efSearch = ef
        if wrapper is not None:
            wrapper.set_ef_search(ef)

    return set_ef, lambda queries, k: index.search(queries, k)[1].astype(np.int64), wrapper


BUILDERS: dict[str, Callable] = {"nmslib": _build_nmslib, "hnswlib": _build_hnswlib, "faiss-hnsw": _build_faiss_hnsw}
MODULES = {"nmslib": "nmslib", "hnswlib": "hnswlib", "faiss-hnsw": "faiss", "faiss-flat": "faiss", "exact": "numpy"}


def available_methods(wanted: tuple[str, ...] = METHODS) -> tuple[list[str], dict[str, str]]:
    """The wanted methods whose library imports, and ``{method: why skipped}`` for the others."""
    present, skipped = [], {}
    for method in wanted:
        try:
            importlib.import_module(MODULES[method])
        except ImportError as error:
            skipped[method] = f"{MODULES[method]} not importable ({error})"
        else:
            present.append(method)
    return present, skipped


# ------------------------------------------------------------------------------------------ runs


def run_case(kind: str, size: int, dimension: int, args: argparse.Namespace) -> list[dict]:
    """Every method on one (data kind, size, dimension): one row per method and ``efSearch``."""
    items, queries = make_data(kind, size, dimension, args.queries, args.clusters, args.spread, args.seed)
    single = queries[: args.single_queries]
    case = {"data": kind, "n": size, "d": dimension}
    threads = args.threads

    with blas_threads(threads):
        start = time.perf_counter()
        exact = ExactIndex().add(items)
        exact.vectors  # noqa: B018 (concatenates the added blocks: part of building)
        exact_build = time.perf_counter() - start
        exact_batch, exact_ids = batch_queries_per_second(lambda q: exact.query(q, args.k)[0], queries)
        exact_single = single_queries_per_second(lambda q: exact.query(q, args.k), single)
    with one_blas_thread():
        exact_single = max(exact_single, single_queries_per_second(lambda q: exact.query(q, args.k), single))
    rows = []
    if "exact" in args.methods:
        rows.append({**case, "method": "exact", "parameters": "numpy", "build_s": exact_build,
                     "batch_qps": exact_batch, "single_qps": exact_single, "recall": 1.0})
    if "faiss-flat" in args.methods:
        import faiss

        faiss.omp_set_num_threads(threads)
        start = time.perf_counter()
        flat = faiss.IndexFlatIP(dimension)
        flat.add(items)  # unit rows: inner product is cosine similarity
        build = time.perf_counter() - start
        batch, ids = batch_queries_per_second(lambda q: flat.search(q, args.k)[1], queries)
        rows.append({**case, "method": "faiss-flat", "parameters": "IndexFlatIP", "build_s": build,
                     "batch_qps": batch, "single_qps": single_queries_per_second(lambda q: flat.search(q, args.k), single),
                     "recall": recall_at_k(ids, exact_ids, args.k)})

    for M in args.M:
        for name in (method for method in APPROXIMATE if method in args.methods):
            start = time.perf_counter()
            set_ef, search, wrapper = BUILDERS[name](items, M, args.ef_construction, threads)
            build = time.perf_counter() - start
            for ef in args.ef_search:
                set_ef(ef)
                parameters = f"M={M} efC={args.ef_construction} ef={ef}"
                batch, ids = batch_queries_per_second(lambda q, search=search: search(q, args.k), queries)
                rows.append(
                    {**case, "method": name, "parameters": parameters, "build_s": build, "batch_qps": batch,
                     "single_qps": single_queries_per_second(lambda q, search=search: search(q, args.k), single),
                     "recall": recall_at_k(ids, exact_ids, args.k)}
                )
                if wrapper is not None and args.wrappers:
                    query = wrapper.query
                    batch, ids = batch_queries_per_second(lambda q, query=query: query(q, args.k)[0], queries)
                    rows.append(
                        {**case, "method": f"{name} (utils)", "parameters": parameters, "build_s": build,
                         "batch_qps": batch,
                         "single_qps": single_queries_per_second(lambda q, query=query: query(q, args.k), single),
                         "recall": recall_at_k(ids, exact_ids, args.k)}
                    )
    for row in rows:
        row["batch_speedup"] = row["batch_qps"] / exact_batch
        row["single_speedup"] = row["single_qps"] / exact_single
    return rows


COLUMNS = (
    ("data", "{}"), ("n", "{:,}"), ("d", "{}"), ("method", "{}"), ("parameters", "{}"), ("build_s", "{:.1f}"),
    ("batch_qps", "{:,.0f}"), ("batch_speedup", "{:.1f}×"), ("single_qps", "{:,.0f}"),
    ("single_speedup", "{:.1f}×"), ("recall", "{:.3f}"),
)
HEADERS = {
    "build_s": "build s", "batch_qps": "batch q/s", "batch_speedup": "batch vs exact",
    "single_qps": "single q/s", "single_speedup": "single vs exact",
}


def format_row(row: dict, k: int) -> str:
    return "| " + " | ".join(template.format(row[key]) for key, template in COLUMNS) + " |"


def print_header(k: int) -> None:
    names = [HEADERS.get(key, key) if key != "recall" else f"recall@{k}" for key, _ in COLUMNS]
    print("| " + " | ".join(names) + " |")
    print("|" + "|".join("---" for _ in COLUMNS) + "|", flush=True)


def at_recall(rows: list[dict], goal: float = GOAL_RECALL) -> list[dict]:
    """Per case (data, n, d), method and ``M``: the row with the smallest ``ef`` whose recall reaches ``goal``.

    Exact rows (``exact``, ``faiss-flat``) are kept as they are; a method that never reaches the goal gets
    its best-recall row with ``reached`` False. Each returned row gains ``reached``, ``latency_ms`` (one
    query at a time) and the ratios ``batch_vs_nmslib``, ``single_vs_nmslib``, ``build_vs_nmslib``
    against the nmslib row of the same case and ``M`` (NaN without one).
    """
    chosen = []
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        m = row["parameters"].split()[0] if row["method"] not in EXACT else ""
        groups.setdefault((row["data"], row["n"], row["d"], row["method"], m), []).append(row)
    for (*_, method, _m), group in groups.items():
        good = [row for row in group if row["recall"] >= goal]
        if method in EXACT:
            row = {**group[0], "reached": group[0]["recall"] >= goal}
        elif good:
            row = {**min(good, key=lambda row: int(row["parameters"].rsplit("ef=", 1)[1])), "reached": True}
        else:
            row = {**max(group, key=lambda row: row["recall"]), "reached": False}
        chosen.append(row)
    for row in chosen:
        m = row["parameters"].split()[0]
        reference = next(
            (other for other in chosen if (other["data"], other["n"], other["d"], other["method"]) ==
             (row["data"], row["n"], row["d"], "nmslib") and other["parameters"].split()[0] == m), None
        ) if row["method"] not in EXACT else None
        row["latency_ms"] = 1000.0 / row["single_qps"]
        for key in ("batch", "single"):
            row[f"{key}_vs_nmslib"] = row[f"{key}_qps"] / reference[f"{key}_qps"] if reference else float("nan")
        row["build_vs_nmslib"] = row["build_s"] / reference["build_s"] if reference else float("nan")
    return chosen


def print_at_recall(rows: list[dict], k: int, goal: float = GOAL_RECALL) -> None:
    """The table of :func:`at_recall`: each method at the smallest ``ef`` reaching recall@k ≥ ``goal``."""
    print(f"\nAt recall@{k} ≥ {goal}: each method at its smallest ef that reaches it (ratios: > 1 is faster; "
          "build: < 1 is faster)")
    print("| data | n | d | method | parameters | recall | build s | build / nmslib | batch q/s | batch vs exact "
          "| batch vs nmslib | single ms | single vs exact | single vs nmslib |")
    print("|" + "|".join("---" for _ in range(14)) + "|")

    def ratio(value):
        return "–" if np.isnan(value) else f"{value:.2f}×"

    for row in at_recall(rows, goal):
        mark = "" if row["reached"] else " (not reached)"
        print(f"| {row['data']} | {row['n']:,} | {row['d']} | {row['method']} | {row['parameters']} | "
              f"{row['recall']:.3f}{mark} | {row['build_s']:.1f} | {ratio(row['build_vs_nmslib'])} | "
              f"{row['batch_qps']:,.0f} | {row['batch_speedup']:.1f}× | {ratio(row['batch_vs_nmslib'])} | "
              f"{row['latency_ms']:.3f} | {row['single_speedup']:.1f}× | {ratio(row['single_vs_nmslib'])} |")


def goal_summary(rows: list[dict], k: int) -> list[str]:
    """For n = 100 k, d = 300: the fastest nmslib setting with recall ≥ 0.99, against the 20× goal."""
    lines = []
    for kind in sorted({row["data"] for row in rows}):
        case = [row for row in rows if (row["data"], row["n"], row["d"]) == (kind, GOAL_SIZE, GOAL_DIMENSION)]
        candidates = [row for row in case if row["method"] == "nmslib"]
        if not candidates:
            continue
        good = [row for row in candidates if row["recall"] >= GOAL_RECALL]
        if not good:
            best = max(candidates, key=lambda row: row["recall"])
            lines.append(f"{kind}: no setting reached recall@{k} {GOAL_RECALL} (best {best['recall']:.3f} with "
                         f"{best['parameters']}, {best['batch_speedup']:.1f}× batch, {best['single_speedup']:.1f}× single)")
            continue
        best = max(good, key=lambda row: row["batch_speedup"])
        verdict = "met" if best["batch_speedup"] >= GOAL_SPEEDUP else "not met"
        lines.append(f"{kind}: {best['parameters']}: recall@{k} {best['recall']:.3f} at {best['batch_speedup']:.1f}× "
                     f"exact batch q/s ({best['single_speedup']:.1f}× single) — goal {GOAL_SPEEDUP:.0f}× {verdict}")
    return lines


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", "--n", type=int, nargs="+", default=[10_000, 100_000], help="index sizes n")
    parser.add_argument("--dims", "--d", type=int, nargs="+", default=[50, 300], help="vector dimensions d")
    parser.add_argument("--data", nargs="+", default=["clustered", "random"], choices=["clustered", "random"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="methods to run (those whose library is missing are skipped with the reason)")
    parser.add_argument("--no-wrappers", dest="wrappers", action="store_false",
                        help="skip the '(utils)' rows that time the same graphs through utils.search")
    parser.add_argument("--queries", type=int, default=1000, help="queries in the batch")
    parser.add_argument("--single-queries", type=int, default=200, help="queries sent one at a time")
    parser.add_argument("--k", type=int, default=10, help="neighbours per query (recall@k)")
    parser.add_argument("--M", type=int, nargs="+", default=[16], help="HNSW graph degrees to try")
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[10, 20, 30, 40, 60, 80, 100, 150, 200, 400])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="each timing is the best of at least this many runs")
    parser.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                        help="repeat a timing (up to 20 runs) until this much time has passed")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for every library, BLAS included (0: every core)")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=0.75, help="noise norm relative to the centre's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    parser.add_argument("--quick", action="store_true", help="n = 10 k, d = 50, 200 queries, efSearch 50 and 200")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.dims, args.queries, args.single_queries, args.ef_search = [10_000], [50], 200, 50, [50, 200]
    args.single_queries = min(args.single_queries, args.queries)
    args.threads = args.threads or os.cpu_count() or 1
    args.ef_search = sorted(set(args.ef_search))
    return args


def main(argv=None) -> list[dict]:
    global REPEATS, MIN_SECONDS
    args = parse_arguments(argv)
    REPEATS, MIN_SECONDS = max(1, args.repeats), args.min_seconds
    args.methods, skipped = available_methods(tuple(method for method in METHODS if method in args.methods))
    print(f"search benchmark: {os.cpu_count()} cores, {args.queries} batch queries, {args.single_queries} single "
          f"queries, k={args.k}, timings best of ≥ {REPEATS} runs and ≥ {MIN_SECONDS:g} s; "
          f"methods: {', '.join(args.methods)}", flush=True)
    for method, reason in skipped.items():
        print(f"skipped {method}: {reason}")
    with blas_threads(args.threads):
        blas = blas_description()
    print(f"threads: {args.threads} for nmslib (indexThreadQty, knnQueryBatch), hnswlib (set_num_threads), FAISS "
          f"(omp_set_num_threads) and NumPy's BLAS ({blas}); one query at a time runs on one thread in the graph "
          "libraries, and exact NumPy is timed with BLAS on 1 thread and on all, the faster counting", flush=True)
    print_header(args.k)
    rows = []
    started = time.perf_counter()
    for kind in args.data:
        for dimension in args.dims:
            for size in sorted(args.sizes):
                print(f"running {kind} n={size:,} d={dimension} ...", file=sys.stderr, flush=True)
                for row in run_case(kind, size, dimension, args):
                    rows.append(row)
                    print(format_row(row, args.k), flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    print_at_recall(rows, args.k)
    for line in goal_summary(rows, args.k):
        print(line)
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    sys.stdout.flush()
    return rows


if __name__ == "__main__":
    main()
