"""The YAML (and JSON) reader of rules files: line numbers kept, hostile input bounded,
YAML 1.1's surprises refused.

- Every mapping and list remembers its line (``LineMap``, ``LineList``), for errors.
- Bounded: nesting deeper than ``MAX_DEPTH`` levels and documents of more than
  ``MAX_NODES`` values (an alias counted again each time it is used, so that an alias
  bomb stops early) are errors, found while the document is composed, before it is built.
- PyYAML reads YAML 1.1, where ``no`` is false, ``1:30`` is 90 and ``0755`` is 493;
  Prometheus, Alertmanager and YAML 1.2 read them otherwise. Each such value is an error
  on its line saying what to write, and so is a key given twice (the second would
  silently replace the first). Dates and times stay the text written.

Problems are collected, so that one reading reports them all (``DocumentProblems``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_NODES", "DocumentProblems", "LineList", "LineMap", "load_yaml"]

#: the deepest nesting of mappings and lists (a rules file needs about ten)
MAX_DEPTH = 64
#: the most values one document may hold, each use of an alias counting its whole value
MAX_NODES = 1_000_000
#: the longest whole number read (Python refuses to convert longer ones)
_MAX_DIGITS = 4000

_TRUE_FALSE = ("true", "false")
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_BINARY = re.compile(r"[-+]?0b")


class DocumentProblems(ValueError):
    """What is wrong with a document: ``problems`` holds ``(line, message)`` pairs, the
    line None when it is not known."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = tuple(problems)


class LineMap(dict[str, Any]):
    """A mapping that remembers the line of each key, and the text each number was
    written as (``texts``: a label ``version: 1.10`` is the text ``1.10``, not 1.1)."""

    line: int = 0
    key_lines: dict[str, int]
    texts: dict[str, str]


class LineList(list[Any]):
    """A list that remembers the line of each item (a rule that is not a mapping
    has no line of its own to report)."""

    item_lines: list[int]


def load_yaml(text: str) -> Any:
    """Parse YAML (or JSON) keeping line numbers; raises ``DocumentProblems``.

    libyaml's parser reads the events when PyYAML has it (2.5 times faster for ten
    thousand rules); a document it refuses is read again by PyYAML's own parser, whose
    messages the errors have always quoted.
    """
    fast, pure = _loaders()
    if fast is not None:
        try:
            return _load(fast, text, syntax_errors=False)
        except _Unparsed:
            pass
    return _load(pure, text, syntax_errors=True)


class _Unparsed(Exception):
    """libyaml refused the document: read it again with PyYAML's parser."""


def _load(loader_class: type[Any], text: str, *, syntax_errors: bool) -> Any:
    import yaml

    try:
        loader = loader_class(text)  # the pure reader checks the characters here
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        if not syntax_errors:
            raise _Unparsed from None
        raise DocumentProblems([_syntax_problem(exc)]) from None
    except DocumentProblems:  # a limit the loader enforces: already located
        raise
    except ValueError as exc:  # PyYAML's scanner: an escape past U+10FFFF ("\\U00110000")
        if not syntax_errors:
            raise _Unparsed from None
        raise DocumentProblems([(None, f"not valid YAML/JSON: {exc}")]) from None
    except RecursionError:  # MAX_DEPTH keeps far from it; the host's own stack may not
        raise DocumentProblems([(None, "not valid YAML/JSON: nested too deeply")]) from None
    if loader.problems:
        raise DocumentProblems(loader.problems)
    return document


def _syntax_problem(exc: Any) -> tuple[int | None, str]:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return line, f"not valid YAML/JSON: {problem}"


