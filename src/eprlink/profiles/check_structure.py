"""Matching a message's segments against a message structure: groups, order, cardinality."""

from __future__ import annotations

from dataclasses import dataclass

from eprlink.profiles.model import MessageStructure, StructureNode

__all__ = ["Node", "StructureFinding", "StructureMatcher"]

State = tuple[tuple[int, int], ...]
"""Per level from the root: (index of the current child, times it has matched, capped)."""

_CACHE_LIMIT = 20_000
_LOOKAHEAD = 12


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """A compiled structure element. ``first`` holds the ids that can open it without passing
    a required element; ``every`` all ids inside; ``lead`` the segment that names it when it is
    missing (its first required segment)."""

    name: str
    min: int
    max: int | None
    cap: int
    children: tuple[Node, ...]
    first: frozenset[str]
    every: frozenset[str]
    lead: str

    @property
    def is_group(self) -> bool:
        return bool(self.children)


def _compile(name: str, low: int, high: int | None, kids: tuple[StructureNode, ...]) -> Node:
    children = tuple(_compile(k.name, k.min, k.max, k.children) for k in kids)
    if not children:
        ids = frozenset({name})
        return Node(name, low, high, _cap(low, high), (), ids, ids, name)
    first: set[str] = set()
    for child in children:
        first |= child.first
        if child.min > 0:
            break
    every = frozenset().union(*(c.every for c in children))
    lead = next((c.lead for c in children if c.min > 0), children[0].lead)
    return Node(name, low, high, _cap(low, high), children, frozenset(first), every, lead)


def _cap(low: int, high: int | None) -> int:
    return high if high is not None else max(low, 1)


@dataclass(frozen=True, slots=True)
class _Step:
    state: State
    target: int  # ``state`` interned: the key of the next lookup
    level: int  # where the segment was placed: frames above it are kept, below it are new
    missing: tuple[Node, ...]
    passed: frozenset[str]


@dataclass(frozen=True, slots=True)
class StructureFinding:
    """A structure problem. ``kind``: ``missing`` (``node`` not there; ``index`` is where that
    was noticed), ``order`` (segment at ``index`` out of place), ``repeat`` (more of ``node``
    than allowed), ``second_msh``, or ``outside`` (the id is not in this structure at all)."""

    kind: str
    index: int
    segment: str
    node: Node | None = None


