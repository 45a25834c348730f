"""One pass for a dirty document: every edit applied at once, the fixed point confirmed.

The general loop of :mod:`._interpreter` runs the rules in order and, after each
edit, asks every later rule again wherever that edit may have changed what it sees.
Here the rules' first matches (one native pass) are taken as they are, except at the
places an earlier rule's edit touches; every edit is applied in rule order, in one
copy-on-write walk; and then only the *touched* places are looked at again, on the
edited document.

Why that is the same answer, for rules whose condition sees only the value at their
place (every rule of a :attr:`~._steps.Steps.once` scope): a rule at index *i* sees,
at a place *q*, the value the edits of the rules before *i* left there. If no edit
overlaps *q* (is at, above or below it), that is the first value: the first match
stands. If only edits of earlier rules overlap *q*, it is the final value: the rule
is asked at *q* on the edited document. Anything else is left to the general loop
(``None``): an edit of a later rule over the same place, an edit that a touched
place newly makes fire, an array element removed (indexes shift), a whole subtree
replaced under a rule's path, the document itself replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from ._conditions import Context
from ._findings import CopyOnWrite, Found
from ._json import remember
from ._paths import MISSING, Segment
from ._places import Place, position, reread
from ._steps import Step, Steps, edit, refused, report, validate

__all__ = ["index_first", "run_once"]

Tables = Mapping[str, Mapping[str, str]]
_FIRST = itemgetter(0)
Edit = tuple[tuple[Segment, ...], bool, int]  # where, a removal?, the rule's index
Window = tuple[tuple[tuple[int, tuple[tuple[str, ...], ...]], ...], int]
Index = tuple[bool, dict[str, tuple[int, ...]], tuple[int, ...], tuple[int, ...], Window]


def index_first(
    steps: tuple[Step, ...],
) -> tuple[bool, dict[str, tuple[int, ...]], tuple[int, ...], tuple[int, ...], Window]:
    """Whether a scope may run in one pass, its path rules by first member, its schema
    rules, and the window edits must fall in for one pass (see :attr:`Steps.window`)."""
    by_first: dict[str, list[int]] = {}
    wild: list[int] = []
    once = True
    schemas: list[int] = []
    readers: list[tuple[int, tuple[tuple[str, ...], ...]]] = []
    for index, step in enumerate(steps):
        if step.compiled.schema is not None:
            schemas.append(index)
            continue
        if not step.local:  # it reads other fields: what it reads, with its own path
            depends = step.compiled.depends or ((),)  # none listed: everything
            readers.append((index, (step.compiled.selector.tokens, *depends)))
        tokens = step.compiled.selector.tokens
        if not tokens or tokens[0] == "*":
            wild.append(index)
        else:
            by_first.setdefault(tokens[0], []).append(index)
    window = (tuple(readers), schemas[0] if schemas else len(steps))
    return once, {k: tuple(v) for k, v in by_first.items()}, tuple(wild), tuple(schemas), window


def _fits(tokens: tuple[str, ...], segments: tuple[Segment, ...]) -> bool:
    """Whether the place ``segments`` (as deep as ``tokens``) is one the path selects."""
    for token, seg in zip(tokens, segments, strict=True):
        if token != "*" and token != seg and token != str(seg):
            return False
    return True


class _Edited:
    """The places edited so far, for "does an edit overlap this place?" in time linear
    in the place's depth, however many edits there are."""

    __slots__ = ("at", "below")

    def __init__(self) -> None:
        self.at: dict[tuple[Segment, ...], list[tuple[bool, int]]] = {}  # (removal?, by)
        self.below: dict[tuple[Segment, ...], int] = {}  # a place above edits: their last rule

    def add(self, segments: tuple[Segment, ...], removal: bool, by: int) -> None:
        self.at.setdefault(segments, []).append((removal, by))
        below = self.below
        for k in range(len(segments)):
            prefix = segments[:k]
            if prefix not in below or below[prefix] < by:
                below[prefix] = by

    def touches(self, place: tuple[Segment, ...]) -> bool:
        if place in self.below:
            return True
        at = self.at
        for k in range(1, len(place) + 1):  # noqa: SIM110 (a hot path: any() is slower)
            if place[:k] in at:
                return True
        return False

    def over(self, place: tuple[Segment, ...]) -> tuple[int, bool]:
        """The last rule whose edit overlaps ``place``, and whether one removed it (or a
        member above it)."""
        last = self.below.get(place, -1)
        gone = False
        for k in range(1, len(place) + 1):
            for removal, by in self.at.get(place[:k], ()):
                last = max(last, by)
                gone = gone or removal
        return last, gone


