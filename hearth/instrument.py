"""The survey instrument: constructs, items, scale ranges, reverse keying and answer labels.

Reverse keying is read from the instrument, never inferred from an item's position.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from hearth.config import Config
from hearth.errors import ConfigError

DEFAULT_INSTRUMENT = Path(__file__).with_name("instrument.toml")
# Item ids become column names in files and in SQL; a plain lower-case name keeps them safe to
# quote and unambiguous in every export (no quotes, spaces or capitals to mangle).
ITEM_ID = re.compile(r"[a-z][a-z0-9_]*")


# Curly quotes and apostrophes (Word, Excel and phones type them) read as straight ones; zero-width
# characters and the quotes a spreadsheet may leave around a cell are not part of a label.
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u02bc": "'", "\u00b4": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                         "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": ""})


def label_key(text: str) -> str:
    """An answer label as label maps match it: Unicode-composed (NFKC: 'e' plus a combining
    accent is 'é', a no-break space a space), quotes straightened, surrounding quotes and a
    final full stop dropped, case and spacing folded. 'Strongly  AGREE.' and '“Strongly
    agree”' are 'strongly agree'; `D’accord` is `d'accord`."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES)
    t = " ".join(t.lower().split())
    while len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        t = t[1:-1].strip()
    return t[:-1].rstrip() if t.endswith(".") and not t.endswith("..") else t


@dataclass(frozen=True)
class Item:
    item_id: str
    construct: str
    position: int
    text: str
    scale_min: int
    scale_max: int
    reverse_keyed: bool
    label_map: str


@dataclass(frozen=True)
class Instrument:
    name: str
    items: tuple[Item, ...]
    labels: dict[str, dict[str, int]]  # map name -> {label_key(label): number}, all languages merged
    titles: dict[str, str]             # construct -> human title
    languages: tuple[str, ...] = ()    # languages the label maps are given in ("en", "es", ...)

    @property
    def item_ids(self) -> list[str]:
        return [i.item_id for i in self.items]

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.item_id == item_id)

    def constructs(self) -> list[str]:
        return list(dict.fromkeys(i.construct for i in self.items))

    def items_of(self, construct: str) -> list[Item]:
        return [i for i in self.items if i.construct == construct]

    def answer_value(self, item_id: str, answer: str) -> int | None:
        """The number an answer stands for: a number in range, or a known label; None otherwise."""
        item = self.item(item_id)
        text = answer.strip()
        try:
            number = float(text)
        except ValueError:
            number = self.labels.get(item.label_map, {}).get(label_key(text))
        # float() also reads "nan", "inf" and "1e309" (= inf): out of range like any other
        # bad answer, never a number (int() of them raises).
        if number is None or not math.isfinite(number) or number != int(number) \
                or not item.scale_min <= number <= item.scale_max:
            return None
        return int(number)


def load_instrument(config: Config | None = None) -> Instrument:
    path = (config.instrument_path if config else None) or DEFAULT_INSTRUMENT
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: instrument file not found; fix survey.instrument in hearth.toml") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: instrument is not valid TOML ({exc})") from None
    labels: dict[str, dict[str, int]] = {}
    extra = config.extra_labels if config else {}
    known_languages: dict[str, None] = {}
    for source in (raw.get("labels", {}), extra):
        for map_name, languages in source.items():
            merged = labels.setdefault(map_name, {})
            known_languages.update(dict.fromkeys(str(lang).lower() for lang in languages))
            for mapping in languages.values():
                merged.update({label_key(k): int(v) for k, v in mapping.items()})
    items: list[Item] = []
    titles: dict[str, str] = {}
    for construct, spec in raw.get("constructs", {}).items():
        low, high = spec["scale"]
        titles[construct] = spec.get("title", construct.replace("_", " ").capitalize())
        for position, item in enumerate(spec["items"], start=1):
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str) or not ITEM_ID.fullmatch(item_id):
                raise ConfigError(
                    f"{path}: item id {item_id!r} in construct {construct!r} is not a plain name; "
                    "use lower-case letters, digits and _ starting with a letter (e.g. bel_1)"
                )
            items.append(
                Item(
                    item_id=item_id,
                    construct=construct,
                    position=position,
                    text=item["text"],
                    scale_min=int(low),
                    scale_max=int(high),
                    reverse_keyed=bool(item.get("reverse", False)),
                    label_map=spec.get("labels", ""),
                )
            )
    if len({i.item_id for i in items}) != len(items):
        raise ConfigError(f"{path}: item ids must be unique")
    return Instrument(name=raw.get("name", "instrument"), items=tuple(items), labels=labels,
                      titles=titles, languages=tuple(known_languages))