class StructureMatcher:
    """A compiled structure with its cache of steps; one per (profile, structure).

    The matcher is greedy and never reorders: each segment goes to the nearest place ahead of
    the current position where it can stand (the current element again, a later sibling, a new
    instance of an enclosing group), which is how HL7 structures are read, so a second OBR opens
    a new ORDER_OBSERVATION. Where a segment fits in several places (the ORC after an OML order
    may open a new ORDER or a prior result), a bounded lookahead picks the place from which the
    following segments fit furthest. A first pass may only pass over optional elements; when it
    fails, a second may pass over required ones (reported missing), unless the next segment of
    the message is one of those passed over: then the segment at hand is the one out of place
    (``PV1 PID`` reports PV1, not a missing PID). Steps depend only on the position and the
    segment id, so they are cached and a long message costs a dict lookup per segment.
    """

    def __init__(self, structure: MessageStructure) -> None:
        self.id = structure.id
        self.root = _compile(structure.id, 1, 1, structure.nodes)
        self._steps: dict[tuple[State, str, bool], tuple[_Step, ...]] = {}
        self._interned: dict[State, int] = {}
        self._states: list[State] = []
        self._quick: dict[tuple[int, str], _Step | None] = {}  # the only strict step, if one
        self._ends: dict[int, list[Node]] = {}
        self._intern(((0, 0),))

    def _intern(self, state: State) -> int:
        number = self._interned.get(state)
        if number is None:
            number = self._interned[state] = len(self._states)
            self._states.append(state)
        return number

    def _reset(self) -> None:
        """Forget cached steps; states are bounded by the structure, this is only a backstop."""
        self._steps.clear()
        self._quick.clear()
        self._ends.clear()
        self._interned.clear()
        self._states.clear()
        self._intern(((0, 0),))

    # -- steps ---------------------------------------------------------------------------------
    def _steps_for(self, state: State, sid: str, lenient: bool) -> tuple[_Step, ...]:
        """Every place ``sid`` can go from ``state``, nearest first (lenient: the nearest)."""
        key = (state, sid, lenient)
        steps = self._steps
        found = steps.get(key)
        if found is None:
            found = steps[key] = self._search(state, sid, lenient)
        return found

    def _groups(self, state: State) -> list[Node]:
        groups = [self.root]
        for index, _ in state[:-1]:
            groups.append(groups[-1].children[index])
        return groups

    def _search(self, state: State, sid: str, lenient: bool) -> tuple[_Step, ...]:
        missing: list[Node] = []
        passed: set[str] = set()
        found: list[_Step] = []
        groups = self._groups(state)

        def place(level: int, index: int, count: int, node: Node) -> bool:
            inner = self._enter(node, sid, lenient, missing, passed)
            frames = (*state[:level], (index, min(count + 1, node.cap)), *inner)
            target = self._intern(frames)
            found.append(_Step(frames, target, level, tuple(missing), frozenset(passed)))
            return lenient  # the lenient pass wants the nearest place only

        for level in range(len(state) - 1, -1, -1):
            group = groups[level]
            index, count = state[level]
            child = group.children[index]
            fits = sid in (child.every if lenient else child.first)
            if (
                fits
                and (child.max is None or count < child.max)
                and place(level, index, count, child)
            ):
                return tuple(found)
            if count < child.min:
                if not lenient:
                    return tuple(found)
                missing.append(child)
            if count == 0:
                passed |= child.every
            for later in range(index + 1, len(group.children)):
                sibling = group.children[later]
                if sid in (sibling.every if lenient else sibling.first) and place(
                    level, later, 0, sibling
                ):
                    return tuple(found)
                if sibling.min > 0:
                    if not lenient:
                        return tuple(found)
                    missing.append(sibling)
                passed |= sibling.every
        return tuple(found)

    def _choose(self, steps: tuple[_Step, ...], ids: list[str], index: int) -> _Step:
        """Where a segment that fits in several places goes: the place from which the next
        segments fit furthest (up to ``_LOOKAHEAD``), then the outermost, then the nearest.
        So the second ORC of an OML starts a new ORDER rather than a prior-result group."""
        every = self.root.every
        best: tuple[int, int, int] | None = None
        chosen = steps[0]
        for rank, step in enumerate(steps):
            state = step.state
            fitted = 0
            later = index + 1
            while fitted < _LOOKAHEAD and later < len(ids):
                sid = ids[later]
                later += 1
                if sid not in every:
                    continue
                following = self._steps_for(state, sid, False)
                if not following:
                    break
                state = following[0].state
                fitted += 1
            score = (fitted, -len(step.state), -rank)
            if best is None or score > best:
                best, chosen = score, step
        return chosen

    def _enter(
        self, node: Node, sid: str, lenient: bool, missing: list[Node], passed: set[str]
    ) -> tuple[tuple[int, int], ...]:
        """Frames inside a group entered with ``sid`` (none for a segment)."""
        frames: list[tuple[int, int]] = []
        while node.children:
            for index, child in enumerate(node.children):
                if sid in (child.every if lenient else child.first):
                    frames.append((index, 1))
                    node = child
                    break
                if child.min > 0:
                    missing.append(child)
                passed |= child.every
            else:  # pragma: no cover - sid is known to be inside node
                raise AssertionError(f"{sid} not found in {node.name}")
        return tuple(frames)

    def _finish(self, state: State) -> list[Node]:
        """Required elements still owed when the message ends."""
        missing: list[Node] = []
        groups = self._groups(state)
        for level in range(len(state) - 1, -1, -1):
            group = groups[level]
            index, count = state[level]
            if count < group.children[index].min:
                missing.append(group.children[index])
            missing.extend(c for c in group.children[index + 1 :] if c.min > 0)
        return missing

    def _limit(self, state: State, sid: str) -> Node | None:
        """The element that ``sid`` would repeat beyond its maximum, if that is the problem."""
        groups = self._groups(state)
        for level in range(len(state) - 1, -1, -1):
            index, count = state[level]
            child = groups[level].children[index]
            if child.max is not None and count >= child.max and sid in child.first:
                return child
        return None

    # -- matching ------------------------------------------------------------------------------
    def match(
        self, ids: list[str], placed: list[tuple[str, ...] | None] | None = None
    ) -> list[StructureFinding]:
        """Findings for a message whose segment ids are ``ids`` (MSH first).

        Ids not in the structure are ``outside`` findings and leave the position unchanged: the
        caller decides what they mean (Z segment, unexpected or unknown segment). With
        ``placed``, the group path of every segment (``("ORDER_OBSERVATION[2]", "OBX")``) is
        appended to it, ``None`` for segments that were not placed.
        """
        if len(self._steps) > _CACHE_LIMIT:
            self._reset()
        every = self.root.every
        quick = self._quick
        state: State = ((0, 0),)
        current = 0
        counts = [0]
        findings: list[StructureFinding] = []
        misplaced: set[str] = set()
        for index, sid in enumerate(ids):
            if sid not in every:
                findings.append(StructureFinding("outside", index, sid))
                if placed is not None:
                    placed.append(None)
                continue
            key = (current, sid)
            step = quick.get(key)
            if step is None:
                steps = self._steps_for(state, sid, False)
                if len(steps) == 1:
                    step = quick[key] = steps[0]
                elif steps:
                    step = self._choose(steps, ids, index)
            if step is None:
                lenient = self._steps_for(state, sid, True)
                step = lenient[0] if lenient else None
                if step is not None and step.passed and self._next(ids, index) in step.passed:
                    step = None
            if step is None:
                misplaced.add(sid)
                if sid == "MSH":
                    findings.append(StructureFinding("second_msh", index, sid))
                else:
                    limit = self._limit(state, sid)
                    kind = "order" if limit is None else "repeat"
                    findings.append(StructureFinding(kind, index, sid, limit))
                if placed is not None:
                    placed.append(None)
                continue
            if step.missing:
                findings.extend(StructureFinding("missing", index, n.lead, n) for n in step.missing)
            if placed is not None:
                placed.append(self._path(state, step, counts))
            state = step.state
            current = step.target
        end = len(ids)
        owed = self._ends.get(current)
        if owed is None:
            owed = self._ends[current] = self._finish(state)
        findings.extend(StructureFinding("missing", end, n.lead, n) for n in owed)
        if not misplaced:
            return findings
        # A segment reported out of place is not also "missing" where it should have been.
        return [
            f
            for f in findings
            if not (f.kind == "missing" and f.node is not None and f.node.lead in misplaced)
        ]

    def _next(self, ids: list[str], index: int) -> str | None:
        every = self.root.every
        for later in range(index + 1, len(ids)):
            if ids[later] in every:
                return ids[later]
        return None

    def _path(self, state: State, step: _Step, counts: list[int]) -> tuple[str, ...]:
        """Group instances for the segment just placed; ``counts`` tracks uncapped counts."""
        level = step.level
        new = step.state
        same = state[level][0] == new[level][0]
        del counts[level + 1 :]
        counts[level] = counts[level] + 1 if same and len(counts) > level else 1
        counts.extend([1] * (len(new) - level - 1))
        names: list[str] = []
        node = self.root
        for depth, (index, _) in enumerate(new):
            node = node.children[index]
            names.append(f"{node.name}[{counts[depth]}]" if node.is_group else node.name)
        return tuple(names)
