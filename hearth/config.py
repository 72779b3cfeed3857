"""The program's configuration: one loader, one frozen object passed to everything.

Looked up in this order: an explicit path (`--config`), `$HEARTH_CONFIG`, `./hearth.toml`.
Without a file, the defaults below describe a calendar-quarter program in UTC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from hearth.access import AccessRules, parse_access
from hearth.errors import ConfigError

MIN_ALLOWED_K = 3  # the anonymity threshold may be raised, never lowered below this
#: Comments may be held to more responses, never fewer: a comment's wording can tell its
#: writer among a few people where a score cannot (BRIEF: comments need 10).
MIN_ALLOWED_COMMENTS = 10


@dataclass(frozen=True)
class Config:
    program_name: str = "Hearth program"
    time_zone: str = "UTC"
    phone_region: str | None = None  # ISO country whose phone formats comments use (default: the zone's)
    fiscal_year_start_month: int = 1
    min_responses: int = 5      # k: survey figures for fewer responses are suppressed
    min_comments: int = 10      # free-text comments need more responses still
    pool_quarters: bool = False  # show small groups by pooling two consecutive quarters
    meetings: dict[str, str] = field(default_factory=dict)   # meeting id or title -> group_id
    question_aliases: dict[str, str] = field(default_factory=dict)  # question text -> item id
    extra_labels: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    instrument_path: Path | None = None
    access: AccessRules = field(default_factory=AccessRules)  # [access]: who has which role
    source: Path | None = None  # the file this came from, if any
    # Dashboard uploads ([uploads]): the largest file accepted, and the memory and time the
    # child process that loads them may use before it is stopped.
    upload_max_mb: int = 50
    upload_memory_mb: int = 4096
    upload_time_limit_s: int = 900

    def group_for_meeting(self, *keys: str | None) -> str | None:
        """The group a meeting belongs to, by meeting id first, then by title (case-insensitive)."""
        lowered = {k.strip().lower(): v for k, v in self.meetings.items()}
        for key in keys:
            if key and key.strip().lower() in lowered:
                return lowered[key.strip().lower()]
            if key and key.replace(" ", "").lower() in lowered:  # Zoom ids print as "845 1234 5678"
                return lowered[key.replace(" ", "").lower()]
        return None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read hearth.toml (or the defaults when there is none)."""
    explicit = path or os.environ.get("HEARTH_CONFIG")
    candidate = Path(explicit) if explicit else Path("hearth.toml")
    if not candidate.exists():
        if explicit:
            raise ConfigError(f"{candidate}: configuration file not found; run `hearth init` to write one")
        return Config()
    # Imported here, where a file is read: every `hearth` command imports this module, and
    # `status`, `flags` and `--help` read no configuration (the two cost them 5-9 ms of their
    # start-up, docs/benchmarks.md, CLI start-up).
    import tomllib
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        raw = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{candidate}: not valid TOML ({exc}); fix the line named or run `hearth init`") from None
    program = raw.get("program", {})
    anonymity = raw.get("anonymity", {})
    survey = raw.get("survey", {})
    k = int(anonymity.get("min_responses", 5))
    if k < MIN_ALLOWED_K:
        raise ConfigError(
            f"{candidate}: anonymity.min_responses = {k} is below {MIN_ALLOWED_K}; "
            f"Hearth never shows survey figures for fewer than {MIN_ALLOWED_K} responses"
        )
    min_comments = int(anonymity.get("min_comments", MIN_ALLOWED_COMMENTS))
    if min_comments < MIN_ALLOWED_COMMENTS:
        raise ConfigError(
            f"{candidate}: anonymity.min_comments = {min_comments} is below "
            f"{MIN_ALLOWED_COMMENTS}; Hearth never shows comments of fewer than "
            f"{MIN_ALLOWED_COMMENTS} responses (raise it or remove the line)"
        )
    tz = str(program.get("time_zone", "UTC"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{candidate}: program.time_zone {tz!r} is not an IANA time zone (e.g. Europe/London)") from None
    month = int(program.get("fiscal_year_start_month", 1))
    if not 1 <= month <= 12:
        raise ConfigError(f"{candidate}: program.fiscal_year_start_month must be 1-12, not {month}")
    region = program.get("phone_region")
    if region is not None and not (isinstance(region, str) and len(region) == 2 and region.isalpha()):
        raise ConfigError(
            f"{candidate}: program.phone_region {region!r} is not a two-letter country code (e.g. GB)"
        )
    instrument = survey.get("instrument")
    uploads = raw.get("uploads", {})
    limits = {}
    for key, low, high in (("max_size_mb", 1, 2048), ("memory_limit_mb", 512, 1 << 20),
                           ("time_limit_seconds", 10, 86_400)):
        value = uploads.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not low <= value <= high):
            raise ConfigError(f"{candidate}: uploads.{key} = {value!r} must be a whole number "
                              f"from {low} to {high}")
        limits[key] = value
    return Config(
        program_name=str(program.get("name", "Hearth program")),
        time_zone=tz,
        phone_region=region.upper() if region else None,
        fiscal_year_start_month=month,
        min_responses=k,
        min_comments=max(min_comments, k),
        pool_quarters=bool(anonymity.get("pool_quarters", False)),
        meetings={str(key): str(v) for key, v in raw.get("meetings", {}).items()},
        question_aliases={str(key): str(v) for key, v in survey.get("aliases", {}).items()},
        extra_labels=raw.get("labels", {}),
        instrument_path=(candidate.parent / instrument) if instrument else None,
        access=parse_access(raw.get("access"), candidate),
        source=candidate,
        upload_max_mb=limits["max_size_mb"] or Config.upload_max_mb,
        upload_memory_mb=limits["memory_limit_mb"] or Config.upload_memory_mb,
        upload_time_limit_s=limits["time_limit_seconds"] or Config.upload_time_limit_s,
    )


CONFIG_TEMPLATE = """\
# hearth.toml - how Hearth reads your program's files. Every key is optional.

[program]
name = "{name}"
# Times in exports that carry no zone (Zoom, Teams, Meet) are read in this zone.
time_zone = "{time_zone}"
# Phone numbers written in survey comments are recognised (and scrubbed) in this country's
# formats; by default the country of time_zone.
# phone_region = "GB"
# Quarters are calendar quarters; set 4 for a fiscal year starting in April.
fiscal_year_start_month = 1

[anonymity]
# Survey figures for fewer responses than this are suppressed (never below 3).
min_responses = 5
# Free-text comments are shown only for units with at least this many responses (never
# below 10).
min_comments = 10
# Show small groups by pooling two consecutive quarters (labelled as pooled).
pool_quarters = false

# Which group a meeting belongs to: meeting id (digits, spaces ignored) or exact title.
[meetings]
# "845 1234 5678" = "g01"
# "Tuesday Evening Circle" = "g02"

[survey]
# instrument = "instrument.toml"   # your own instrument; Hearth's default is used otherwise

# Question text in your survey tool -> item id in the instrument, where the wording differs.
[survey.aliases]
# "I feel like I belong here" = "bel_1"

# Who may sign in and see what (only with sign-in configured; see docs/deploy.md).
# Entries are emails or "@domain" (everyone at that domain).
[access]
# leads = ["you@example.org"]          # the data steward(s): everything, including uploads
# council = ["@council.example.org"]   # the advisory council: aggregates only
# coaches = ["coach@example.org"]      # member-level views of the groups they coach
# contact = "you@example.org"          # whom people without a role should ask

# A coach's groups are those whose `coach` field is their name; name them here when the name
# they sign in with differs (or give their group ids in [access.coach_groups]).
[access.coach_names]
# "coach@example.org" = "Isaac Boateng"

[uploads]
# Files uploaded on the dashboard's Data page (by the program lead) are loaded in a separate
# process that is stopped when it needs more memory or time than this; the server stays up.
max_size_mb = 50
memory_limit_mb = 4096
time_limit_seconds = 900

# Answer labels in other languages: [labels.<map>.<language>] with map agree5, agree7 or lonely3.
# [labels.agree5.es]
# "muy en desacuerdo" = 1
# "muy de acuerdo" = 5
"""
