"""The words of deadline wordings: regex pieces, normalisation, and naming what is not known.

``normalise`` reduces the many ways a document writes the same thing («в срок до», «во II
квартале», «01.03.23г.», «2024/2025 уч. год», «первом полугодии») to one form, so that the rules
in ``grammar`` stay few and each is a full match.
"""

from __future__ import annotations

import re

_MONTH_STEMS = (
    ("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("ма", 5), ("июн", 6),
    ("июл", 7), ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12),
)  # fmt: skip
MONTH = (
    r"(?:январ[ьяе]|феврал[ьяе]|март[ае]?|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|август[ае]?"
    r"|сентябр[ьяе]|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])"
)
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
YEAR = r"(?P<{name}>(?:19|20|21)\d\d)"
QUARTER = r"(?P<q>[1-4]|iv|i{1,3})(?:-?(?:й|ый|ий|ом|м))?\s*(?:квартал[а-я]*|кв\.?)"
HALF = r"(?P<h>[12]|i{1,2})(?:-?(?:е|ое|ом|м|го|ого))?\s*(?:полугоди[еяим]|полугодии)"
DATE = r"(?P<{d}>\d{{1,2}})\.(?P<{m}>\d{{1,2}})\.(?P<{y}>\d{{4}}|\d\d)"
WORD_DATE = r"(?P<{d}>\d{{1,2}})\s+(?P<{m}>" + MONTH + r")(?:\s+" + YEAR.replace("{name}", "{y}") + r")?"
# A school year as normalised: «2024/2025 уч.год», the second year possibly in two digits.
SCHOOL_YEAR = "уч.год"
SCHOOL_YEARS = r"(?P<sy1>(?:19|20|21)\d\d)[/-](?P<sy2>\d\d(?:\d\d)?)\s+" + re.escape(SCHOOL_YEAR)

NUMBER_WORDS = {
    "один": 1, "одного": 1, "одной": 1, "одну": 1, "два": 2, "двух": 2, "две": 2,
    "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6,
    "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9,
    "десять": 10, "десяти": 10, "пятнадцать": 15, "пятнадцати": 15, "двадцать": 20,
    "двадцати": 20, "тридцать": 30, "тридцати": 30,
}  # fmt: skip
NUMBER = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"

_ORDINALS = {"перв": "1", "втор": "2", "трет": "3", "четверт": "4"}


def month_number(word: str) -> int:
    for stem, number in _MONTH_STEMS:
        if word.startswith(stem) and not (stem == "ма" and word.startswith("мар")):
            return number
    raise ValueError(word)  # unreachable: MONTH only matches known stems


def number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def roman_or_int(token: str) -> int:
    return ROMAN[token] if token in ROMAN else int(token)


# Each (pattern, replacement) is applied in order; later ones see the earlier results.
_LATIN_LOOKALIKES = str.maketrans("aeopcxyktmhb", "аеорсхуктмнв")

_REWRITES = [
    # a Latin letter typed inside a Russian word («15 aпреля»): the Cyrillic one was meant
    (r"\b(?=\w*[а-я])(?=\w*[a-z])\w+", lambda m: m[0].translate(_LATIN_LOOKALIKES)),
    (r"[\u2010-\u2015\u2212]", "-"),
    (r"\*+", " "),  # footnote marks: «25 августа 2019 года*»
    (r"\(\s*\d+\s+(?:календарн\w+\s+)?дн\w*\s*\)", " "),  # «с 16 по 24 марта (9 дней)»: the range says it
    # a time of day is not part of a deadline: «31 августа 10:00», «в 13.00 часов», «08:30 - 12:30»
    (r"(?:\bв\s+)?\b\d{1,2}[:.]\d\d\s*час\w*|\b\d{1,2}:\d\d(?:\s*[-\u2013\u2014]\s*\d{1,2}:\d\d)?", " "),
    (r"\s*\(\s*", ", "),  # «постоянно (2013-2015 г.г.)» → «постоянно, 2013-2015»
    (r"\s*\)", " "),
    (r"\bт\.\s*г\.?(?=\s|$)", " "),  # «т.г.» = this year: the plan's
    (r"<[^>]{0,200}>", " "),  # <b> remnants from converted documents
    (r"\(?\bвключительно\b\)?", " "),
    (r"\s+", " "),
    (r"\s*-\s*", "-"),
    (r"(\d)\s*\.\s*(?=\d)", r"\1."),  # «20.11. 2015» → «20.11.2015»
    # «учебный год», «уч. год», «учебного года», «уч.г.» → one token
    (r"\bучебн\w*\s+год\w*|\bуч\.?\s*г(?:од\w*|\.|\b)", SCHOOL_YEAR),
    # «2024-2025 гг.» / «2024/25 г.» / «2024 года» → bare years; also after a two-digit-year date
    (r"(\d{4}|\d\.\d\d)\s*(?:годы|годов|года|году|год|г\.\s*г\.?|гг\.?|г\.?)(?=[\s,;.)/-]|$)", r"\1"),
    (r"\bво\b", "в"),
    (r"\bв течении\b", "в течение"),  # a common misspelling
    (r"\b(не позднее|не позже),? чем\b", r"\1 чем"),
    (r"\bв срок\s+(?=до\b|не позднее\b|не позже\b|по\b|к\b)", ""),
    (r"^(?:срок(?: исполнения)?|в срок)[:\s-]+(?=\d)", ""),
    (r"\b(?:текущ|календарн)\w*\s+(?=год|" + SCHOOL_YEAR.replace(".", r"\.") + ")", ""),
    # «первом полугодии», «второй квартал» → «1 полугодии», «2 квартал»
    (r"\b(" + "|".join(_ORDINALS) + r")\w*\s+(?=квартал|кв\b|полугод)", lambda m: _ORDINALS[m[1]] + " "),
    (r"\s*,\s*", ", "),
]
_COMPILED = [(re.compile(p), r) for p, r in _REWRITES]


def normalise(text: str) -> str:
    """Lower case, one kind of dash and space, years without «г.»/«года», one form of each phrase."""
    s = text.lower().replace("ё", "е").replace("\u00a0", " ")
    for pattern, replacement in _COMPILED:
        s = pattern.sub(replacement, s)
    return s.strip(" .;,")


# Words the grammar knows. A wording that is not understood is reported with the words that
# are not among these, so the coordinator sees what tripped it («по итогам мониторинга»).
_KNOWN = re.compile(
    MONTH + r"|i{1,3}|iv|й|ый|ий|ом|м|е|ое|го|х|уч|"
    r"до|по|с|со|в|к|не|на|за|от|и|а|или|позднее|позже|течение|протяжении|срок|период|периода"
    r"|конца|концу|конце|начала|началу|окончания|года|году|год|годы|гг|г|квартал\w*|кв|полугоди\w*"
    r"|полгода|ежемесячно|ежеквартально|ежегодно|раз|раза|дважды|месяц\w*|каждого|числа|число"
    r"|следующего|следующим|отчетным|отчетного|периодом|кварталом|месяцем|итогам|постоянно|далее"
    r"|всего|весь|рабоч\w*|календарн\w*|дн\w*|день|недел\w*|после|даты|дня|момента|через"
    r"|истечения|систематически|регулярно|нового|" + "|".join(NUMBER_WORDS)
)


def unknown_words(text: str) -> list[str]:
    """The words of ``text`` the grammar has no meaning for, in order, without repeats."""
    seen: list[str] = []
    for word in re.findall(r"[a-zа-я]+", normalise(text)):
        if not _KNOWN.fullmatch(word) and word not in seen:
            seen.append(word)
    return seen
