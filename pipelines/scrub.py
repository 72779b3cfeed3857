"""Nothing that identifies a respondent is stored: free text is scrubbed, identifying questions
are recognised, before a survey answer reaches the warehouse.

Two jobs, both pure (text in, text out):

- `Scrubber.scrub(text)` replaces what identifies a person in free text (a survey comment) by a
  placeholder: email addresses by ``[email]`` (also written apart: "ada [at] example [dot] com",
  "jsmith42 @ gmail . com", "jsmith42 at gmail"), phone numbers by ``[phone]`` (the phone
  library's, long digit runs, and digits spelled out: "five five five, one two three four"),
  links, @handles and handles named by their platform ("ig: ada.ok") by ``[link]``, and the
  names of the program's rostered members by ``[name]`` (also in the plural: "the Okafors'";
  without their letters' marks: "Lukasz" for Łukasz, "Juergen" for Jürgen; and by a first
  name's usual short form: "Bill" for William; and against Japanese, Chinese or Korean text,
  which puts no space after a name: "今日はAdaさんが"; and broken over two lines by a hyphen),
  street addresses and postcodes by ``[address]`` ("12 Acacia Avenue", "Calle Mayor 23",
  "SW1A 1AA", "zip 90210"), and national ids and bank accounts by ``[id]`` ("QQ 12 34 56 C",
  "DNI 12345678Z", an IBAN). Full-width signs read as ASCII
  ("jsmith42＠example．com"). It returns the
  scrubbed text and how many of each kind it replaced: a load summary reports the counts, never
  what was replaced.
- `identifying_question(text)` says whether a column id or a question text asks for something
  that identifies the respondent (email, name, phone, address, IP, location, ...), in English and
  in the other languages survey exports arrive in, so a question "Your e-mail (so your coach can
  follow up)" whose column id is "Q4" is dropped like a column named "Email".

Scrubbing errs towards removing too much: a false ``[name]`` costs a word of a comment, a missed
one costs a member their anonymity.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

PLACEHOLDERS = {"email": "[email]", "phone": "[phone]", "link": "[link]", "name": "[name]",
                "address": "[address]", "id": "[id]"}


# --- folding: case and accents, one character for one character -------------------------------


# Letters whose base letter Unicode does not decompose to ("Łukasz", "Søren", "Đorđe", "Yıldız"):
# written without the mark ("Lukasz", "Soren") they are the same name.
_BASE_LETTER = {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l",
                "ƀ": "b", "ɨ": "i", "ʉ": "u", "ǥ": "g"}
# ... and the letters written as two in plain ASCII ("Jürgen" -> "Juergen", "Strauß" ->
# "Strauss", "Kjær" -> "Kjaer", "Ødegaard" -> "Oedegaard", "Đorđe" -> "Djordje"): a rostered
# name is matched in these spellings too (Scrubber.for_roster)
_TWO_LETTERS = {"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa", "æ": "ae", "œ": "oe",
                "ß": "ss", "đ": "dj", "þ": "th", "ĳ": "ij"}


@lru_cache(maxsize=4096)  # texts repeat few distinct characters; folding each is the cost
def _fold_char(c: str) -> str:
    lower = c.lower()
    if len(lower) == 1 and lower in _BASE_LETTER:
        return _BASE_LETTER[lower]
    f = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower()
    return f if len(f) == 1 else (lower if len(lower) == 1 else c)


def _spelled_plain(name: str) -> str:
    """A name with its letters that ASCII writes as two spelled out: 'Jürgen Müller' ->
    'juergen mueller', 'Ægir Strauß' -> 'aegir strauss' (lower case; other accents are left
    for `fold`)."""
    return "".join(_TWO_LETTERS.get(c, c) for c in unicodedata.normalize("NFC", name.lower()))


def fold(text: str) -> str:
    """Lower case without accents, the same length as `text` (so positions carry over):
    'José Ñúñez' -> 'jose nunez'."""
    if text.isascii():  # the common case, and ASCII lower-casing keeps every position
        return text.lower()
    return "".join(_fold_char(c) for c in text)


# --- identifying questions ---------------------------------------------------------------------

# Column ids that survey tools use for identifying metadata (matched on the folded id).
_IDENTIFYING_IDS = (
    r"^id$|^#$|^response ?id$|^respondent ?id$|^token$|^network id$|^collector id$|"
    r"^custom data|^refurl$|^ip$|^ip ?addr(ess)?$|^ipaddress$|^user ?agent$|"
    r"e-?mail|\bname\b|name$|^username$|latitude|longitude|location|user ?agent|respondent|"
    r"recipient|external ?(data)?ref|phone|^mail$|^contact$|^initials$|^signature$"
)

# Words and phrases that ask for identifying information, per language (matched on the folded
# text, at word boundaries). Languages follow the label maps survey exports arrive with; a
# language not listed here is still covered by the column-id patterns and by scrubbing.
IDENTIFYING_TERMS: dict[str, tuple[str, ...]] = {
    "en": (
        r"e-?mail", r"name", r"names", r"first ?name", r"last ?name", r"full ?name", r"surname",
        r"user ?name", r"given name", r"family name", r"phone", r"telephone", r"mobile",
        r"cell ?phone", r"phone number", r"contact (details|info|information|number)",
        r"(home|postal|street|mailing|your) address", r"post ?code", r"postal ?code",
        r"zip ?code", r"zip", r"where (do|did) you live", r"(city|town) (do|did) you live in",
        r"home ?town", r"place of residence",
        r"date of birth", r"birthday", r"ip", r"ip address", r"location", r"latitude",
        r"longitude", r"user ?agent", r"respondent", r"recipient", r"handle", r"whatsapp",
        r"instagram", r"twitter", r"facebook", r"linkedin", r"telegram", r"signal number",
        # asking how to reach someone, who they are, or an id that names them
        r"contact (me|you|email|e-?mail address|phone)", r"get in touch",
        r"(reach|contact) you", r"who are you", r"call you", r"initials", r"signature",
        r"nick ?name", r"pseudonym", r"alias", r"socials", r"social media", r"website",
        r"skype", r"discord", r"snapchat", r"tiktok",
        r"(student|employee|staff|member|membership|badge|payroll|customer|patient|id) ?(id|number|no)",
        r"passport", r"national insurance", r"social security", r"ssn", r"tax id",
        r"(year|place) of birth", r"birth ?year", r"gps", r"coordinates",
        r"which (city|town|country|state|region|neighbou?rhood)", r"mail address",
        r"tel", r"(your|leave your|leave a|mobile|cell|home|work|contact) number", r"nhs number",
        r"national id", r"id card", r"identity card", r"driver'?s? licen[cs]e", r"id number",
    ),
    "es": (
        r"correo", r"correo electronico", r"nombre", r"nombres", r"apellidos?", r"telefono",
        r"movil", r"celular", r"(tu|su) direccion", r"direccion (postal|de correo|de casa)",
        r"codigo postal", r"fecha de nacimiento", r"ubicacion", r"usuario",
        r"como te llamas", r"como se llama", r"contactar(te|le)?", r"datos de contacto",
        r"iniciales", r"apodo", r"seudonimo", r"firma",
        r"direccion", r"(tu|su|numero de|datos de|informacion de) contacto", r"^contacto$",
        r"dni", r"nie", r"documento de identidad", r"pasaporte",
        r"numero de (telefono|movil|celular|documento)",
    ),
    "fr": (
        r"courriel", r"adresse", r"mel", r"nom", r"prenom", r"nom de famille", r"telephone",
        r"portable", r"code postal", r"date de naissance", r"localisation",
        r"ville de residence", r"ou habitez-vous",
        r"nom d'utilisateur", r"(vous|te) joindre", r"(vous|te) contacter", r"coordonnees",
        r"initiales", r"pseudo", r"surnom", r"qui etes-vous",
        r"identifiant", r"passeport", r"carte d'identite", r"securite sociale",
        r"numero de (telephone|portable|mobile)",
    ),
    "de": (
        r"vorname", r"nachname", r"familienname", r"telefon", r"telefonnummer", r"handy",
        r"mobilnummer", r"adresse", r"anschrift", r"postleitzahl", r"plz", r"geburtsdatum",
        r"wohnort",
        r"standort", r"benutzername", r"handynummer", r"e-?mail-?adresse", r"geburtstag",
        r"(sie|dich|euch) erreichen", r"kontaktdaten", r"wer bist du", r"wer sind sie",
        r"initialen", r"spitzname", r"unterschrift", r"in welcher stadt",
        r"strasse", r"hausnummer", r"personalausweis", r"ausweis(nummer)?", r"reisepass",
        r"matrikelnummer", r"kontakt(daten|informationen|nummer)?( angeben)?$",
        r"wie (konnen|durfen) wir (sie|dich) kontaktieren",
    ),
    "pt": (
        r"nome", r"sobrenome", r"apelido", r"telefone", r"telemovel", r"celular", r"endereco",
        r"morada", r"codigo postal", r"cep", r"data de nascimento", r"localizacao", r"usuario",
        r"utilizador", r"contactar (voce|te)", r"contatar (voce|te)", r"contato", r"iniciais",
        r"nome completo",
    ),
    "it": (
        r"nome", r"cognome", r"telefono", r"cellulare", r"indirizzo", r"data di nascita",
        r"posizione", r"nome utente", r"contattarti", r"contattarla", r"recapito", r"iniziali",
        r"soprannome",
    ),
    "nl": (
        r"naam", r"voornaam", r"achternaam", r"telefoon", r"telefoonnummer", r"mobiel",
        r"adres", r"postcode", r"geboortedatum", r"locatie", r"gebruikersnaam",
        r"(je|u) bereiken", r"contactgegevens", r"initialen", r"bijnaam",
    ),
}

# The larger patterns of this module are compiled when first used (@cache): compiled at import
# they cost 35 ms, paid by every command that imports the adapters, `hearth formats` too,
# which only lists them (docs/benchmarks.md, CLI start-up).

@cache
def _ids() -> re.Pattern[str]:
    return re.compile(_IDENTIFYING_IDS)


@cache
def _terms() -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(?:" + "|".join(
        t for terms in IDENTIFYING_TERMS.values() for t in terms) + r")(?![\w])")


# "Group name" asks for the group, not the person: the one phrase a name term may appear in.
@cache
def _group_name() -> re.Pattern[str]:
    return re.compile(
        r"(?<![\w])(?:group ?names?|names? of (?:your|the|my) group|nombre del? (?:tu |su )?grupo|"
        r"nom d[eu] (?:votre |ton )?groupe|nome d[oe]l? (?:tuo |seu |teu )?grupp?o|gruppenname|"
        r"groepsnaam)(?![\w])"
    )


def _asks_identifying(folded: str) -> bool:
    return bool(_ids().search(folded.strip()) or _terms().search(folded))


def identifying_question(text: str) -> bool:
    """True when a column id or question text asks for something that identifies a person.

    >>> identifying_question("Your e-mail (so your coach can follow up)")
    True
    >>> identifying_question("¿Cuál es tu correo electrónico?")
    True
    >>> identifying_question("What is the name of your group?")
    False
    """
    folded = " ".join(fold(str(text).replace("\ufeff", "")).replace("_", " ").split())
    if not _asks_identifying(folded):
        return False
    return _asks_identifying(_group_name().sub(" ", folded))


_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b", re.IGNORECASE)


def looks_like_a_value(text: str) -> bool:
    """True when a header label holds what a respondent typed (an email, phone, link, handle or
    IP address): a malformed export whose data row was read as a header. Such a label is never
    echoed in a message; the column is named by its position instead."""
    t = str(text)
    if email().search(t) or link().search(t) or HANDLE.search(t) or _IPV4.search(t) \
            or _IPV6.search(t):
        return True
    if platform_handle().search(t) or _spelled_phone_spans(t):
        return True
    return sum(c.isdigit() for c in t) >= MIN_PHONE_DIGITS


# --- free text ---------------------------------------------------------------------------------

_AT = r"(?:@|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*)"
_DOT = r"(?:\.|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*)"
# Written apart to slip past a filter: "ada @ example . com", "ada [@] example [.] com",
# "ada <at> example <dot> com", "jsmith42 at example.com". Spaced out, a dot is only an
# address's when a known top-level domain follows ("meet @ home. Then" stays).
_AT_APART = r"(?:\s*@\s*|\s*[\(\[\{<]\s*(?:at|@)\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT_APART = r"(?:\s*\.\s*|\s*[\(\[\{<]\s*(?:dot|\.)\s*[\)\]\}>]\s*|\s+dot\s+)"
# Mail providers people name without a domain: "jsmith42 at gmail".
_PROVIDERS = (r"g-?mail|googlemail|hotmail|outlook|yahoo|icloud|protonmail|proton|aol|gmx|"
              r"yandex|zoho|fastmail|tutanota|web\.de")
_TLDS = (
    "com|org|net|edu|gov|int|info|biz|io|co|me|app|dev|page|site|online|link|xyz|ly|gl|gg|tv|"
    "uk|ie|de|fr|es|it|nl|be|ch|at|pt|se|no|dk|fi|pl|eu|ca|us|au|nz|in|za|br|mx|ar|jp|cn|ru|"
    "social|club|blog|ai|tech|space|world|life|fun|chat|email|mail|im|to|cc"
)


@cache
def email() -> re.Pattern[str]:
    return re.compile(
        rf"[\w.!#$%&'*+/=?^`{{|}}~-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[a-z]{{2,}}\b"
        # spelled out without brackets, "jo.smith at example dot org": only with both words, so
        # "meet at the park" stays
        r"|[\w.+-]+\s+at\s+[\w-]+(?:\s+dot\s+[\w-]+)*\s+dot\s+[a-z]{2,}\b"
        rf"|[\w.+-]+{_AT_APART}[\w-]+(?:{_DOT_APART}[\w-]+)*{_DOT_APART}(?:{_TLDS})\b"
        rf"|[\w.+-]+{_AT_APART}(?:{_PROVIDERS})\b(?:{_DOT_APART}[a-z]{{2,}}\b)*",
        re.IGNORECASE,
    )


@cache
def link() -> re.Pattern[str]:
    return re.compile(
        r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+"
        rf"|\b[a-z0-9](?:[\w-]*[a-z0-9])?(?:\.[a-z0-9](?:[\w-]*[a-z0-9])?)*\.(?:{_TLDS})\b"
        r"(?:/[^\s<>\"']*)?",
        re.IGNORECASE,
    )


HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[\w.]*\w)?")
# A handle without its "@", after the platform's name: "ig: ada.okafor", "insta ada_ok",
# "my tiktok handle is sunnyday", "snap - sunny.day". After a colon, "=", "@" or "(handle|
# username|...) is" the next word is the handle whatever it looks like; otherwise it must look
# like one (a digit, a dot or an underscore inside), so "I saw it on insta and loved it" and
# "my instagram is private" stay.
_PLATFORMS = (
    r"instagram|insta|ig|twitter|tiktok|tik tok|snapchat|snap|sc|facebook|fb|messenger|discord|"
    r"telegram|tg|whatsapp|whats app|wa|signal|threads|bluesky|bsky|mastodon|linkedin|reddit|"
    r"youtube|yt|twitch|kik|wechat|weixin|skype|tumblr|pinterest|github|steam|xbox|psn|vk|line"
)
_HANDLE_WORDS = r"(?:handle|name|user ?name|account|id|user|tag|@)"


@cache
def platform_handle() -> re.Pattern[str]:
    return re.compile(
        rf"\b(?:{_PLATFORMS})\b(?:\s*/\s*(?:{_PLATFORMS}|x)\b)?"
        rf"(?:(?P<named>\s*{_HANDLE_WORDS}\s+is\b)|\s*{_HANDLE_WORDS})?"
        r"(?:(?P<said>\s*(?:[:=@/|>→~»]|->|=>|-|–|—){1,3}\s*[(\[{<]?\s*(?:@\s*)?|\s+is\s+@\s*)"
        r"|\s*[(\[{<]\s*|\s+(?:is\s+)?)"
        r"(?P<handle>[\w][\w.#-]*[\w]|[\w])",
        re.IGNORECASE,
    )


# ... or before it: "add me: sunnyday99 on discord" (looking like a handle, as above).
@cache
def handle_on_platform() -> re.Pattern[str]:
    return re.compile(
        rf"(?P<handle>(?<![\w.#-])[\w][\w.#-]*[\w])\s+(?:on|at|in|via|@)\s+(?:{_PLATFORMS})\b",
        re.IGNORECASE,
    )


# Where someone lives (red team, session 21: stored as typed and shown to the council). A
# street address: a house number, then up to four words and a street word ("12 Acacia
# Avenue", "221B Baker Street", "1600 Pennsylvania Ave NW", "12 rue de Rivoli"), or the street
# word first, then a number ("Calle Mayor 23", "Via Roma 10"), or a German street word ending
# one word ("Hauptstraße 5"). A flat or apartment number. A postcode: British ("SW1A 1AA"),
# Canadian ("M5V 3L9"), or four or five digits after a postcode word, a US state's code
# ("DC 20500") or before a capitalised place name ("10115 Berlin").
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|close|way|boulevard|blvd|place|pl|"
    r"court|ct|terrace|crescent|cres|square|sq|gardens|grove|mews|row|walk|parade|highway|hwy|"
    r"hill|park|green|rise|vale|heights"
)
_STREET_FIRST = (
    r"calle|avenida|avda|plaza|paseo|carrer|rua|travessa|via|viale|piazza|corso|rue|avenue|"
    r"boulevard|bd|chemin|allée|allee|impasse|place|quai|route"
)
_GERMAN_STREET = r"stra(?:ß|ss)e|str\.?|weg|gasse|platz|allee|ring|damm|ufer"
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)


@cache
def address() -> re.Pattern[str]:
    return re.compile(
        rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'’.-]*\s+){{1,4}}(?i:{_STREET_WORDS})\b\.?"
        r"(?:\s+(?:NE|NW|SE|SW|N|S|E|W)\b)?"
        rf"|\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_STREET_FIRST})\s+(?:(?:de|del|de la|des|du|di|da|do|dos|das)\s+)?"
        r"[A-Z][\w'’-]*"
        rf"|\b(?i:{_STREET_FIRST})\s+(?:(?:de|del|de la|des|du|di|da|do|dos|das)\s+)?"
        r"(?:[A-Z][\w'’-]*\s+){1,3}\d{1,5}[A-Za-z]?\b"
        rf"|\b[A-Z][\w'’-]*(?i:{_GERMAN_STREET})\s+\d{{1,5}}[A-Za-z]?\b"
        r"|\b(?i:flat|apt\.?|apartment|unit|suite|piso|appartement|wohnung)\s+#?\d{1,4}[A-Za-z]?\b",
    )


@cache
def postcode() -> re.Pattern[str]:
    return re.compile(
        r"\b(?i:[A-Z]{1,2}\d[A-Z\d]?[\s-]*\d[A-Z]{2})\b"
        r"|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"
        r"|\b(?i:zip|zip code|zipcode|postcode|post code|postal code|plz|cp|c\.p\.|"
        r"code postal|código postal|codigo postal|cap)(?i:\s+is)?:?\s+(?P<v>\d{4,5}(?:-\d{4})?)\b"
        rf"|\b(?:{_US_STATES})\s(?P<w>\d{{5}}(?:-\d{{4}})?)\b"
        r"|\b\d{5}(?=\s+[A-Z][a-zà-ÿ]{2,})",
    )


# An official id or a bank account with letters in it, which kept it from reading as a phone
# number ("QQ 12 34 56 C" as typed, "DNI 12345678Z" as "[phone]Z"): a British National
# Insurance number, a Spanish DNI or NIE, an IBAN, and letters-and-digits after an id word
# ("passport AB1234567").
_ID_WORDS = (
    r"passport|pasaporte|passeport|reisepass|ni|nino|national insurance|ssn|social security|"
    r"dni|nie|nif|id|id number|id no|licen[cs]e|ausweis|personalausweis|carte d'identité|"
    r"steuer-?id|tax id|nhs|nhs number|matrikelnummer"
)


@cache
def national_id() -> re.Pattern[str]:
    return re.compile(
        r"\b(?i:[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D])\b"
        r"|\b(?i:[XYZ]?\d{7,8}-?[A-Z])\b"
        r"|\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"
        rf"|\b(?i:{_ID_WORDS})(?i:\s*(?:no\.?|number|is|:))*\s+"
        r"(?P<v>(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{4,})\b",
    )


# Numbers of a region the phone library cannot know (no region configured): long digit runs.
_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{7,}\d(?!\w)")
_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
MIN_PHONE_DIGITS = 7  # shorter digit runs are counts, years and times, not phone numbers
# A token of digits and the letters O, l or I written for 0 and 1, with at least two digits
_LETTER_DIGITS = re.compile(r"\b(?=(?:[OolI]*\d){2})[\dOolI]+\b")
_DIGIT_LETTERS = str.maketrans("OolI", "0011")
# Digits written as words ("five five five, one two three four", "oh seven seven double oh
# nine"), in the languages of the label maps. A run of them (with digits, spaces and
# punctuation between) that spells MIN_PHONE_DIGITS or more digits is a phone number.
_NUMBER_WORDS: dict[str, str] = {}
for _digit, _words in enumerate((
        "zero oh o nought nil cero zéro zero null nul", "one uno un une eins um uma een",
        "two dos deux zwei dois due twee", "three tres trois drei três tre drie",
        "four cuatro quatre vier quatro quattro", "five cinco cinq fünf funf cinque vijf",
        "six seis sechs sei zes", "seven siete sept sieben sete sette zeven",
        "eight ocho huit acht oito otto", "nine nueve neuf neun nove negen")):
    for _word in _words.split():
        _NUMBER_WORDS[fold(_word)] = str(_digit)
_NUMBER_WORDS.update({"ten": "10", "hundred": "00", "thousand": "000"})
_REPEAT_WORDS = {"double": 2, "triple": 3, "doble": 2, "doppio": 2, "doppelt": 2}
_NUMBER_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_NUMBER_GAP = re.compile(r"[^\w\n]{0,3}|_")  # spaces, commas, dashes, dots between digits
_ENOUGH_DIGITS = re.compile(rf"\d(?:\D*\d){{{MIN_PHONE_DIGITS - 1}}}")

# Short words and name particles ("de", "van"): never replaced on their own, only as part of
# a member's full name.
FUNCTION_WORDS = frozenset(re.findall(r"\S+", """
a an and are as at be but by can did do does for from had has have he her him his how i if in
into is it its me my no not of on or our out she so than that the their them then there they
this to too up us was we were what when where who why with would you your yes ok
eu el la le les los las de del da di do du des dos das van von der den ten al bin ibn y e et
"""))

# Words that are also names ("Will", "May", "Grace"): a member's name that is one of these is
# replaced where it is written capitalised, as a name is; the member's full name everywhere.
COMMON_WORDS = frozenset(re.findall(r"\S+", """
will able about after again all also am any april art august autumn baker bay bell bill black bloom
bob bond brook brown can carter chance charity china christian clay cliff cole constance cook
crystal dale dash dawn day dean dell destiny dick don dusty earl easter eve faith fall far field
fisher ford fox frank free gay gene glen glory gold golden grace grant gray green grey guy hall
happy harmony hazel heather hill holly hope hunter ivy jack jade jay jean jewel joy judge june
justice king lance lane laurel lee lily long love lucky mark marsh mason max may melody mercy
miles mill miller misty moon morgan neil new north page paris park patience pearl penny pepper
pierce piper poppy price prince rain ray read reed rich river robin rock rose ruby rush rusty
sage salt sandy savannah scott sky smith snow song sonny spring stone storm summer sunny sweet
taylor terry victory violet walker ward warren wells west white win winter wood woods young
"""))


# Usual short forms of first names: a member rostered as "William Hartley" is "Bill" or "Will" in
# a comment. Short forms that are also common words ("bill", "will", "frank") are replaced only
# where written capitalised, like the COMMON_WORDS names above.
NICKNAMES: dict[str, tuple[str, ...]] = {
    name: tuple(short.split()) for name, short in (line.split(":") for line in """
