"""Papayas: an RBF SVM labels one fruit at a time, judged by F1.

The active-learning tutorial of the project's seeds sorts papayas into ripe
and unripe with an RBF support vector machine, asking for one label at a
time and judging the model by F1. That data set is not in the project's
data folder, so this script makes a synthetic stand-in of the same shape
(:func:`make_papayas`): two features per fruit, skin colour (0 green to 1
yellow-orange) and firmness (0 soft to 1 hard); a papaya is ripe (class 1)
inside an ellipse of yellow, yielding fruit, unripe outside it, with 5% of
the labels flipped (the grader's mistakes). About 30% of the fruit is
ripe, so F1 of the ripe class and accuracy tell different stories.

Protocol: 600 papayas, a stratified 50/50 split, 6 initial labels
(stratified: 2 ripe, 4 unripe), 30 batches of one, seeds 0-2. The model is
an RBF SVM, ``SVC(kernel="rbf")``, with Platt-scaled probabilities
(``CalibratedClassifierCV(..., cv=2, ensemble=False)``: the uncertainty
samplers need ``predict_proba``, and the initial set has only 2 ripe
papayas). Samplers: Random, Margin, KCenterGreedy and IWKMeans (beta = 10:
of the 10 least certain papayas, the one nearest the weighted centroid
that K-Means places with the labeled fruit as fixed centroids). Scored by
F1 (ripe), accuracy and balanced accuracy.

    PYTHONPATH=src python examples/papaya.py [--output DIR]

prints one AUC table per scorer; with ``--output`` it also writes
``papaya.md`` (the tables) and ``papaya.png`` (the F1 and accuracy learning
curves) into DIR (``examples`` beside this script is where the repository
keeps them). About 50 s of CPU time (one core).
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC

from iwkmeans import IWKMeansSampler, KCenterGreedySampler, MarginSampler, RandomSampler
from iwkmeans.experiments import (
    compare_samplers,
    format_summary,
    plot_learning_curves,
    summarize,
)

SCORING = ["f1", "accuracy", "balanced_accuracy"]
N_SEEDS = 3
N_BATCHES = 30
SAMPLERS = {
    "Random": lambda c, b, r: RandomSampler(c, b, random_state=r),
    "Margin": lambda c, b, r: MarginSampler(c, b, random_state=r),
    "KCenter": lambda c, b, r: KCenterGreedySampler(c, b, random_state=r),
    "IWKMeans": lambda c, b, r: IWKMeansSampler(c, b, beta=10, random_state=r),
}


def make_papayas(n_samples=600, *, flip=0.05, random_state=0):
    """Synthetic papayas: features (colour, firmness) in [0, 1]^2 and labels
    1 = ripe, 0 = unripe (see the module docstring)."""
    rng = np.random.default_rng(random_state)
    X = rng.uniform(0.0, 1.0, size=(n_samples, 2))
    colour, firmness = X[:, 0], X[:, 1]
    ripe = ((colour - 0.75) / 0.3) ** 2 + ((firmness - 0.4) / 0.25) ** 2 < 1.0
    flipped = rng.random(n_samples) < flip
    return X, (ripe ^ flipped).astype(np.int64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="folder for papaya.md and papaya.png")
    args = parser.parse_args(argv)

    X, y = make_papayas()
    start = time.process_time()
    rows = compare_samplers(
        X,
        y,
        SAMPLERS,
        seeds=range(N_SEEDS),
        progress=False,
        initial_size=6,
        batch_size=1,
        n_batches=N_BATCHES,
        classifier=CalibratedClassifierCV(SVC(kernel="rbf"), cv=2, ensemble=False),
        scoring=SCORING,
    )
    seconds = time.process_time() - start
    lines = [
        "# Papayas: an RBF SVM, one label at a time",
        "",
        f"Written by `examples/papaya.py` ({len(X)} synthetic papayas, {y.mean():.0%} ripe; "
        f"6 initial labels, {N_BATCHES} batches of 1, seeds 0-{N_SEEDS - 1}; "
        f"{seconds:.0f} s of CPU). AUC = mean test score over the learning curve, x100.",
    ]
    for scorer in SCORING:
        columns = ("agreement", "easiness") if scorer == "f1" else ()
        table = format_summary(summarize(rows, scorer=scorer), columns=columns)
        lines += ["", f"## {scorer}", "", table.rstrip("\n")]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "papaya.md").write_text(text, encoding="utf-8")
        plot_learning_curves(
            rows,
            args.output / "papaya.png",
            scorer=["f1", "accuracy"],
            title=f"Papayas: RBF SVM, batches of one ({N_SEEDS} seeds)",
        )


if __name__ == "__main__":
    main()
