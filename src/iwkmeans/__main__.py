"""Command line of iwkmeans: ``python -m iwkmeans bench|demo [options]``."""
import argparse
import os
import sys
import time


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog="iwkmeans", description="Tools for the iwkmeans package."
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    bench = commands.add_parser(
        "bench",
        help="time iwkmeans against scikit-learn (and faiss, sklearnex if installed)",
        description="Time iwkmeans against scikit-learn, and faiss-cpu and "
        "scikit-learn-intelex when installed, in one process on identical "
        "data and print a Markdown report (machine, versions, table).",
    )
    bench.add_argument(
        "--quick", action="store_true",
        help="smaller workload (about two minutes)",
    )
    bench.add_argument(
        "--threads", type=_positive_int, metavar="N",
        help="threads for every implementation (default: OMP_NUM_THREADS or the "
        "physical cores)",
    )
    bench.add_argument(
        "--repeats", type=_positive_int, metavar="R",
        help="timed calls per implementation and case (default: 5, or 3 with --quick)",
    )
    bench.add_argument(
        "--output", metavar="FILE", help="also write the report to FILE"
    )
    demo = commands.add_parser(
        "demo",
        help="short active-learning experiment: Random vs WKMeans vs IWKMeans",
        description="Run Random, WKMeans and IWKMeans on generated noisy blobs (a "
        "small Noisy-LD task), print the AUC table and write the learning curves "
        "to a PNG. Takes well under a minute on two cores.",
    )
    demo.add_argument(
        "--seeds", type=_positive_int, default=5, metavar="N",
        help="runs per method, seeds 0 to N-1 (default: 5)",
    )
    demo.add_argument(
        "--batch-size", type=_positive_int, default=10, metavar="B",
        help="samples selected per batch (default: 10)",
    )
    demo.add_argument(
        "--output", default="iwkmeans_demo.png", metavar="PNG",
        help="learning-curve plot to write (default: iwkmeans_demo.png)",
    )
    demo.add_argument(
        "--extra-samplers", action="store_true",
        help="also run Clustered, Submodular (Zhdanov 2019) and BADGE",
    )
    return parser


def _demo(args):
    from .experiments import format_summary, run_demo

    start = time.perf_counter()
    try:
        summary, path = run_demo(args.seeds, args.batch_size, args.output,
                                 extra_samplers=args.extra_samplers)
    except ValueError as error:  # e.g. batches larger than the pool
        print(f"iwkmeans demo: error: {error}", file=sys.stderr)
        return 2
    print(f"AUC = mean test accuracy over the learning curve, x100 "
          f"({time.perf_counter() - start:.0f} s)")
    print(format_summary(summary), end="")
    print(f"Learning curves: {os.path.abspath(path)}")
    return 0


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "demo":
        return _demo(args)

    from .benchmark import format_report, format_selection, run, run_selection

    start = time.perf_counter()

    def progress(line):
        print(f"[{time.perf_counter() - start:4.0f} s] {line}", file=sys.stderr, flush=True)

    rows = run(quick=args.quick, n_threads=args.threads, repeats=args.repeats, log=progress)
    selection = run_selection(n_threads=args.threads, repeats=args.repeats or 5,
                              log=progress)
    report = format_report(rows) + "\n" + format_selection(selection)
    print(report, end="")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