abigail: abby gail|alexander: alex alec sasha sandy xander|alexandra: alex lexi sasha sandra
alfred: alf alfie fred|andrew: andy drew|anthony: tony|antonio: tony toni|barbara: barb babs
benjamin: ben benny benji|catherine: cathy kate katie cat|charles: charlie chuck chaz
christina: chris tina chrissy|christine: chris tina chrissy|christopher: chris kit topher
daniel: dan danny|daniela: dani|david: dave davy|deborah: deb debbie|dorothy: dot dottie
edward: ed eddie ted ned|eleanor: ellie nell nora|elizabeth: liz lizzie beth betty eliza libby
francis: frank fran frankie|frances: fran frankie|francisco: paco pancho frank
frederick: fred freddie|gabriel: gabe|gabriela: gabby gabi|gabriella: gabby ella
gregory: greg|guadalupe: lupe|henry: harry hank|isabel: izzy bel|isabella: izzy bella
jacob: jake|james: jim jimmy jamie|jennifer: jen jenny|jessica: jess jessie|john: jack johnny
jonathan: jon jonny|jose: pepe|joseph: joe joey|josephine: jo josie|joshua: josh
katherine: kate katie kathy kat|kathryn: kate katie kathy kat|kimberly: kim|leonard: leo len lenny
margaret: maggie meg peggy marge greta|matthew: matt|michael: mike mikey mick|nicholas: nick nicky
patricia: pat patty trish|patrick: pat paddy|peter: pete|rebecca: becky becca|richard: rick ricky rich dick
robert: bob bobby rob robbie bert|samantha: sam sammy|samuel: sam sammy|stephen: steve
steven: steve|susan: sue susie|theodore: theo ted teddy|thomas: tom tommy|timothy: tim timmy
victoria: vicky tori|william: bill billy will willy liam|zachary: zach zack
""".replace("\n", "|").strip("|").split("|"))}


@dataclass(frozen=True)
class Scrubber:
    """Replaces identifying text by placeholders. Build one per load with `for_roster`."""

    phrases: frozenset[tuple[str, ...]] = frozenset()  # folded full names, as word tuples
    words: frozenset[str] = frozenset()                # distinctive single name words
    common: frozenset[str] = frozenset()               # name words that are also common words
    region: str | None = None                          # phone region, e.g. "GB"
    longest: int = field(default=1)
    starts: frozenset[str] = frozenset()               # first words of the full names
    unspaced: re.Pattern[str] | None = None            # name words in kana, CJK or Hangul

    @classmethod
    def for_roster(cls, names: Iterable[str | None], region: str | None = None) -> Scrubber:
        """A scrubber for these rostered members' names ('First Last' or 'Last, First')."""
        phrases: set[tuple[str, ...]] = set()
        words: set[str] = set()
        common: set[str] = set()
        spellings: list[str] = []
        for name in names:
            if not name or not str(name).strip():
                continue
            text = str(name).strip()
            spellings.append(text)
            if (plain := _spelled_plain(text)) != text.lower():
                spellings.append(plain)
        for text in spellings:
            if text.count(",") == 1:  # "Last, First"
                last, first = (p.strip() for p in text.split(","))
                text = f"{first} {last}" if first and last else text
            parts = re.findall(r"\w+", fold(text))
            if not parts:
                continue
            if len(parts) > 1:
                phrases.add(tuple(parts))
                phrases.add((parts[0], parts[-1]))       # without middle names
                # written as one word, as in a handle or an address: "adaokafor",
                # "ada_okafor", "maryjanewatson"; and one word of a name without its
                # apostrophe or hyphen: "oneil" for O'Neil, "maryjane" for Mary-Jane
                chunks = ["".join(re.findall(r"\w+", c)) for c in fold(text).split()]
                for joined in ("".join(parts), "_".join(parts), parts[0] + parts[-1],
                               f"{parts[0]}_{parts[-1]}", "".join(chunks),
                               *(c for c in chunks if c not in parts)):
                    if len(joined) >= 4:
                        words.add(joined)
            for part in parts:
                if len(part) < 2 or part.isdigit() or part in FUNCTION_WORDS:
                    continue
                (common if part in COMMON_WORDS else words).add(part)
            # a first name's usual short forms ("Bill" for William, "Maggie" for Margaret)
            for nickname in NICKNAMES.get(parts[0], ()) if len(parts) > 1 else ():
                (common if nickname in COMMON_WORDS else words).add(nickname)
        longest = max((len(p) for p in phrases), default=1)
        # found anywhere, longest first (a pattern, not a loop over the roster per comment)
        unspaced = sorted((w for w in words if _unspaced().search(w)), key=lambda w: (-len(w), w))
        return cls(frozenset(phrases), frozenset(words), frozenset(common),
                   region.upper() if region else None, longest,
                   frozenset(p[0] for p in phrases),
                   re.compile("|".join(map(re.escape, unspaced))) if unspaced else None)

    def scrub(self, text: str) -> tuple[str, Counter[str]]:
        """(scrubbed text, count per placeholder kind). Order matters: an email holds what
        looks like a handle, a link and a name; a link may hold digits like a phone."""
        counts: Counter[str] = Counter()
        pieces: list[str | tuple[str]] = [_visible(unicodedata.normalize("NFC", text))]
        # A phone number before a platform's handle: in "my whatsapp is 07700 900123" the
        # handle would take "07700" and leave the rest of the number. Digits and spelled digits
        # are found in the same text: found one after the other, "0 zero zero 0 0 0 0 0 0 0"
        # lost its last seven digits to the first finder and kept "0 zero zero", too short for
        # the second.
        for kind, finder in (("email", _regex_spans(email())), ("link", _link_spans),
                             ("link", _regex_spans(HANDLE)), ("id", _value_spans(national_id())),
                             ("phone", self._all_phone_spans), ("address", _address_spans),
                             ("link", self._platform_handle_spans), ("name", self._name_spans)):
            pieces = _replace(pieces, kind, _as_ascii(finder), counts)
        return "".join(p if isinstance(p, str) else PLACEHOLDERS[p[0]] for p in pieces), counts

    def scrub_names(self, text: str) -> tuple[str, Counter[str]]:
        """`scrub` for the roster's names only: a comment stored before the roster listed
        someone is scrubbed again for their name (pipelines.ingest.load.rescrub_comments),
        the rest of it was scrubbed when it was stored."""
        counts: Counter[str] = Counter()
        pieces = _replace([_visible(unicodedata.normalize("NFC", text))], "name",
                          _as_ascii(self._name_spans), counts)
        return "".join(p if isinstance(p, str) else PLACEHOLDERS[p[0]] for p in pieces), counts

    def may_name(self, text: str) -> bool:
        """Could `text` hold one of the roster's names? Never False when `scrub_names` would
        replace one: its words (read as `scrub` reads them), each two neighbours joined (a name
        hyphenated over two lines) and each run of single letters joined ("O K A F O R"),
        looked up among the roster's name words. A set lookup per word, however long the
        roster: rescrub_comments asks it of every stored comment."""
        if self.unspaced is not None:
            return True
        plain = fold(_latin_twins(_visible(unicodedata.normalize("NFC", text))
                                  .translate(_ASCII_TWINS)))
        words = re.findall(r"[^\W\d_]+", plain)
        seen = {*words, *(a + b for a, b in zip(words, words[1:], strict=False))}
        run: list[str] = []
        for word in [*words, ""]:
            if len(word) == 1:
                run.append(word)
                continue
            if len(run) > 2:
                seen.add("".join(run))
            run = []
        # (the plurals' singular forms only for words ending in "s": set operations otherwise)
        seen |= {form for word in seen if word.endswith("s") for form in _name_forms(word)}
        return not (seen.isdisjoint(self.words) and seen.isdisjoint(self.common))

    def _platform_handle_spans(self, text: str) -> list[tuple[int, int]]:
        """Handles named by their platform (platform_handle, handle_on_platform). A handle that
        is a rostered member's name written as one word is left to the names ("[name]")."""
        spans = []
        for m in platform_handle().finditer(text):
            handle = m.group("handle")
            if fold(handle) in FUNCTION_WORDS:
                continue
            if m.group("said") or m.group("named") or re.search(r"[\d._#]", handle[1:]):
                spans.append(m.span("handle"))
        spans += [m.span("handle") for m in handle_on_platform().finditer(text)
                  if re.search(r"[\d._#]", m.group("handle")[1:])]
        return [(a, b) for a, b in _merge(spans) if fold(text[a:b]) not in self.words]

    def _all_phone_spans(self, text: str) -> list[tuple[int, int]]:
        # "O77OO 9OO461": letters O, l and I among digits read as the digits they stand for
        text = _LETTER_DIGITS.sub(lambda m: m.group().translate(_DIGIT_LETTERS), text)
        return _merge(self._phone_spans(text) + _spelled_phone_spans(text))

    def _phone_spans(self, text: str) -> list[tuple[int, int]]:
        if not _ENOUGH_DIGITS.search(text):  # most comments hold no phone-length number
            return []
        import phonenumbers  # deferred: its metadata loads slowly, and few texts need it

        spans = [
            (m.start, m.end)
            for m in phonenumbers.PhoneNumberMatcher(text, self.region,
                                                     leniency=phonenumbers.Leniency.POSSIBLE)
            if sum(c.isdigit() for c in m.raw_string) >= MIN_PHONE_DIGITS
            and not _DATE_LIKE.fullmatch(m.raw_string.strip())
        ]
        for m in _DIGIT_RUN.finditer(text):
            candidate = m.group().rstrip(" .-(")
            if sum(c.isdigit() for c in candidate) >= 9 and not _DATE_LIKE.search(candidate):
                spans.append((m.start(), m.start() + len(candidate)))
        return _merge(spans)

    def _name_spans(self, text: str) -> list[tuple[int, int]]:
        if not (self.phrases or self.words or self.common):
            return []
        folded = fold(text)
        tokens = [(m.start(), m.end(), m.group()) for m in _token().finditer(folded)]
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(tokens):
            matched = 0
            longest = min(self.longest, len(tokens) - i) if tokens[i][2] in self.starts else 1
            for n in range(longest, 1, -1):
                run = tokens[i:i + n]
                if any((*(t[2] for t in run[:-1]), last) in self.phrases
                       for last in _name_forms(run[-1][2])) and all(
                    _NAME_GAP.fullmatch(folded[a[1]:b[0]]) for a, b in zip(run, run[1:], strict=False)
                ):
                    matched = n
                    break
            if not matched:
                start, _, word = tokens[i]
                if any(form in self.words or (form in self.common
                                              and _written_as_name(text, start))
                       for form in _name_forms(word)):
                    matched = 1
            if matched:
                spans.append((tokens[i][0], tokens[i + matched - 1][1]))
                i += matched
            else:
                i += 1
        # A name spelled out one letter at a time: "O K A F O R", "a.d.a", "O-K-A-F-O-R"
        for m in _LETTER_BY_LETTER.finditer(folded):
            if any(form in self.words for form in _name_forms(re.sub(r"[\s.·-]", "", m.group()))):
                spans.append((m.start(), m.end()))
        # A name broken over two lines by a hyphen, as a word is wrapped: "Ok-\nafor"
        for m in _HYPHENATED.finditer(folded):
            if any(form in self.words for form in _name_forms(m.group(1) + m.group(2))):
                spans.append(m.span())
        # Chinese, Japanese and Korean write no space between a name and what follows it
        # ("山田さんが", "민수씨가"): a rostered name in these scripts is found anywhere.
        if self.unspaced and _unspaced().search(folded):
            spans += [(m.start(), m.end()) for m in self.unspaced.finditer(folded)]
        spans = _merge(spans)
        # "Ana Lopez" from two name words is one name, not two; "O'" or "D'" before a name word
        # is part of it ("the O'Neils").
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if prefix := _NAME_PREFIX.search(text, max(0, s - 3), s):
                s = prefix.start()
            if merged and _NAME_GAP.fullmatch(text[merged[-1][1]:s]):
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return merged


