"""The compiled matcher: one automaton over folded text, rules checked on its hits.

Each field is split into tokens, every token is folded to its key (cached), and
the keys are joined by single spaces into a key text. One Aho-Corasick
automaton holds, for every watch list, the folded surname stems of its people
and the folded words of its terms (keywords, require/exclude/near terms, person
exclude phrases), each pattern preceded by a space so that it can only start
at a token. Only where the automaton hits does Python look closer: case
endings, the rest of the name around the surname, token gaps, watch-list rules.
Positions in the key text map back to tokens, and tokens to the original
characters, so hits carry exact offsets into the unfolded field.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Final

import ahocorasick_rs

from worker.core.errors import ConfigError, ConfigProblem
from worker.core.memory import collector_paused
from worker.core.types import FIELD_NAMES, Document, Hit, MatchKind, WatchlistSpec

from .endings import given_name_core
from .folding import FoldedText
from .given_names import GIVEN_NAMES
from .names import (
    CompiledPerson,
    NameForm,
    compile_person,
    spelling_keys,
)
from .people import (
    NAME_GAPS,
    SCORES,
    GivenEnds,
    Mention,
    SurnameGroup,
    given_ends,
    names_someone_else,
    surname_mention,
    without_overlaps,
)
from .readings import has_cyrillic
from .terms import Mode, Term, TermWord, parse_term

_FIELD_ORDER: Final[dict[str, int]] = {name: index for index, name in enumerate(FIELD_NAMES)}
_ACTIVE_CACHE_SIZE: Final = 10_000


@dataclass(frozen=True, slots=True)
class _NearRule:
    first: int
    second: int
    within: int
    label: str


@dataclass(frozen=True, slots=True)
class _CompiledList:
    spec: WatchlistSpec
    people: tuple[CompiledPerson, ...]
    keywords: tuple[tuple[int, str], ...]
    """(term id, keyword as configured), once per distinct folded keyword."""
    require: frozenset[int]
    exclude: frozenset[int]
    near: tuple[_NearRule, ...]
    silencers: tuple[tuple[int, frozenset[int]], ...]
    """(person, term ids) for exclude phrases that silence a person entry-wide."""
    fields: frozenset[str]
    languages: frozenset[str]
    feeds: frozenset[str]
    gated: bool
    """Whether entry-wide terms matter: require, exclude or person-silencing phrases."""

    def applies_to(self, doc: Document, language: str | None) -> bool:
        """Whether the list searches this document (its feed, and its language if known)."""
        if self.feeds and doc.feed_id not in self.feeds:
            return False
        return not (self.languages and language and language not in self.languages)


def _language(code: str) -> str:
    return code.replace("_", "-").split("-", 1)[0].strip().lower()


class _FieldScan:
    """What the automaton found in one field."""

    __slots__ = ("named", "near", "surnames", "terms", "text")

    def __init__(self, text: FoldedText) -> None:
        self.text = text
        self.terms: dict[int, list[tuple[int, int]]] = {}
        """Term id → token spans (first, last) of its occurrences."""
        self.surnames: list[tuple[SurnameGroup, int]] = []
        """Surname groups whose stem plus a valid ending sits on a token."""
        self.named: set[int] = set()
        """Tokens inside a mention that identifies someone: never a bare surname of another."""
        self.near: dict[tuple[int, int, int], list[tuple[int, int]]] | None = None
        """Spans found by near rules, shared by the lists that have the same rule."""

    def near_spans(self, rule: _NearRule) -> list[tuple[int, int]]:
        """Token spans where the rule's terms stand close together.

        One span per occurrence of the first term that has an unused occurrence of
        the second within `within` words (words between them), in either order.
        """
        terms = self.terms
        if rule.first not in terms or rule.second not in terms:
            return []
        key = (rule.first, rule.second, rule.within)
        if self.near is None:
            self.near = {}
        spans = self.near.get(key)
        if spans is None:
            spans = self.near[key] = _pair_up(terms[rule.first], terms[rule.second], rule.within)
        return spans


def _pair_up(
    firsts: list[tuple[int, int]], seconds: list[tuple[int, int]], within: int
) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    used: set[tuple[int, int]] = set()
    for first, last in firsts:
        best: tuple[int, tuple[int, int]] | None = None
        for other in seconds:
            distance = other[0] - last - 1 if other[0] > last else first - other[1] - 1
            if (
                other not in used
                and 0 <= distance <= within
                and (best is None or distance < best[0])
            ):
                best = (distance, other)
        if best is not None:
            other = best[1]
            used.add(other)
            spans.append((min(first, other[0]), max(last, other[1])))
    return spans


class _Candidates:
    """What one watch list may report for one entry, before its entry rules are checked."""

    __slots__ = ("keywords", "mentions")

    def __init__(self) -> None:
        self.keywords: list[tuple[str, FoldedText, int, int]] = []
        self.mentions: list[Mention] = []


class Matcher:
    """Watch lists compiled into one automaton; immutable and safe to share across threads."""

    __slots__ = (
        "_active_cache",
        "_automaton",
        "_fields",
        "_given_cores",
        "_keyword_users",
        "_lists",
        "_near_rules",
        "_payloads",
        "_restricted",
        "_scan_payloads",
        "_terms",
        "_unrestricted",
    )

    def __init__(
        self,
        automaton: ahocorasick_rs.BytesAhoCorasick | None,
        payloads: tuple[tuple[SurnameGroup | int, ...], ...],
        lists: tuple[_CompiledList, ...],
        terms: tuple[Term, ...],
        keyword_users: dict[int, tuple[tuple[int, str], ...]],
        given_cores: frozenset[str],
    ) -> None:
        self._automaton = automaton
        self._payloads = payloads
        self._lists = lists
        self._terms = terms
        self._keyword_users = keyword_users
        """Term id → (list index, keyword as configured) of the lists that report it."""
        self._given_cores = given_cores
        """Cores of known given names (watched and common), to spot other people's surnames."""
        near_rules: dict[tuple[int, int, int], tuple[_NearRule, list[int]]] = {}
        for index, wl in enumerate(lists):
            for rule in wl.near:
                users = near_rules.setdefault((rule.first, rule.second, rule.within), (rule, []))[1]
                if index not in users:
                    users.append(index)
        self._near_rules: dict[int, tuple[tuple[_NearRule, tuple[int, ...]], ...]] = {}
        """First term id → distinct near rules on it, each with the lists that have it."""
        for rule, users in near_rules.values():
            self._near_rules[rule.first] = (
                *self._near_rules.get(rule.first, ()),
                (rule, tuple(users)),
            )
        self._restricted = tuple(i for i, wl in enumerate(lists) if wl.languages or wl.feeds)
        self._unrestricted = [True] * len(lists)
        self._active_cache: dict[tuple[str | None, str | None], list[bool] | None] = {}
        """(language, feed) → which lists apply; a few combinations recur all the time."""
        self._fields = frozenset().union(*(wl.fields for wl in lists))
        rests: dict[TermWord, _Rests] = {}
        self._scan_payloads = tuple(_scan_payload(terms, found, rests) for found in payloads)
        """Per pattern: the terms it ends (term id, words in it after the first, what may
        follow it in its token), the terms with words after it (see `_Following`), and its
        surname groups (terms and surnames are collected apart, so their order is kept)."""

    def unscoped(self) -> Matcher:
        """The same automaton with every list applying to any text: no feed or language
        scope, no required or excluded terms, every field (log redaction masks whatever
        any list could find, without compiling the lists a second time)."""
        view = copy.copy(self)
        view._lists = tuple(
            replace(
                wl,
                require=frozenset(),
                exclude=frozenset(),
                fields=frozenset(FIELD_NAMES),
                languages=frozenset(),
                feeds=frozenset(),
                gated=bool(wl.silencers),
            )
            for wl in self._lists
        )
        view._restricted = ()
        view._unrestricted = [True] * len(self._lists)
        view._active_cache = {}
        view._fields = frozenset(FIELD_NAMES)
        return view

    @property
    def pattern_count(self) -> int:
        """Number of distinct patterns in the automaton."""
        return len(self._payloads)

    def match(self, doc: Document) -> list[Hit]:
        """Every hit of every applicable watch list, sorted by (list id, field, start)."""
        if self._automaton is None:
            return []
        active = self._active(doc) if self._restricted else self._unrestricted
        if active is None:
            return []
        fields = doc.fields
        scans: list[_FieldScan] = []
        for name in sorted(fields, key=_field_rank):
            text = fields[name]
            if text and name in self._fields:
                scan = self._scan(FoldedText(name, text))
                if scan is not None:
                    scans.append(scan)
        if not scans:
            return []
        candidates: dict[int, _Candidates] = {}
        for scan in scans:
            if scan.terms:
                self._collect_keywords(scan, active, candidates)
            if scan.surnames:
                self._collect_mentions(scan, active, candidates)
        if self._near_rules:
            self._collect_near(scans, active, candidates)
        hits: list[Hit] = []
        for index, found in candidates.items():
            hits.extend(self._list_hits(index, found, scans))
        if len(hits) > 1:
            hits.sort(key=_hit_order)
        return hits

    def _active(self, doc: Document) -> list[bool] | None:
        """Which lists apply to the document (by feed and language); None if none does."""
        key = (doc.language, doc.feed_id)
        try:
            return self._active_cache[key]
        except KeyError:
            pass
        language = _language(doc.language) if doc.language else None
        active: list[bool] | None = self._unrestricted.copy()
        assert active is not None
        for index in self._restricted:
            active[index] = self._lists[index].applies_to(doc, language)
        if not any(active):
            active = None
        if len(self._active_cache) >= _ACTIVE_CACHE_SIZE:
            self._active_cache.clear()
        self._active_cache[key] = active
        return active

    def _scan(self, text: FoldedText) -> _FieldScan | None:
        """What the automaton finds in a field, checked token by token; None if nothing."""
        assert self._automaton is not None
        key_text = text.key_bytes
        found = self._automaton.find_matches_as_indexes(key_text, overlapping=True)
        if not found:
            return None
        scan = _FieldScan(text)
        if len(found) > 1:
            found.sort(key=itemgetter(1))
        token = 0
        position = 0
        payloads = self._scan_payloads
        found_terms = scan.terms
        for pattern, start, end in found:
            token += key_text.count(b" ", position, start)
            position = start
            heads, following, groups = payloads[pattern]
            rest: bytes | None = None
            for term, more, rests in heads:
                if rests is not None:
                    if rest is None:
                        rest = key_text[end : key_text.index(b" ", end)]
                    if rest not in rests:
                        continue
                if more and not _joined(text, token, more):
                    continue
                spans = found_terms.get(term)
                if spans is None:
                    found_terms[term] = [(token, token + more)]
                else:
                    spans.append((token, token + more))
            if following is not None:
                if rest is None:
                    rest = key_text[end : key_text.index(b" ", end)]
                for term, more in following.terms(key_text, end + len(rest), rest):
                    if _joined(text, token, more):
                        spans = found_terms.get(term)
                        if spans is None:
                            found_terms[term] = [(token, token + more)]
                        else:
                            spans.append((token, token + more))
            if groups:
                if rest is None:
                    rest = key_text[end : key_text.index(b" ", end)]
                ending = rest.decode()
                if ending.endswith("s") and has_cyrillic(text.token(token)):
                    continue  # -'s is an English possessive; Хаммондс is another name
                for group in groups:
                    if ending in group.endings:
                        scan.surnames.append((group, token))
        if not scan.terms and not scan.surnames:
            return None
        return scan

    def _collect_keywords(
        self, scan: _FieldScan, active: list[bool], candidates: dict[int, _Candidates]
    ) -> None:
        for term, spans in scan.terms.items():
            for index, keyword in self._keyword_users.get(term, ()):
                if active[index] and scan.text.name in self._lists[index].fields:
                    found = candidates.setdefault(index, _Candidates())
                    found.keywords.extend(
                        (keyword, scan.text, first, last) for first, last in spans
                    )

    def _collect_near(
        self, scans: list[_FieldScan], active: list[bool], candidates: dict[int, _Candidates]
    ) -> None:
        """Lists whose near rule fires: its terms stand close enough in one field.

        Each distinct rule is tried once per field, for all the lists that have it; only
        the field's terms that start a rule are looked at (the order of candidates does not
        matter: hits are sorted by list).
        """
        near_rules = self._near_rules
        for scan in scans:
            for term in near_rules.keys() & scan.terms.keys():
                for rule, users in near_rules[term]:
                    if rule.second in scan.terms and scan.near_spans(rule):
                        for index in users:
                            if (
                                index not in candidates
                                and active[index]
                                and scan.text.name in self._lists[index].fields
                            ):
                                candidates[index] = _Candidates()

    def _collect_mentions(
        self, scan: _FieldScan, active: list[bool], candidates: dict[int, _Candidates]
    ) -> None:
        name = scan.text.name
        mentions = [
            mention
            for group, anchor in scan.surnames
            for mention in group.mentions(scan.text, anchor)
        ]
        for mention in mentions:
            scan.named.update(range(mention.first, mention.last + 1))
        for group, anchor in scan.surnames:
            if anchor in scan.named:
                continue  # part of an identifying mention: never a bare surname
            for form in group.alone:
                bare = surname_mention(form, scan.text, anchor)
                if bare is not None and self._bare_counts(scan, bare):
                    mentions.append(bare)
        for mention in mentions:
            index = mention.form.list_index
            if active[index] and name in self._lists[index].fields:
                candidates.setdefault(index, _Candidates()).mentions.append(mention)

    def _bare_counts(self, scan: _FieldScan, mention: Mention) -> bool:
        """Whether a bare surname stands alone, not as part of someone else's name (the
        callers skip those inside identifying mentions, `scan.named`, before building it)."""
        return not names_someone_else(scan.text, mention.first, self._given_cores)

    def _list_hits(self, index: int, found: _Candidates, scans: list[_FieldScan]) -> list[Hit]:
        wl = self._lists[index]
        if wl.fields != self._fields:
            scans = [scan for scan in scans if scan.text.name in wl.fields]
        present: set[int] = set()
        if wl.gated:
            present.update(term for scan in scans for term in scan.terms)
            if not wl.require <= present or wl.exclude & present:
                return []
        hits = [
            _hit(wl.spec, "keyword", keyword, text, first, last, "keyword")
            for keyword, text, first, last in found.keywords
        ]
        if wl.near:
            hits.extend(self._near_hits(wl, scans))
        if found.mentions:
            hits.extend(self._person_hits(wl, index, found.mentions, scans, present))
        return hits

    def _person_hits(
        self,
        wl: _CompiledList,
        list_index: int,
        mentions: list[Mention],
        scans: list[_FieldScan],
        present: set[int],
    ) -> list[Hit]:
        """Hits for the people of one list: identifying mentions, then bare surnames.

        A bare surname counts when the same person is identified elsewhere in the
        entry (in a searched field), or anywhere if the person has match_surname_alone.
        """
        silenced = {person for person, terms in wl.silencers if terms & present}
        by_person: dict[int, list[Mention]] = {}
        for mention in mentions:
            person = mention.form.person
            if person not in silenced and not _excluded(wl.people[person], mention):
                by_person.setdefault(person, []).append(mention)
        identified = {
            person for person, found in by_person.items() if any(m.identifies for m in found)
        }
        if identified:
            for scan in scans:
                for group, anchor in scan.surnames:
                    if anchor in scan.named:
                        continue  # part of an identifying mention: never a bare surname
                    for form in group.forms:
                        if (
                            form.list_index != list_index
                            or form.person not in identified
                            or form.surname_alone
                        ):
                            continue
                        bare = surname_mention(form, scan.text, anchor)
                        if (
                            bare is not None
                            and self._bare_counts(scan, bare)
                            and not _excluded(wl.people[form.person], bare)
                        ):
                            by_person[form.person].append(bare)
        hits: list[Hit] = []
        for person, found in by_person.items():
            name = wl.people[person].spec.name
            for mention in without_overlaps(found):
                start, end = mention.span()
                hits.append(
                    _make_hit(wl.spec, "person", name, mention.field, start, end, mention.variant)
                )
        return hits

    def _near_hits(self, wl: _CompiledList, scans: list[_FieldScan]) -> list[Hit]:
        return [
            _hit(wl.spec, "keyword", rule.label, scan.text, first, last, "near")
            for rule in wl.near
            for scan in scans
            for first, last in scan.near_spans(rule)
        ]


