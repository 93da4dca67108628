"""`make test-dist`: the built wheel as a new user meets it, outside the repository.

In an empty directory: a fresh venv, `pip install '<wheel>[testing]'`, the README's fixture example written to a
test file, and pytest on it (the `durable_runtime` pytest plugin must register itself from the installed package);
then the `durable` console script answers `--help`. Exits non-zero, saying which step failed, otherwise.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _fixture_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [
        block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "def test_greet(durable_runner)" in block
    ]
    if len(blocks) != 1:
        raise SystemExit("README.md has no (or several) fixture examples with test_greet(durable_runner)")
    return blocks[0]


def _run(step: str, command: list[str], cwd: Path) -> None:
    print(f"== {step}: {' '.join(command)}", flush=True)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"test-dist: {step} failed (exit {done.returncode})")


def main() -> None:
    wheels = sorted((REPO / "dist").glob("durable_kit-*.whl"))
    if not wheels:
        raise SystemExit("no wheel in dist/: run make dist first")
    with tempfile.TemporaryDirectory(prefix="durable-wheel-") as folder:
        where = Path(folder)
        venv.create(where / "venv", with_pip=True)
        python = str(where / "venv" / "bin" / "python")
        _run("install", [python, "-m", "pip", "install", "--quiet", f"{wheels[-1]}[testing]"], where)
        (where / "test_readme_fixture.py").write_text(_fixture_example(), encoding="utf-8")
        _run("pytest", [python, "-m", "pytest", "-q", "test_readme_fixture.py"], where)
        _run("console script", [str(where / "venv" / "bin" / "durable"), "--help"], where)
    print("test-dist: the wheel installs with [testing], the README's fixture example passes, `durable` runs")


if __name__ == "__main__":
    main()