_LETTER_BY_LETTER = re.compile(r"(?<!\w)[^\W\d_](?:[ .·-][^\W\d_]){2,}(?!\w)")
_HYPHENATED = re.compile(r"([^\W\d_]+)-[ \t]*\r?\n[ \t]*([^\W\d_]+)")


def _name_forms(word: str) -> tuple[str, ...]:
    """A folded word and the names it may be the plural or possessive plural of: "okafors"
    (the Okafors, the Okafors' house: the apostrophe is not part of the word) -> "okafor",
    "joneses" -> "jones", "murphies" -> "murphy"."""
    forms = [word]
    if len(word) >= 3 and word.endswith("s"):
        forms.append(word[:-1])
        if word.endswith("es") and re.search(r"(?:s|x|z|ch|sh)es$", word):
            forms.append(word[:-2])
        if word.endswith("ies"):
            forms.append(word[:-3] + "y")
    return tuple(forms)


# Scripts written without spaces between words (kana, CJK ideographs, Hangul): a word of them
# is a token of its own, so "今日はAdaさんが" holds the token "ada".
_UNSPACED_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"


@cache
def _unspaced() -> re.Pattern[str]:
    return re.compile(f"[{_UNSPACED_CHARS}]")


@cache
def _token() -> re.Pattern[str]:
    return re.compile(f"[^\\W{_UNSPACED_CHARS}]+|[{_UNSPACED_CHARS}]+")