Shape = tuple[tuple[int, tuple[tuple[Segment, ...], ...]], ...]  # rules and their places
Kept = tuple[tuple[int, tuple[int, ...] | None], ...]  # per rule: the places kept (None: all)
Pairs = tuple[tuple[int, tuple[Segment, ...]], ...]  # (rule, place) to ask again
# ... the rules to report, the elements an edit falls inside, and the elements an edit
# falls in or at (None: an edit of the split member itself, so the whole schema is asked)
Planned = tuple[
    Kept, tuple[Edit, ...], Pairs, tuple[int, ...], tuple[int, ...], tuple[int, ...] | None
]


def _first_matches(scope: Steps, shape: Shape) -> tuple[Kept, list[Edit]] | None:
    """Each rule's first matches away from earlier edits, and every edit in rule order."""
    kept: list[tuple[int, tuple[int, ...] | None]] = []
    edits: list[Edit] = []
    edited = _Edited()
    for index, places in shape:
        step = scope.steps[index]
        keep: tuple[int, ...] | None = None
        if edits:  # a place an earlier edit touches is asked again after the edits
            keep = tuple(j for j, p in enumerate(places) if p and not edited.touches(p))
            if len(keep) == len(places):
                keep = None
        kept.append((index, keep))
        if not step.edits:
            continue
        removal = step.action == "remove"
        for j in range(len(places)) if keep is None else keep:
            segments = places[j]
            if not segments or (removal and isinstance(segments[-1], int)):
                return None  # the document itself, or indexes that shift
            edits.append((segments, removal, index))
            edited.add(segments, removal, index)
    return tuple(kept), edits


def _planned(scope: Steps, matched: dict[int, list[Place]]) -> Planned | None:
    """What the one pass does with these matches: the places each rule keeps, the edits,
    the (rule, place) pairs to ask again, and the rules to report, in order; None when the
    general loop must decide. A pure function of the rules and places matched, so
    remembered per scope by them."""
    shape = tuple([(index, tuple(map(_FIRST, matched[index]))) for index in sorted(matched)])
    key = ("planned", shape)
    memo = scope.memo
    small = sum(map(len, matched.values())) <= 64  # a large shape is not kept
    known: Any = memo.get(key, memo) if small else memo  # one lookup: threads may clear it
    if known is not memo:
        return known  # type: ignore[no-any-return]
    planned: Planned | None = None
    first = _first_matches(scope, shape)
    if first is not None:
        kept, edits = first
        late = edits and (edits[-1][2] > scope.window[1] or _read_after(scope.window[0], edits))
        pairs = _to_ask(scope, edits) if edits and not late else ()
        if not late and pairs is not None:
            order = tuple(sorted({*(index for index, _ in kept), *scope.schemas}))
            items = _items(scope, edits)
            planned = (kept, tuple(edits), pairs, order, items, _parts(scope, edits))
    if small:
        remember(memo, key, planned)
    return planned


def _read_after(
    readers: tuple[tuple[int, tuple[tuple[str, ...], ...]], ...], edits: Sequence[Edit]
) -> bool:
    """Whether a rule whose condition reads other fields comes after an edit of what it
    reads (its own path, or a field its condition names)."""
    for index, patterns in readers:
        for segments, _, by in edits:
            if by >= index:
                break  # edits are in rule order
            if any(_fits(tokens[: len(segments)], segments[: len(tokens)]) for tokens in patterns):
                return True
    return False


def _touched(
    scope: Steps, edits: Sequence[Edit]
) -> dict[tuple[int, tuple[Segment, ...]], None] | None:
    """The (rule, place) pairs an edit of an earlier rule touches, in a stable order;
    None when a rule's path reaches under a replaced subtree."""
    pairs: dict[tuple[int, tuple[Segment, ...]], None] = {}
    for segments, removal, by in edits:
        first = segments[0]
        candidates = scope.by_first.get(first, ()) if isinstance(first, str) else ()
        for index in (*candidates, *scope.wild_first):
            if index <= by:
                continue
            tokens = scope.steps[index].compiled.selector.tokens
            depth = len(tokens)
            if depth > len(segments):
                if not _fits(tokens[: len(segments)], segments):
                    continue
                if removal:
                    continue  # nothing is left under a removed place
                return None  # a replaced subtree: its places are not listed here
            place = segments[:depth]
            if _fits(tokens, place):
                pairs[(index, place)] = None
    return pairs


