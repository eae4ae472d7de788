"""The install files agree: every run-time dependency of the package is pinned, and the pin satisfies it."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` for every ``name==version`` line of a requirements file."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            result[name.strip().lower().replace("_", "-")] = version.strip()
    return result


def test_runtime_dependencies_are_pinned_compatibly():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = pins(ROOT / "requirements.txt")
    for text in declared:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is a run-time dependency but not pinned in requirements.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} violates {text}"


def test_direct_pins_agree_with_constraints():
    direct, locked = pins(ROOT / "requirements.txt"), pins(ROOT / "constraints.txt")
    for name, version in direct.items():
        assert locked.get(name) == version, f"{name}: requirements.txt {version}, constraints.txt {locked.get(name)}"


def test_torch_is_pinned_exactly():
    # A looser torch spec pulls a multi-GB CUDA build on a fresh machine.
    assert pins(ROOT / "requirements.txt")["torch"] == "2.13.0"