_NAME_GAP = re.compile(r"[\s'’-]{1,3}")  # between the words of one name: "Mary-Jane", "Ana  Lopez"
_NAME_PREFIX = re.compile(r"(?<!\w)[^\W\d_]['’]$")  # "O'", "D'" ending where a name starts


def _written_as_name(text: str, start: int) -> bool:
    """Capitalised, as a name is written ('I met Will', 'Grace said hi'; not 'I will come').
    A capitalised word opening a sentence is replaced too: it may be the name."""
    return text[start].isupper()


def _regex_spans(pattern: re.Pattern[str]):
    return lambda text: [m.span() for m in pattern.finditer(text)]


def _value_spans(pattern: re.Pattern[str]):
    """Spans of `pattern`'s matches, or of their value (group v or w) where the match is a
    word that says what follows ("zip 90210": "90210")."""
    def spans(text: str) -> list[tuple[int, int]]:
        out = []
        for m in pattern.finditer(text):
            value = next((g for g in ("v", "w") if g in pattern.groupindex and m.group(g)), None)
            out.append(m.span(value) if value else m.span())
        return out
    return spans


def _address_spans(text: str) -> list[tuple[int, int]]:
    return _merge([m.span() for m in address().finditer(text)] + _value_spans(postcode())(text))


def _link_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in link().finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)]}'\"":  # sentence punctuation
            end -= 1
        spans.append((m.start(), end))
    return spans