def _to_ask(
    scope: Steps, edits: Sequence[Edit]
) -> tuple[tuple[int, tuple[Segment, ...]], ...] | None:
    """The touched (rule, place) pairs that still hold something to ask after the edits
    (not at or under a removed member); None when the general loop must decide. A pure
    function of the edits' places: remembered per scope (a client sends the same
    extra fields again and again)."""
    key = tuple(edits)
    memo = scope.memo
    known = memo.get(key, memo)  # one lookup: another thread may clear the memo meanwhile
    if known is not memo:
        return known  # type: ignore[no-any-return]
    pairs = _touched(scope, edits)
    out: list[tuple[int, tuple[Segment, ...]]] | None = [] if pairs is not None else None
    edited = _Edited()
    for segments, removal, by in edits:
        edited.add(segments, removal, by)
    for index, place in pairs or ():
        last, gone = edited.over(place)
        if last >= index:
            out = None  # a later edit over the same place
            break
        if not gone:  # at or under a removed member, what the rule matched is gone
            out.append((index, place))  # type: ignore[union-attr]
    result = None if out is None else tuple(out)
    if len(edits) <= 64:  # small only, as _planned: the key holds places
        remember(memo, key, result)
    return result


def _asked_again(
    scope: Steps,
    root: Any,
    pairs: tuple[tuple[int, tuple[Segment, ...]], ...],
    tables: Tables,
) -> dict[int, list[Place]] | None:
    """Matches at the touched places (``pairs``), asked on the edited document; None when
    the general loop must decide (see the module's docstring)."""
    added: dict[int, list[Place]] = {}
    ctx = Context(tables, root)
    read: dict[tuple[Segment, ...], Place | None] = {}  # several rules ask at one place
    for index, place in pairs:
        found = read[place] if place in read else read.setdefault(place, reread(root, place))
        if found is None:
            continue
        segments, value = found
        step = scope.steps[index]
        if value is MISSING and not step.compiled.matches_absent:
            continue
        if step.compiled.predicate(value, segments[-1] if segments else "", ctx):
            if step.action in ("remove", "replace"):
                return None  # an edit made an editing rule fire: the general loop
            added.setdefault(index, []).append((segments, value))
    return added


def _valid_by_parts(
    scope: Steps, root: Any, failed: list[int], parts: tuple[int, ...] | None, ok: frozenset[int]
) -> bool:
    """Whether the schema surely holds on the edited document, asked message by message:
    a message that passed the split gate before the edits and that no edit touched, or
    that passes it after the edits (``ok``), is not asked again. False also when it
    cannot tell (then the whole schema is asked)."""
    checks = scope.split.checks() if scope.split is not None else None
    if checks is None or parts is None or -1 in failed or type(root) is not dict:
        return False
    _, _, shallow, one = checks
    name = scope.split.name if scope.split is not None else ""
    if name in root and type(root[name]) is not list:
        return False
    items: list[Any] = root.get(name) or []
    again = set(failed)
    again.update(parts)
    try:
        if not shallow(root):
            return False
        again -= ok
        return all(one(items[i]) for i in sorted(again) if isinstance(i, int) and i < len(items))
    except (ValueError, TypeError, OverflowError, RecursionError):
        return False


def _parts(scope: Steps, edits: list[Edit]) -> tuple[int, ...] | None:
    """The elements of the split member that an edit falls in or at; None when an edit
    is at the member itself or at a member of it that is not an element."""
    name = scope.split.name if scope.split is not None else ""
    out: set[int] = set()
    for segments, _, _ in edits:
        if segments[0] == name:
            if len(segments) < 2 or not isinstance(segments[1], int):
                return None
            out.add(segments[1])
    return tuple(sorted(out))


def _items(scope: Steps, edits: list[Edit]) -> tuple[int, ...]:
    """The elements of the split member (messages) that an edit falls inside."""
    name = scope.split.name if scope.split is not None else None
    return tuple(
        sorted({s[1] for s, _, _ in edits if len(s) > 2 and s[0] == name and type(s[1]) is int})
    )


