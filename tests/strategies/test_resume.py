"""Every registered strategy: stopped after k batches and resumed in a fresh process, a search
ends exactly as an uninterrupted one, even when its state holds -inf or NaN; and NaN or
infinite losses do not break it."""

import dataclasses
import json
import subprocess
import sys
import zlib

import numpy as np
import pytest

from evorec import STRATEGIES, Budget, Population, Problem, make_problem, search
from evorec.codec import decode, encode
from tests.strategies.solving import SMALL_SETTINGS as SETTINGS

PROBLEM = {"task": "parity", "task_params": {"lengths": (6, 10)}, "train_size": 20, "test_size": 20, "seed": 4}
BUDGET = {"evaluations": 600}
RESUME_SCRIPT = """
import json, sys
from evorec import Budget, make_problem, search
args = json.load(open(sys.argv[1]))
settings = args["problem"]
settings["task_params"] = {"lengths": tuple(settings["task_params"]["lengths"])}
problem = make_problem(**settings)
result = search(args["name"], problem, Budget(**args["budget"]), seed=3, resume=args["state"], **args["params"])
json.dump(result.to_dict(), open(sys.argv[2], "w"))
"""


def _comparable(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("seconds", "stopped", "state")}


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_stop_and_resume_in_a_fresh_process_ends_as_an_uninterrupted_search(name, tmp_path):
    params = SETTINGS.get(name, {})
    problem = make_problem(**PROBLEM)
    whole = search(name, problem, Budget(**BUDGET), seed=3, **params)
    assert whole.evaluations > 0
    part = search(name, problem, Budget(**BUDGET), seed=3, stop_after=3, **params)
    assert part.stopped, f"{name} finished within 3 batches; the test needs a longer search"
    assert part.evaluations < whole.evaluations
    args = {"problem": PROBLEM, "budget": BUDGET, "name": name, "params": params,
            "state": json.loads(json.dumps(part.state))}  # plain data: it survives JSON
    (tmp_path / "args.json").write_text(json.dumps(args))
    subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(tmp_path / "args.json"), str(tmp_path / "out.json")],
                   check=True, timeout=120)
    resumed = json.loads((tmp_path / "out.json").read_text())
    assert _comparable(resumed) == _comparable(json.loads(json.dumps(whole.to_dict())))


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_nan_and_infinite_losses_are_handled(name):
    problem = make_problem(**PROBLEM)
    strategy = STRATEGIES.create(name, problem.architecture, np.random.default_rng(0), **SETTINGS.get(name, {}))
    strategy.worst_loss = problem.worst_loss  # as search() does before the first ask
    strategy.budget = Budget(**BUDGET)
    strategy.bind(problem)
    for round_ in range(4):
        candidates = strategy.ask()
        losses = np.random.default_rng(round_).uniform(0, 0.5, size=len(candidates))
        kind = (np.arange(len(candidates)) + round_) % 3  # rotates, so one-candidate strategies see all kinds
        losses[kind == 0] = np.nan
        losses[kind == 1] = np.inf
        strategy.tell(candidates, losses)
    assert np.isfinite(strategy.best_loss)


class _MinusInfForSome(Problem):
    """A problem that gives a loss of -inf to the candidates whose bytes hash to 0 mod 3 (the
    same candidates in every process), so that -inf reaches the strategy's and the loop's state."""

    def evaluate(self, candidates, data="train", early_exit=False, model=None):
        result = super().evaluate(candidates, data, early_exit, model)
        if isinstance(candidates, np.ndarray):
            rows = [row.tobytes() for row in candidates]
        else:
            rows = [candidates.W_h[i].tobytes() + candidates.W_y[i].tobytes() for i in range(len(result.loss))]
        hit = np.array([zlib.crc32(row) % 3 == 0 for row in rows])
        return dataclasses.replace(result, loss=np.where(hit, -np.inf, result.loss))


@pytest.mark.parametrize("name", STRATEGIES.names())
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # -inf - -inf in multigrid's gain
def test_a_state_holding_minus_inf_resumes_exactly(name):
    # Before evorec.codec, -inf (and NaN) in a saved state came back as +inf: the resumed search
    # took a worse network for a better one and went another way.
    params = SETTINGS.get(name, {})
    plain = make_problem(**PROBLEM)
    problem = _MinusInfForSome(**{f.name: getattr(plain, f.name) for f in dataclasses.fields(plain)})

    def run(**options):
        strategy = STRATEGIES.create(name, problem.architecture, np.random.default_rng(np.random.SeedSequence(3)),
                                     **params)
        return search(strategy, problem, Budget(**BUDGET), **options)

    whole = run()
    part = run(stop_after=3)
    assert part.stopped
    text = json.dumps(part.state, allow_nan=False)  # plain data: no Infinity or NaN in the JSON
    assert part.history[-1][1] == -np.inf, "the test needs -inf in the saved state"
    resumed = run(resume=json.loads(text))
    assert _comparable(resumed.to_dict()) == _comparable(whole.to_dict())


def _same_candidates(a, b):
    if isinstance(a, Population):
        for name in ("W_h", "W_y", "mask_h", "mask_y"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", STRATEGIES.names())
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_strategy_told_minus_inf_and_nan_continues_identically_from_its_state(name):
    problem = make_problem(**PROBLEM)

    def fresh(seed):
        strategy = STRATEGIES.create(name, problem.architecture, np.random.default_rng(seed), **SETTINGS.get(name, {}))
        strategy.worst_loss = problem.worst_loss
        strategy.budget = Budget(**BUDGET)  # as search() does
        strategy.bind(problem)
        return strategy

    def step(strategy, candidates, round_):
        losses = problem.evaluate(candidates, model=strategy.model).loss.copy()
        losses[round_ % len(losses)] = (-np.inf, np.nan, np.inf)[round_ % 3]
        strategy.tell(candidates, losses)

    original = fresh(0)
    for round_ in range(4):
        step(original, original.ask(), round_)
    assert original.best_loss == -np.inf
    text = json.dumps(encode(original.state), allow_nan=False)
    assert '"-inf"' in text
    restored = fresh(99)
    restored.load_state(decode(json.loads(text)))
    for round_ in range(4, 8):
        a, b = original.ask(), restored.ask()
        _same_candidates(a, b)
        step(original, a, round_)
        step(restored, b, round_)
    assert restored.best_loss == original.best_loss == -np.inf
    assert json.dumps(encode(restored.state)) == json.dumps(encode(original.state))


def test_the_base_state_keeps_a_nan_best_loss_and_a_minus_inf_worst_loss():
    problem = make_problem(**PROBLEM)
    strategy = STRATEGIES.create("guessing", problem.architecture, np.random.default_rng(0))
    strategy.best_loss, strategy.worst_loss = np.nan, -np.inf
    restored = STRATEGIES.create("guessing", problem.architecture, np.random.default_rng(1))
    restored.load_state(decode(json.loads(json.dumps(encode(strategy.state), allow_nan=False))))
    assert np.isnan(restored.best_loss) and restored.worst_loss == -np.inf
