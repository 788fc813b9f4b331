"""Command line of iwkmeans: ``python -m iwkmeans bench [options]``."""
import argparse
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
        help="time iwkmeans against scikit-learn side by side",
        description="Time iwkmeans against scikit-learn in one process on identical "
        "data and print a Markdown report (machine, versions, table).",
    )
    bench.add_argument(
        "--quick", action="store_true",
        help="smaller workload (about a minute)",
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
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2

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
