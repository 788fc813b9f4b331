"""The command line (the benchmark's internals: test_benchmark.py)."""

import os
import sys

import pytest

from iwkmeans import benchmark
from iwkmeans.__main__ import main

from _helpers import PNG_SIGNATURE


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "bench" in capsys.readouterr().err


def test_bad_option_is_rejected():
    with pytest.raises(SystemExit):
        main(["bench", "--repeats", "0"])


# --output of demo and bench: checked before any work, one line of error.


def _no_experiment(monkeypatch):
    """Make the demo's experiment and the benchmark fail if they are reached."""
    from iwkmeans import experiments

    def called(*args, **kwargs):
        raise AssertionError("the work ran before the output path was checked")

    monkeypatch.setattr(experiments, "run_demo", called)
    monkeypatch.setattr(benchmark, "run", called)
    monkeypatch.setattr(benchmark, "run_selection", called)


def _fake_demo(monkeypatch, before_plot=lambda: None):
    """A quick run_demo: one line of table, a real matplotlib plot into ``output``."""
    from matplotlib.figure import Figure

    from iwkmeans import experiments

    def run_demo(n_seeds, batch_size, output, extra_samplers=False):
        before_plot()
        fig = Figure()
        fig.add_subplot().plot([0, 1], [0, 1])
        fig.savefig(output)
        return {}, output

    monkeypatch.setattr(experiments, "run_demo", run_demo)
    monkeypatch.setattr(experiments, "format_summary", lambda summary: "| table |\n")


def _assert_one_line_error(err, command, path):
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"iwkmeans {command}: error: "), err
    assert repr(str(path)) in err, err


def _deny_writes(monkeypatch, denied):
    """os.access says ``denied`` is not writable (a chmod does not stop root)."""
    access = os.access

    def fake_access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.abspath(path) == os.path.abspath(denied):
            return False
        return access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", fake_access)


# (case id, how to prepare tmp_path, --output relative to tmp_path or None for
#  "", the path the message names relative to tmp_path)
BAD_OUTPUTS = [
    ("empty path", None, None, None),
    ("existing directory", "mkdir out", "out", "out"),
    ("trailing separator", None, "new" + os.sep, "new" + os.sep),
    ("missing parent directory", None, "missing/curves.png", "missing/curves.png"),
    ("parent is a file", "touch file", "file/curves.png", "file/curves.png"),
    ("read-only parent directory", "deny-dir ro", "ro/curves.png", "ro/curves.png"),
    ("read-only existing file", "deny-file curves.png", "curves.png", "curves.png"),
]
PLOT_ONLY = [
    ("unknown suffix", None, "curves.xyz", "curves.xyz"),
    ("pgf needs LaTeX", None, "curves.pgf", "curves.pgf"),
    ("name ending in a dot", None, "curves.", "curves."),
    ("suffix-less name whose .png is a directory", "mkdir curves.png", "curves", "curves.png"),
]


def _prepare(tmp_path, monkeypatch, setup, output, named):
    if setup:
        action, name = setup.split()
        target = tmp_path / name
        if action == "mkdir":
            target.mkdir()
        elif action == "touch":
            target.write_text("")
        elif action == "deny-dir":
            target.mkdir()
            _deny_writes(monkeypatch, target)
        elif action == "deny-file":
            target.write_bytes(b"old")
            _deny_writes(monkeypatch, target)
    if output is None:
        return "", ""
    # Strings, not Paths: a Path would drop a trailing separator.
    return os.path.join(tmp_path, output), os.path.join(tmp_path, named)


OUTPUT_CASES = [
    pytest.param("demo", *case, id=f"demo, {case[0]}") for case in BAD_OUTPUTS + PLOT_ONLY
] + [pytest.param("bench", *case, id=f"bench, {case[0]}") for case in BAD_OUTPUTS]


@pytest.mark.parametrize("command, case, setup, output, named", OUTPUT_CASES)
def test_bad_output_fails_fast(command, case, setup, output, named, tmp_path, monkeypatch, capsys):
    _no_experiment(monkeypatch)
    output, named = _prepare(tmp_path, monkeypatch, setup, output, named)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert main([command, "--output", output]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _assert_one_line_error(err, command, named)
    assert "argument --output" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # nothing written


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only directories"
)
def test_demo_output_in_a_chmod_read_only_directory(tmp_path, monkeypatch, capsys):
    _no_experiment(monkeypatch)
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        assert main(["demo", "--output", str(directory / "curves.png")]) == 2
    finally:
        directory.chmod(0o755)
    _assert_one_line_error(capsys.readouterr().err, "demo", directory / "curves.png")


