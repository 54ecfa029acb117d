"""The parameter convention of strategies, tasks and fitness functions (scikit-learn's).

A constructor stores each of its parameters under the parameter's own name, checked (by
:mod:`evorec.checks`) and at most put in canonical form (an int as a float, a list as a
tuple); values derived from them live under other names.  :meth:`HasParams.get_params` then
reads the parameters back, and ``type(obj)(*positional, **obj.get_params())`` builds an equal
object: what experiment records, reports and ``evorec list`` show is what the object uses.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar


def constructor_parameters(cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    """Names of ``cls``'s keyword parameters, leaving out ``skip`` and ``*args``/``**kwargs``."""
    return [p.name for p in inspect.signature(cls).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in skip]


class HasParams:
    """Mixin: :meth:`get_params` from the constructor's signature.

    Attributes
    ----------
    context_parameters : tuple of str
        Constructor parameters that are not settings but the object's context (a strategy's
        search space and generator); :meth:`get_params` leaves them out.
    """

    context_parameters: ClassVar[tuple[str, ...]] = ()

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters, by name, as this object holds them.

        Raises
        ------
        AttributeError
            When a parameter is not stored under its own name: the class breaks the
            convention (a contract test runs this over every registered class).
        """
        return {name: getattr(self, name) for name in constructor_parameters(type(self), self.context_parameters)}
