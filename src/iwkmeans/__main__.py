"""Command line of iwkmeans: ``python -m iwkmeans bench|demo|feasibility [options]``."""

import argparse
import importlib
import io
import os
import sys
import time

import numpy as np

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
    return _modules_missing(prog, *_COMMAND_EXTRAS[command])


def _modules_missing(prog, extra, modules):
    """True, after one line on stderr naming the ``extra`` to install, if
    any of ``modules`` is not installed."""
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
    feasibility = commands.add_parser(
        "feasibility",
        help="will active learning help? the learning curve of random labeled subsets",
        description="Train a classifier on random subsets of 20%, 40%, 60% and 80% of "
        "a labeled sample, over 5 stratified folds, print the learning curve (mean, "
        "std and 10th-90th percentiles of the score over folds) and its verdict: "
        "'rising' if the mean gain from the 60% to the 80% subset is larger than its "
        "standard deviation across folds (more labels still help: an active-learning "
        "sampler has room to beat random labeling), 'flat' otherwise (random "
        "labeling will do).",
        epilog="DATA is a CSV file or a .npy file. A CSV is read as comma-separated "
        "UTF-8 text: the label is the last column, or the one --target names; every "
        "other column must hold numbers; labels may be any text. Its first line is a "
        "header (column names) when one of its cells outside the label column is not "
        "a number, or holds the --target name. A .npy file holds the 2-D array of "
        "numbers X and needs --labels, a .npy file of one label per row. " + EXIT_STATUS,
    )
    feasibility.add_argument("data", metavar="DATA", help="the labeled sample: FILE.csv or X.npy")
    feasibility.add_argument(
        "--target",
        metavar="COLUMN",
        help="CSV only: the label column, by its header name or its 0-based "
        "position (negative counts from the end; default: the last column)",
    )
    feasibility.add_argument(
        "--labels", metavar="FILE", help=".npy DATA only (required there): the labels, a .npy file"
    )
    feasibility.add_argument(
        "--classifier",
        choices=sorted(_CLASSIFIERS),
        default="logistic",
        help="the model: logistic (standardized features, logistic regression; the "
        "default), forest (a random forest of 100 trees, seeded with --seed) or knn (standardized "
        "features, 5 nearest neighbours)",
    )
    feasibility.add_argument(
        "--scoring",
        default="accuracy",
        metavar="NAME",
        help="a scikit-learn scoring name, e.g. balanced_accuracy or f1_macro (default: accuracy)",
    )
    feasibility.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the folds and of the subsets (default: 0)",
    )
    feasibility.add_argument(
        "--output",
        metavar="PNG",
        help="also write the learning curve to PNG (needs matplotlib, the 'demo' "
        "extra; the same rules as demo --output, checked before any work)",
    )
    return parser


def _logistic(seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _forest(seed):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, random_state=seed)


def _knn(seed):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), KNeighborsClassifier())


# ``feasibility``: 5 folds, so that the largest subset, 80% of the sample, is
# a whole training part (4 of the 5 folds).
_FOLDS = 5

# ``feasibility --classifier``: the models on offer, built when chosen, from
# the --seed (only the forest draws random numbers).
_CLASSIFIERS = {"logistic": _logistic, "forest": _forest, "knn": _knn}