_Rests = frozenset[bytes] | None
"""What may follow a word's key in its token (UTF-8); None: anything."""


class _Following:
    """The terms of one pattern that go on past its token: a trie over their next words.

    Many terms share their first words ("arbitrary detention in Osh", "arbitrary
    detention case 5"…): each token after a hit is looked up once per trie level
    by its possible stems, instead of every term checking every word.
    """

    __slots__ = ("ends", "heads", "prefixes", "reach", "words")

    def __init__(self) -> None:
        self.heads: list[tuple[_Rests, _Following]] = []
        """At the root: what may follow the pattern in its own token, and the trie after."""
        self.ends: list[tuple[int, int]] = []
        """(term id, tokens after the hit's) of the terms whose last word leads here."""
        self.words: dict[bytes, list[tuple[frozenset[bytes], _Following]]] = {}
        """Key of the next word → (what may follow it in its token, node after it)."""
        self.prefixes: list[tuple[bytes, _Following]] = []
        """Next words that are prefixes (пытк*), with the node after each."""
        self.reach = 0
        """Longest rest (UTF-8 bytes) that a word in `words` may take."""

    def add(self, head: _Rests, tail: tuple[TermWord, ...], term: int, more: int) -> None:
        node = next((child for rests, child in self.heads if rests == head), None)
        if node is None:
            node = _Following()
            self.heads.append((head, node))
        for word in tail:
            node = node.child(word)
        node.ends.append((term, more))

    def child(self, word: TermWord) -> _Following:
        key = word.key.encode()
        if word.mode is Mode.PREFIX:
            found = next((node for prefix, node in self.prefixes if prefix == key), None)
            if found is None:
                found = _Following()
                self.prefixes.append((key, found))
            return found
        rests = _rests(word)
        assert rests is not None
        entries = self.words.setdefault(key, [])
        found = next((node for other, node in entries if other == rests), None)
        if found is None:
            found = _Following()
            entries.append((rests, found))
            self.reach = max(self.reach, *map(len, rests))
        return found

    def terms(self, key_text: bytes, space: int, rest: bytes) -> list[tuple[int, int]]:
        """(term id, tokens after the hit's) of the terms whose words follow the hit.

        `space` is the space that ends the hit's token, `rest` what follows the
        pattern in that token.
        """
        found: list[tuple[int, int]] = []
        for head, node in self.heads:
            if head is None or rest in head:
                node._follow(key_text, space, found)
        return found

    def _follow(self, key_text: bytes, space: int, found: list[tuple[int, int]]) -> None:
        found.extend(self.ends)
        if not self.words and not self.prefixes:
            return
        end = key_text.find(b" ", space + 1)
        if end < 0:
            return
        token = key_text[space + 1 : end]
        size = len(token)
        words = self.words
        for length in range(size, max(size - self.reach, 1) - 1, -1):
            entries = words.get(token[:length])
            if entries is not None:
                rest = token[length:]
                for rests, node in entries:
                    if rest in rests:
                        node._follow(key_text, end, found)
        for prefix, node in self.prefixes:
            if token.startswith(prefix):
                node._follow(key_text, end, found)