@functools.lru_cache(maxsize=1)
def _loaders() -> tuple[type[Any] | None, type[Any]]:
    """The loader classes, built on first use (PyYAML is imported only when a rules file
    is read, not at every start-up): on libyaml's parser (None without it), and on
    PyYAML's. Both compose, check and construct alike, in Python."""
    import yaml
    from yaml.composer import Composer
    from yaml.constructor import ConstructorError, SafeConstructor
    from yaml.events import AliasEvent
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode
    from yaml.resolver import Resolver

    class Checks:
        """The limits and the problems found; ``compose_node`` is Composer's, bounded."""

        problems: list[tuple[int | None, str]]
        check_event: Any
        peek_event: Any

        def _start(self) -> None:
            self.problems = []
            self._depth = 0
            self._nodes = 0
            #: the number of values under each collection composed, its aliases expanded
            self._sizes: dict[int, int] = {}

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                mark = self.peek_event().start_mark
                node = Composer.compose_node(self, parent, index)  # type: ignore[arg-type]
                self._count(self._sizes.get(id(node), 1), mark, " once its aliases are expanded")
                return node
            mark = self.peek_event().start_mark
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise DocumentProblems([(mark.line + 1, f"nested deeper than the limit of {MAX_DEPTH} levels")])
            node = Composer.compose_node(self, parent, index)  # type: ignore[arg-type]
            self._depth -= 1
            if isinstance(node, SequenceNode):
                size = 1 + sum(self._sizes.get(id(child), 1) for child in node.value)
            elif isinstance(node, MappingNode):
                size = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
            else:
                self._count(1, mark)
                return node
            self._sizes[id(node)] = size
            self._count(1, mark)
            return node

        def _count(self, nodes: int, mark: Any, how: str = "") -> None:
            self._nodes += nodes
            if self._nodes > MAX_NODES:
                raise DocumentProblems([(mark.line + 1, f"more than the limit of {MAX_NODES} values{how}")])

        def problem(self, node: Any, message: str) -> None:
            self.problems.append((node.start_mark.line + 1, message))

    class PureLoader(Checks, yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            yaml.SafeLoader.__init__(self, stream)
            self._start()

    loader_classes: list[type[Any]] = [PureLoader]
    parser: Any = getattr(yaml, "cyaml", None) and getattr(yaml.cyaml, "CParser", None)  # None without libyaml
    if parser is not None:

        class FastLoader(Checks, Composer, parser, SafeConstructor, Resolver):  # type: ignore[misc]
            def __init__(self, stream: str) -> None:
                parser.__init__(self, stream)
                Composer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)
                self._start()

        loader_classes.insert(0, FastLoader)

    def construct_mapping(loader: Any, node: Any) -> LineMap:
        mapping = LineMap()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        mapping.texts = {}
        own = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)  # `<<: *defaults`: the merged keys first, then its own
        merged = len(node.value) - own
        written: dict[str, int] = {}  # the keys written in this mapping (a merged one may be replaced)
        for index, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=True)
            if key is None or isinstance(key, bool):
                loader.problem(key_node, f"the key {key_node.value!r} is not text: quote it")
            name = str(key)
            line = key_node.start_mark.line + 1
            if index >= merged:
                if name in written:
                    loader.problem(
                        key_node,
                        f"duplicate key {name!r} (first on line {written[name]}): "
                        "the second would silently replace the first",
                    )
                written[name] = line
            mapping[name] = value = loader.construct_object(value_node, deep=True)
            mapping.key_lines[name] = line
            if isinstance(value_node, ScalarNode) and isinstance(value, (int, float)) and not isinstance(value, bool):
                mapping.texts[name] = value_node.value
        return mapping

    def construct_sequence(loader: Any, node: Any) -> LineList:
        sequence = LineList(loader.construct_object(child, deep=True) for child in node.value)
        sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
        return sequence

    def convert(construct: Any, node: Any) -> Any:
        """``construct(node)``; a value an explicit tag forces on it (``!!int abc``) that
        it cannot hold is a YAML error there."""
        try:
            return construct(node)
        except (ValueError, KeyError, IndexError, OverflowError):
            shown = repr(node.value[:60])
            raise ConstructorError(None, None, f"{shown} is not a valid {node.tag}", node.start_mark) from None

    def construct_bool(loader: Any, node: Any) -> bool | str:
        value = str(loader.construct_scalar(node))
        meaning = bool(convert(loader.construct_yaml_bool, node))
        if value.lower() not in _TRUE_FALSE:
            loader.problem(
                node,
                f"{value!r} is a boolean in YAML 1.1 ({str(meaning).lower()}) and text elsewhere: "
                f"write {str(meaning).lower()} for the boolean, or quote it ('{value}') for text",
            )
            return str(value)
        return meaning

    def construct_int(loader: Any, node: Any) -> int | str:
        value = str(loader.construct_scalar(node))
        if len(value) > _MAX_DIGITS:
            loader.problem(node, f"a number of more than {_MAX_DIGITS} digits")
            return value
        if ":" in value:
            seconds = convert(loader.construct_yaml_int, node)
            loader.problem(node, _base60(value, seconds))
            return value
        if _OCTAL.fullmatch(value):
            loader.problem(
                node,
                f"{value!r} is the octal number {convert(loader.construct_yaml_int, node)} in YAML 1.1: "
                "write it without the leading zero, or quote it for text",
            )
            return value
        if _BINARY.match(value):
            loader.problem(
                node, f"{value!r} is a binary number in YAML 1.1 only: write {convert(loader.construct_yaml_int, node)}"
            )
            return value
        return int(convert(loader.construct_yaml_int, node))

    def construct_float(loader: Any, node: Any) -> float | str:
        value = str(loader.construct_scalar(node))
        if ":" in value:
            loader.problem(node, _base60(value, convert(loader.construct_yaml_float, node)))
            return value
        return float(convert(loader.construct_yaml_float, node))

    def construct_timestamp(loader: Any, node: Any) -> str:
        return str(loader.construct_scalar(node))  # the text written, as YAML 1.2 reads it

    tags = yaml.resolver.BaseResolver
    for loader_class in loader_classes:
        loader_class.add_constructor(tags.DEFAULT_MAPPING_TAG, construct_mapping)
        loader_class.add_constructor(tags.DEFAULT_SEQUENCE_TAG, construct_sequence)
        loader_class.add_constructor("tag:yaml.org,2002:bool", construct_bool)
        loader_class.add_constructor("tag:yaml.org,2002:int", construct_int)
        loader_class.add_constructor("tag:yaml.org,2002:float", construct_float)
        loader_class.add_constructor("tag:yaml.org,2002:timestamp", construct_timestamp)
    return (loader_classes[0] if len(loader_classes) == 2 else None), PureLoader


def _base60(value: str, number: float) -> str:
    return (
        f"{value!r} is the base-60 number {number:g} in YAML 1.1: write {number:g} "
        "(or a duration such as 1m30s), or quote it for text"
    )
