"""Datatype checks: table values, lengths and composites part by part, on compiled sites."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from eprlink.hl7 import Delimiters, unescape
from eprlink.profiles.check_primitives import NULL, PRIMITIVES, PrimitiveCheck, quote
from eprlink.profiles.model import CodeTable, DatatypeDef, Usage

__all__ = [
    "Fast",
    "Finding",
    "Site",
    "SiteCompiler",
    "fast_checker",
    "table_label",
    "walk",
]


@dataclass(frozen=True, slots=True)
class Site:
    """Where a value sits (a field repetition, a component, a subcomponent), with what to check
    there, compiled once from the profile. ``parts`` are the checked components of a composite
    (0-based index, site): parts with nothing to check are dropped, so checking a value costs a
    split and a few comparisons. A primitive has no parts."""

    name: str
    datatype: str
    check: PrimitiveCheck | None = None
    expected: str = ""
    table: CodeTable | None = None
    table_label: str = ""
    max_length: int | None = None
    required: bool = False
    parts: tuple[tuple[int, Site], ...] = ()
    fold: bool = False  # settings.matching.case_insensitive: ``table`` holds casefolded codes

    @property
    def trivial(self) -> bool:
        """Nothing to check: such sites are dropped when composites are compiled."""
        return (
            self.check is None
            and self.table is None
            and self.max_length is None
            and not self.required
            and not self.parts
        )


Finding = tuple[str, Site, int | None, int | None, str, str]
"""(kind, site, component, subcomponent, found, found_safe); kind is ``length``, ``format``,
``table`` or ``required``. ``found`` may quote content, ``found_safe`` never does."""


def table_label(table: CodeTable) -> str:
    """``0004 (Patient class)``: the table number as HL7 prints it, then its name."""
    number = table.id[3:] if table.id.upper().startswith("HL7") else table.id
    return f"{number} ({table.name})" if table.name and table.name != table.id else number


class SiteCompiler:
    """Builds sites from a profile's datatypes and tables, sharing sites across fields."""

    def __init__(self, datatypes: Mapping[str, DatatypeDef], tables: Mapping[str, CodeTable]):
        self._datatypes = datatypes
        self._tables = tables
        self._cache: dict[tuple[object, ...], Site] = {}

    def table(self, table_id: str | None, *, fold: bool = False) -> CodeTable | None:
        """A table the profile defines with codes; undefined or empty tables are local ones,
        which the validator skips. With ``fold`` the codes are casefolded, for values compared
        case-insensitively (``settings.matching.case_insensitive``)."""
        if not table_id:
            return None
        tables = self._tables
        found = tables.get(table_id)
        if found is None:
            bare = table_id[3:] if table_id.upper().startswith("HL7") else table_id
            found = tables.get(bare) or tables.get("HL7" + bare)
        if found is None or not found.codes:
            return None
        if fold:
            codes = {code.casefold(): text for code, text in found.codes.items()}
            return replace(found, codes=codes)
        return found

    def known(self, datatype: str) -> bool:
        """Whether the profile (or HL7's primitive list) defines this datatype."""
        return datatype in PRIMITIVES or datatype in self._datatypes

    def site(
        self,
        name: str,
        datatype: str,
        *,
        table: str | None = None,
        max_length: int | None = None,
        required: bool = False,
        depth: int = 0,
        fold: bool | frozenset[int] = False,
    ) -> Site:
        """The site of a value; ``fold`` makes its tables case-insensitive: ``True`` every
        table in it, a set of positions those components' tables only."""
        key = (name, datatype, table, max_length, required, depth, fold)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._build(
                name, datatype, table, max_length, required, depth, fold
            )
        return cached

    def _build(  # noqa: PLR0917 - the cache key, spelled out
        self,
        name: str,
        datatype: str,
        table_id: str | None,
        max_length: int | None,
        required: bool,
        depth: int,
        fold: bool | frozenset[int],
    ) -> Site:
        code_table = self.table(table_id, fold=fold is True)
        label = table_label(code_table) if code_table is not None else ""
        primitive = PRIMITIVES.get(datatype)
        definition = self._datatypes.get(datatype)
        if primitive is None and definition is not None and definition.components and depth < 2:
            parts: list[tuple[int, Site]] = []
            for component in definition.components:
                # A table named on a composite field (CE, HD, MSG …) applies to its first part.
                inner_table = component.table
                if component.position == 1 and inner_table is None:
                    inner_table = table_id
                child = self.site(
                    component.name,
                    component.datatype,
                    table=inner_table,
                    max_length=component.max_length,
                    required=component.usage is Usage.REQUIRED,
                    depth=depth + 1,
                    fold=fold is True or (fold is not False and component.position in fold),
                )
                if not child.trivial:
                    parts.append((component.position - 1, child))
            return Site(
                name, datatype, max_length=max_length, required=required, parts=tuple(parts)
            )
        check, expected = primitive if primitive is not None else (None, "")
        return Site(
            name,
            datatype,
            check=check,
            expected=expected,
            table=code_table,
            table_label=label,
            max_length=max_length,
            required=required,
            fold=fold is True and code_table is not None,
        )