class DataError(Exception):
    """A data file that cannot be read; the message names the file and why."""


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path, target):
    """X (float64) and y (str) from a CSV file, the label column chosen by
    ``target`` (a header name, a position, or None for the last column)."""
    import csv

    try:
        # utf-8-sig: the byte-order mark that spreadsheets write is not part
        # of the first column's name.
        with open(path, newline="", encoding="utf-8-sig") as file:
            lines = [(n, row) for n, row in enumerate(csv.reader(file), start=1) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path!r}: {error}") from error
    if not lines:
        raise DataError(f"{path!r} is empty")
    first = lines[0][1]
    header = target is not None and target in first
    if header:
        column = first.index(target)
    else:
        try:
            column = -1 if target is None else int(target)
        except ValueError:
            raise DataError(
                f"--target {target!r} is neither a column of the header of {path!r} "
                f"({', '.join(first)}) nor a column position"
            ) from None
        if not -len(first) <= column < len(first):
            raise DataError(
                f"--target {target}: {path!r} has {len(first)} columns "
                f"(positions 0 to {len(first) - 1}, or -1 to -{len(first)})"
            )
        column %= len(first)
        header = any(not _is_number(c) for i, c in enumerate(first) if i != column)
    names = first if header else [str(i) for i in range(len(first))]
    if len(names) < 2:
        raise DataError(f"{path!r} has one column; it needs features and a label")
    rows, labels = [], []
    for n, row in lines[1:] if header else lines:
        if len(row) != len(names):
            raise DataError(
                f"{path!r}, line {n}: {len(row)} cells where the first line has {len(names)}"
            )
        values = []
        for i, cell in enumerate(row):
            if i == column:
                continue
            try:
                values.append(float(cell))
            except ValueError:
                what = "a missing value" if not cell.strip() else f"{cell!r} is not a number"
                raise DataError(f"{path!r}, line {n}, column {names[i]!r}: {what}") from None
        label = row[column].strip()
        if not label:
            raise DataError(f"{path!r}, line {n}, column {names[column]!r}: a missing label")
        rows.append(values)
        labels.append(label)
    if not rows:
        raise DataError(f"{path!r} has a header but no data")
    return np.array(rows, dtype=float), np.array(labels), names[column]


def _read_npy(path, name):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {name} {path!r}: {_one_line(error)}") from error


def _read_data(args):
    """X, y and a description of the label, from ``args`` (DataError if not)."""
    if args.data.lower().endswith(".npy"):
        if args.target is not None:
            raise DataError(
                "--target is for CSV files; give the labels of a .npy file with --labels"
            )
        if args.labels is None:
            raise DataError(f"{args.data!r} is a .npy file: give its labels with --labels FILE.npy")
        X = _read_npy(args.data, "DATA")
        y = _read_npy(args.labels, "--labels")
        if X.ndim != 2:
            raise DataError(f"{args.data!r} must hold a 2-D array; got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise DataError(
                f"--labels {args.labels!r} must hold one label per row of DATA, shape "
                f"({X.shape[0]},); got shape {y.shape}"
            )
        return X, y, f"labels from {args.labels}"
    if args.labels is not None:
        raise DataError("--labels is for .npy files; a CSV holds its labels (see --target)")
    X, y, name = _read_csv(args.data, args.target)
    return X, y, f"label column {name!r}"


def _feasibility(prog, args):
    plot_path = None
    if args.output is not None:
        if _modules_missing(prog, "demo", ("matplotlib",)):
            return 2
        plot_path = _output_or_exit(prog, args, plot=True)
        if plot_path is None:
            return 2

    from sklearn.metrics import get_scorer_names

    from .experiments.feasibility import SIZES, learning_curve_check

    if args.scoring not in get_scorer_names():  # scikit-learn's own message lists all 60
        print(
            f"{prog}: error: argument --scoring: unknown scoring {args.scoring!r}; e.g. "
            f"accuracy, balanced_accuracy, f1_macro (all: sklearn.metrics.get_scorer_names())",
            file=sys.stderr,
        )
        return 2
    try:
        X, y, label = _read_data(args)
        result = learning_curve_check(
            X,
            y,
            _CLASSIFIERS[args.classifier](args.seed),
            sizes=SIZES,
            n_splits=_FOLDS,
            scoring=args.scoring,
            random_state=args.seed,
        )
    except (DataError, ValueError, TypeError) as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    n_classes = np.unique(y).size
    print(
        f"{args.data}: {X.shape[0]} samples, {X.shape[1]} features, {n_classes} classes "
        f"({label}); {args.classifier}, {_FOLDS} folds, seed {args.seed}"
    )
    print(result.to_markdown(), end="", flush=True)
    if plot_path is None:
        return 0
    import matplotlib

    plot = io.BytesIO()
    suffix = os.path.splitext(plot_path)[1][1:].lower()
    with matplotlib.rc_context({"savefig.format": suffix}):
        result.plot(plot, title=os.path.basename(args.data))
    try:
        _write(plot_path, plot.getvalue())
    except OutputError as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    print(f"Learning curve: {os.path.abspath(plot_path)}")
    return 0


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
    if args.command == "feasibility":
        return _feasibility(prog, args)
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