def _clean_items(scope: Steps, root: Any, items: tuple[int, ...]) -> frozenset[int]:
    """The edited elements on which the split gate of one element passes: the schema
    holds there and no rule the gate holds fires (asked natively, one call each)."""
    checks = scope.split.checks() if scope.split is not None else None
    member = root.get(scope.split.name) if scope.split is not None else None
    if checks is None or type(member) is not list:
        return frozenset()
    gate = checks[1]
    ok = set()
    for i in items:
        try:
            if i < len(member) and gate(member[i]):
                ok.add(i)
        except (ValueError, TypeError, OverflowError, RecursionError):
            continue  # not read natively: asked in Python
    return frozenset(ok)


def _outside(scope: Steps, pairs: Pairs, ok: frozenset[int]) -> Pairs:
    """``pairs`` without those of a gated rule inside an element in ``ok``."""
    name = scope.split.name if scope.split is not None else None
    gated = scope.gated
    return tuple(
        (index, place)
        for index, place in pairs
        if not (len(place) > 1 and place[0] == name and place[1] in ok and index in gated)
    )


def _edited(
    scope: Steps, kept: dict[int, list[Place]], doc: CopyOnWrite, tables: Tables
) -> tuple[dict[int, list[Any]], dict[int, Found]]:
    """Every edit applied, in rule order: each replacing rule's replacements (last place
    first), and the refused fixes, worded with the document as the rule saw it."""
    values: dict[int, list[Any]] = {}
    early: dict[int, Found] = {}
    # Removals commute: the places kept never overlap (a place at or under an earlier
    # edit is asked again, not kept). So the document's own members are removed together,
    # before the next step that reads the document (a replacement, a refused fix).
    members: list[Segment] = []
    for index, places in kept.items():
        step = scope.steps[index]
        if step.edits and step.action == "remove":  # nothing to remember: no replacement
            for segments, _ in reversed(places):
                if len(segments) == 1:
                    members.append(segments[0])
                else:
                    doc.remove(segments)
            continue
        if members and (step.edits or (step.refuse and places)):
            doc.remove_members(members)
            members = []
        if step.edits:
            values[index] = [edit(step, s, v, doc, tables) for s, v in reversed(places)]
        elif step.refuse and places:
            refused(step, places, doc.root, tables, set(), early.setdefault(index, []))
    if members:
        doc.remove_members(members)
    return values, early


def run_once(
    scope: Steps,
    document: Any,
    matched: dict[int, list[Place]],
    tables: Tables,
    failed: list[int],
) -> tuple[Any, Found] | None:
    """The edited document and the findings, as the general loop finds them; None when
    this document needs the general loop. ``failed``: the messages the split gate did
    not pass before the edits (-1: all of them)."""
    planned = _planned(scope, matched)
    if planned is None:
        return None
    keep, _, pairs, order, items, parts = planned
    kept = {
        index: matched[index] if at is None else [matched[index][j] for j in at]
        for index, at in keep
    }
    doc = CopyOnWrite(document)
    values, early = _edited(scope, kept, doc, tables)
    rejected: set[tuple[Segment, ...]] = set()
    ok = _clean_items(scope, doc.root, items) if items else frozenset()
    if ok and pairs:  # in a message the split gate now passes, no gated rule fires
        pairs = _outside(scope, pairs, ok)
    added = _asked_again(scope, doc.root, pairs, tables) if pairs else {}
    if added is None:
        return None
    found: Found = []
    for index in sorted({*order, *added}) if added else order:
        step = scope.steps[index]
        if step.compiled.schema is not None:
            if not _valid_by_parts(scope, doc.root, failed, parts, ok):
                validate(step, doc.root, rejected, found, tables)
            continue
        if index in early:
            found += early[index]
            rejected.update(segments for segments, _ in kept[index])
            continue
        places = kept.get(index, [])
        if added and index in added:
            places = sorted([*places, *added[index]], key=lambda p: position(p[0]))
        if not places:
            continue
        if index not in values:  # a removal or a note: no replacement
            for segments, value in reversed(places):
                report(step, segments, value, None, rejected, found)
            continue
        replacements = values[index]
        for i, (segments, value) in enumerate(reversed(places)):
            report(step, segments, value, replacements[i], rejected, found)
    return doc.root, found