_ScanPayload = tuple[
    tuple[tuple[int, int, _Rests], ...], _Following | None, tuple[SurnameGroup, ...]
]


def _scan_payload(
    terms: tuple[Term, ...], found: tuple[SurnameGroup | int, ...], rests: dict[TermWord, _Rests]
) -> _ScanPayload:
    """A pattern's payload split for `Matcher._scan`; `rests` shares the byte rests of
    equal words between patterns."""
    heads: list[tuple[int, int, _Rests]] = []
    following: _Following | None = None
    for payload in found:
        if not isinstance(payload, int):
            continue
        term = terms[payload]
        head = None if term.open_head is None else _shared_rests(term.open_head, rests)
        tail = term.tail
        if not tail:
            heads.append((payload, term.head - 1, head))
            continue
        if following is None:
            following = _Following()
        following.add(head, tail, payload, term.head - 1 + len(tail))
    groups = tuple(payload for payload in found if not isinstance(payload, int))
    return tuple(heads), following, groups


def _shared_rests(word: TermWord, shared: dict[TermWord, _Rests]) -> _Rests:
    if word not in shared:
        shared[word] = _rests(word)
    return shared[word]


def _rests(word: TermWord) -> _Rests:
    """What may follow `word`'s key in a token; None if anything may."""
    if word.mode is Mode.PREFIX:
        return None
    if word.mode is Mode.EXACT:
        return frozenset({b""})
    return frozenset(rest.encode() for rest in word.rests)


