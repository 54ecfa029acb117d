"""The ant on the Santa Fe trail (GNARL's ant problem; Koza's artificial ant)."""

from __future__ import annotations

from importlib import resources

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import InvalidParameter
from evorec.evaluate import DEFAULT_MEMORY_BUDGET, Evaluation, score_outputs
from evorec.network import Architecture, Population
from evorec.scoring import Criterion, Fitness
from evorec.stepper import Stepper
from evorec.task import ClosedLoopTask, check_positive_count, end_target_batch

from .fitness import WithinTolerance

#: Headings in turn order east, south, west, north: turning right adds 1, left subtracts 1.
STEP_ROW = np.array([0, 1, 0, -1])
STEP_COL = np.array([1, 0, -1, 0])
MOVE, LEFT, RIGHT, NOTHING = range(4)


def load_trail(name: str = "santafe") -> tuple[np.ndarray, tuple[int, int]]:
    """The food grid (bool, rows x columns) and the start cell ``(row, column)`` of a trail.

    The file (shipped in ``tasks/data``) has one line per row: ``S`` start, ``#`` food,
    ``.`` empty.
    """
    text = resources.files("evorec.tasks").joinpath("data", f"{name}_trail.txt").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.strip()]
    if len({len(row) for row in rows}) != 1 or set("".join(rows)) - set("S#."):
        raise ValueError(f"trail file {name!r} must be a rectangle of 'S', '#' and '.'")
    grid = np.array([[c == "#" for c in row] for row in rows])
    starts = [(r, row.index("S")) for r, row in enumerate(rows) if "S" in row]
    if len(starts) != 1:
        raise ValueError(f"trail file {name!r} must have exactly one start 'S'")
    return grid, starts[0]


