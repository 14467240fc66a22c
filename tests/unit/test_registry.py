"""Backends are built with their declared options; outsiders join through entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from bridge.config import ScoreOptions
from bridge.errors import BackendUnavailableError, InvalidOptionError
from bridge.registry import OptionSpec, Registry, parse_bool, parse_choice, parse_number


class Echo:
    """Returns its options."""

    def __init__(self, *, steps: int, fast: bool, label: str | None) -> None:
        self.options = {"steps": steps, "fast": fast, "label": label}


def echo_registry() -> Registry:
    registry = Registry("thing")
    registry.register("echo", options=(
        OptionSpec("steps", "how many steps", 4, int),
        OptionSpec("fast", "cut corners", False, parse_bool),
        OptionSpec("label", "a name"),
    ))(Echo)
    registry.register("never", check=lambda: "needs a quantum computer")(Echo)
    return registry


def test_create_parses_strings_and_fills_defaults():
    made = echo_registry().create("echo", steps="12", fast="yes")
    assert made.options == {"steps": 12, "fast": True, "label": None}


def test_bad_options_name_the_field():
    registry = echo_registry()
    with pytest.raises(InvalidOptionError) as unknown:
        registry.create("echo", stpes="3")
    assert unknown.value.field == "backend_options.stpes"
    assert "steps, fast, label" in str(unknown.value)
    with pytest.raises(InvalidOptionError) as bad:
        registry.create("echo", steps="many")
    assert bad.value.field == "backend_options.steps" and "'many'" in str(bad.value)
    with pytest.raises(InvalidOptionError, match="unknown thing 'nope'"):
        registry.create("nope")
    with pytest.raises(BackendUnavailableError, match="quantum"):
        registry.create("never")


def test_availability_lists_options_and_a_description():
    entries = {a.name: a for a in echo_registry().availability()}
    assert [o.name for o in entries["echo"].options] == ["steps", "fast", "label"]
    assert entries["echo"].description == "Returns its options."
    assert not entries["never"].available and "quantum" in entries["never"].reason


def _install_plugin(folder: Path, *, group: str, body: str) -> None:
    """A real installed distribution (dist-info with entry_points.txt) on sys.path."""
    (folder / "sb_plugin.py").write_text(textwrap.dedent(body))
    info = folder / "sb_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sb-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nplugged = sb_plugin:register\n")


def test_entry_point_backends_register_without_editing_bridge(tmp_path, monkeypatch):
    _install_plugin(tmp_path, group="test.things", body='''
        from bridge.registry import OptionSpec

        class Plugged:
            """A backend from another package."""

            def __init__(self, *, depth):
                self.depth = depth

        def register(registry):
            registry.register("plugged", options=(OptionSpec("depth", "d", 1, int),))(Plugged)
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sb_plugin", raising=False)
    registry = Registry("thing", entry_point_group="test.things")
    assert registry.names() == ["plugged"]
    assert registry.create("plugged", depth="7").depth == 7


def test_a_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    _install_plugin(tmp_path, group="test.broken", body="raise RuntimeError('half installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sb_plugin", raising=False)
    registry = Registry("thing", entry_point_group="test.broken")
    registry.register("builtin")(Echo)
    entries = {a.name: a for a in registry.availability()}
    assert entries["builtin"].available
    assert not entries["plugged"].available and "half installed" in entries["plugged"].reason
    with pytest.raises(BackendUnavailableError, match="half installed"):
        registry.create("plugged")


def test_backend_options_route_to_the_backend_that_declares_them():
    from bridge.pipeline import backend_options

    font = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    split = backend_options(ScoreOptions(backend_options={"soundfont": font}).validated())
    assert split == {"affect": {}, "music": {"soundfont": font}}
    split = backend_options(ScoreOptions(backend_options={"music.soundfont": font}))
    assert split["music"] == {"soundfont": font}
    with pytest.raises(InvalidOptionError) as typo:
        backend_options(ScoreOptions(backend_options={"sound_font": font}))
    assert typo.value.field == "backend_options.sound_font"
    with pytest.raises(InvalidOptionError) as wrong_kind:
        backend_options(ScoreOptions(backend_options={"affect.soundfont": font}))
    assert wrong_kind.value.field == "backend_options.soundfont"
    with pytest.raises(InvalidOptionError, match=r"affect\.KEY or music\.KEY"):
        ScoreOptions(backend_options={"video.x": "1"}).validated()


def test_options_stay_frozen():
    options = ScoreOptions(backend_options={"a": "1"})
    with pytest.raises(TypeError):
        options.backend_options["a"] = "2"  # type: ignore[index]
    assert options.with_(seed=3).backend_options == {"a": "1"}


def test_number_and_choice_parsers_hold_their_bounds():
    positive, whole = parse_number(float, above=0), parse_number(int, at_least=1)
    assert positive("0.5") == 0.5 and whole("3") == 3
    for parse, text, why in [(positive, "0", "> 0"), (whole, "0", "whole number >= 1"),
                             (whole, "1.5", "invalid literal")]:
        with pytest.raises(ValueError, match=why):
            parse(text)
    dtype = parse_choice("float32", "bfloat16")
    assert dtype("bfloat16") == "bfloat16"
    with pytest.raises(ValueError, match="must be one of float32, bfloat16"):
        dtype("int8")