def _spelled_phone_spans(text: str) -> list[tuple[int, int]]:
    """Runs of digits and number words that spell a phone number (see _NUMBER_WORDS); a run of
    digits alone is the phone library's and _DIGIT_RUN's, except when joined by underscores or
    other marks they do not read (_ODD_GAP: "555_123_4567", "555 · 123 · 4567")."""
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    digits = repeat = 0
    worded = False
    previous_end = None

    def close() -> None:
        odd_gaps = any(_ODD_GAP.search(folded[a[1]:b[0]]) for a, b in zip(run, run[1:], strict=False))
        # one digit at a time, as a number is read out: "5, 5, 5, 1, 2, 3, 4, 5, 6, 7" (at
        # least 9, as _DIGIT_RUN: "I gave 5, 4, 3, 5, 4, 3, 5" is seven ratings)
        one_by_one = digits >= 9 and all(b - a == 1 for a, b in run)
        if digits >= MIN_PHONE_DIGITS and (worded or odd_gaps or one_by_one):
            spans.append((run[0][0], run[-1][1]))

    for m in _NUMBER_TOKEN.finditer(folded):
        token = m.group()
        value = token if token.isdigit() else _NUMBER_WORDS.get(token)
        joined = previous_end is not None and _NUMBER_GAP.fullmatch(folded[previous_end:m.start()])
        if value is None and token in _REPEAT_WORDS:
            if not joined:
                close()
                run, digits, worded = [], 0, False
            repeat = _REPEAT_WORDS[token]
            previous_end = m.end()
            continue
        if value is None:
            close()
            run, digits, worded, repeat, previous_end = [], 0, False, 0, None
            continue
        if not joined:
            close()
            run, digits, worded = [], 0, False
        run.append(m.span())
        digits += len(value) * max(repeat, 1)
        worded = worded or not token.isdigit()
        repeat = 0
        previous_end = m.end()
    close()
    return spans


