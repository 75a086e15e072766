# -*- coding: utf-8 -*-
# Copyright: straw.slurm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""typing.NamedTuple's class syntax without importing typing or collections at run time.

typing (with re) costs more start-up than a whole fetch from a local controller, and
collections (with operator, keyword, reprlib) most of a millisecond more; so does
collections.namedtuple's compiling of each class's source. Modules write
`class X(NamedTuple)` as usual; mypy sees typing.NamedTuple, the interpreter this: a
tuple subclass whose fields come from the class's annotations (never evaluated) and their
defaults, with namedtuple's helpers (_fields, _field_defaults, _make, _replace, _asdict)
and the methods and docstring the class body defines.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Tuple


def _field(index: int, name: str) -> property:
    return property(lambda self: tuple.__getitem__(self, index), doc="field %d: %s" % (index, name))


def _members(name: str, fields: "Tuple[str, ...]", defaults: "Dict[str, Any]") -> "Dict[str, Any]":
    """What namedtuple would generate for the class name with these fields."""
    count = len(fields)

    def __new__(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        if len(args) > count:
            raise TypeError("%s() takes %d arguments but %d were given" % (name, count, len(args)))
        values = list(args)
        for field in fields[len(args):]:
            if field in kwargs:
                values.append(kwargs.pop(field))
            elif field in defaults:
                values.append(defaults[field])
            else:
                raise TypeError("%s() missing required argument: %r" % (name, field))
        if kwargs:
            raise TypeError("%s() got unexpected or repeated arguments: %s"
                            % (name, ", ".join(sorted(kwargs))))
        return tuple.__new__(cls, values)

    def _make(cls, iterable):  # type: ignore[no-untyped-def]
        made = tuple.__new__(cls, iterable)
        if len(made) != count:
            raise TypeError("%s expects %d values, got %d" % (name, count, len(made)))
        return made

    def _replace(self, **changes):  # type: ignore[no-untyped-def]
        made = self._make([changes.pop(field, value) for field, value in zip(fields, self)])
        if changes:
            raise TypeError("%s has no fields %s" % (name, ", ".join(sorted(changes))))
        return made

    def _asdict(self):  # type: ignore[no-untyped-def]
        return dict(zip(fields, self))

    def __repr__(self):  # type: ignore[no-untyped-def]
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % pair for pair in zip(fields, self)))

    def __getnewargs__(self):  # type: ignore[no-untyped-def]
        return tuple(self)

    members: "Dict[str, Any]" = {
        "__slots__": (), "_fields": fields, "_field_defaults": defaults, "__match_args__": fields,
        "__new__": __new__, "_make": classmethod(_make), "_replace": _replace, "_asdict": _asdict,
        "__repr__": __repr__, "__getnewargs__": __getnewargs__}
    for index, field in enumerate(fields):
        members[field] = _field(index, field)
    return members


class _Builder(type):
    def __new__(mcs, name, bases, namespace):  # type: ignore[no-untyped-def]
        if not bases:  # NamedTuple itself
            return super().__new__(mcs, name, bases, namespace)
        fields = tuple(namespace.get("__annotations__", {}))
        defaults = {field: namespace[field] for field in fields if field in namespace}
        if any(field not in defaults for field in fields[len(fields) - len(defaults):]):
            raise TypeError("%s: a field without a default follows one with a default" % name)
        body = _members(name, fields, defaults)
        body.update((key, value) for key, value in namespace.items()
                    if key not in fields and key != "__annotations__")
        return type(name, (tuple,), body)


class NamedTuple(metaclass=_Builder):
    """Subclass it as typing.NamedTuple: class Point(NamedTuple): x: int; y: int = 0."""
