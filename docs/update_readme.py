"""Regenerate the outputs the README shows, so that they stay what the commands print.

Each shown output in README.md sits between ``<!-- output: NAME -->`` and ``<!-- /output -->``:
a fenced block with what the command printed, then a line saying when, how long it took and
under which configuration (CPU, Python, numpy, the BLAS library and kernel).  This script
runs each command of :data:`COMMANDS` in a fresh temporary folder (so nothing is resumed and
nothing lands in the repository) and writes its output and that line back into the README::

    python docs/update_readme.py                 # every output (about 3 minutes on 2 cores)
    python docs/update_readme.py quickstart      # only these
    python docs/update_readme.py --check         # exit 1 if an output differs (times aside)

``--check`` compares everything but wall times, so it fails when a change in the code changes
what the README shows; under another BLAS kernel the searches may take other paths (README,
"Reproducibility"), so check on the configuration the README names.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Name -> (the command as the README shows it, whether the shown block starts with it).
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "quickstart": (["evorec", "run", "experiments/quickstart.yaml"], False),
    "strategies": (["evorec", "run", "experiments/strategies.yaml"], False),
    "gradflow": (["evorec", "gradflow", "--task", "parity", "--hidden", "sigmoid", "--scale", "1,4,16"], True),
    "gradflow-small": (["evorec", "gradflow", "--task", "parity", "--hidden", "sigmoid", "--scale", "1,4,16",
                        "--n-hidden", "4", "--nets", "20", "--lstm-scale", "0"], True),
}
BLOCK = re.compile(r"(<!-- output: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /output -->)", re.S)
#: Columns whose values are wall times, masked by --check.
TIME_COLUMNS = ("wall s",)


def configuration() -> str:
    """The machine and libraries the outputs were produced on, in one line."""
    from evorec.experiment import blas_description

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"BLAS {blas_description().rsplit(',', 1)[0]} (one BLAS thread per run)")


def produce(name: str) -> tuple[str, float]:
    """Run one command in a fresh folder; its shown output and its wall time."""
    command, show_command = COMMANDS[name]
    with tempfile.TemporaryDirectory(prefix="evorec-readme-") as folder:
        # The experiment files are read from the repository; everything written stays in `folder`,
        # and printed paths are the ones a user running the command in a clone would see.
        args = [str(ROOT / part) if part.startswith("experiments/") else part for part in command]
        environment = dict(os.environ, PYTHONPATH=str(ROOT))
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "evorec.cli", *args[1:]], cwd=folder, capture_output=True,
                                text=True, env=environment)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    output = result.stdout.replace(str(ROOT) + "/", "")
    if show_command:
        output = f"$ {' '.join(command)}\n{output}"
    return output.rstrip("\n") + "\n", seconds


def render(output: str, seconds: float) -> str:
    today = datetime.date.today().isoformat()
    return (f"```\n{output}```\n\n<sub>Printed on {today} in {seconds:.0f} s, on {configuration()}; "
            f"regenerate with `python docs/update_readme.py`.</sub>\n")


def mask_times(block: str) -> str:
    """The block with wall-time columns and the 'Printed on' line blanked (what --check compares)."""
    lines = block.splitlines()
    for i, line in enumerate(lines):
        for column in TIME_COLUMNS:
            start = line.find(column)
            if start < 0 or i + 1 >= len(lines) or not set(lines[i + 1]) <= {"-", " "}:
                continue
            end = lines[i + 1].find(" ", start)
            end = len(lines[i + 1]) if end < 0 else end
            for j in range(i + 2, len(lines)):
                if not lines[j].strip():
                    break
                lines[j] = lines[j][:start] + " " * (end - start) + lines[j][end:]
    return "\n".join(line for line in lines if not line.startswith("<sub>Printed on")).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"outputs to regenerate (default: all of {', '.join(COMMANDS)})")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if an output differs")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(COMMANDS)
    if unknown:
        parser.error(f"unknown output(s) {', '.join(sorted(unknown))}; known: {', '.join(COMMANDS)}")
    wanted = args.names or list(COMMANDS)
    text = README.read_text()
    found = {match["name"] for match in BLOCK.finditer(text)}
    missing = set(wanted) - found
    if missing:
        raise SystemExit(f"README.md has no <!-- output: NAME --> block for {', '.join(sorted(missing))}")
    produced = {}
    for name in wanted:
        output, seconds = produce(name)
        produced[name] = render(output, seconds)
        print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    if args.check:
        stale = [m["name"] for m in BLOCK.finditer(text)
                 if m["name"] in produced and mask_times(m["body"]) != mask_times(produced[m["name"]])]
        for name in stale:
            print(f"README.md: the output of {name!r} is not what the command prints now", file=sys.stderr)
        return 1 if stale else 0
    text = BLOCK.sub(lambda m: m.group(1) + produced.get(m["name"], m["body"]) + m.group(4), text)
    README.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
