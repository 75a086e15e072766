"""records.NamedTuple: typing.NamedTuple's class syntax on collections.namedtuple, without
importing typing. What a class written against it must get: fields and defaults, the methods,
properties and docstring of its body, _replace and the other namedtuple helpers, equality
with plain tuples, isinstance, no per-instance __dict__, pickling; and the library's own
records (Address, ConfigFile, FetchResult) behave the same."""
import copy
import pickle

import pytest

from _slurm.records import NamedTuple


class Point(NamedTuple):
    """A point in the plane, for the tests."""
    x: int
    y: int = 0
    label: "NotDefinedAnywhere" = "origin"  # noqa: F821 (annotations are never evaluated)

    KIND = "point"  # a plain class attribute (no annotation): not a field

    def norm(self) -> int:
        """Manhattan norm."""
        return abs(self.x) + abs(self.y)

    @property
    def flipped(self) -> "Point":
        return Point(self.y, self.x, self.label)

    @classmethod
    def at(cls, x: int) -> "Point":
        return cls(x, x)

    def __str__(self) -> str:
        return "(%d, %d)" % (self.x, self.y)


class Pair(NamedTuple):
    first: int
    second: int


def test_fields_and_defaults():
    assert Point._fields == ("x", "y", "label")
    assert Point._field_defaults == {"y": 0, "label": "origin"}
    point = Point(3)
    assert (point.x, point.y, point.label) == (3, 0, "origin")
    assert Point(1, 2, "p") == (1, 2, "p")
    assert Point(y=5, x=1).y == 5
    assert Pair._fields == ("first", "second") and Pair._field_defaults == {}


def test_required_fields_are_required():
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Pair(1)
    with pytest.raises(TypeError):
        Pair(1, 2, 3)


def test_methods_properties_classmethods_and_dunders_are_carried():
    point = Point(3, -4)
    assert point.norm() == 7
    assert point.flipped == Point(-4, 3)
    assert Point.at(2) == Point(2, 2) and Point.at(2).__class__ is Point
    assert str(point) == "(3, -4)"
    assert Point.norm.__doc__ == "Manhattan norm."
    assert Point.KIND == "point" and point.KIND == "point"
    assert "KIND" not in Point._fields


def test_docstring_module_and_names_are_carried():
    assert Point.__doc__ == "A point in the plane, for the tests."
    assert Point.__name__ == "Point" and Point.__qualname__ == "Point"
    assert Point.__module__ == __name__
    assert repr(Point(1, 2)) == "Point(x=1, y=2, label='origin')"


def test_replace_make_and_asdict():
    point = Point(1, 2)
    moved = point._replace(y=9)
    assert moved == Point(1, 9) and moved.__class__ is Point and moved.norm() == 10
    assert point == Point(1, 2)  # unchanged
    assert Point._make([4, 5, "m"]) == Point(4, 5, "m") and Point._make([4, 5, "m"]).__class__ is Point
    assert dict(point._asdict()) == {"x": 1, "y": 2, "label": "origin"}
    with pytest.raises((ValueError, TypeError)):  # TypeError from Python 3.13 on
        point._replace(z=1)


def test_equality_hash_order_and_unpacking_as_tuples():
    assert Pair(1, 2) == (1, 2)
    assert tuple.__eq__((1, 2), Pair(1, 2))  # the plain tuple's side of the comparison too
    assert Pair(1, 2) != (2, 1) and Pair(1, 2) != Pair(2, 1)
    assert hash(Pair(1, 2)) == hash((1, 2))
    assert {Pair(1, 2): "a"}[(1, 2)] == "a"
    assert sorted([Pair(2, 0), Pair(1, 5)]) == [(1, 5), (2, 0)]
    first, second = Pair(7, 8)
    assert (first, second) == (7, 8) and len(Pair(7, 8)) == 2 and Pair(7, 8)[1] == 8


def test_isinstance():
    point = Point(1)
    assert isinstance(point, Point) and isinstance(point, tuple)
    assert not isinstance(point, Pair) and not isinstance((1, 0, "origin"), Point)
    assert issubclass(Point, tuple)


def test_no_instance_dict_and_immutable():
    point = Point(1)
    assert not hasattr(point, "__dict__")
    with pytest.raises(AttributeError):
        point.z = 1
    with pytest.raises(AttributeError):
        point.x = 2


def test_pickle_and_copy():
    point = Point(1, 2, "p")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(point, protocol))
        assert again == point and again.__class__ is Point
    assert copy.copy(point) == point and copy.deepcopy(point) == point


def test_subclassing_a_record_works_like_a_class():
    class Labelled(Pair):
        def total(self) -> int:
            return self.first + self.second
    assert Labelled(1, 2).total() == 3 and Labelled(1, 2) == (1, 2)


def test_a_class_in_a_function():
    class Local(NamedTuple):
        value: int = 1
    assert Local().value == 1 and Local.__qualname__.endswith("<locals>.Local")


def test_a_required_field_after_a_default_is_refused_as_typing_does():
    with pytest.raises(TypeError):
        class Wrong(NamedTuple):
            first: int = 1
            second: int


def test_the_library_records():
    from _slurm.client import FetchResult
    from _slurm.messages import ConfigFile, ConfigReply
    from _slurm.transport import Address
    address = Address("::1", 6817)
    assert str(address) == "[::1]:6817" and address == ("::1", 6817)
    assert address._replace(port=1) == Address("::1", 1) and isinstance(address, Address)
    assert ConfigFile.__doc__.startswith("One file of a reply")
    file = ConfigFile("slurm.conf", b"x", True, False)
    assert file.name == "slurm.conf" and not hasattr(file, "__dict__")
    assert ConfigReply(45 << 8, [file], None).files[0] is file
    result = FetchResult([], None, "ctl:6817", 45 << 8, "26.05", [])
    assert result.address is None and result._replace(address=address).address == address