class Ant(ClosedLoopTask):
    """The artificial ant on the Santa Fe trail: eat the 89 food cells within a step limit.

    A 32 x 32 toroidal grid (docs/literature.md, "Ant problem"; GNARL, Angeline et al. 1994,
    Sec. IV-C; the trail is Koza's Santa Fe trail, shipped as ``tasks/data/santafe_trail.txt``).
    The ant starts at ``S`` facing east.  At each time step the network gets two inputs,
    (1, 0) when the cell ahead holds food and (0, 1) when it does not (GNARL's coding), and
    its most active of four outputs picks the action: move forward (eating any food there),
    turn left, turn right, or do nothing.  Every action, "nothing" included, uses one step.
    An episode ends at the step limit or when all food is eaten.

    This is a closed-loop task: the networks' outputs decide their next inputs, so it runs
    the networks itself through :class:`evorec.stepper.Stepper` -- the whole population, and
    every episode, stepping together -- and is scored through the same ``Problem.evaluate``
    and ``evorec.search`` path as the sequence tasks.  The score of an episode is one entry
    whose "output" is the food eaten and whose target is the food on the trail; the default
    fitness ``food_missed`` is then the food left (worst 89), and the criterion counts an
    episode right when all food is eaten.

    Parameters
    ----------
    max_steps : int, default 200
        Step limit (GNARL's Tracker set-up uses 200; Koza 600).
    trail : str, default "santafe"
        Trail file ``tasks/data/{trail}_trail.txt``.

    Notes
    -----
    Choices the sources leave open (ours): ties between outputs go to the lowest-numbered
    action (move, left, right, nothing); a step whose outputs are not all finite does nothing.
    The trail is deterministic, so every episode of a batch is the same: :meth:`evaluate`
    simulates one per network and lets it stand for all of them (costs are still counted per
    episode, as for any batch), so ``train_size`` changes nothing but the costs.  The default
    architecture (fully recurrent, 5 tanh hidden units, tanh outputs) is our choice for the
    fixed-topology strategies; GNARL evolves its own.
    """

    name = "ant"
    n_in = 2
    n_out = 4
    default_fitness = "food_missed"

    def __init__(self, max_steps: int = 200, trail: str = "santafe") -> None:
        self.max_steps = check_positive_count(max_steps, "max_steps")
        if not isinstance(trail, str) or not trail.isidentifier():
            # A name, never a path: only the trails shipped in tasks/data can be named.
            raise InvalidParameter("trail", f"must be a name of a shipped trail (letters, digits, _), like "
                                   f"'santafe'; got {trail!r}")
        try:
            self._grid, self._start = load_trail(trail)
        except FileNotFoundError:
            raise InvalidParameter("trail", f"{trail!r} not found; the shipped trail is 'santafe'") from None
        self.trail = trail

    @property
    def food(self) -> int:
        """Food cells on the trail (89 on the Santa Fe trail)."""
        return int(self._grid.sum())

    def default_architecture(self) -> Architecture:
        return Architecture.fully_recurrent(self.n_in, 5, self.n_out, hidden="tanh", output="tanh")

    def sample_steps(self, n: int) -> int:
        return self.max_steps

    def criterion(self) -> Criterion:
        return WithinTolerance(0.5)  # food counts are integers: right = all food eaten

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        """``n`` episodes: length = the step limit, target = the food on the trail.

        The inputs are placeholders (zeros): the trail gives the real ones as the ant moves.
        """
        n = check_positive_count(n)
        inputs = np.zeros((n, self.max_steps, self.n_in))
        lengths = np.full(n, self.max_steps)
        return end_target_batch(inputs, lengths, np.full((n, 1), float(self.food)), np.zeros(n, dtype=int))

    # ------------------------------------------------------------------ closed loop
    def run(self, population: Population, n_episodes: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Run every network on ``n_episodes`` episodes.

        Returns
        -------
        eaten : ndarray of int, shape (P, n_episodes)
        steps : ndarray of int, shape (P, n_episodes)
            Steps taken before the episode ended.
        """
        P, B = len(population), n_episodes
        rows, cols = self._grid.shape
        food = np.broadcast_to(self._grid, (P, B, rows, cols)).copy()
        row = np.full((P, B), self._start[0])
        col = np.full((P, B), self._start[1])
        heading = np.zeros((P, B), dtype=np.int64)  # east
        eaten = np.zeros((P, B), dtype=np.int64)
        steps = np.zeros((P, B), dtype=np.int64)
        p_index, b_index = np.indices((P, B))
        stepper = Stepper(population, B)
        total = self.food
        for _ in range(self.max_steps):
            running = eaten < total
            if not running.any():
                break
            ahead_row = (row + STEP_ROW[heading]) % rows
            ahead_col = (col + STEP_COL[heading]) % cols
            sees = food[p_index, b_index, ahead_row, ahead_col]
            outputs = stepper.step(np.stack([sees, ~sees], axis=1).astype(float))  # (P, 4, B)
            action = np.argmax(outputs, axis=1)
            action[~np.isfinite(outputs).all(axis=1) | ~running] = NOTHING
            steps += running
            move = action == MOVE
            row = np.where(move, ahead_row, row)
            col = np.where(move, ahead_col, col)
            found = move & food[p_index, b_index, row, col]
            eaten += found
            food[p_index[found], b_index[found], row[found], col[found]] = False
            heading = (heading + (action == RIGHT) - (action == LEFT)) % 4
        return eaten, steps

    def evaluate(self, population: Population, batch: SequenceBatch, fitness: Fitness, criterion: Criterion,
                 *, early_exit: bool = False, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 n_jobs: int = 1) -> Evaluation:
        """Score a population on ``batch``'s episodes (what ``Problem.evaluate`` calls).

        The population runs in chunks whose food grids fit in ``memory_budget``; ``early_exit``
        and ``n_jobs`` change nothing here (every episode runs to its end on one thread).
        ``sequences`` and ``steps`` count every episode of the batch.
        """
        if (population.architecture.n_in, population.architecture.n_out) != (self.n_in, self.n_out):
            raise ValueError(f"the ant needs networks with {self.n_in} inputs and {self.n_out} outputs; got "
                             f"{population.architecture.n_in} and {population.architecture.n_out}")
        B = batch.n_sequences
        targets, entry_seq, _ = batch.scored_targets()
        per_network = self._grid.size + 64
        chunk = max(1, min(len(population), memory_budget // (4 * per_network)))
        parts = []
        for start in range(0, len(population), chunk):
            # Every episode is the same (one trail, one start), so one is simulated per network
            # and stands for all B; the costs are still those of B episodes.
            eaten, steps = self.run(population[start:start + chunk], 1)
            p = eaten.shape[0]
            store = np.repeat(eaten, entry_seq.size, axis=1)[:, :, None].astype(float)
            complete = np.ones(p, dtype=bool)
            scored = score_outputs(store, np.ones(store.shape[:2], dtype=bool), complete, targets, entry_seq, B,
                                   fitness, criterion)
            parts.append(scored + (np.full(p, B, dtype=np.int64), B * steps[:, 0]))
        loss, wrong, solved, complete, sequences, steps = (np.concatenate(a) for a in zip(*parts, strict=True))
        return Evaluation(loss, wrong, solved, complete, sequences, steps, B)
