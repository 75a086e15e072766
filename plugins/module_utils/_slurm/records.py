# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""typing.NamedTuple's class syntax without importing typing at run time.

typing (with re, which it imports) costs more start-up than a whole fetch from a local
controller. Modules write `class X(NamedTuple)` as usual; mypy sees typing.NamedTuple,
the interpreter this: the fields come from the class's annotations (never evaluated) and
their defaults, and the class is a collections.namedtuple (socket imports collections
anyway) carrying the methods and docstring the class body defines.
"""

import collections


class _Builder(type):
    def __new__(mcs, name, bases, namespace):  # type: ignore[no-untyped-def]
        if not bases:  # NamedTuple itself
            return super().__new__(mcs, name, bases, namespace)
        fields = list(namespace.get("__annotations__", {}))
        defaults = [namespace[field] for field in fields if field in namespace]
        if any(field not in namespace for field in fields[len(fields) - len(defaults):]):
            raise TypeError("%s: a field without a default follows one with a default" % name)
        base = collections.namedtuple(name, fields, defaults=defaults or None,  # type: ignore[misc]
                                      module=namespace.get("__module__"))
        body = {key: value for key, value in namespace.items()
                if key not in fields and key != "__annotations__"}
        body["__slots__"] = ()
        return type(name, (base,), body)


class NamedTuple(metaclass=_Builder):
    """Subclass it as typing.NamedTuple: class Point(NamedTuple): x: int; y: int = 0."""