def _joined(text: FoldedText, token: int, more: int) -> bool:
    """Whether tokens token..token+more are joined as a term's words are (space, hyphen)."""
    return all(text.gap(gap) in NAME_GAPS for gap in range(token, token + more))


def _excluded(person: CompiledPerson, mention: Mention) -> bool:
    return bool(person.exclusions) and any(
        exclusion.covers(mention.field, mention.anchor) is not None
        for exclusion in person.exclusions
    )


def _field_rank(name: str) -> tuple[int, str]:
    return _FIELD_ORDER.get(name, len(_FIELD_ORDER)), name


def _hit_order(hit: Hit) -> tuple[str, tuple[int, str], int, int]:
    return hit.watchlist_id, _field_rank(hit.field), hit.start, hit.end


def _hit(
    wl: WatchlistSpec,
    kind: MatchKind,
    term: str,
    text: FoldedText,
    first: int,
    last: int,
    variant: str,
) -> Hit:
    start, end = text.span(first, last)
    return _make_hit(wl, kind, term, text, start, end, variant)


def _make_hit(
    wl: WatchlistSpec,
    kind: MatchKind,
    term: str,
    text: FoldedText,
    start: int,
    end: int,
    variant: str,
) -> Hit:
    # Positional arguments: this runs for every hit and keyword calls cost more.
    return Hit(
        wl.id,
        kind,
        term,
        text.text[start:end],
        text.name,
        start,
        end,
        text.snippet(start, end),
        variant,
        SCORES[variant],
    )


