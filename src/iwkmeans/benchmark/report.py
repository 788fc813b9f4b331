"""The Markdown report: a header on the machine and versions, the tables and their notes."""

import datetime
import math
import os
import platform

import numpy as np

# PEERS is read through its module, so that replacing it there (as the tests
# do) reaches every reader.
from . import peers
from .cases import MARGINAL_SHORT_ITER, SEED, SELECTION_BETA
from .latency import CONDITIONS, PEER, REFERENCE
from .memory import _memory_start_method
from .peers import OURS
from .timing import BUSY_CPUS_THRESHOLD, MATMUL_CHUNK, SETTLE_SECONDS


def _relative_diff(value):
    return "0" if value == 0 else f"{value:+.1e}"


def _sig(x, digits=3):
    """x with ``digits`` significant digits, in positional notation."""
    if x == 0:
        return "0"
    x = float(f"{x:.{digits - 1}e}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _header(rows):
    import joblib
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    from .. import __version__
    from .._core import openmp_enabled

    blas = [
        f"{lib['internal_api']} {lib.get('version')} "
        f"(core type {lib.get('architecture', 'n/a')}, {os.path.basename(lib['filepath'])})"
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    ]
    threads = sorted({row["threads"] for row in rows})
    repeats = sorted({row["repeats"] for row in rows})
    peer_versions = "; ".join(
        f"{peer.name} {_distribution_version(peer.distribution)}" for peer in peers.PEERS
    )
    memory_methods = sorted({row.get("memory_method") for row in rows} - {None})
    return "\n".join(
        [
            "# iwkmeans benchmark",
            "",
            f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
            f"- CPU: {_cpu_model()}; cores: {os.cpu_count()} logical (os.cpu_count), "
            f"{joblib.cpu_count(only_physical_cores=True)} physical (joblib)",
            f"- Python {platform.python_version()}; numpy {np.__version__}; "
            f"scipy {scipy.__version__}; scikit-learn {sklearn.__version__}; "
            f"iwkmeans {__version__}",
            f"- peers: {peer_versions}",
            f"- BLAS: {'; '.join(blas) or 'none found'}; iwkmeans core built with "
            f"OpenMP: {'yes' if openmp_enabled() else 'no (serial)'}",
            f"- OPENBLAS_CORETYPE: {os.environ.get('OPENBLAS_CORETYPE', 'unset')}",
            f"- method: same process, same data and initial centers, calls interleaved "
            f"(each timed call after a {SETTLE_SECONDS} s pause and an untimed call of the "
            f"same implementation); median of {', '.join(map(str, repeats))} timings; "
            f"threads {', '.join(map(str, threads))} (OpenMP and BLAS limits and n_threads)",
            "- times in ms (per Lloyd iteration in the per-iteration rows, with the "
            "iteration count run: fit time / n_iter); speed-up = peer time / iwkmeans time; "
            "rel. inertia diff = (iwkmeans - peer) / peer, negative when iwkmeans' is "
            "lower",
            "- Lloyd rows (dense): ms / marginal it = (median time of the iwkmeans fit - "
            f"median time of an iwkmeans fit stopped after {MARGINAL_SHORT_ITER} iteration, "
            "timed in the same interleaving) / (difference of their n_iter), so that a fit's "
            "fixed costs drop out; GF/s = 2 n k d / that time; numpy matmul GF/s = a "
            f"({MATMUL_CHUNK}, d) @ (d, k) product on 1 / all threads (the row's); share of "
            "matmul = GF/s / matmul GF/s on all threads. Fixed-center rows: GF/s = "
            "2 n (fixed + k) d / (fit time / n_iter), matmul on (d, fixed + k)",
            *([_memory_method_line(memory_methods)] if memory_methods else []),
        ]
    )


def _distribution_version(distribution):
    from importlib import metadata

    if distribution is None:
        return "(version unknown)"
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _memory_method_line(methods):
    """The header line saying how the peak MiB columns were measured."""
    how = (
        "resident-set high-water mark (VmHWM, reset through /proc/self/clear_refs) "
        "minus the resident set just before the call"
    )
    if methods != ["VmHWM"]:
        how = (
            "rise of getrusage's ru_maxrss over the call where the high-water mark "
            "could not be reset (a lower bound), else " + how
        )
    start = _memory_start_method()
    process = (
        "forked from a server process that has only imported the libraries"
        if start == "forkserver"
        else "spawned"
    )
    return (
        "- peak MiB: peak extra resident memory of one call once its data exist, "
        "C malloc and numpy allocations alike: " + how + "; in a fresh process per "
        f"implementation and case ({process}) rebuilding the data from the same seed, "
        "after one warm-up call on a small case; same thread limits"
    )


def _markdown_table(header, cells):
    """Lines of a Markdown table, columns padded to their widest cell."""
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(header), rule, *(line(row) for row in cells)]