def walk(  # noqa: PLR0917 - hot path: positional arguments, no keyword overhead
    site: Site,
    text: str,
    level: int,
    d: Delimiters,
    charset: str,
    out: list[Finding] | None,
    component: int | None = None,
    subcomponent: int | None = None,
) -> bool:
    """Check ``text`` (non-empty, not ``""``) at ``site``; ``level`` 0 is a field repetition,
    1 a component, 2 a subcomponent. Returns whether everything passed.

    With ``out=None`` it stops at the first doubt (the fast path); otherwise every finding is
    collected with its position. The fast form may doubt a value that the detailed form then
    accepts (one with an escape sequence, say), never the other way round.
    """
    ok = True
    limit = site.max_length
    if limit is not None and len(text) > limit:
        size = len(unescape(text, d, charset=charset)) if d.escape in text else len(text)
        if size > limit:
            if out is None:
                return False
            out.append(("length", site, component, subcomponent, f"{size} characters", ""))
            ok = False
    parts = site.parts
    separator = d.component if level == 0 else d.subcomponent if level == 1 else None
    if parts:
        pieces = text.split(separator) if separator is not None else [text]
        count = len(pieces)
        for index, child in parts:
            piece = pieces[index] if index < count else ""
            if not piece:
                if child.required:
                    if out is None:
                        return False
                    where = (index + 1, None) if level == 0 else (component, index + 1)
                    out.append(("required", child, *where, "nothing", ""))
                    ok = False
                continue
            if piece == NULL:
                continue
            if level == 0:
                passed = walk(child, piece, 1, d, charset, out, index + 1, None)
            else:
                passed = walk(child, piece, 2, d, charset, out, component, index + 1)
            if not passed:
                if out is None:
                    return False
                ok = False
        return ok
    check = site.check
    table = site.table
    if check is None and table is None:
        return ok
    value = text
    if separator is not None:
        cut = value.find(separator)
        if cut >= 0:
            value = value[:cut]
    if not value or value == NULL:
        return ok
    if d.escape in value:
        if out is None:
            return False
        value = unescape(value, d, charset=charset)
    if check is not None:
        reason = check(value)
        if reason is not None:
            if out is None:
                return False
            out.append(("format", site, component, subcomponent, quote(value), reason))
            ok = False
    if table is not None and (value.casefold() if site.fold else value) not in table.codes:
        if out is None:
            return False
        out.append(("table", site, component, subcomponent, quote(value), "a code not in it"))
        ok = False
    return ok


Fast = Callable[[str], bool]
"""A compiled fast-path check of one value; ``False`` means "look closer" (see :func:`walk`)."""


def fast_checker(site: Site, level: int, d: Delimiters) -> Fast | None:
    """:func:`walk` without findings, compiled into closures for one set of delimiters so the
    hot path reads locals instead of attributes. ``None`` when nothing at ``site`` can fail."""
    limit = site.max_length
    separator = d.component if level == 0 else d.subcomponent if level == 1 else None
    if site.parts:
        children = tuple(
            (index, fast_checker(child, level + 1, d), child.required)
            for index, child in site.parts
        )

        def composite(text: str) -> bool:
            if limit is not None and len(text) > limit:
                return False
            pieces = text.split(separator) if separator is not None else [text]
            count = len(pieces)
            for index, check, required in children:
                piece = pieces[index] if index < count else ""
                if not piece:
                    if required:
                        return False
                elif check is not None and piece != NULL and not check(piece):
                    return False
            return True

        return composite
    check = site.check
    codes = site.table.codes if site.table is not None else None
    escape = d.escape
    if site.fold and codes is not None:
        folded = codes

        def caseless(text: str) -> bool:
            if limit is not None and len(text) > limit:
                return False
            if separator is not None and separator in text:
                text = text[: text.index(separator)]
            if not text or text == NULL:
                return True
            if escape in text or text.casefold() not in folded:
                return False
            return check is None or check(text) is None

        return caseless
    if check is None and codes is None:
        if limit is None:
            return None

        def sized(text: str) -> bool:
            return len(text) <= limit

        return sized

    if limit is None and separator is not None:
        if check is None and codes is not None:
            known = codes

            def coded(text: str) -> bool:
                if separator in text:
                    text = text[: text.index(separator)]
                return text in known or not text or text == NULL

            return coded
        if codes is None and check is not None:
            test = check

            def formatted(text: str) -> bool:
                if separator in text:
                    text = text[: text.index(separator)]
                if not text or text == NULL:
                    return True
                return escape not in text and test(text) is None

            return formatted

    def primitive(text: str) -> bool:
        if limit is not None and len(text) > limit:
            return False
        if separator is not None and separator in text:
            text = text[: text.index(separator)]
        if not text or text == NULL:
            return True
        if codes is not None and text not in codes:
            return False
        if check is not None:
            return escape not in text and check(text) is None
        return True

    return primitive