_TermIds = Callable[[str], int]
"""Registers a configured term and returns its id."""


def compile_matcher(watchlists: Sequence[WatchlistSpec]) -> Matcher:
    """Fold every name and term of every watch list into one automaton.

    Raises ConfigError, naming the watch list, when a name or term has nothing
    to match (only punctuation, say) or a prefix term is too short.
    """
    with collector_paused(freeze=True):  # and no full collection at the end
        return _compile(watchlists)


def _compile(watchlists: Sequence[WatchlistSpec]) -> Matcher:
    patterns: dict[str, list[SurnameGroup | int]] = {}
    term_ids: dict[Term, int] = {}
    groups: dict[tuple[str, str, frozenset[str]], SurnameGroup] = {}
    keyword_users: dict[int, list[tuple[int, str]]] = {}
    given_cores = {given_name_core(key) for name in GIVEN_NAMES for key in spelling_keys(name)}

    def term_id(text: str) -> int:
        term = parse_term(text)
        if term not in term_ids:
            term_ids[term] = len(term_ids)
            patterns.setdefault(term.pattern, []).append(term_ids[term])
        return term_ids[term]

    # The given-name cores of given names are worked out once per distinct given
    # names (shared by the forms, see `names`; they stay alive in them, so their
    # identity is a key): a few hundred for 100,000 people.
    ends: dict[int, GivenEnds] = {}

    def add_forms(forms: Sequence[NameForm]) -> None:
        for form in forms:
            given = form.given
            cores = ends.get(id(given))
            if cores is None:
                cores = ends[id(given)] = given_ends(given)
                given_cores.update(core for part in given for core in part.cores)
            last = form.surname[-1]
            first = last.stems[0]
            for stem, stem_class in last.stems:
                if stem in last.variants:
                    continue
                variants = last.variants if (stem, stem_class) == first else frozenset()
                key = (stem, stem_class.name, variants)
                group = groups.get(key)
                if group is None:
                    group = groups[key] = SurnameGroup(stem, stem_class)
                    for searched in (stem, *sorted(variants)):
                        patterns.setdefault(" " + searched, []).append(group)
                group.add(form, cores, stem in last.transcribed)

    lists: list[_CompiledList] = []
    for index, spec in enumerate(watchlists):
        try:
            compiled = _compile_list(index, spec, term_id)
        except ValueError as error:
            problem = ConfigProblem(
                path="", line=None, where=f"watchlists[{index}] ({spec.id})", message=str(error)
            )
            raise ConfigError([problem]) from error
        lists.append(compiled)
        for person in compiled.people:
            add_forms(person.forms)
        for term, keyword in compiled.keywords:
            keyword_users.setdefault(term, []).append((index, keyword))
    automaton = (
        ahocorasick_rs.BytesAhoCorasick(
            [pattern.encode() for pattern in patterns] + list(_NEVER_FOUND),
            implementation=_automaton_kind(len(patterns)),
        )
        if patterns
        else None
    )
    return Matcher(
        automaton,
        tuple(tuple(payload) for payload in patterns.values()),
        tuple(lists),
        tuple(term_ids),
        {term: tuple(users) for term, users in keyword_users.items()},
        frozenset(given_cores),
    )


