"""The ``evorec`` command as a new user meets it: pipes, several files, bad options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evorec.cli import EXIT_PIPE_CLOSED, main

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def test_a_closed_pipe_ends_quietly():
    """``evorec list | head -2``: the reader goes away before evorec writes."""
    process = subprocess.Popen([sys.executable, "-m", "evorec.cli", "list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # before the child has even imported evorec, so its first write fails
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == EXIT_PIPE_CLOSED
    assert stderr == ""


def test_validate_takes_every_experiment_file_of_the_repository(capsys):
    assert len(EXPERIMENTS) >= 8
    assert main(["validate", *map(str, EXPERIMENTS)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": valid;")[0] for line in lines] == list(map(str, EXPERIMENTS))


def test_validate_reports_each_broken_file_and_still_checks_the_others(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\n")
    assert main(["validate", str(broken), str(EXPERIMENTS[0])]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"evorec: error: {broken}:")
    assert captured.out.startswith(f"{EXPERIMENTS[0]}: valid;")


@pytest.mark.parametrize("value", ["two", "0", "-2", "1.5"])
def test_a_bad_n_jobs_says_what_is_allowed(value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(EXPERIMENTS[0]), "--n-jobs", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f"argument --n-jobs: must be a positive integer or -1 (all cores); got {value!r}")
    assert "_positive_or_all" not in err


def test_run_refuses_a_folder_another_run_holds(tmp_path, capsys):
    from evorec.folderlock import FolderLock

    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"name": "e", "budget": {"evaluations": 10}, "seeds": 1,
                                    "task": {"name": "parity", "params": {"lengths": [5, 10]}},
                                    "strategies": [{"name": "guessing"}], "parallel": {"n_jobs": 1}}))
    out = tmp_path / "out"
    with FolderLock(out):
        assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{out} is in use by another evorec run (process pid " in err
        assert not (out / "runs.jsonl").exists()
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0  # released: the next run goes ahead


def test_a_lock_taken_on_a_file_moved_away_meanwhile_is_taken_again_on_the_folder_s_own(tmp_path, monkeypatch):
    """``--fresh`` in another process may move the folder aside between open and flock."""
    import os

    from evorec import folderlock

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / folderlock.LOCK_FILE).write_text("")
    real_try_lock, moved = folderlock._try_lock, []

    def try_lock_after_a_move(fd):
        if not moved:  # the first time: the folder goes aside after we opened its lock file
            folder.rename(tmp_path / "out.previous")
            folder.mkdir()
            moved.append(True)
        return real_try_lock(fd)

    monkeypatch.setattr(folderlock, "_try_lock", try_lock_after_a_move)
    with folderlock.FolderLock(folder) as lock:
        assert os.fstat(lock._fd).st_ino == os.stat(folder / folderlock.LOCK_FILE).st_ino
        monkeypatch.setattr(folderlock, "_try_lock", real_try_lock)
        with pytest.raises(folderlock.FolderBusy):
            folderlock.FolderLock(folder).acquire()
