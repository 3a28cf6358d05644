"""A cheaper ``__init__`` for the engine's frozen dataclasses.

A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__``
(to get past its own frozen ``__setattr__``): for a 0-10 question's ``Output`` or a
``Session``, that is most of what a step spends on building its results (issue 18). The
``__init__`` made here has the same signature, defaults and default factories and sets
each field straight into the instance's ``__dict__`` (no keyword dict on the way).
Everything else stays the dataclass's own:
fields, ``repr``, ``==``, ``hash``, ``dataclasses.replace``, and assignment after
construction still raises ``FrozenInstanceError``.

Only plain classes qualify (every field in ``__init__``, no ``__post_init__``, no
keyword-only fields, no ``__slots__``); any other is refused when its module is imported.
"""

from __future__ import annotations

import dataclasses
import keyword
from typing import Any, TypeVar

T = TypeVar("T")


_STATE = "_quick_init_state"
"""The generated ``__init__``'s one local besides its parameters."""


class QuickInitError(TypeError):
    """``quick_init`` was given a class whose ``__init__`` it cannot reproduce."""


def _check(cls: type[Any], fields: tuple[dataclasses.Field[Any], ...]) -> None:
    params = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else None
    if params is None or not cls.__dataclass_params__.frozen:
        raise QuickInitError(f"{cls.__name__}: quick_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in vars(cls):
        raise QuickInitError(f"{cls.__name__}: __post_init__ or __slots__ is not supported")
    for f in fields:
        if (not f.init or f.kw_only or keyword.iskeyword(f.name) or not f.name.isidentifier()
                or f.name in ("self", _STATE)):
            raise QuickInitError(f"{cls.__name__}.{f.name}: only plain init fields")


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen dataclass ``cls`` an ``__init__`` that fills ``__dict__`` directly."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    _check(cls, fields)
    scope: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    params, lines = [], []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            lines.append(f"    if {f.name} is _MISSING:\n"
                         f"        {f.name} = _factory_{f.name}()\n")
        else:
            params.append(f.name)
    assigned = "".join(f"    {_STATE}[{f.name!r}] = {f.name}\n" for f in fields)
    source = (f"def __init__(self, {', '.join(params)}):\n{''.join(lines)}"
              f"    {_STATE} = self.__dict__\n{assigned}")
    exec(source, scope)  # as dataclasses itself builds __init__, from field names only
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