# Marks between digit groups that the phone library and _DIGIT_RUN do not read (dates' "/" and
# times' ":" are not among them).
_ODD_GAP = re.compile(r"[_·•*|~]")


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


# Full-width letters, digits and signs ("jsmith42＠example．com"), the ideographic full stop
# ("example。com") and space read as their ASCII selves, one character for one, so what is
# found in the read text is replaced at the same places in the text as written.
_ASCII_TWINS = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
                              "\u3000": " ", "\u3002": ".", "\uff61": ".", "\ufe6b": "@"})


# Letters of other scripts drawn like Latin ones (Cyrillic "а", Greek "Ο"): "Аda Okаfor"
# reads as "Ada Okafor" but matched no rostered name. A word is read in Latin only when every
# letter of it is Latin or such a twin: a Cyrillic or Greek word of other letters stays as written.
_LATIN_TWINS = str.maketrans(dict(zip(
    "аеорсухіјѕԁһАВЕКМНОРСТХУІЈЅ"
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοικνρ",
    "aeopcyxijsdhABEKMHOPCTXYIJS" "ABEZHIKMNOPTYXoikvp", strict=True)))
_TWIN_WORD = re.compile(r"[^\W\d_]*[Α-ωЀ-ԯ][^\W\d_]*")
# Invisible characters (Unicode's format characters: zero-width space, soft hyphen, word
# joiner, direction marks) split "A​da O​kafor" for every finder and showed as "Ada
# Okafor". They are dropped from the text; a zero-width joiner or non-joiner after a letter
# outside ASCII (an emoji sequence, Persian or Indic script) is kept.
_FORMAT_CHARS = re.compile(r"[­؜᠎​-‏‪-‮⁠-⁤"
                           r"⁦-⁯﻿￹-￻]")


