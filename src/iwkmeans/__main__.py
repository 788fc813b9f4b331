"""Command line of iwkmeans: ``python -m iwkmeans bench|demo [options]``."""

import argparse
import importlib
import io
import os
import sys
import time

# ``demo --output``: the format a suffix-less name gets, and the formats that
# need a Pillow codec this installation may lack.
_PLOT_DEFAULT_FORMAT = "png"
_OPTIONAL_PIL_FORMATS = ("webp", "avif")

EXIT_STATUS = (
    "Exit status: 0 on success; 2 for a bad argument (a bad --output path is "
    "reported in one line, before any work is done) or a missing optional "
    "dependency (the line names the extra to install); 1 if the output file "
    "cannot be written at the end (e.g. its directory was removed meanwhile)."
)


# Commands that need modules of an optional extra (pyproject.toml), checked
# before any work so that a core install gets one line naming what to install
# rather than a traceback midway: the demo plots (matplotlib) and shows
# progress bars (tqdm).
_COMMAND_EXTRAS = {"demo": ("demo", ("matplotlib", "tqdm"))}


def _missing_modules(names):
    """Those of ``names`` that are not installed (a module that is installed
    but fails to import raises its own error)."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            missing.append(name)
    return missing


def _extra_missing(prog, command):
    """True, after one line on stderr saying what to install, if ``command``
    needs modules of an extra that are not installed."""
    if command not in _COMMAND_EXTRAS:
        return False
    extra, modules = _COMMAND_EXTRAS[command]
    missing = _missing_modules(modules)
    if not missing:
        return False
    print(
        f"{prog}: error: {' and '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not installed; install the "
        f"'{extra}' extra: pip install \"iwkmeans[{extra}]\" "
        f"(or: pip install {' '.join(missing)})",
        file=sys.stderr,
    )
    return True


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


class OutputError(Exception):
    """An output path that cannot be written; the message names the path."""


def _plot_formats():
    """The suffixes (lower case, no dot) ``demo --output`` accepts: those
    matplotlib writes, less PGF (it needs LaTeX) and missing Pillow codecs."""
    from matplotlib.backend_bases import FigureCanvasBase
    from PIL import features

    formats = set(FigureCanvasBase.get_supported_filetypes()) - {"pgf"}
    for suffix in _OPTIONAL_PIL_FORMATS:
        if suffix in formats and not features.check(suffix):
            formats.discard(suffix)
    return formats


def _check_output(path, *, plot=False):
    """The file that ``--output path`` will write, or OutputError.

    The checks run before any work: an empty path, a path that names a
    directory (an existing one, or ending in a separator), a parent directory
    that is missing, not a directory or not writable, and an existing file
    that is not writable are errors. With ``plot``, a path without a suffix
    gets ``.png`` appended and any other suffix must be a format matplotlib
    writes. Returns the path as given, or with ``.png`` appended (relative
    paths stay relative).
    """
    if not path:
        raise OutputError("the path '' is empty")
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise OutputError(f"{path!r} ends with a separator; give a file name")
    if os.path.isdir(path):
        raise OutputError(f"{path!r} is a directory; give a file name")
    if plot:
        suffix = os.path.splitext(path)[1]
        if suffix == ".":
            raise OutputError(
                f"{path!r} ends with '.'; give a suffix such as .{_PLOT_DEFAULT_FORMAT}"
            )
        if not suffix:
            path = f"{path}.{_PLOT_DEFAULT_FORMAT}"
        else:
            formats = _plot_formats()
            if suffix[1:].lower() not in formats:
                raise OutputError(
                    f"{path!r}: cannot write {suffix!r} files; use one of "
                    f"{', '.join('.' + f for f in sorted(formats))}"
                )
    if os.path.isdir(path):  # again, once .png is appended
        raise OutputError(f"{path!r} is a directory; give a file name")
    parent = os.path.dirname(path) or os.curdir
    if not os.path.exists(parent):
        raise OutputError(f"cannot write {path!r}: directory {parent!r} does not exist")
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write {path!r}: {parent!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) and not os.path.exists(path):
        raise OutputError(f"cannot write {path!r}: directory {parent!r} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {path!r}: the file is not writable")
    return path


def _output_or_exit(prog, args, *, plot):
    """Check ``args.output`` before any work; on error print one line and
    return None (the caller exits with status 2)."""
    try:
        return _check_output(args.output, plot=plot)
    except OutputError as error:
        print(f"{prog}: error: argument --output: {_one_line(error)}", file=sys.stderr)
        return None


def _one_line(error):
    return " ".join(str(error).splitlines())


def _write(path, data):
    """Write ``data`` (bytes, or str as UTF-8) to ``path``; on failure an
    OutputError that names the path."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputError(f"cannot write {path!r}: {reason}") from error


