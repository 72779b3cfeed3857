"""Shared fixtures. Browser fixtures drive Debian's Chromium through Playwright.

Where /usr/bin/chromium is missing, browser tests skip with the install command; under CI=true
a missing browser fails instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: ignored where xdist is missing
def pytest_xdist_make_scheduler(config, log):
    """Under `pytest -n 2 --dist loadfile` (`make test`), each test module runs on one worker (its
    module fixtures are built once, and scenarios that span tests, like test_browser_cycle's,
    keep their order); the browser modules (tests/test_browser*.py) run together on one worker,
    where they share one Chromium and the session's dashboards (`shared_dashboard`), and so do
    the modules that read the same `sample_page` renders; the longest units start first.
    (`--dist loadgroup` cannot group here: pytest 9.2 ignores the node id xdist 3.8 rewrites.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from collections import OrderedDict

    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(OrderedDict):
        """The work queue, with the longest work units (STARTED_FIRST) at its front: a long unit
        handed out last would leave the other worker idle while it runs."""

        def __setitem__(self, scope, tests):
            super().__setitem__(scope, tests)
            if scope in STARTED_FIRST:
                for first in reversed(STARTED_FIRST):
                    if first in self:
                        self.move_to_end(first, last=False)

    class BrowserModulesTogether(LoadFileScheduling):
        def __init__(self, config, log=None):
            super().__init__(config, log)
            self.workqueue = LongestFirst()

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            name = Path(path).name
            if name.startswith("test_browser"):
                return "browser"
            return "sample pages" if name in SAMPLE_PAGE_MODULES else path

    return BrowserModulesTogether(config, log)


#: Modules that read the same `sample_page` renders (a worker's own cache): kept on one worker.
SAMPLE_PAGE_MODULES = {"test_dashboard_pages.py", "test_privacy_pages.py"}
#: The work units that take longest under `make test` (pytest --durations, 2026-11-30), handed
#: out first, longest first; every other module follows in xdist's order (most tests first).
STARTED_FIRST = ("browser", "sample pages")


@pytest.fixture(scope="session")
def sample_hearth_config():
    """The configuration the sample is read with."""
    return sample_config()


def sample_config():
    """The sample's own hearth.toml (it maps the sample's meeting exports to groups)."""
    from hearth.config import Config, load_config

    own = SAMPLE_DIR / "hearth.toml"
    return load_config(own) if own.exists() else Config()


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """A warehouse (and every audience's published snapshot) built from data/sample through
    `hearth ingest`. Built once per code version into the test cache (shared by xdist workers
    and by later runs, see `built_sample`) and copied into this session's own folder, so a
    test may open it, but must copy it (with its snapshots) before writing beside it."""
    built = built_sample(test_cache(tmp_path_factory))
    folder = tmp_path_factory.mktemp("sample")
    for path in built.parent.iterdir():
        if path.is_file() and path.name != "complete":
            shutil.copy2(path, folder / path.name)
    return folder / built.name


def built_sample(cache: Path) -> Path:
    """data/sample ingested (and published) into ``cache``, once per version of the code, the
    sample and this checkout; returns the warehouse's path. Never write beside it: copy it."""
    from hearth.orchestrate import ingest

    if not any(SAMPLE_DIR.glob("*.csv")):
        pytest.fail(f"{SAMPLE_DIR} holds no sample files; run `hearth synth --out data/sample`")
    # the checkout's own path too: the load manifest records where each file was read from
    key = hashlib.sha256(f"{_code_fingerprint()} {ROOT}".encode())
    for path in sorted(SAMPLE_DIR.iterdir()):
        if path.is_file():
            key.update(path.name.encode())
            key.update(path.read_bytes())

    def build(db: Path) -> None:
        summaries = ingest([SAMPLE_DIR], db=db, config=sample_config())
        assert not [s.error for s in summaries if s.error]

    return built_once(cache / f"sample-{key.hexdigest()[:16]}", build)


def built_once(folder: Path, build) -> Path:
    """``build(folder / "hearth.duckdb")`` unless a complete build is already in ``folder``,
    under the folder's lock (a build stopped half-way is started again); returns the path."""
    db = folder / "hearth.duckdb"
    with cache_lock(folder):
        if not (folder / "complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(db)
            (folder / "complete").write_text("", encoding="utf-8")
    return db


def test_cache(tmp_path_factory) -> Path:
    """Where built warehouses are kept between runs: $HEARTH_TEST_CACHE, or beside pytest's
    numbered temporary folders (the same folder for every xdist worker of a run, and for the
    next run)."""
    if os.environ.get("HEARTH_TEST_CACHE"):
        return Path(os.environ["HEARTH_TEST_CACHE"])
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # a worker's folder is popen-gwN inside the run's own folder
    return base.parent / "hearth-scale-programs"


test_cache.__test__ = False  # a helper, not a test


@contextlib.contextmanager
def cache_lock(folder: Path):
    """Hold an exclusive lock on ``folder`` (a sibling .lock file) for the block: two xdist
    workers, or two test runs, must not build the same cached warehouse at once."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory):
    """``built_warehouse(name, build) -> Path``: a private copy of a warehouse that
    ``build(db)`` builds once per session (per xdist worker) under ``name``, for tests that
    would otherwise load the same files into a fresh warehouse each. Every call returns a new
    copy in its own folder (the warehouse and whatever the build left beside it: its audiences'
    snapshots, state store and key), so the test may write to it; a DuckDB file copies in
    milliseconds where a load takes a second or more. ``name`` says what the build holds: two
    modules that build the same thing share it by using the same name and build.

    Leave the key out of the build (load no survey responses in it) when tests compare
    response ids of two warehouses: copies of one build share its key."""
    built: dict[str, Path] = {}

    def copy(name: str, build) -> Path:
        if name not in built:
            db = tmp_path_factory.mktemp(f"built-{name}") / "hearth.duckdb"
            build(db)
            built[name] = db
        source = built[name]
        folder = tmp_path_factory.mktemp(f"copy-{name}")
        for path in source.parent.iterdir():
            if path.is_file():
                shutil.copy2(path, folder / path.name)
        return folder / source.name

    return copy


@pytest.fixture(scope="session")
def sample_page(sample_warehouse):
    """``sample_page(audience, page, **state)``: a page of the sample as Streamlit's AppTest
    renders it for that audience (session state set first, as `test_dashboard_pages.app_for`
    takes it), run once per session and shared by every test that asks for the same one; each
    render is one run of the app script (`open_page`). Only read what it shows: a test that
    clicks, selects or reruns builds its own with ``open_page(app_for(monkeypatch, ...), page)``."""
    from tests.test_dashboard_pages import app_for, open_page

    rendered: dict[tuple, object] = {}

    def render(audience: str, page: str, **state):
        key = (audience, page, tuple(sorted((k, repr(v)) for k, v in state.items())))
        if key not in rendered:
            with pytest.MonkeyPatch.context() as env:  # HEARTH_DB etc. for this run only
                rendered[key] = open_page(app_for(env, sample_warehouse, audience, **state),
                                          page)
        return rendered[key]

    return render


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """A `hearth dashboard` process serving one warehouse to one audience."""

    url: str
    db: Path
    audience: str | None
    process: subprocess.Popen


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll Streamlit's health endpoint until it answers ok (or the server dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"dashboard exited with {process.returncode}:\n{out}")
        with contextlib.suppress(OSError), \
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            if reply.status == 200:
                return
        time.sleep(0.2)  # polling interval while the server starts, not a wait for the UI
    raise TimeoutError(f"{url} did not become healthy within {timeout:.0f} s")


@contextlib.contextmanager
def serve_dashboard(db: Path, audience: str | None, config: Path | None = None,
                    secrets: Path | None = None, port: int | None = None):
    """Start `hearth dashboard` on a free port; stop it (by its own pid) afterwards.
    With ``secrets`` (an [auth] section) it runs in sign-in mode and ``audience`` is None."""
    port = port or free_port()
    hearth = shutil.which("hearth", path=str(Path(sys.executable).parent)) or "hearth"
    config = config or SAMPLE_DIR / "hearth.toml"
    process = subprocess.Popen(
        [hearth, "--db", str(db), *(["--config", str(config)] if config.exists() else []),
         "dashboard", *(["--audience", audience] if audience else []), "--port", str(port),
         *(["--secrets", str(secrets)] if secrets else [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    url = f"http://localhost:{port}"
    try:
        wait_until_healthy(url, process)
        yield Served(url=url, db=db, audience=audience, process=process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)  # the group is this dashboard and its streamlit child
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="session")
def serve():
    """``with serve(db, audience) as served:`` runs `hearth dashboard` for the block."""
    return serve_dashboard


@pytest.fixture(scope="session")
def shared_dashboard():
    """``shared_dashboard(db, audience, config=None)``: `hearth dashboard` serving that
    warehouse to that audience, started on first use and shared by every test of the session that asks for
    the same (warehouse, audience, config); each start and cold first page costs seconds (tens
    at 2,000 groups). Only for tests that change nothing the server reads (no uploads, ingests
    or actions into its warehouse): those start their own with ``serve``."""
    with contextlib.ExitStack() as stack:
        servers: dict[tuple, Served] = {}

        def serving(db: Path, audience: str, config: Path | None = None) -> Served:
            key = (Path(db), audience, config and Path(config))
            if key not in servers:
                servers[key] = stack.enter_context(serve_dashboard(db, audience, config=config))
            return servers[key]

        yield serving


@pytest.fixture(scope="session")
def sample_dashboard(sample_warehouse, shared_dashboard):
    """``sample_dashboard(audience)``: the sample served to one audience (`shared_dashboard`),
    shared by every browser module."""
    return lambda audience: shared_dashboard(sample_warehouse, audience)


# --- synthetic programs at scale (issue 14): built with synth + ingest, cached by code version ---
# At 2,000 groups the build takes minutes; the cache folder is keyed by the code that decides
# what a warehouse holds (pipelines/, metrics/, hearth/), so a rerun with the same code reuses it.
# (metrics/api.py and metrics/going_well.py used to be left out as pure readers; each snapshot
# now carries page tables they compute at publish, metrics/pagedata.py, so they shape it too)
READ_ONLY: set[str] = set()


def _code_fingerprint() -> str:
    """A hash of every source file that decides what a warehouse holds (the instrument's
    definition, hearth/instrument.toml, among them)."""
    digest = hashlib.sha256()
    for folder in ("pipelines", "metrics", "hearth"):
        for path in sorted((ROOT / folder).rglob("*")):
            if str(path.relative_to(ROOT)) in READ_ONLY:
                continue
            if path.suffix in (".py", ".sql", ".toml") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_program(groups: int, cache: Path) -> Path:
    """A warehouse of ``groups`` synthetic groups (about 10 members each, three quarters),
    built once per code version under ``cache``; returns the warehouse's path."""
    from hearth.config import load_config
    from hearth.orchestrate import ingest
    from pipelines.synth import synthesize

    def build(db: Path) -> None:
        folder = db.parent
        (folder / "hearth.toml").write_text('[program]\nname = "Synthetic program"\n',
                                            encoding="utf-8")
        synthesize(folder / "data", members=groups * 10, groups=groups, quarters=3, seed=14)
        summaries = ingest([folder / "data"], db=db, config=load_config(folder / "hearth.toml"))
        assert not [s.error for s in summaries if s.error]

    return built_once(cache / f"program-{groups}-{_code_fingerprint()}", build)


@pytest.fixture(scope="session")
def synthetic_program(tmp_path_factory):
    """``synthetic_program(groups)``: a synthetic program's warehouse of that size, built on
    first use and shared by every test module (tests must not write beside it)."""
    cache = test_cache(tmp_path_factory)
    built: dict[int, Path] = {}

    def program(groups: int) -> Path:
        if groups not in built:
            built[groups] = build_program(groups, cache)
        return built[groups]

    return program


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium; skips (or, under CI=true, fails) when it is not installed."""
    if not Path(CHROMIUM).exists():
        message = (f"Chromium not found at {CHROMIUM}; install it with "
                   "`apt-get install -y chromium` to run the browser tests")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- sign-in: who is who in the sample program ------------------------------------------------

#: Roles for the sample community. Isaac Boateng coaches g01-g05 and is mapped by email; Oscar
#: Quinn (g06-g10) is matched by the name he signs in with; anyone at council.example.org sits on
#: the council; nobody else has a role.
ACCESS_TOML = """
[access]
leads = ["lead@example.org"]
council = ["@council.example.org"]
coaches = ["isaac@example.org", "oscar@example.org"]
contact = "Lena Lead (lead@example.org)"

[access.coach_names]
"isaac@example.org" = "Isaac Boateng"
"""

#: The people who sign in: ID-token claims as a provider sends them.
PEOPLE = {
    "lead": {"sub": "lead", "email": "lead@example.org", "name": "Lena Lead",
             "email_verified": True},
    "council": {"sub": "council", "email": "cora@council.example.org", "name": "Cora Council",
                "email_verified": True},
    "coach_a": {"sub": "coach_a", "email": "isaac@example.org", "name": "Isaac B.",
                "email_verified": True},
    "coach_b": {"sub": "coach_b", "email": "oscar@example.org", "name": "Oscar Quinn",
                "email_verified": True},
    "unknown": {"sub": "unknown", "email": "someone@elsewhere.example.com", "name": "Sam Else",
                "email_verified": True},
}
COACH_GROUPS = {"coach_a": {"g01", "g02", "g03", "g04", "g05"},
                "coach_b": {"g06", "g07", "g08", "g09", "g10"}}


@pytest.fixture(scope="session")
def access_config(tmp_path_factory) -> Path:
    """The sample's hearth.toml with the [access] roles above."""
    return write_access_config(tmp_path_factory.mktemp("access"), ACCESS_TOML)


def write_access_config(folder: Path, access_toml: str) -> Path:
    """folder/hearth.toml: the sample's own settings plus an [access] section."""
    path = folder / "hearth.toml"
    own = SAMPLE_DIR / "hearth.toml"
    base = own.read_text(encoding="utf-8") if own.exists() else ""
    path.write_text(base + access_toml, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def provider():
    """A local OpenID provider that knows the people in PEOPLE (any client id and secret
    work); its URL."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=p["sub"], claims={k: v for k, v in p.items() if k != "sub"})
             for p in PEOPLE.values()]
    with run_server_in_thread(port=free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


def auth_secrets(folder: Path, provider: str, port: int) -> Path:
    """folder/secrets.toml: an [auth] section for a dashboard on `port` signing in at
    `provider`. Everything is on `localhost` (a redirect to 127.0.0.1 would come back
    signed out)."""
    import secrets

    path = folder / "secrets.toml"
    path.write_text(f"""[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "hearth-test"
client_secret = "{secrets.token_hex(8)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""", encoding="utf-8")
    return path


def sample_members_by_group() -> dict[str, set[str]]:
    """group_id -> the names of the sample's members in it (data/sample/members.csv)."""
    import csv

    groups: dict[str, set[str]] = {}
    with (SAMPLE_DIR / "members.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault(row["group_id"], set()).add(row["name"])
    return groups


@pytest.fixture(scope="session")
def story_community(tmp_path_factory):
    """``story_community(settings)``: a community of tests/story_sweep.py with its stories
    planted, loaded once per version of the code and the planters (shared by every module and
    xdist worker, like synthetic_program), read back as the checker reads it."""
    from tests import story_sweep

    cache = test_cache(tmp_path_factory)
    planters = hashlib.sha256(b"".join(
        (ROOT / "tests" / name).read_bytes() for name in ("planted_stories.py",
                                                          "story_sweep.py"))).hexdigest()[:12]

    def community(settings):
        name = f"story-{settings.seed}-{settings.groups}-{_code_fingerprint()}-{planters}"
        db = built_once(cache / name, lambda db: story_sweep.load(db, settings))
        return story_sweep.read(db, settings)

    return community
