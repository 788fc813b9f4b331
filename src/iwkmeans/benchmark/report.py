"""The Markdown report: a header on the machine and versions, the tables and their notes."""

import datetime
import math
import os
import platform

import numpy as np

# PEERS is read through its module, so that replacing it there (as the tests
# do) reaches every reader.
from . import peers
from .cases import SELECTION_BETA
from .memory import _memory_start_method
from .peers import OURS
from .timing import MATMUL_CHUNK, SETTLE_SECONDS


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
    return platform.processor() or "unknown"


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
            "iteration count run); speed-up = peer time / iwkmeans time; "
            "rel. inertia diff = (iwkmeans - peer) / peer, negative when iwkmeans' is "
            "lower; GF/s = 2 n (fixed + k) d per iteration / time; numpy matmul GF/s = a "
            f"({MATMUL_CHUNK}, d) @ (d, fixed + k) product on 1 / all threads",
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


def format_report(rows):
    """Render :func:`run`'s rows as Markdown: a header on machine and versions, the table, notes.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`run`.

    Returns
    -------
    report : str
        The Markdown report, ending with a newline.
    """
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
    header += ["GF/s", "numpy matmul GF/s (1 / all threads)"]

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
        cells.append("—" if row["gflops"] is None else _sig(row["gflops"]))
        cells.append(
            "—"
            if row["matmul_gflops"] is None
            else " / ".join(_sig(g) for g in row["matmul_gflops"])
        )
        table.append(cells)

    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    lines = [_header(rows), "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [line(cells) for cells in table]
    if notes:
        lines += ["", *(f"[{i}] {text}" for i, text in enumerate(notes, 1))]
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
