"""A real installed third-party plugin package: listed by ``papi-cancel-all --plugins``, loaded by ``extend()``,
and left out under ``PAPI_PLUGIN_DISABLE_AUTOLOAD=1`` (the built-in adapter stays)."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from papi_plugin import plugins

PLUGIN = """
import papi_plugin


@papi_plugin.hookimpl
def register_capabilities(exchange):
    return {"example_ping": lambda: "pong"}
"""

BAD_PLUGIN = """
import papi_plugin


@papi_plugin.hookimpl
def margin_orders_canceled(exchange, symbol, orderz):
    pass
"""

USE = (
    "import ccxt, papi_plugin; exchange = papi_plugin.extend(ccxt.binance());"
    "print(hasattr(exchange, 'example_ping'), exchange.has.get('cancelAllMarginOrders'))"
)


def install(site: pathlib.Path, name: str, version: str, source: str) -> None:
    """An installed distribution as importlib.metadata sees one: its module and its dist-info."""
    module = name.replace("-", "_")
    (site / f"{module}.py").write_text(source)
    dist_info = site / f"{module}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist_info / "entry_points.txt").write_text(f"[papi_plugin]\n{name.split('-')[-1]} = {module}\n")


@pytest.fixture
def site(tmp_path: pathlib.Path) -> pathlib.Path:
    install(tmp_path, "papi-example", "1.2.3", PLUGIN)
    return tmp_path


def run(site: pathlib.Path, *args: str, disabled: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop("PAPI_PLUGIN_DISABLE_AUTOLOAD", None)
    if disabled:
        env["PAPI_PLUGIN_DISABLE_AUTOLOAD"] = "1"
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=60, check=True)


def test_installed_plugins_are_listed_with_their_versions(site: pathlib.Path) -> None:
    lines = run(site, "-m", "papi_plugin.cli", "--plugins").stdout.splitlines()
    assert "example  papi-example 1.2.3  loaded" in lines
    assert any(line.startswith("binance_portfolio_margin  papi_plugin") and "loaded" in line for line in lines)


def test_an_installed_plugin_adds_its_capability(site: pathlib.Path) -> None:
    assert run(site, "-c", USE).stdout.split() == ["True", "True"]


def test_autoload_can_be_switched_off_and_the_built_in_adapter_stays(site: pathlib.Path) -> None:
    assert run(site, "-c", USE, disabled=True).stdout.split() == ["False", "True"]
    lines = run(site, "-m", "papi_plugin.cli", "--plugins", disabled=True).stdout.splitlines()
    assert "example  papi-example 1.2.3  not loaded (PAPI_PLUGIN_DISABLE_AUTOLOAD is set)" in lines


def test_a_broken_installed_plugin_is_left_out_and_the_kill_switch_still_works(site: pathlib.Path) -> None:
    install(site, "papi-broken", "0.1", BAD_PLUGIN)
    done = run(site, "-c", USE)
    assert done.stdout.split() == ["True", "True"]
    lines = run(site, "-m", "papi_plugin.cli", "--plugins").stdout.splitlines()
    assert "broken  papi-broken 0.1  refused (see the log)" in lines


def test_entry_points_are_those_importlib_metadata_selects(tmp_path: pathlib.Path, monkeypatch: Any) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        install(folder, "papi-example", "1.2.3", PLUGIN)  # one package on two paths: the first counts
    install(second, "papi-other", "0.1", PLUGIN)
    elsewhere = second / "unrelated-1.0.dist-info"
    elsewhere.mkdir()
    (elsewhere / "METADATA").write_text("Metadata-Version: 2.1\nName: unrelated\nVersion: 1.0\n")
    (elsewhere / "entry_points.txt").write_text("[console_scripts]\nunrelated = unrelated:main\n")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))

    def described(found: Any) -> list[tuple[str, str, str, str]]:
        return [(e.name, e.value, e.dist.name if e.dist else "", str(e.dist._path.parent)) for e in found]

    ours = described(plugins.entry_points("papi_plugin"))
    assert ours == described(importlib.metadata.entry_points(group="papi_plugin"))
    assert [(name, where) for name, _, _, where in ours if name in ("example", "other")] == [
        ("example", str(first)),
        ("other", str(second)),
    ]
