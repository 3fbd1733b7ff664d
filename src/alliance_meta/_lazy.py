"""Public names of a package loaded on first use (PEP 562 module ``__getattr__``), so that
importing the package does not import what a caller never uses."""

from __future__ import annotations

import importlib


def lazy_names(namespace: dict, api: dict[str, tuple[str, str | None]]):
    """``__getattr__`` and ``__dir__`` for the package whose ``globals()`` is ``namespace``;
    ``api`` maps each public name to (module, attribute), attribute None for the module itself.
    A name once loaded is kept in ``namespace``."""

    def __getattr__(name: str):
        if name not in api:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        module, attribute = api[name]
        value = importlib.import_module(module)
        value = value if attribute is None else getattr(value, attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # the public names and the module's dunders, not its own imports
        return sorted({name for name in namespace if name.startswith("__")} | set(api))

    return __getattr__, __dir__