def _parser():
    parser = argparse.ArgumentParser(prog="iwkmeans", description="Tools for the iwkmeans package.")
    commands = parser.add_subparsers(dest="command", metavar="command")
    bench = commands.add_parser(
        "bench",
        help="time iwkmeans against scikit-learn (and faiss, sklearnex if installed)",
        description="Time iwkmeans against scikit-learn, and faiss-cpu and "
        "scikit-learn-intelex when installed, in one process on identical "
        "data and print a Markdown report (machine, versions, table).",
        epilog=EXIT_STATUS,
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="smaller workload (about three minutes)",
    )
    bench.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="threads for every implementation (default: OMP_NUM_THREADS or the physical cores)",
    )
    bench.add_argument(
        "--repeats",
        type=_positive_int,
        metavar="R",
        help="timed calls per implementation and case (default: 5, or 3 with --quick)",
    )
    bench.add_argument(
        "--output",
        metavar="FILE",
        help="also write the report to FILE (overwritten if it exists; its path "
        "is printed on stderr at the end). An empty FILE, an existing directory, "
        "or a directory that does not exist or is not writable is an error, "
        "reported before the benchmark runs",
    )
    demo = commands.add_parser(
        "demo",
        help="short active-learning experiment: Random vs WKMeans vs IWKMeans",
        description="Run Random, WKMeans and IWKMeans on generated noisy blobs (a "
        "small Noisy-LD task), print the AUC table and write the learning curves "
        "to a PNG. Takes well under a minute on two cores.",
        epilog=EXIT_STATUS,
    )
    demo.add_argument(
        "--seeds",
        type=_positive_int,
        default=5,
        metavar="N",
        help="runs per method, seeds 0 to N-1 (default: 5)",
    )
    demo.add_argument(
        "--batch-size",
        type=_positive_int,
        default=10,
        metavar="B",
        help="samples selected per batch (default: 10)",
    )
    demo.add_argument(
        "--output",
        default="iwkmeans_demo.png",
        metavar="PNG",
        help="learning-curve plot to write (default: iwkmeans_demo.png), "
        "overwritten if it exists. The suffix gives the format (.png, .pdf, "
        ".svg, ... any matplotlib writes without LaTeX); a name without a "
        "suffix gets .png appended. The absolute path of the file written is "
        "printed at the end. An empty path, an existing directory, an unknown "
        "suffix, or a directory that does not exist or is not writable is an "
        "error, reported before the experiment runs",
    )
    demo.add_argument(
        "--extra-samplers",
        action="store_true",
        help="also run Clustered, Submodular (Zhdanov 2019), BADGE, TypiClust "
        "(labeled samples as fixed centroids) and Cluster-Margin (hierarchical K-Means)",
    )
    return parser


def _demo(prog, args):
    path = _output_or_exit(prog, args, plot=True)
    if path is None:
        return 2
    shown = os.path.abspath(path)

    import matplotlib

    from .experiments import format_summary, run_demo

    # The plot is drawn into memory and written here, so that a failure to
    # write it (the directory removed meanwhile, a full disk) is one line of
    # error after the table rather than a traceback that loses the table.
    plot = io.BytesIO()
    suffix = os.path.splitext(path)[1][1:].lower()
    start = time.perf_counter()
    try:
        with matplotlib.rc_context({"savefig.format": suffix}):
            summary, _ = run_demo(
                args.seeds, args.batch_size, plot, extra_samplers=args.extra_samplers
            )
    except ValueError as error:  # e.g. batches larger than the pool
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    print(
        f"AUC = mean test accuracy over the learning curve, x100 "
        f"({time.perf_counter() - start:.0f} s)"
    )
    print(format_summary(summary), end="", flush=True)
    try:
        _write(path, plot.getvalue())
    except OutputError as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    print(f"Learning curves: {shown}")
    return 0


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    prog = f"{parser.prog} {args.command}"
    if _extra_missing(prog, args.command):
        return 2
    if args.command == "demo":
        return _demo(prog, args)
    output = None
    if args.output is not None:
        output = _output_or_exit(prog, args, plot=False)
        if output is None:
            return 2

    from .benchmark import format_report, format_selection, run, run_selection

    start = time.perf_counter()

    def progress(line):
        print(f"[{time.perf_counter() - start:4.0f} s] {line}", file=sys.stderr, flush=True)

    rows = run(quick=args.quick, n_threads=args.threads, repeats=args.repeats, log=progress)
    selection = run_selection(n_threads=args.threads, repeats=args.repeats or 5, log=progress)
    report = format_report(rows) + "\n" + format_selection(selection)
    print(report, end="", flush=True)
    if output is not None:
        try:
            _write(output, report)
        except OutputError as error:
            print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
            return 1
        print(f"Report written to {os.path.abspath(output)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
