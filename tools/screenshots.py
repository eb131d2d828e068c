"""Screenshots of the family pages for the docs (``make screenshots``).

Builds the demo household (``manage.py demo``) in a throw-away SQLite database, serves
it with ``runserver`` on a free port, signs in as the demo owner with Debian's Chromium
and saves full-page PNGs into docs/screenshots/: the dashboard and the history, on a
375 px phone and on a 1280 px desktop.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERNAME, PASSWORD = "marie", "demo-marie"  # the demo household's owner
VIEWPORTS = {
    "phone": {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1},
}
PAGES = {"dashboard": "/", "history": "/history/"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"runserver stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(url + "/accounts/login/", timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"runserver did not answer at {url} within {timeout:.0f} s")


def shoot(base_url: str) -> list[Path]:
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for device, options in VIEWPORTS.items():
            context = browser.new_context(
                locale="en-GB", color_scheme="light", reduced_motion="reduce", **options
            )
            page = context.new_page()
            page.goto(base_url + "/accounts/login/")
            page.get_by_label("Username").fill(USERNAME)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_test_id("sign-in").click()
            page.wait_for_url(base_url + "/")
            for name, path in PAGES.items():
                page.goto(base_url + path)
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate("document.documentElement.scrollWidth")
                width = options["viewport"]["width"]
                if overflow > width:
                    print(f"warning: {name} is {overflow} px wide on a {width} px {device}")
                target = OUT / f"{name}-{device}.png"
                page.screenshot(path=target, full_page=True, animations="disabled", caret="hide")
                saved.append(target)
            if device == "desktop":  # the owner's admin, for the README
                page.goto(base_url + "/admin/")
                page.wait_for_load_state("networkidle")
                target = OUT / "admin-index.png"
                page.screenshot(path=target, animations="disabled", caret="hide")
                saved.append(target)
            context.close()
        browser.close()
    return saved


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="datapool-screenshots-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp}/datapool.sqlite3",
            "LOG_LEVEL": "WARNING",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        run = {"env": env, "cwd": ROOT, "check": True}
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], **run)  # noqa: S603
        subprocess.run([*manage, "demo"], stdout=subprocess.DEVNULL, **run)  # noqa: S603
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with open(Path(tmp) / "runserver.log", "w") as log:
            server = subprocess.Popen(  # noqa: S603
                [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until_up(base_url, server)
                saved = shoot(base_url)
            finally:
                server.terminate()
                server.wait(timeout=10)
    for path in saved:
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