def test_demo_output_without_suffix_gets_png_and_prints_that_file(tmp_path, monkeypatch, capsys):
    _fake_demo(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--output", "curves"]) == 0
    out, err = capsys.readouterr()
    printed = out.splitlines()[-1].removeprefix("Learning curves: ")
    assert printed == str(tmp_path / "curves.png")
    assert os.listdir(tmp_path) == ["curves.png"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_SIGNATURE
    assert err == ""


@pytest.mark.parametrize(
    "name, signature",
    [("curves.svg", b"<?xml"), ("curves.PDF", b"%PDF"), ("curves.v2.png", PNG_SIGNATURE)],
)
def test_demo_output_format_follows_the_suffix(name, signature, tmp_path, monkeypatch, capsys):
    _fake_demo(monkeypatch)
    path = tmp_path / name
    assert main(["demo", "--output", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"Learning curves: {path}\n")
    assert os.listdir(tmp_path) == [name]
    assert path.read_bytes().startswith(signature)


def test_demo_overwrites_an_existing_file(tmp_path, monkeypatch, capsys):
    _fake_demo(monkeypatch)
    path = tmp_path / "curves.png"
    path.write_bytes(b"old")
    assert main(["demo", "--output", str(path)]) == 0
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_demo_output_removed_during_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    # The check passed, then the directory went away: exit 1, the table kept.
    directory = tmp_path / "out"
    directory.mkdir()
    _fake_demo(monkeypatch, before_plot=directory.rmdir)
    path = directory / "curves.png"
    assert main(["demo", "--output", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "| table |" in out and "Learning curves" not in out
    _assert_one_line_error(err, "demo", path)
    assert "No such file or directory" in err


def _fake_bench(monkeypatch, before_report=lambda: None):
    def run(**kwargs):
        before_report()
        return []

    monkeypatch.setattr(benchmark, "run", run)
    monkeypatch.setattr(benchmark, "run_selection", lambda **kwargs: [])
    monkeypatch.setattr(benchmark, "format_report", lambda rows: "# report\n")
    monkeypatch.setattr(benchmark, "format_selection", lambda rows: "selection\n")


def test_bench_output_prints_the_file_written(tmp_path, monkeypatch, capsys):
    _fake_bench(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--output", "report"]) == 0  # no suffix rule for a report
    out, err = capsys.readouterr()
    assert out == "# report\n\nselection\n"
    assert err.splitlines()[-1] == f"Report written to {tmp_path / 'report'}"
    assert (tmp_path / "report").read_text(encoding="utf-8") == out


def test_bench_output_removed_during_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "out"
    directory.mkdir()
    _fake_bench(monkeypatch, before_report=directory.rmdir)
    path = directory / "report.md"
    assert main(["bench", "--output", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "# report\n\nselection\n"  # the report is still printed
    _assert_one_line_error(err, "bench", path)


def test_bad_output_from_the_command_line(tmp_path):
    # The real CLI in a subprocess: exit status 2, one line, and no run (fast).
    import subprocess
    import time

    path = tmp_path / "missing" / "curves"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "iwkmeans", "demo", "--output", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 2
    assert result.stdout == ""
    _assert_one_line_error(result.stderr, "demo", f"{path}.png")
    assert elapsed < 30


def test_output_rules_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for rule in (
        "a name without a suffix gets .png appended",
        "An empty path, an existing directory, an unknown suffix",
        "reported before the experiment runs",
        "Exit status",
    ):
        assert rule in help_text
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "reported before the benchmark runs" in " ".join(capsys.readouterr().out.split())


# feasibility: the learning curve of a CSV or .npy file.


@pytest.fixture
def one_thread():
    """BLAS on one thread: the command's many small fits otherwise spend
    their time in BLAS threads waiting for each other on a busy machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _sample():
    """60 rows, 3 features, 3 classes named by text."""
    import numpy as np
    from sklearn.datasets import make_blobs

    X, y = make_blobs(60, n_features=3, centers=3, cluster_std=3.0, random_state=0)
    X = np.round(X, 3)  # written and read back exactly
    return X, np.array(["ant", "bee", "cat"])[y]


def _write_csv(path, X, y, *, header=True, label_at=-1):
    """X and y as a CSV, the label in column ``label_at``, named 'kind'."""
    position = label_at % (X.shape[1] + 1)
    columns = [f"x{i}" for i in range(X.shape[1])]
    columns.insert(position, "kind")
    lines = [",".join(columns)] if header else []
    for row, label in zip(X, y):
        cells = [repr(float(v)) for v in row]
        cells.insert(position, label)
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _record_check(monkeypatch, after=lambda: None):
    """Replace learning_curve_check by one that records its arguments and
    returns a fixed result; returns the record."""
    from iwkmeans.experiments import feasibility

    calls = []

    def check(X, y, classifier, **options):
        calls.append((X, y, classifier, options))
        after()
        return feasibility.FeasibilityResult([12, 24], [[0.5, 0.75], [0.25, 0.5]])

    monkeypatch.setattr(feasibility, "learning_curve_check", check)
    return calls


@pytest.mark.parametrize(
    "header, label_at, target",
    [
        (True, -1, None),  # the last column by default
        (True, 1, "kind"),  # by its header name
        (False, 0, "0"),  # by its position, no header
        (False, -1, "-1"),
        (False, -1, None),
    ],
)
def test_feasibility_reads_a_csv(header, label_at, target, tmp_path, monkeypatch, capsys):
    import numpy as np

    from iwkmeans.experiments.feasibility import SIZES, FeasibilityResult

    calls = _record_check(monkeypatch)
    X, y = _sample()
    data = _write_csv(tmp_path / "sample.csv", X, y, header=header, label_at=label_at)
    argv = ["feasibility", data] + ([] if target is None else ["--target", target])
    assert main(argv) == 0
    ((X_read, y_read, model, options),) = calls
    np.testing.assert_array_equal(X_read, X)
    np.testing.assert_array_equal(y_read, y)
    assert options == {
        "sizes": SIZES,
        "n_splits": 5,
        "scoring": "accuracy",
        "random_state": 0,
    }
    assert [type(step).__name__ for step in model] == ["StandardScaler", "LogisticRegression"]
    out, err = capsys.readouterr()
    label = "'kind'" if header else f"'{label_at % 4}'"
    expected = FeasibilityResult([12, 24], [[0.5, 0.75], [0.25, 0.5]]).to_markdown()
    assert out == (
        f"{data}: 60 samples, 3 features, 3 classes (label column {label}); "
        f"logistic, 5 folds, seed 0\n" + expected
    )
    assert err == ""


def test_feasibility_csv_with_a_byte_order_mark(tmp_path, monkeypatch, capsys):
    # Spreadsheets write one: it is not part of the first column's name.
    import numpy as np

    calls = _record_check(monkeypatch)
    path = tmp_path / "bom.csv"
    path.write_bytes("kind,x\na,1\nb,2\n".encode("utf-8-sig"))
    assert main(["feasibility", str(path), "--target", "kind"]) == 0
    np.testing.assert_array_equal(calls[0][1], ["a", "b"])
    np.testing.assert_array_equal(calls[0][0], [[1.0], [2.0]])


def test_feasibility_options_reach_the_check(tmp_path, monkeypatch, capsys):
    calls = _record_check(monkeypatch)
    X, y = _sample()
    data = _write_csv(tmp_path / "sample.csv", X, y)
    argv = ["feasibility", data, "--scoring", "f1_macro", "--seed", "7"]
    for name, steps in [("knn", ["StandardScaler", "KNeighborsClassifier"]), ("forest", None)]:
        assert main(argv + ["--classifier", name]) == 0
        model, options = calls[-1][2:]
        assert options["scoring"] == "f1_macro" and options["random_state"] == 7
        if steps:
            assert [type(step).__name__ for step in model] == steps
        else:  # the forest is seeded too
            assert type(model).__name__ == "RandomForestClassifier" and model.random_state == 7
    assert "knn, 5 folds, seed 7" in capsys.readouterr().out


def test_feasibility_on_npy_runs_the_check_and_writes_the_plot(tmp_path, capsys, one_thread):
    # The real check, end to end, with the default model.
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from iwkmeans.experiments.feasibility import learning_curve_check

    X, y = _sample()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    argv = ["feasibility", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy")]
    assert main(argv + ["--output", str(tmp_path / "curve")]) == 0
    out, err = capsys.readouterr()
    first, rest = out.split("\n", 1)
    assert first.endswith(f"(labels from {tmp_path / 'y.npy'}); logistic, 5 folds, seed 0")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    expected = learning_curve_check(X, y, model, random_state=0).to_markdown()
    assert rest == expected + f"Learning curve: {tmp_path / 'curve.png'}\n"  # .png appended
    assert "| 48 |" in expected  # sizes 12, 24, 36, 48: 20% to 80% of 60
    assert (tmp_path / "curve.png").read_bytes()[:8] == PNG_SIGNATURE
    assert err == ""


# (case id, files to write: name -> content, argv after "feasibility", what the
#  one-line error must contain)
FEASIBILITY_ERRORS = [
    ("missing file", {}, ["none.csv"], "cannot read 'none.csv'"),
    ("empty file", {"e.csv": ""}, ["e.csv"], "'e.csv' is empty"),
    ("one column", {"c.csv": "a\n1\n2\n"}, ["c.csv"], "'c.csv' has one column"),
    ("header only", {"h.csv": "x,kind\n"}, ["h.csv"], "'h.csv' has a header but no data"),
    (
        "text in a feature",
        {"t.csv": "x,y,kind\n1,2,a\n3,oops,b\n"},
        ["t.csv"],
        "'t.csv', line 3, column 'y': 'oops' is not a number",
    ),
    (
        "missing value",
        {"m.csv": "x,y,kind\n1,2,a\n3,,b\n"},
        ["m.csv"],
        "'m.csv', line 3, column 'y': a missing value",
    ),
    (
        "missing label",
        {"n.csv": "x,y,kind\n1,2,a\n3,4, \n"},
        ["n.csv"],
        "'n.csv', line 3, column 'kind': a missing label",
    ),
    (
        "ragged row",
        {"r.csv": "x,y,kind\n1,2,a\n3,b\n"},
        ["r.csv"],
        "'r.csv', line 3: 2 cells where the first line has 3",
    ),
    (
        "unknown target",
        {"u.csv": "x,y,kind\n1,2,a\n"},
        ["u.csv", "--target", "label"],
        "--target 'label' is neither a column of the header of 'u.csv' (x, y, kind)",
    ),
    (
        "target out of range",
        {"o.csv": "1,2,a\n"},
        ["o.csv", "--target", "3"],
        "--target 3: 'o.csv' has 3 columns (positions 0 to 2, or -1 to -3)",
    ),
    ("npy without labels", {}, ["X.npy"], "'X.npy' is a .npy file: give its labels with --labels"),
    ("target with npy", {}, ["X.npy", "--target", "0"], "--target is for CSV files"),
    ("labels with csv", {"l.csv": "1,a\n"}, ["l.csv", "--labels", "y.npy"], "--labels is for .npy"),
    ("unreadable npy", {"X.npy": "garbage"}, ["X.npy", "--labels", "y.npy"], "cannot read DATA"),
    ("one class", {"k.csv": "1,a\n2,a\n3,a\n4,a\n5,a\n"}, ["k.csv"], "at least 2 classes"),
    ("unknown scoring", {"s.csv": "1,a\n"}, ["s.csv", "--scoring", "nope"], "--scoring: unknown"),
]


@pytest.mark.parametrize(
    "case, files, argv, message", FEASIBILITY_ERRORS, ids=[c[0] for c in FEASIBILITY_ERRORS]
)
def test_feasibility_bad_data_is_one_line(
    case, files, argv, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    assert main(["feasibility", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("iwkmeans feasibility: error: ") and err.count("\n") == 1, err
    assert message in err, err


def test_feasibility_labels_of_the_wrong_length(tmp_path, capsys):
    import numpy as np

    np.save(tmp_path / "X.npy", np.zeros((10, 2)))
    np.save(tmp_path / "y.npy", np.zeros(9))
    assert main(["feasibility", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy")]) == 2
    err = capsys.readouterr().err
    assert "must hold one label per row of DATA, shape (10,); got shape (9,)" in err


@pytest.mark.parametrize(
    "case, setup, output, named",
    BAD_OUTPUTS + PLOT_ONLY,
    ids=[c[0] for c in BAD_OUTPUTS + PLOT_ONLY],
)
def test_feasibility_bad_output_fails_before_reading(
    case, setup, output, named, tmp_path, monkeypatch, capsys
):
    output, named = _prepare(tmp_path, monkeypatch, setup, output, named)
    files = sorted(p.name for p in tmp_path.iterdir())
    # The data file does not exist: had it been read first, that would be the error.
    assert main(["feasibility", str(tmp_path / "none.csv"), "--output", output]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _assert_one_line_error(err, "feasibility", named)
    assert "argument --output" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def test_feasibility_plot_needs_matplotlib_only_with_output(tmp_path, monkeypatch, capsys):
    calls = _record_check(monkeypatch)
    X, y = _sample()
    data = _write_csv(tmp_path / "sample.csv", X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    assert main(["feasibility", data, "--output", str(tmp_path / "c.png")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and calls == []
    assert err.startswith("iwkmeans feasibility: error: matplotlib is not installed")
    assert 'pip install "iwkmeans[demo]"' in err
    assert main(["feasibility", data]) == 0  # the table needs no plot
    assert "| labeled |" in capsys.readouterr().out


def test_feasibility_output_removed_during_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    X, y = _sample()
    data = _write_csv(tmp_path / "sample.csv", X, y)
    directory = tmp_path / "out"
    directory.mkdir()
    _record_check(monkeypatch, after=directory.rmdir)
    path = directory / "curve.png"
    assert main(["feasibility", data, "--output", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "| labeled |" in out and "Learning curve" not in out  # the table is kept
    _assert_one_line_error(err, "feasibility", path)


def test_feasibility_rules_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["feasibility", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for rule in (
        "20%, 40%, 60% and 80%",
        "'rising' if the mean gain from the 60% to the 80% subset is larger than its "
        "standard deviation across folds",
        "the label is the last column, or the one --target names",
        "Its first line is a header (column names) when one of its cells outside the "
        "label column is not a number",
        "Exit status",
    ):
        assert rule in help_text
