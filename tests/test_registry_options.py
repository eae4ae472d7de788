"""Registry arms carry only options their model takes (issue 21, item 1): checked when an arm is
built, and every tier of every experiment is built when the registry is imported."""

import json
from pathlib import Path

import pytest

from mlmath.experiments import registry
from mlmath.experiments.registry import EXPERIMENTS, Arm
from mlmath.models import MODELS, check_options
from mlmath.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def test_every_registered_arm_takes_only_its_models_options():
    seen = 0
    for experiment in EXPERIMENTS.values():
        for tier in experiment.tiers:
            for arm in experiment.config(tier).arms:
                assert arm.model in MODELS
                check_options(arm.model, arm.model_options)
                seen += 1
    assert seen >= 20


def test_a_misspelled_or_foreign_option_fails_when_the_arm_is_built():
    with pytest.raises(TypeError, match="tau_int"):
        Arm("typo", "DiagGate", TrainConfig(steps=1), (("tau_int", 80.0),))
    with pytest.raises(TypeError, match="'s'"):
        Arm("foreign", "DiagGate", TrainConfig(steps=1), (("s", 0.01),))
    with pytest.raises(ValueError, match="name must be one of"):
        Arm("unknown", "Transformer", TrainConfig(steps=1))
    Arm("fine", "ConstGate", TrainConfig(steps=1), (("s", 0.01), ("recurrence", "autograd")))


def test_registry_validation_builds_every_tier(monkeypatch):
    # the check that runs at import: a maker that builds a bad arm in any tier fails it
    def bad(tier):
        return Arm("typo", "SharedGate", TrainConfig(steps=1), (("tau_int", 1.0),))

    broken = registry.Experiment("broken", 9, "a typo", bad, tiers=("reference",))
    monkeypatch.setitem(EXPERIMENTS, "broken", broken)
    with pytest.raises(TypeError, match="tau_int"):
        registry._validate_registry()


def test_no_stored_arm_used_an_option_its_model_ignores():
    stored = sorted((ROOT / "results").glob("*/*.json"))
    assert stored
    for path in stored:
        for arm in json.loads(path.read_text())["config"]["arms"]:
            check_options(arm["model"], arm["model_options"])
