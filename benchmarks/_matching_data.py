# ruff: noqa: RUF001 -- Cyrillic spellings are the point of this data
"""Synthetic but realistic watch lists and entries for the matching benchmark.

Names are Central Asian, Slavic and English, with Cyrillic aliases made by a
simple reverse transliteration. Entries are ~3 KB of mixed English and Russian
news-like prose: a few hundred real words plus a Zipf-distributed tail of made-up
words (so that, as in real feeds, new tokens keep appearing), with some planted
mentions of watched names in inflected, possessive, reversed and initial forms.
Everything is derived from a seed, so every run sees the same data.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from worker.core.types import Document, NearSpec, PersonSpec, WatchlistSpec


def _words(text: str, separator: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(separator))


GIVEN_MALE = _words(
    "Azimjan Bakyt Nurlan Timur Rustam Dilshod Farrukh Jamshid Bakhtiyor Ulugbek Askar Yerlan "
    "Kanat Aibek Chyngyz Kubanychbek Temir Marat Daniyar Ermek Almaz Bolot Azamat Nurbek Talant "
    "Zhanibek Serik Aidos Mukhtar Ilkhom Sanjar Otabek Sherzod Jasur Anvar Botir Ravshan Khurshid "
    "Umid Firdavs Dzhamshed Rakhmon Saidjafar Sergey Aleksey Dmitry Ivan Mikhail Andrey Vladimir "
    "Yevgeny Igor Oleg Pavel Nikolai Viktor Yuri Maksim Artyom Kirill Roman Denis Vasily Grigory "
    "John David Michael James Robert Thomas Daniel Peter Mark Paul"
)
GIVEN_FEMALE = _words(
    "Gulnara Aigerim Zarina Malika Shahnoza Saule Dinara Aizhan Asel Cholpon Tolkun Gulmira "
    "Nargiza Dilnoza Mukhabbat Feruza Zhanna Yulia Natalia Olga Ekaterina Anastasia Tatiana Irina "
    "Svetlana Yelena Mariya Alyona Mary Sarah Emma Anna Helen Laura"
)
SURNAME_ROOTS = _words(
    "Askar Karim Rakhim Nazar Tokay Ibragim Usman Yusup Abdull Khodzh Sadyk Turgun Mamat Ergesh "
    "Beknazar Atambay Zhaparov Toktogul Sultan Omurbek Kadyr Tash Akmat Osmon Dzhumabek Alim Bakir "
    "Ismail Mirzo Sharip Nurmat Rasul Saidov Khalil Yakub Tursun Sabir Kurban Zakir Rashid Umar "
    "Khamid Latif Nabi Safar Azim Rahmat Salim Vali Gafur Khodzha Islam Arslan Bayram Kasym Musa "
    "Petr Ivan Sidor Kuznets Popov Sokol Lebed Kozl Novik Morozk Volk Zaits Pavl Semen Golub "
    "Vinogr Bogdan Zhuk Orl Medved Fedot Gerasim Tikhon Yermol Kondrat Lukyan Makar Nikit Prokhor "
    "Rodion Savel Trofim Filat Yefim Yakovl Zakhar Belous Chern Dobr Krasn Svetl Tverd Gromk"
)
SURNAME_SYLLABLES = _words(
    "as kar nur bek tur sul mir zak ra him ab dul sa dyk ka sym ja par tok to gul om ur mat "
    "er gesh al im ba kir is ma il us man yu sup naz ar sad tash ak ra sul kha lil ya kub "
    "sa bir kur ban ra shid u mar la tif na bi sa far ve li gaf ur bay ram mu sa ko zy bo lot"
)
SURNAME_SUFFIXES_MALE = ("ov", "ev", "bekov", "baev", "aliev", "enko", "sky", "in", "uly", "zoda")
SURNAME_SUFFIXES_FEMALE = ("ova", "eva", "bekova", "baeva", "alieva", "enko", "skaya", "ina")
ENGLISH_SURNAMES = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin "
    "Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green "
    "Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker Collins"
)

_LATIN_TO_CYRILLIC = (
    ("shch", "щ"), ("dzh", "дж"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
    ("sh", "ш"), ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("ye", "е"), ("a", "а"), ("b", "б"),
    ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("j", "дж"),
    ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"),
    ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"), ("w", "в"),
    ("x", "кс"), ("q", "к"), ("y", "й"),
)  # fmt: skip

EN_WORDS = _words(
    "the a of in to and was on for that by with as at from after his her their court police "
    "said journalist defender activist lawyer prison sentence trial arrested detained charged "
    "released appeal judge prosecutor authorities government ministry report human rights "
    "organisation freedom expression protest rally opposition election parliament president "
    "security service officers investigation custody family relatives visit health "
    "condition hospital statement international observers called urged release "
    "immediately unconditionally case hearing verdict years months days week on Monday Tuesday "
    "Wednesday Thursday Friday capital city region district village local independent media "
    "outlet website access reporting coverage criticism pressure threats harassment "
    "intimidation searches home office equipment seized devices phones laptops computers "
    "according to sources close who asked not be named because fear reprisals"
)
RU_WORDS = _words(
    "в и на по с что был была были суд полиция заявил журналист правозащитник активист адвокат "
    "тюрьма приговор процесс обвинение освобожден апелляция судья прокурор "
    "власти правительство министерство доклад права человека организация свобода слова протест "
    "митинг оппозиция выборы парламент президент служба безопасности сотрудники расследование "
    "под стражей семья родственники свидание здоровье состояние больница "
    "заявление международные наблюдатели призвали освободить немедленно "
    "дело заседание решение лет месяцев дней неделе в понедельник во вторник в среду столице "
    "города области района села местных независимых СМИ сайт заблокирован доступ освещение "
    "критика давление угрозы преследование запугивание дома офиса техника изъята "
    "телефоны ноутбуки компьютеры по данным источников близких которые попросили не называть"
)
KEYWORD_HEADS = _words(
    "arbitrary detention|hunger strike|political prisoner|enforced disappearance|torture|"
    "ill-treatment|incommunicado|solitary confinement|show trial|extremism charges|"
    "foreign agent|blocked website|internet shutdown|travel ban|asset freeze|"
    "пытк*|голодовк*|политзаключенн*|насильственное исчезновение|иностранный агент|"
    "экстремизм*|блокировк*|обыск*|задержан*|запрет на выезд",
    "|",
)
KEYWORD_PLACES = _words(
    "Bishkek Osh Jalal-Abad Almaty Astana Tashkent Samarkand Dushanbe Khujand Ashgabat Nukus "
    "Karakalpakstan Gorno-Badakhshan Бишкек Ош Алматы Астана Ташкент Душанбе Худжанд Нукус"
)


def to_cyrillic(name: str) -> str:
    """A plausible Russian spelling of a romanised name (Azimjan Askarov → Азимджан Аскаров)."""
    out: list[str] = []
    for word in name.split():
        lowered, cyrillic = word.lower(), ""
        while lowered:
            for latin, letters in _LATIN_TO_CYRILLIC:
                if lowered.startswith(latin):
                    cyrillic += letters
                    lowered = lowered[len(latin) :]
                    break
            else:
                cyrillic += lowered[0]
                lowered = lowered[1:]
        out.append(cyrillic.capitalize())
    return " ".join(out)


def _surname_roots(rng: random.Random, count: int) -> list[str]:
    """Real roots plus made-up ones from Central Asian syllables, `count` in all."""
    roots = dict.fromkeys(SURNAME_ROOTS)
    while len(roots) < count:
        syllables = rng.choices(SURNAME_SYLLABLES, k=rng.randint(2, 3))
        roots["".join(syllables).capitalize()] = None
    return list(roots)


def _surnames(rng: random.Random) -> tuple[list[str], list[str]]:
    roots = _surname_roots(rng, 6000)
    male = [root + rng.choice(SURNAME_SUFFIXES_MALE) for root in roots for _ in range(2)]
    female = [root + rng.choice(SURNAME_SUFFIXES_FEMALE) for root in roots for _ in range(2)]
    male = list(dict.fromkeys(male + list(ENGLISH_SURNAMES)))
    female = list(dict.fromkeys(female + list(ENGLISH_SURNAMES)))
    rng.shuffle(male)
    rng.shuffle(female)
    return male, female


def make_people(count: int, rng: random.Random) -> list[PersonSpec]:
    """`count` distinct people, most with a Cyrillic alias, a few with extra options."""
    male_surnames, female_surnames = _surnames(rng)
    pairs = list(
        itertools.chain(
            itertools.product(GIVEN_MALE, male_surnames),
            itertools.product(GIVEN_FEMALE, female_surnames),
        )
    )
    rng.shuffle(pairs)
    people = []
    for index, (given, surname) in enumerate(pairs[:count]):
        name = f"{given} {surname}"
        aliases = (to_cyrillic(name),) if rng.random() < 0.8 else ()
        exclude = (f"{surname} Street", f"улица {to_cyrillic(surname)}") if index % 50 == 0 else ()
        people.append(
            PersonSpec(
                id=f"p{index}",
                name=name,
                aliases=aliases,
                match_surname_alone=rng.random() < 0.05,
                exclude=exclude,
            )
        )
    return people


def make_keywords(count: int, rng: random.Random) -> list[str]:
    """`count` distinct keyword rules: bare terms and "term place" phrases."""
    combos = list(KEYWORD_HEADS) + [
        f"{head.rstrip('*')} {place}" for head in KEYWORD_HEADS for place in KEYWORD_PLACES
    ]
    rng.shuffle(combos)
    suffixes = itertools.count(1)
    while len(combos) < count:
        combos.append(f"{rng.choice(KEYWORD_HEADS).rstrip('*')} case {next(suffixes)}")
    return combos[:count]


def make_watchlists(
    people: list[PersonSpec], keywords: list[str], lists: int, rng: random.Random
) -> list[WatchlistSpec]:
    """Spread people and keywords over `lists` watch lists, some with extra rules."""
    result = []
    for index in range(lists):
        near: tuple[NearSpec, ...] = ()
        require: tuple[str, ...] = ()
        exclude: tuple[str, ...] = ()
        if index % 10 == 1:
            near = (NearSpec(terms=("journalist", "detained"), within=5),)
        if index % 10 == 2:
            require = ("court",)
        if index % 10 == 3:
            exclude = ("football",)
        result.append(
            WatchlistSpec(
                id=f"wl{index:03d}",
                title=f"Watch list {index}",
                people=tuple(people[index::lists]),
                keywords=tuple(keywords[index::lists]),
                require=require,
                exclude=exclude,
                near=near,
                languages=("ru", "en") if index % 10 == 4 else (),
            )
        )
    return result


_RUSSIAN_CASES = ("а", "у", "ым", "е")


def _mention(person: PersonSpec, rng: random.Random) -> str:
    given, surname = person.name.split(" ", 1)
    style = rng.randrange(6)
    if style == 0:
        return person.name
    if style == 1 and person.aliases:
        cyr_given, cyr_surname = person.aliases[0].split(" ", 1)
        if surname.endswith(("ov", "ev", "in")):
            ending = rng.choice(_RUSSIAN_CASES)
            return (
                f"{cyr_given}{ending if not cyr_given.endswith('а') else ''} {cyr_surname}{ending}"
            )
        return person.aliases[0]
    if style == 2:
        return f"{person.name}'s"
    if style == 3:
        return f"{given[0]}. {surname}"
    if style == 4:
        return f"{surname} {given}"
    return f"{given} {surname.replace('kh', 'h').replace('zh', 'j')}"


def _tail_word(rank: int, cyrillic: bool) -> str:
    """A made-up word, the same for the same rank, in Latin or Cyrillic letters."""
    syllables_lat = ("ka", "ro", "mi", "ten", "sul", "dar", "pe", "lo", "vin", "sta", "gor", "ne")
    syllables_cyr = ("ка", "ро", "ми", "тен", "сул", "дар", "пе", "ло", "вин", "ста", "гор", "не")
    syllables = syllables_cyr if cyrillic else syllables_lat
    word = ""
    value = rank + 13
    while value:
        value, digit = divmod(value, len(syllables))
        word += syllables[digit]
    return word


@dataclass(frozen=True, slots=True)
class Corpus:
    watchlists: list[WatchlistSpec]
    documents: list[Document]
    terms: list[str]
    """Every configured string (names, aliases, keywords), for the naive baseline."""


def _sentence(rng: random.Random, tail_size: int, cyrillic: bool) -> str:
    words = RU_WORDS if cyrillic else EN_WORDS
    out = []
    for _ in range(rng.randint(8, 22)):
        if rng.random() < 0.3:
            rank = int(rng.paretovariate(0.8)) % tail_size
            out.append(_tail_word(rank, cyrillic))
        else:
            out.append(rng.choice(words))
    if rng.random() < 0.2:
        out.insert(rng.randrange(len(out)), str(rng.randint(1, 2025)))
    text = " ".join(out)
    return text[0].upper() + text[1:] + rng.choice((". ", ". ", ", ", "; ", "! ", ".\n\n"))


def _text(rng: random.Random, size: int, tail_size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        sentence = _sentence(rng, tail_size, cyrillic=rng.random() < 0.5)
        parts.append(sentence)
        length += len(sentence)
    return "".join(parts)


def make_corpus(names: int, keywords: int, entries: int, lists: int = 100, seed: int = 4) -> Corpus:
    """The benchmark's watch lists and documents."""
    rng = random.Random(seed)
    people = make_people(names, rng)
    keyword_rules = make_keywords(keywords, rng)
    watchlists = make_watchlists(people, keyword_rules, lists, rng)
    tail_size = 60_000
    documents = []
    for _ in range(entries):
        content = _text(rng, 3000, tail_size)
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 3)):
                cut = rng.randrange(len(content))
                content = f"{content[:cut]} {_mention(rng.choice(people), rng)} {content[cut:]}"
        if rng.random() < 0.2:
            cut = rng.randrange(len(content))
            content = f"{content[:cut]} {rng.choice(keyword_rules).rstrip('*')} {content[cut:]}"
        documents.append(
            Document(
                fields={
                    "title": _text(rng, 60, tail_size).strip(),
                    "summary": _text(rng, 200, tail_size).strip(),
                    "content": content,
                },
                language=rng.choice(("ru", "en", None)),
                feed_id=f"feed{rng.randrange(50)}",
            )
        )
    terms = [
        *(p.name for p in people),
        *(alias for p in people for alias in p.aliases),
        *(k.rstrip("*") for k in keyword_rules),
    ]
    return Corpus(watchlists=watchlists, documents=documents, terms=terms)
