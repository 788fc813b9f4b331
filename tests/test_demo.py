"""``python -m iwkmeans demo`` end to end, on its smallest setting."""

import re

from matplotlib import image

from iwkmeans.__main__ import main

from _helpers import PNG_SIGNATURE


def test_demo_prints_the_table_and_writes_the_plot(tmp_path, capsys):
    path = tmp_path / "demo.png"
    assert main(["demo", "--seeds", "1", "--batch-size", "5", "--output", str(path)]) == 0
    out = capsys.readouterr().out
    for method in ("Random", "WKMeans", "IWKMeans"):
        assert re.search(rf"^\| {method} \| 1 \| \d+\.\d\d \|", out, re.MULTILINE)
    for method in ("Clustered", "Submodular", "BADGE", "TypiClust", "Cluster-Margin"):
        assert f"| {method} |" not in out  # only with --extra-samplers
    assert f"Learning curves: {path}" in out
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, channels = image.imread(path).shape
    assert height > 100 and width > 100 and channels in (3, 4)


def test_demo_runs_the_extra_samplers_on_request(tmp_path, capsys):
    path = tmp_path / "demo.png"
    assert (
        main(
            ["demo", "--seeds", "1", "--batch-size", "5", "--extra-samplers", "--output", str(path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    extras = ("Clustered", "Submodular", "BADGE", "TypiClust", "Cluster-Margin")
    for method in ("Random", "WKMeans", "IWKMeans", *extras):
        assert re.search(rf"^\| {method} \| 1 \| \d+\.\d\d \|", out, re.MULTILINE)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_demo_reports_batches_larger_than_the_pool(tmp_path, capsys):
    path = tmp_path / "demo.png"
    assert main(["demo", "--batch-size", "500", "--output", str(path)]) == 2
    assert "n_batches * batch_size = 5000" in capsys.readouterr().err
    assert not path.exists()


def test_demo_is_listed_in_the_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err