def format_report(rows):
    """Render :func:`run`'s rows as Markdown: a header on machine and versions, the tables, notes.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`run`: the comparison's, then the cold-and-busy
        ones (``table == "latency"``), rendered as a table of their own by
        :func:`format_latency`.

    Returns
    -------
    report : str
        The Markdown report, ending with a newline.
    """
    latency = [row for row in rows if row.get("table") == "latency"]
    rows = [row for row in rows if row.get("table") != "latency"]
    peer_names = list(dict.fromkeys(name for row in rows for name in row["peers"]))
    notes = []  # distinct notes, numbered in order of appearance

    def mark(text):
        if text not in notes:
            notes.append(text)
        return f"[{notes.index(text) + 1}]"

    def with_iters(ms, n_iter):
        return _sig(ms) if n_iter is None else f"{_sig(ms)} ({n_iter:g} it)"

    def suffix(name):
        return "" if len(peer_names) == 1 else f" vs {name}"

    # Peak-memory columns only when some row measured memory.
    memory = any(row.get("memory_method") for row in rows)

    def peak(result):
        if not memory:
            return []
        return ["—" if result.get("peak_mib") is None else _sig(result["peak_mib"])]

    header = ["case", "shape n x d x k", "dtype", "threads", f"{OURS} time"]
    header += [f"{OURS} peak MiB"] if memory else []
    for name in peer_names:
        header += [
            f"{name} time",
            *([f"{name} peak MiB"] if memory else []),
            f"speed-up{suffix(name)}",
            f"rel. inertia diff{suffix(name)}",
        ]
    header += [
        f"{OURS} ms / marginal it",
        "GF/s",
        "numpy matmul GF/s (1 / all threads)",
        "share of matmul",
    ]

    table = []
    for row in rows:
        case = row["case"] + "".join(" " + mark(note) for note in row["notes"])
        ours = row[OURS]
        cells = [
            case,
            row["shape"],
            row["dtype"],
            str(row["threads"]),
            with_iters(ours["ms"], ours["n_iter"]),
            *peak(ours),
        ]
        for name in peer_names:
            peer = row["peers"].get(name, {"skipped": "not run"})
            if "skipped" in peer:
                reason = f"{name}: {peer['skipped']}"
                cells += [f"— {mark(reason)}", *peak({}), "—", "—"]
            else:
                cells += [
                    with_iters(peer["ms"], peer["n_iter"]),
                    *peak(peer),
                    f"{_sig(peer['speedup'])}x",
                    _relative_diff(peer["rel_inertia_diff"]),
                ]
        marginal = ours.get("marginal_ms")
        cells.append("—" if marginal is None else _sig(marginal))
        cells.append("—" if row["gflops"] is None else _sig(row["gflops"]))
        cells.append(
            "—"
            if row["matmul_gflops"] is None
            else " / ".join(_sig(g) for g in row["matmul_gflops"])
        )
        share = row.get("matmul_share")
        cells.append("—" if share is None else _percent(share))
        table.append(cells)

    lines = [_header(rows), "", *_markdown_table(header, table)]
    if notes:
        lines += ["", *(f"[{i}] {text}" for i, text in enumerate(notes, 1))]
    if latency:
        lines += ["", format_latency(latency).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _calls(count):
    return f"{count} call" + ("" if count == 1 else "s")


def _load(cpus):
    return "—" if cpus is None else _sig(cpus, 2)


def _percent(share):
    return f"{share * 100:.0f}%"


def _ratio(value):
    return "—" if value is None else f"{_sig(value)}x"


def format_latency(rows):
    """Render :func:`run_latency`'s rows as Markdown: how they were timed, then the table.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`run_latency`.

    Returns
    -------
    report : str
        A Markdown heading, the definitions and the table (a line per
        implementation of each row), ending with a newline.
    """
    if not rows:
        return ""
    first = rows[0]
    repeats = first["repeats"]
    header = [
        "call",
        "shape",
        "dtype",
        "implementation",
        *(f"{c} ms" for c in CONDITIONS),
        "cold / warm 1 thread",
        "busy / warm 1 thread",
        f"speed-up vs {PEER} (warm / cold / busy)",
        "other CPUs",
        "busy helper CPU",
    ]
    table = []
    for row in rows:
        for line, (name, ms) in enumerate(row["median_ms"].items()):
            ratios = row["ratios"].get(name)
            if ratios is None:  # the peer's line: its times only
                cells = ["—"] * 3
            else:
                speedup = ratios["speed-up"]
                cells = [
                    _ratio(ratios["cold / warm 1 thread"]),
                    _ratio(ratios["busy / warm 1 thread"]),
                    "—" if speedup is None else " / ".join(_ratio(speedup[c]) for c in CONDITIONS),
                ]
            table.append(
                [
                    row["call"],
                    row["shape"],
                    row["dtype"],
                    name,
                    *(_sig(ms[c]) for c in CONDITIONS),
                    *cells,
                    # The row's conditions, shown once, on its first line.
                    *(("", "") if line else (_load(row["other_cpus"]), _load(row["spinner_cpu"]))),
                ]
            )
    threads = "/".join(map(str, sorted({row["threads"] for row in rows})))
    lines = [
        "## Cold and busy calls",
        "",
        "Each call timed in three conditions, in this order, in one process:",
        "",
        f"- warm: an untimed call, then {_calls(repeats['warm'])} back to back;",
        f"- cold: {_calls(repeats['cold'])}, each after {first['idle_s']:g} s of sleep (the "
        "implementations in turn);",
        f"- busy: as warm, while a child process spins a pure-Python loop on one core "
        f"(started {first['busy_warmup_s']:g} s before, stopped after the row).",
        "",
        f"iwkmeans on the run's threads and on one, and {PEER} where it has the task, all "
        f"under OpenMP and BLAS limits of {threads}; every call of a row on the same data "
        f"with random_state={SEED}. Times: medians in ms. cold (busy) / warm 1 thread = the "
        f"line's cold (busy) median over the warm median of {REFERENCE} (issue 16: at most "
        f"1.5x); speed-up = {PEER}'s median / the line's, per condition (issue 16: cold at "
        "least 5x). Other CPUs = other processes' average CPU use during the row's warm and "
        "cold calls (/proc/stat, hypervisor steal included; above "
        f"{BUSY_CPUS_THRESHOLD:g} the timings are unreliable); busy helper CPU = the CPU the "
        "spinning process got while it ran (1.0: one core throughout); both on a row's "
        "first line.",
        "",
        *_markdown_table(header, table),
    ]
    return "\n".join(lines) + "\n"


def format_selection(rows):
    """Render :func:`run_selection`'s rows as a Markdown table.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`run_selection`.

    Returns
    -------
    report : str
        A Markdown heading and the table, ending with a newline.
    """
    header = [
        "pool n x d",
        "batch",
        "labeled (fixed centroids)",
        "threads",
        "selection ms (excl. predict_proba)",
        "target ms",
        "predict_proba ms",
        "select_samples ms (total)",
    ]
    lines = [
        "## IWKMeansSampler.select_samples latency (LogisticRegression, margin, "
        f"beta={SELECTION_BETA})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells = [
            row["pool"],
            str(row["batch"]),
            str(row["labeled"]),
            str(row["threads"]),
            _sig(row["select"]),
            _sig(row["target_ms"]),
            _sig(row["predict_proba"]),
            _sig(row["select_samples"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
