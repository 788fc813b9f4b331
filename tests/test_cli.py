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
