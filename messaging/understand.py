"""Understanding one text message as a report, in Spanish as people write it in Venezuela and in English.

Pure: no database, no network, no settings. `understand(text)` says what kind of thing was seen (from the
words people use, tolerant of missing accents and common misspellings), where (coordinates in the text, a
map link, or the words that name a place, for the geocoder to locate later), when ("hace 20 min", "20
minutes ago"), which language it is in, and keeps the rest as the description. `command(text)` recognises
the short commands (help, "still there" / "gone" for an incident number, cancel) and `is_noise(text)` a
message of greetings alone. What this cannot understand is
None, never a guess: the caller keeps the message for moderators and asks the sender.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# (stem, kind): a word that starts with the stem names the kind. Stems are written in the folded spelling
# (`fold`: no accents, b for v, s for z and soft c, y for ll, no h), so "retén", "reten", "alcavala" and
# "alcabala" are one stem. Kinds are tried in KIND_ORDER: a shooting at a checkpoint is a shooting.
STEMS: dict[str, tuple[str, ...]] = {
    "hazard": (
        "tirote",
        "dispar",
        "plomo",
        "plomas",
        "balacer",
        "balase",
        "tiros",
        "enfrentamient",
        "shooting",
        "shots",
        "shoot",
        "gunfire",
        "gunshot",
        "clash",
        "explosion",
    ),
    "checkpoint": (
        "alcabal",
        "reten",
        "matrac",
        "control",
        "checkpoint",
        "requisa",
        "chequeo",
    ),
    "roadblock": (
        "barricad",
        "tranca",
        "trancad",
        "trancaron",
        "guarimb",
        "roadblock",
        "barricade",
        "blockade",
        "blocked",
        "cerrad",
        "cierre",
        "closed",
    ),
    "militia": (
        "colectiv",
        "motorisad",
        "encapuchad",
        "armad",
        "paramilitar",
        "militia",
        "armed",
        "gunmen",
        "masked",
        "hooded",
        "bikers",
    ),
}
KIND_ORDER = ("hazard", "checkpoint", "roadblock", "militia")
# Words that need the whole word: short ones that begin many others.
EXACT = {"plomo": "hazard", "tiros": "hazard"}
# Security forces: a message naming only them is a checkpoint they run ("GNB en la entrada de Petare").
FORCES: tuple[str, ...] = (
    "gnb",
    "pnb",
    "sebin",
    "dgcim",
    "faes",
    "dgcin",
    "cicpc",
    "guardia",
    "polisia",
    "polis",
    "police",
    "militares",
    "militar",
    "soldados",
    "soldiers",
    "army",
    "ejersito",
    "fanb",
    "conas",
    "dase",
)
# Phrases, in folded spelling, that name a kind although none of their words does on its own.
PHRASES = (
    (re.compile(r"\bpunto de (?:control|chequeo)\b"), "checkpoint"),
    (re.compile(r"\b(?:cierre|sierre) de (?:bia|la bia|calle|carretera|autopista)\b"), "roadblock"),
    (re.compile(r"\bbia (?:cerrada|trancada|bloqueada)\b"), "roadblock"),
    (re.compile(r"\broad (?:block|closed)\b"), "roadblock"),
)

_NUM = r"[-+]?\d{1,3}\.\d{2,}"
# Map links and coordinates, most specific first; each gives (lat, lon) in its groups.
COORDINATE_PATTERNS = (
    # OpenStreetMap: #map=17/10.4806/-66.9036, or ?mlat=..&mlon=..
    re.compile(rf"#map=\d{{1,2}}/({_NUM})/({_NUM})"),
    re.compile(rf"[?&]mlat=({_NUM})&mlon=({_NUM})"),
    # Google Maps and WhatsApp's shared location: ?q=lat,lon (also ll=, query=, destination=), /@lat,lon
    re.compile(rf"[?&](?:q|ll|query|destination|daddr|center|sll)=(?:loc:)?({_NUM})(?:,|%2C)\s*({_NUM})", re.I),
    re.compile(rf"@({_NUM}),({_NUM})"),
    re.compile(rf"/maps/(?:place|search)/({_NUM}),\+?({_NUM})"),
    # geo: URIs (Android's "share location")
    re.compile(rf"\bgeo:({_NUM}),({_NUM})", re.I),
    # Typed: "10.4806, -66.9036", "10.4806 -66.9036", with or without degree signs, "lat 10.48 lon -66.90"
    re.compile(
        rf"(?<![\w.])(?:lat(?:itud)?\.?:?\s*)?({_NUM})\s*°?\s*[,;/ ]\s*"
        rf"(?:lon(?:g|gitud)?\.?:?\s*)?({_NUM})\s*°?(?![\w.])",
        re.I,
    ),
)
URL = re.compile(r"(?:https?://|www\.)\S+|\bgeo:\S+", re.I)

_MINUTES = r"(?:minutos|minuto|minutes|minute|mins|min|m|')"
_HOURS = r"(?:horas|hora|hours|hour|hrs|hr|h)"
_TIME_ES = re.compile(
    rf"\bhace\s+(?:(\d{{1,3}})\s*(?:({_HOURS})|{_MINUTES})?|(una?)\s+({_HOURS}|{_MINUTES})|(media)\s+hora)(?![\w'])",
    re.I,
)
_TIME_EN = re.compile(
    rf"\b(?:(\d{{1,3}})\s*(?:({_HOURS})|{_MINUTES})|(an?|one)\s+({_HOURS}|{_MINUTES})|(half an?)\s+hour)\s+ago\b",
    re.I,
)
_NOW = re.compile(r"\b(?:ahora(?:\s+mismo)?|ahorita|en este momento|right now|now)\b", re.I)

# Words that introduce a place, in folded spelling, longest first.
_PLACE_CUES = (
    "a la altura de",
    "a la entrada de",
    "a la salida de",
    "cerca de",
    "frente a",
    "saliendo de",
    "llegando a",
    "entrando a",
    "bajando a",
    "subiendo a",
    "antes de",
    "despues de",
    "via a",
    "via",
    "near",
    "en",
    "por",
    "in",
    "at",
    "on",
    "outside",
    "entrada de",
    "salida de",
)
_ENGLISH = {
    "the", "near", "at", "ago", "minutes", "minute", "hour", "hours", "checkpoint", "roadblock", "shooting",
    "help", "still", "gone", "police", "soldiers", "is", "there", "on", "in", "road", "armed", "men", "shots",
    "blocked", "closed", "highway", "right", "now", "of", "and", "masked", "gunmen", "checking", "cancel",
    "delete", "undo", "hello", "hi", "thanks",
}  # fmt: skip
_SPANISH = {
    "en", "de", "la", "el", "hace", "hay", "una", "un", "por", "los", "las", "ayuda", "sigue", "ya", "con", "y",
    "via", "cerca", "entrada", "salida", "min", "minutos", "hora", "alcabala", "esta", "estan", "pidiendo",
}  # fmt: skip


@dataclass(frozen=True)
class Understood:
    kind: str | None
    lat_lon: tuple[float, float] | None
    place_text: str
    minutes_ago: int | None
    description: str
    language: str  # "es" or "en"


@dataclass(frozen=True)
class Command:
    name: str  # "help", "still", "gone", "cancel"
    incident_id: int | None = None  # for still and gone; None: the incident of the sender's last report


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, no accents, and the spellings people confuse made one: v→b, z→s, soft c→s, ll→y, no h,
    letters repeated for emphasis ("alcabalaaaa") made single."""
    text = strip_accents(text.lower()).replace("h", "")
    text = text.replace("ll", "y").replace("v", "b").replace("z", "s").replace("k", "c")
    text = re.sub(r"c(?=[ei])", "s", text)
    text = re.sub(r"([a-z])\1{2,}", r"\1", text)
    return text