_DFA_MAX_PATTERNS: Final = 100_000
_NEVER_FOUND: Final = (b"\x01", b"\x02", b"\x03", b"\x04")
"""Patterns that cannot occur in key text (control bytes), added after the real ones.

Every real pattern starts with a space, so the automaton library would put a
"start byte" prefilter in front of the automaton that stops at every space of
the key text, about one byte in seven, for nothing. Four more start bytes rule
that prefilter out (a few percent fewer instructions per entry).
"""


def _automaton_kind(patterns: int) -> ahocorasick_rs.Implementation:
    """A DFA scans about a quarter faster; past ~100,000 patterns its memory grows too much."""
    if patterns <= _DFA_MAX_PATTERNS:
        return ahocorasick_rs.Implementation.DFA
    return ahocorasick_rs.Implementation.ContiguousNFA


def _compile_list(list_index: int, spec: WatchlistSpec, term_id: _TermIds) -> _CompiledList:
    people = tuple(
        compile_person(list_index, index, person) for index, person in enumerate(spec.people)
    )
    near = tuple(
        _NearRule(
            first=term_id(rule.terms[0]),
            second=term_id(rule.terms[1]),
            within=rule.within,
            label=f"{rule.terms[0]} ~{rule.within}~ {rule.terms[1]}",
        )
        for rule in spec.near
    )
    silencers = tuple(
        (index, frozenset(term_id(phrase) for phrase in person.entry_exclusions))
        for index, person in enumerate(people)
        if person.entry_exclusions
    )
    keywords: dict[int, str] = {}
    for keyword in spec.keywords:
        keywords.setdefault(term_id(keyword), keyword)
    return _CompiledList(
        spec=spec,
        people=people,
        keywords=tuple(keywords.items()),
        require=frozenset(term_id(term) for term in spec.require),
        exclude=frozenset(term_id(term) for term in spec.exclude),
        near=near,
        silencers=silencers,
        fields=frozenset(spec.fields),
        languages=frozenset(_language(code) for code in spec.languages),
        feeds=frozenset(spec.feeds),
        gated=bool(spec.require or spec.exclude or silencers),
    )