def _visible(text: str) -> str:
    if text.isascii():
        return text
    return _FORMAT_CHARS.sub(
        lambda m: m.group() if m.group() in "‌‍" and m.start() and not fold(
            text[m.start() - 1]).isascii() else "", text)


def _latin_twins(text: str) -> str:
    """`text` with every word written in Latin letters and their look-alikes read as Latin
    (the same length: positions carry over)."""
    if text.isascii():
        return text
    return _TWIN_WORD.sub(lambda m: t if (t := m.group().translate(_LATIN_TWINS)).isascii()
                          else m.group(), text)


def _as_ascii(finder):
    return lambda text: finder(_latin_twins(text.translate(_ASCII_TWINS)))


def _replace(pieces, kind, finder, counts):
    """Split the still-plain pieces of text at what `finder` finds, marking those spans."""
    out: list[str | tuple[str]] = []
    for piece in pieces:
        if not isinstance(piece, str) or not piece:
            out.append(piece)
            continue
        at = 0
        for start, end in finder(piece):
            if start < at or end <= start:
                continue
            out += [piece[at:start], (kind,)]
            counts[kind] += 1
            at = end
        out.append(piece[at:])
    return out


# --- the phone region --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country code, from the tz database's zone.tab."""
    text = ""
    try:
        text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        tab = Path("/usr/share/zoneinfo/zone.tab")
        text = tab.read_text(encoding="utf-8") if tab.exists() else ""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    return out


def phone_region(configured: str | None, time_zone: str) -> str | None:
    """The region whose national phone formats comments are read in: the one configured
    (program.phone_region), else the country of the program's time zone, else none (then only
    international +NN numbers and long digit runs are recognised)."""
    if configured:
        return configured.upper()
    return _zone_countries().get(time_zone)