def _distance_at_most_one(a: str, b: str) -> bool:
    """Whether one edit (a letter changed, added, dropped, or two swapped) turns a into b."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(long)):
        if long[:i] + long[i + 1 :] == short:
            return True
    return False


def _word_kind(word: str) -> str | None:
    if word in EXACT:
        return EXACT[word]
    for kind in KIND_ORDER:
        for stem in STEMS[kind]:
            if stem in EXACT:
                continue
            if word.startswith(stem):
                return kind
            # One slip of the thumb in a long enough stem, a letter changed or two swapped ("alcabla",
            # "retwn"); not a letter added or dropped, which makes "maraca(y)" a "matraca".
            if len(stem) >= 6 and word[0] == stem[0] and _distance_at_most_one(word[: len(stem)], stem):
                return kind
    return None


def kind_of(text: str) -> str | None:
    """The kind a message names, or None. Words are tried against every kind; the first kind in
    KIND_ORDER that any word names wins; a message that names only a security force is a checkpoint."""
    folded = fold(text)
    found: set[str] = set()
    for pattern, kind in PHRASES:
        if pattern.search(folded):
            found.add(kind)
    words = re.findall(r"[a-z0-9]+", folded)
    for word in words:
        if len(word) < 4 and word not in EXACT:
            continue
        named = _word_kind(word)
        if named is not None:
            found.add(named)
    for kind in KIND_ORDER:
        if kind in found:
            return kind
    if any(word in FORCES for word in words):
        return "checkpoint"
    return None


def _valid(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180


def coordinates(text: str) -> tuple[tuple[float, float] | None, str]:
    """(lat, lon) from a map link or typed coordinates, and the text without them (nor any other link)."""
    for pattern in COORDINATE_PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        lat, lon = float(match.group(1)), float(match.group(2))
        if not _valid(lat, lon):
            continue
        rest = text[: match.start()] + " " + text[match.end() :]
        return (lat, lon), URL.sub(" ", rest)
    return None, URL.sub(" ", text)


def minutes_ago(text: str) -> tuple[int | None, str]:
    """How long ago the message says it was seen, in minutes (0 for "now"), and the text without it."""
    for pattern in (_TIME_ES, _TIME_EN):
        match = pattern.search(text)
        if match is None:
            continue
        number, hours, one, one_unit, half = match.groups()
        if half:
            minutes = 30
        elif one:
            minutes = 60 if re.fullmatch(_HOURS, one_unit, re.I) else 1
        else:
            minutes = int(number) * (60 if hours else 1)
        return minutes, text[: match.start()] + " " + text[match.end() :]
    match = _NOW.search(text)
    if match is not None:
        return 0, text[: match.start()] + " " + text[match.end() :]
    return None, text


def language_of(text: str) -> str:
    words = re.findall(r"[a-z]+", strip_accents(text.lower()))
    english = sum(word in _ENGLISH for word in words)
    spanish = sum(word in _SPANISH for word in words)
    return "en" if english > spanish else "es"


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" \t\n,.;:-!¡?¿")


def place_of(text: str) -> str:
    """The words that name the place: from the first word that introduces one ("en", "near", "saliendo
    de"...) to the end of that sentence; else whatever is left once the kind and force words are taken out.
    Left for the geocoder (the gazetteer finds a known place among other words)."""
    # fold() drops letters; a folding that keeps every position finds the cue in the original text.
    same_length = _same_length_fold(text)
    best = None
    for cue in _PLACE_CUES:
        cue_folded = _same_length_fold(cue)
        for match in re.finditer(rf"(?<![a-z0-9]){re.escape(cue_folded)}(?![a-z0-9])", same_length):
            if best is None or match.start() < best.start():
                best = match
            break
    if best is not None:
        tail = text[best.end() :]
        tail = re.split(r"[.!?\n]|,\s*(?:hay|son|estan|there|they|pidiendo|asking)\b", tail, maxsplit=1)[0]
        return _tidy(tail)[:200]
    words = []
    for word in re.findall(r"\S+", text):
        bare = fold(re.sub(r"[^\w]", "", word))
        if not bare or _word_kind(bare) or bare in FORCES or bare in _STOP:
            continue
        words.append(word)
    return _tidy(" ".join(words))[:200]


_STOP = {
    "hay", "un", "una", "el", "la", "los", "las", "de", "del", "a", "y", "con", "muchos", "mucho", "there", "is",
    "an", "the", "are", "of", "and", "punto", "cuidado", "ojo", "alerta", "urgente", "careful", "warning",
    "bia", "cierre", "road", "se", "reporta", "reportan", "bien", "mal", "muy", "ya", "pasando", "esta", "estan",
    "moto", "motos", "sus", "o", "que", "q",
}  # fmt: skip


# Every list of words above is compared in the folded spelling.
STEMS = {kind: tuple(fold(stem) for stem in stems) for kind, stems in STEMS.items()}
EXACT = {fold(word): kind for word, kind in EXACT.items()}
FORCES = tuple(fold(word) for word in FORCES)
_STOP = {fold(word) for word in _STOP}


def _same_length_fold(text: str) -> str:
    """A folding that keeps every character's position: lower case and no accents only, then b for v."""
    out = []
    for char in text.lower():
        base = strip_accents(char) or char
        base = base[0] if base else char
        out.append({"v": "b", "z": "s", "ñ": "n"}.get(base, base))
    return "".join(out)


def understand(text: str) -> Understood:
    """What one message says: kind, place (a point, or words to geocode), time, language, description."""
    text = (text or "").strip()
    language = language_of(text)
    lat_lon, rest = coordinates(text)
    minutes, rest = minutes_ago(rest)
    kind = kind_of(rest)
    place_text = "" if lat_lon is not None else place_of(rest)
    if not any(fold(word) not in _STOP for word in re.findall(r"[^\W\d_]{3,}", place_text)):
        place_text = ""  # digits, punctuation and little words name no place
    description = _tidy(URL.sub(" ", text))[:500]
    return Understood(
        kind=kind,
        lat_lon=lat_lon,
        place_text=place_text,
        minutes_ago=minutes,
        description=description,
        language=language,
    )


_VOTE = re.compile(
    r"^\s*(sigue|sigue ahi|sigue alli|still(?: there)?|ya no(?: esta)?|gone|se fue|no esta)"
    r"(?:\s*(?:#|n[°o.]?\s*)?(\d{1,10}))?\s*$"
)
_CANCEL = {"borrar", "borra", "cancelar", "cancela", "anular", "cancel", "delete", "undo", "/borrar", "/cancel"}
_HELP = {"ayuda", "help", "info", "?", "menu", "start", "/start", "/help", "/ayuda"}
# What people send to see whether anyone answers, or to be polite: alone, such a message is no report.
_GREETINGS = {
    "hola", "ola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "saludos", "epa", "epale",
    "hello", "hi", "hey", "good", "morning", "afternoon", "evening", "gracias", "thanks", "thank", "you", "ok",
    "okay", "oki", "vale", "listo", "si", "no", "yes", "chao", "bye", "test", "prueba", "probando", "alo",
}  # fmt: skip


def command(text: str) -> Command | None:
    """A short command, or None for a report: AYUDA/HELP; SIGUE N / YA NO N / STILL N / GONE N, or the same
    without a number for the incident of one's own last report; BORRAR/CANCELAR/CANCEL to withdraw it."""
    folded = strip_accents((text or "").lower()).strip(" \t\n.!¡?¿")
    if folded in _HELP or (text or "").strip() == "?":
        return Command("help")
    if folded in _CANCEL:
        return Command("cancel")
    match = _VOTE.match(folded)
    if match is None:
        return None
    word, number = match.groups()
    still = word.startswith(("sigue", "still"))
    return Command("still" if still else "gone", int(number) if number else None)


def is_noise(text: str) -> bool:
    """Whether a message says nothing a report could be made of: empty, only punctuation or emoji, or only
    greetings and courtesies ("hola", "buenas noches", "ok gracias"). A single other word, a digit or a
    link is content, and is kept: nothing sent is lost."""
    if re.search(r"\d|https?://|www\.|geo:", text or "", re.I):
        return False
    words = re.findall(r"[^\W\d_]+", strip_accents((text or "").lower()))
    return all(word in _GREETINGS for word in words)
