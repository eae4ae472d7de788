"""Tests of mlmath.experiments: CLI, result schema and provenance, resume (also after a kill
mid-arm), determinism, atomic writes, errors."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mlmath.diagnostics import PHASES
from mlmath.experiments import (
    EXPERIMENTS,
    best_result,
    engine,
    get_config,
    load_result,
    provenance_markdown,
    run_experiment,
)
from mlmath.experiments.__main__ import main
from mlmath.experiments.analysis import (
    log_timescale_from_target,
    predicted_beta,
    push_bound,
    push_statistics,
)
from mlmath.experiments.registry import PAPER_SCALE, STATIONARITY_STEPS, TIERS
from mlmath.experiments.relabel import relabel_payload
from mlmath.experiments.results import ARM_KEYS, PROVENANCE_KEYS, validate_result
from mlmath.models import build_model
from mlmath.process import beta_exponential_pushes

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def test_list_via_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "mlmath.experiments", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    for name in ("apparatus", "negative_control", "access_route", "forcing"):
        assert name in out.stdout


def test_registry_tiers_are_data():
    for name, experiment in EXPERIMENTS.items():
        ci, full = experiment.config("ci"), experiment.config("full")
        assert ci.tier == "ci" and full.tier == "full" and ci.name == full.name == name
        assert len(full.seeds) >= 5 and full.hidden_size <= PAPER_SCALE["hidden_size"]
        assert full.length <= PAPER_SCALE["length"] and full.lag_range[1] < full.length
        assert ci.lag_range[1] < ci.length and ci.window[1] < ci.length
        for arm in ci.arms + full.arms:
            assert arm.train.length == (ci if arm in ci.arms else full).length
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_config("forcing", "ci").seeds = (1,)  # frozen


@pytest.mark.parametrize(
    "path", sorted((ROOT / "results").glob("*/*.json")), ids=lambda path: path.stem
)
def test_stored_results_were_made_by_the_registered_configuration(path):
    """Each stored result's configuration is what the registry gives for its tier today (as JSON
    data): a training option added later and left at its default (TrainConfig.as_dict) changes
    neither the stored configuration nor config_hash, which finished checkpoints are matched by."""
    stored = json.loads(path.read_text())
    config = get_config(stored["experiment"], stored["tier"])
    assert stored["config"] == engine.config_dict(config)
    for arm, record in zip(config.arms, stored["config"]["arms"]):  # written only where used
        assert ("timescale_lr" in record["train"]) == (arm.train.timescale_lr is not None)


def _tiny_run(tmp_path, name="negative_control", argv_extra=()):
    code = main(
        [
            "run",
            name,
            "--tier",
            "ci",
            "--tiny",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
            "--no-progress",
            *argv_extra,
        ]
    )
    assert code == 0
    return json.loads((tmp_path / "tiny" / f"{name}.json").read_text())  # OUT/TIER/NAME.json


def test_run_writes_exact_schema_and_provenance(tmp_path):
    result = _tiny_run(tmp_path)
    tmp_path = tmp_path / "tiny"  # --out OUT writes OUT/TIER/
    assert list(result) == ["experiment", "tier", "provenance", "config", "summary"]
    assert result["experiment"] == "negative_control" and result["tier"] == "tiny"
    assert list(result["provenance"]) == list(PROVENANCE_KEYS)
    p = result["provenance"]
    assert (
        p["torch"] == torch.__version__ and p["device"].startswith("cpu") and p["seeds"] == [0, 1]
    )
    assert p["wall_seconds"] > 0 and p["date"].startswith("20")
    assert set(result["summary"]["phases"]) == {"const", "const_forced"}
    assert all(label in PHASES for label in result["summary"]["phases"].values())
    assert result["config"]["arms"][1]["train"]["forcing_alpha"] == 1.5
    for arm in result["summary"]["arms"].values():
        assert set(ARM_KEYS) <= set(arm)
        q = arm["provenance"]
        assert (
            q["device"] == p["device"] and q["torch"] == p["torch"] and q["commit"] == p["commit"]
        )
        assert q["wall_seconds"] == arm["seconds"] > 0 and q["date"].startswith("20")
        assert [s["steps"] for s in q["segments"]] == [[0, 3]]  # one invocation trained all 3 steps
    assert p["wall_seconds"] == pytest.approx(
        sum(a["seconds"] for a in result["summary"]["arms"].values()), abs=0.011
    )
    validate_result(result)
    # a live run labels each seed exactly as a relabelling of its stored arrays does
    with np.load(tmp_path / "negative_control.npz", allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    relabelled = relabel_payload(result, arrays)["summary"]["arms"]
    for name, arm in result["summary"]["arms"].items():
        for stage in ("init", "trained"):
            for key in (
                "phases",
                "horizon_class",
                "rate_ratio",
                "efolds",
                "n_censored",
                "beta_low",
            ):
                assert relabelled[name][stage][key] == arm[stage][key], (name, stage, key)
    assert load_result("negative_control", tmp_path, tier="tiny").summary == result["summary"]
    with np.load(tmp_path / "negative_control.npz", allow_pickle=False) as arrays:
        assert arrays["const__taus"].shape == (2, 32)
        assert arrays["const__loss"].shape == (3, 2)
    # strict JSON: no NaN/Infinity tokens
    json.loads(
        (tmp_path / "negative_control.json").read_text(), parse_constant=lambda c: pytest.fail(c)
    )
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    # finished arms are checkpointed; their in-arm checkpoints are gone
    folder = tmp_path / ".checkpoints" / "negative_control-tiny"
    assert sorted(p.name for p in folder.iterdir()) == [
        "const.json",
        "const.npz",
        "const_forced.json",
        "const_forced.npz",
    ]


def test_resume_after_interruption_does_not_recompute_finished_arms(tmp_path, monkeypatch):
    tmp_path = (
        tmp_path / "tiny"
    )  # the folder of the command line's --out tmp_path.parent (OUT/TIER/)
    config = get_config("negative_control", "ci").tiny()
    calls = []
    real = engine.run_arm

    def interrupted(cfg, arm, device, progress=None, **options):
        calls.append(arm.name)
        if arm.name == "const_forced":
            raise KeyboardInterrupt  # the run dies during the second arm
        return real(cfg, arm, device, progress, **options)

    monkeypatch.setattr(engine, "run_arm", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("negative_control", "ci", "cpu", tmp_path, progress=False, config=config)
    assert calls == ["const", "const_forced"]
    assert (tmp_path / ".checkpoints" / "negative_control-tiny" / "const.json").exists()
    assert not (tmp_path / "negative_control.json").exists()

    calls.clear()
    monkeypatch.setattr(
        engine, "run_arm", lambda *a, **k: (calls.append(a[1].name), real(*a, **k))[1]
    )
    result = run_experiment(
        "negative_control", "ci", "cpu", tmp_path, progress=False, config=config
    )
    assert calls == ["const_forced"]  # the finished arm was loaded, not recomputed
    assert set(result["summary"]["phases"]) == {"const", "const_forced"}

    # a checkpoint from a different configuration is ignored
    calls.clear()
    changed = config.tiny(steps=2)
    run_experiment("negative_control", "ci", "cpu", tmp_path, progress=False, config=changed)
    assert calls == ["const", "const_forced"]

    # --no-resume recomputes every arm, and drops a stale in-arm checkpoint
    calls.clear()
    stale = tmp_path / ".checkpoints" / "negative_control-tiny" / "const.partial.pt"
    stale.write_bytes(b"stale")
    assert (
        main(
            [
                "run",
                "negative_control",
                "--tier",
                "ci",
                "--tiny",
                "--device",
                "cpu",
                "--out",
                str(tmp_path.parent),
                "--no-progress",
                "--no-resume",
                "--checkpoint-every",
                "1",
            ]
        )
        == 0
    )
    assert calls == ["const", "const_forced"] and not stale.exists()


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.json"
    engine.atomic_write_json(path, {"a": 1})
    with pytest.raises(ValueError):
        engine.atomic_write_json(path, {"a": float("nan")})  # strict JSON refuses NaN
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary left behind
    with pytest.raises(TypeError, match="object"):
        engine.atomic_savez(tmp_path / "a.npz", {"bad": np.array([{}, 1], dtype=object)})


def test_bad_inputs_give_clear_errors(capsys):
    assert main(["run", "nonexistent", "--tier", "ci"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert main(["run", "forcing", "--tier", "huge"]) == 2
    assert "--tier must be one of" in capsys.readouterr().err
    assert main(["run", "forcing", "--tier", "ci", "--device", "tpu"]) == 2
    assert "device must be one of" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["run", "forcing", "--tier", "full", "--device", "cuda"]) == 2
        assert "cuda" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tier"):
        run_experiment("forcing", "medium")
    assert main(["run", "forcing", "--tier", "ci", "--checkpoint-every", "-1"]) == 2
    assert "--checkpoint-every must be >= 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="checkpoint_every"):
        run_experiment("forcing", "ci", checkpoint_every=0)
    with pytest.raises(ValueError, match="unknown experiment"):
        load_result("nope")


def _stored_payload(tier="full"):
    arm = {
        "label": "AdamW",
        "phase": "broad",
        "init": {"phase": "collapsed"},
        "trained": {"phase": "broad"},
        "provenance": {
            "device": "NVIDIA H100 80GB HBM3",
            "torch": "2.x",
            "commit": "abc",
            "date": "2026",
            "wall_seconds": 200.0,
            "segments": [],
        },
    }
    return {
        "experiment": "forcing",
        "tier": tier,
        "provenance": {
            "device": "NVIDIA H100 80GB HBM3",
            "torch": "2.x",
            "commit": "abc",
            "date": "2026",
            "wall_seconds": 200.0,
            "seeds": [0, 1, 2, 3, 4],
        },
        "config": {},
        "summary": {"phases": {"adamw": "broad"}, "arms": {"adamw": arm}},
    }


def _store(folder, payload, arrays=None):
    engine.atomic_write_json(folder / "forcing.json", payload)
    engine.atomic_savez(
        folder / "forcing.npz", {"adamw__loss": np.zeros((3, 5))} if arrays is None else arrays
    )


def test_load_result_and_provenance_box(tmp_path, capsys):
    assert load_result("forcing", tmp_path) is None
    assert main(["report", "forcing", "--out", str(tmp_path)]) == 1
    assert "no stored result" in capsys.readouterr().err
    text = provenance_markdown("forcing", results_dir=tmp_path)
    assert (
        "No stored result" in text
        and "--tier full --device cuda" in text
        and "--tier reference" in text
    )
    _store(tmp_path / "full", _stored_payload())  # results/<tier>/NAME.json
    stored = load_result("forcing", tmp_path / "full")
    assert stored.summary["phases"] == {"adamw": "broad"}
    assert stored.arrays()["adamw__loss"].shape == (3, 5)
    assert main(["report", "forcing", "--out", str(tmp_path)]) == 0  # reads OUT/full/forcing.json
    assert '"adamw": "broad"' in capsys.readouterr().out
    text = provenance_markdown("forcing", results_dir=tmp_path)
    assert "H100" in text and "Stored full-tier result" in text and "not yet run" not in text
    # a reference-tier result alone is shown as such, with the full tier said to be missing
    _store(tmp_path / "reference", _stored_payload("reference"))
    assert best_result("forcing", tmp_path).tier == "full"  # the highest tier present wins
    only_reference = tmp_path / "cpu"
    _store(only_reference / "reference", _stored_payload("reference"))
    assert best_result("forcing", only_reference).tier == "reference"
    text = provenance_markdown("forcing", results_dir=only_reference)
    assert "Stored reference-tier result" in text and "Full-tier (GPU) results not yet run" in text
    # a result of another tier is not shown as a full-tier result
    for tier in [t for t in TIERS if t != "full"] + ["tiny"]:
        _store(tmp_path, _stored_payload(tier))
        assert load_result("forcing", tmp_path) is None
        assert load_result("forcing", tmp_path, tier=None).tier == tier
    with pytest.raises(ValueError, match="tier must be given"):
        load_result("forcing", tier=None)
    with pytest.raises(ValueError, match="missing"):
        validate_result({"experiment": "x"})


def _corrupt(payload, path, value):
    """A copy of ``payload`` with the item at ``path`` (tuple of keys) replaced (None: deleted)."""
    payload = json.loads(json.dumps(payload))
    block = payload
    for key in path[:-1]:
        block = block[key]
    if value is None:
        del block[path[-1]]
    else:
        block[path[-1]] = value
    return payload


SCHEMA_BREAKS = [
    (("summary",), None, "missing keys"),
    (("experiment",), 3, "experiment must be a string"),
    (("tier",), "medium", "tier must be one of"),
    (("provenance", "device"), None, "provenance is missing"),
    (("provenance", "wall_seconds"), "200 s", "wall_seconds"),
    (("provenance", "wall_seconds"), -1.0, "wall_seconds"),
    (("provenance", "seeds"), ["0"], "seeds"),
    (("provenance", "commit"), 5, "commit must be a string"),
    (("provenance",), "H100", "provenance must be an object"),
    (("config",), [], "config must be an object"),
    (("summary", "phases"), None, "phases"),
    (("summary", "arms"), None, "arms"),
    (("summary", "arms", "adamw", "trained"), None, "missing ['trained']"),
    (
        ("summary", "arms", "adamw", "init"),
        {"beta": 1.0},
        "init must be an object with a string 'phase'",
    ),
    (("summary", "arms", "adamw", "label"), None, "missing ['label']"),
    (("summary", "arms", "adamw", "phase"), 1, "phase must be a string"),
    (("summary", "arms", "adamw", "provenance", "date"), None, "provenance is missing ['date']"),
    (("summary", "phases", "sgd"), "broad", "phases names runs"),
]


@pytest.mark.parametrize("path, value, message", SCHEMA_BREAKS)
def test_load_result_rejects_a_file_that_breaks_the_schema(tmp_path, path, value, message):
    _store(tmp_path, _corrupt(_stored_payload(), path, value))
    with pytest.raises(ValueError) as error:
        load_result("forcing", tmp_path, tier=None)
    assert str(tmp_path / "forcing.json") in str(error.value) and message in str(error.value)


def test_load_result_rejects_corrupt_truncated_and_partial_files(tmp_path, capsys):
    """Every way a result file can be damaged gives a ValueError naming the file, never a result."""
    good = json.dumps(_stored_payload(), indent=1)
    json_path, npz_path = tmp_path / "forcing.json", tmp_path / "forcing.npz"
    cases = {
        "truncated JSON": good[: len(good) // 2],
        "empty file": "",
        "not JSON": "phases: broad\n",
        "a list": "[1, 2]",
    }
    for text in cases.values():
        _store(tmp_path, _stored_payload())
        json_path.write_text(text)
        with pytest.raises(ValueError, match=str(json_path)):
            load_result("forcing", tmp_path, tier=None)
    json_path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a valid JSON"):
        load_result("forcing", tmp_path)
    # the result of another experiment under this name
    _store(tmp_path, dict(_stored_payload(), experiment="apparatus"))
    with pytest.raises(ValueError, match="apparatus"):
        load_result("forcing", tmp_path)
    # arrays: missing (a partial result), truncated, or lacking an arm
    _store(tmp_path, _stored_payload())
    npz_path.unlink()
    with pytest.raises(ValueError, match="forcing.npz are missing"):
        load_result("forcing", tmp_path)
    _store(tmp_path, _stored_payload(), {"adamw__loss": np.arange(5000.0)})
    npz_path.write_bytes(npz_path.read_bytes()[:-200])
    with pytest.raises(ValueError, match=str(npz_path)):
        load_result("forcing", tmp_path)
    _store(tmp_path, _stored_payload(), {"sgd__loss": np.zeros(3)})
    with pytest.raises(ValueError, match=r"no arrays for runs \['adamw'\]"):
        load_result("forcing", tmp_path)
    # the chapters' box and the CLI report the damage instead of a wrong figure
    damaged = tmp_path / "tiers"
    _store(damaged / "reference", _stored_payload("reference"), {"sgd__loss": np.zeros(3)})
    with pytest.raises(ValueError, match="forcing.npz"):
        provenance_markdown("forcing", results_dir=damaged)
    assert main(["report", "forcing", "--out", str(damaged)]) == 2
    assert "forcing.npz" in capsys.readouterr().err


def test_batched_model_members_equal_seeded_single_models():
    config = get_config("forcing", "ci").tiny()
    model = engine.batched_model("DiagGate", config, {"tau_max": 50.0})
    for i, seed in enumerate(config.seeds):
        single = build_model(
            "DiagGate", config.input_dim, config.hidden_size, seed=seed, tau_max=50.0
        )
        for name, p in single.named_parameters():
            assert torch.equal(dict(model.named_parameters())[name][i], p)


def test_push_statistics_recover_pull_rate_and_beta():
    """Synthetic log time scales with pull κ = 0.01, pushes Exp(mean 0.35) at rate 0.02 per
    step, tiny Gaussian noise, started far from the wall: the measured pull and rate are
    within 10 % and the ψ-root β within 0.15 of Theorem A's exact 1/m − λ/κ ≈ 0.857
    (2.4e3 pushes: relative SE of the mean size ≈ 2 %, which moves β by ≈ 0.06)."""
    rng = np.random.default_rng(0)
    kappa, rate, m = 0.01, 0.02, 0.35
    steps, units = 300, 400
    jumps = rng.exponential(m, (steps, units)) * (rng.random((steps, units)) < rate)
    increments = -kappa + 0.002 * rng.standard_normal((steps, units)) + jumps
    path = 6.0 + np.vstack([np.zeros(units), np.cumsum(increments, 0)])
    stats = push_statistics(path, slow_quantile=0.0)
    assert stats.pull == pytest.approx(kappa, rel=0.1)
    assert stats.rate == pytest.approx(rate, rel=0.1)
    assert stats.beta == pytest.approx(beta_exponential_pushes(kappa, rate, m), abs=0.15)
    assert predicted_beta(-1.0, 0.1, [1.0])[0] is None
    assert predicted_beta(0.1, 0.0, [])[0] == float("inf")
    assert predicted_beta(0.01, 0.1, [1.0])[0] is None  # mean push beats the pull
    with pytest.raises(ValueError, match="y_path"):
        push_statistics(np.zeros(5))


@pytest.mark.parametrize("kind", ["DiagGate", "SharedGate"])
def test_push_bound_holds_along_adamw_training(kind):
    """Half the bound bounds every step of ln τ under AdamW (a push adds the pull, at most as much
    again). At lr 0.3 the log time scales move by up to two nepers in 60 steps and the largest
    step is 0.12–0.15 of the half-bound (the worst case needs a gradient that grows step after
    step), so the check is not vacuous."""
    from mlmath.tasks import LagTask
    from mlmath.training import TrainConfig, train

    torch.set_num_threads(1)
    task = LagTask(lags=(1, 3, 6), coefs=(0.6, 0.51, 0.43), u=(0.6, 0.8, 0.0, 0.0), noise=0.0)
    config = TrainConfig(steps=60, batch_size=8, length=16, lr=0.3, weight_decay=0.1)
    model = build_model(kind, 4, 8, 1, n_models=2, seed=0)
    log = train(model, task, config, seed=0)
    steps = np.abs(np.diff(log_timescale_from_target(kind, log.target), axis=0))
    half = push_bound(kind, config) / 2
    assert steps.max() <= half and steps.max() > 0.1 * half
    # no bound where a step has none: SGD, injected forcing, ConstGate's U_qq
    assert push_bound(kind, TrainConfig(optimizer="sgd", lr=0.1)) is None
    assert push_bound(kind, TrainConfig(forcing_alpha=1.5)) is None
    assert push_bound("ConstGate", config) is None
    assert (
        push_bound(
            kind, {"optimizer": "adamw", "lr": 0.3, "weight_decay": 0.1, "forcing_alpha": None}
        )
        == 2 * half
    )  # a stored config (dict)
    # with a clock the gate bias moves at the time-scale learning rate, and so may ln τ: a
    # bound from the other weights' lr would be too small by their ratio
    clocked = TrainConfig(
        steps=60, batch_size=8, length=16, lr=0.03, timescale_lr=0.3, weight_decay=0.1
    )
    model = build_model(kind, 4, 8, 1, n_models=2, seed=0)
    log = train(model, task, clocked, seed=0)
    steps = np.abs(np.diff(log_timescale_from_target(kind, log.target), axis=0))
    assert push_bound(kind, clocked) == pytest.approx(2 * half)
    assert 0.1 * push_bound(kind, clocked) / 2 < steps.max() <= push_bound(kind, clocked) / 2


def test_log_timescale_from_target():
    # DiagGate bias b = logit(1 − e^{−1/τ}) maps back to ln τ
    from mlmath.models import gate_bias_for_timescales

    taus = np.array([1.0, 10.0, 300.0])
    np.testing.assert_allclose(
        log_timescale_from_target("DiagGate", gate_bias_for_timescales(taus)),
        np.log(taus),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        log_timescale_from_target("LSTMReference", -gate_bias_for_timescales(taus)),
        np.log(taus),
        rtol=1e-8,
    )
    # ConstGate with U_qq = 0: τ = −1/ln(1 − s)
    assert log_timescale_from_target("ConstGate", [0.0], s=0.01)[0] == pytest.approx(
        np.log(-1 / np.log(0.99))
    )
    with pytest.raises(ValueError, match="kind"):
        log_timescale_from_target("MLP", [0.0])


def _stable(summary):
    """The summary without what legitimately differs between runs: times and provenance."""
    summary = json.loads(json.dumps(summary))
    for arm in summary["arms"].values():
        arm.pop("seconds")
        arm.pop("provenance")
    return summary


def _arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _assert_same_result(folder, other, name):
    first = json.loads((folder / f"{name}.json").read_text())
    second = json.loads((other / f"{name}.json").read_text())
    assert first["config"] == second["config"]
    assert _stable(first["summary"]) == _stable(second["summary"])
    a, b = _arrays(folder / f"{name}.npz"), _arrays(other / f"{name}.npz")
    assert sorted(a) == sorted(b)
    for key in a:  # bit-identical (NaN where both are NaN)
        np.testing.assert_array_equal(a[key], b[key], err_msg=key, strict=True)


def test_run_all_tiny_exercises_every_experiment_deterministically(tmp_path):
    """`run all` at a tiny scale: every registered experiment's code path (GRU/LSTM, fixed
    training sets, SGD, winsorising, injected forcing) runs and writes a valid result; run
    a second time in this process (from the ci configuration, made tiny), every
    experiment gives a bit-identical result on the CPU: the same summary numbers and
    arrays."""
    first, second = tmp_path / "first", tmp_path / "second"
    assert (
        main(
            [
                "run",
                "all",
                "--tier",
                "ci",
                "--tiny",
                "--device",
                "cpu",
                "--out",
                str(first),
                "--no-progress",
            ]
        )
        == 0
    )
    first = first / "tiny"  # OUT/TIER/
    for name in EXPERIMENTS:
        result = validate_result(json.loads((first / f"{name}.json").read_text()))
        config = get_config(name, "ci")
        assert set(result["summary"]["phases"]) == {arm.name for arm in config.arms}
        run_experiment(name, "ci", "cpu", second, progress=False, config=config.tiny())
        _assert_same_result(first, second, name)
    access = json.loads((first / "access_route.json").read_text())["summary"]
    config = get_config("access_route", "ci")
    assert set(access["horizon_vs_n"]) == {arm.name for arm in config.arms}
    for curve in access["horizon_vs_n"].values():  # sequences seen: 0, then every monitored step
        seen = [int(n) for n in curve]
        assert seen[0] == 0 and seen == sorted(seen) and seen[-1] == 3 * 4  # tiny: 3 steps, batch 4
    forcing = json.loads((first / "forcing.json").read_text())["summary"]
    assert len(forcing["beta_pairs"]) == 2 * len(get_config("forcing", "ci").arms)


#: Runs negative_control (tiny, STEPS steps per arm, in-arm checkpoints every EVERY steps)
#: and, in arm PAUSE_ARM, stands still after PAUSE_AT steps, to be killed by the test at
#: some point after that arm's first checkpoint and before it finishes.
KILLED_RUN = """
import sys, time
import torch
torch.set_num_threads(1)
from mlmath.experiments import engine, get_config, run_experiment
out, pause_arm = sys.argv[1], sys.argv[4]
steps, every, pause_at = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
real_train = engine.train

def train(*args, checkpoint=None, progress=None, **options):
    def hold(step):
        if checkpoint.name == pause_arm + ".partial.pt" and step + 1 >= pause_at:
            time.sleep(600)
    return real_train(*args, checkpoint=checkpoint, progress=hold, **options)

engine.train = train
config = get_config("negative_control", "ci").tiny(steps=steps)
run_experiment("negative_control", "ci", "cpu", out, progress=False, config=config,
               checkpoint_every=every)
"""


def test_run_killed_mid_arm_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    """SIGKILL a run in the middle of its second arm (after that arm's first in-arm
    checkpoint), resume it in this process: it reuses the finished arm, continues the
    second from its last checkpoint, and ends with exactly the result of a run never
    interrupted (summary numbers and arrays, among them the losses and the forcing
    target's parameters); its wall time includes the killed run's recorded time, and the
    resumed arm's provenance lists both invocations."""
    steps, every = 12, 4
    config = get_config("negative_control", "ci").tiny(steps=steps)
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    folder = killed / ".checkpoints" / "negative_control-tiny"
    partial = folder / "const_forced.partial.pt"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_RUN,
            str(killed),
            str(steps),
            str(every),
            "const_forced",
            "10",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not partial.exists():
            assert child.poll() is None, (
                f"the run ended before it was killed: {child.communicate()}"
            )
            assert time.monotonic() < deadline, "no in-arm checkpoint appeared within 240 s"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert not (killed / "negative_control.json").exists()
    assert (folder / "const.json").exists() and not (folder / "const.partial.pt").exists()
    state = torch.load(partial, weights_only=True)  # plain data, nothing unpickled
    assert state["step"] in (4, 8)
    killed_seconds = json.loads((folder / "const.json").read_text())["summary"]["provenance"][
        "wall_seconds"
    ] + sum(segment["seconds"] for segment in state["segments"])

    calls, real = [], engine.run_arm
    monkeypatch.setattr(
        engine, "run_arm", lambda *a, **k: (calls.append(a[1].name), real(*a, **k))[1]
    )
    result = run_experiment(
        "negative_control",
        "ci",
        "cpu",
        killed,
        progress=False,
        config=config,
        checkpoint_every=every,
    )
    assert calls == ["const_forced"]
    assert not partial.exists()  # superseded by the finished arm's checkpoint
    arm = result["summary"]["arms"]["const_forced"]["provenance"]
    assert [segment["steps"] for segment in arm["segments"]] == [
        [0, state["step"]],
        [state["step"], steps],
    ]
    assert result["provenance"]["wall_seconds"] >= killed_seconds - 0.01  # rounding to 0.01 s

    run_experiment(
        "negative_control", "ci", "cpu", fresh, progress=False, config=config, checkpoint_every=None
    )
    assert not (
        fresh / ".checkpoints" / "negative_control-tiny" / "const_forced.partial.pt"
    ).exists()
    _assert_same_result(killed, fresh, "negative_control")
    assert np.isfinite(_arrays(fresh / "negative_control.npz")["const_forced__loss"]).all()


def test_parallel_arms_give_the_serial_result(tmp_path):
    """jobs=2 trains arms in two worker processes; every arm's result is the serial run's."""
    config = get_config("access_route", "ci").tiny()
    serial = run_experiment(
        "access_route", "ci", "cpu", tmp_path / "serial", progress=False, config=config
    )
    parallel = run_experiment(
        "access_route", "ci", "cpu", tmp_path / "parallel", progress=False, config=config, jobs=2
    )

    def strip(result):
        return {
            name: {key: value for key, value in arm.items() if key not in ("seconds", "provenance")}
            for name, arm in result["summary"]["arms"].items()
        }

    assert strip(parallel) == strip(serial)
    assert parallel["summary"]["horizon_vs_n"] == serial["summary"]["horizon_vs_n"]
    with pytest.raises(ValueError, match="jobs"):
        run_experiment(
            "access_route", "ci", "cpu", tmp_path / "bad", progress=False, config=config, jobs=0
        )


# --- chapter helpers on stored results ---------------------------------------------------------


def _segmented(spans):
    """A stand-in stored result whose arms trained over ``spans``: [(start ISO date, seconds)]."""
    from types import SimpleNamespace

    arms = {
        f"arm{i}": {"provenance": {"segments": [{"date": date, "seconds": seconds}]}}
        for i, (date, seconds) in enumerate(spans)
    }
    return SimpleNamespace(summary={"arms": arms})


def test_elapsed_seconds_and_arms_at_once_read_the_segments():
    from mlmath.experiments.chapter import arms_at_once, elapsed_seconds

    serial = _segmented([("2026-01-01T00:00:00+00:00", 100.0), ("2026-01-01T00:01:40+00:00", 50.0)])
    assert elapsed_seconds(serial) == pytest.approx(150.0) and arms_at_once(serial) == 1
    parallel = _segmented(
        [
            ("2026-01-01T00:00:00+00:00", 100.0),
            ("2026-01-01T00:00:00+00:00", 80.0),
            ("2026-01-01T00:01:20+00:00", 60.0),
        ]
    )
    assert elapsed_seconds(parallel) == pytest.approx(140.0) and arms_at_once(parallel) == 2


def test_arm_push_bound_reads_the_stored_configuration():
    from mlmath.experiments.chapter import arm_push_bound

    stored = load_result("forcing", tier="reference")
    adamw = get_config("forcing", "reference").arm("adamw")
    assert arm_push_bound(stored, "adamw") == push_bound(adamw.model, adamw.train)
    assert arm_push_bound(stored, "adamw_inject") is None and arm_push_bound(stored, "sgd") is None
    with pytest.raises(ValueError, match="arms"):
        arm_push_bound(stored, "nope")


def test_run_time_text_states_the_share_of_the_tier_budget_and_flags_an_overrun():
    from mlmath.experiments.chapter import run_time_text
    from mlmath.experiments.registry import TIER_BUDGET_MINUTES

    budget = TIER_BUDGET_MINUTES["reference"]
    within = _segmented([("2026-01-01T00:00:00+00:00", 60.0 * budget / 2)] * 2)
    within.tier = "reference"
    text = run_time_text(within)
    assert text.startswith("At most 2 arms trained at the same time")
    assert f"took {budget / 2:.3g} minutes" in text and "50 % of the reference tier's" in text
    assert "over" not in text
    over = _segmented(
        [("2026-01-01T00:00:00+00:00", 60.0 * budget * 1.1), ("2026-01-01T00:22:00+00:00", 60.0)]
    )  # 23 minutes in all
    over.tier = "reference"
    text = run_time_text(over)
    assert text.startswith("The arms trained one after the other.")
    assert "**over** the reference tier's" in text and "(115 % of it)" in text
    over.tier = "tiny"  # a tier without a budget: the time only
    assert run_time_text(over).endswith("the last arm's end.")


def test_phase_summary_counts_labels_in_phase_order():
    from mlmath.diagnostics import PHASES
    from mlmath.experiments.chapter import phase_count, phase_summary

    labels = ["broad", "crossover", "broad", "boundary", "broad"]
    assert phase_count(labels, "broad") == "3/5"
    text = phase_summary(labels)
    assert text == ", ".join(f"{p} {phase_count(labels, p)}" for p in PHASES if p in labels)
    assert text.index("crossover") < text.index("broad") < text.index("boundary")


def test_recomputed_predictions_use_the_stored_pushes():
    from mlmath.experiments.analysis import predicted_beta
    from mlmath.experiments.chapter import recomputed_predictions

    sizes = np.random.default_rng(3).exponential(0.5, 40)  # light-tailed pushes, 40 of them
    arm = {
        "pushes": [
            {"pull": 1.0, "rate": 0.5, "beta_predicted": 123.0},  # a stale stored value
            {"beta_predicted": None, "reason": "too few increments"},
        ]
    }
    arrays = {"x__push_sizes": sizes, "x__push_seed": np.zeros(sizes.size, dtype=int)}
    fresh = recomputed_predictions(arm, arrays, "x")
    assert fresh[0] == predicted_beta(1.0, 0.5, sizes) and fresh[0][0] != 123.0
    assert fresh[1] == (None, "too few increments")
    assert recomputed_predictions(arm, {}, "x")[0] == (123.0, "")  # no arrays: the stored value


def test_rounded_glue_values():
    from mlmath.book import rounded

    assert rounded(12.04) == 12 and isinstance(rounded(12.04), int)
    assert rounded(0.01234) == 0.012 and rounded(1234.5, 3) == 1230
    with pytest.raises(ValueError, match="finite"):
        rounded(float("nan"))


def test_glue_shows_whole_rounded_floats_as_integers():
    # glue rounds a float to its digits and glues a whole result as an int: 2048 at three digits
    # is 2050 (not 2050.0, which would claim a tenths digit), 0.5 stays 0.5, 1.0 reads 1
    from mlmath.book import glue

    assert glue("test-whole", 2048.0) == 2050 and isinstance(glue("test-whole", 2048.0), int)
    assert glue("test-half", 0.5) == 0.5 and glue("test-one", 1.0) == 1
    assert glue("test-sig", 268.1, digits=3) == 268 and glue("test-keep", 62.5, digits=3) == 62.5
    with pytest.raises(ValueError, match="finite"):
        glue("test-nan", float("nan"))


# ----------------------------------------------------- the stationarity experiment (issue 17)


def test_stationarity_design():
    """The reference tier: 64 units, 5 seeds, the long-lag task, 12 trajectory checkpoints, the
    arms of issue 17, and a budget computed from the step times its docstring states."""
    from mlmath.tasks import LONG_LAGS
    from mlmath.training.updates import TIMESCALE_PARAMETERS

    for tier, units, seeds in (("reference", 64, 5), ("full", 256, 10)):
        config = get_config("stationarity", tier)
        assert config.hidden_size == units and len(config.seeds) == seeds and config.length == 256
        assert config.planted_lags == LONG_LAGS and config.trajectory_checkpoints >= 12
        arms = {arm.name: arm for arm in config.arms}
        assert set(arms) == {
            "baseline",
            "stable",
            "gauss",
            "half_clock",
            "const_rows",
            "const_diag",
        }
        assert TIMESCALE_PARAMETERS["DiagGate"] == ("b_s",)
        assert arms["baseline"].train.timescale_lr == 2 * arms["half_clock"].train.timescale_lr
        assert (
            arms["stable"].train.forcing_alpha == 1.5 and arms["gauss"].train.forcing_alpha == 2.0
        )
        for name in ("stable", "gauss", "const_rows", "const_diag"):  # every unit forced, one scale
            assert arms[name].train.slow_fraction == 1.0 and arms[name].train.forcing_scale == 1.0
        assert arms["const_rows"].train.forcing_mode == "rows"
        assert arms["const_rows"].train.forcing_taper == 100.0
        assert arms["const_diag"].train.forcing_mode == "target"
        assert {arm.model for arm in config.arms} == {"DiagGate", "ConstGate"}
        assert {arm.train.lr for arm in config.arms} == {3e-3}  # 1e-2 diverged in pilots
    reference = get_config("stationarity", "reference")
    # the stored run, two arms at a time, fits the reference tier's 20 minutes (measured from
    # its arms' training segments), and its arms trained the registered number of steps
    from mlmath.experiments.chapter import elapsed_seconds

    stored = best_result("stationarity")
    assert stored.tier == "reference" and elapsed_seconds(stored) < 20 * 60
    assert {a["train"]["steps"] for a in stored.config["arms"]} == {STATIONARITY_STEPS}
    # relaxation: 1/kappa ~ 11,000 steps at lr 1e-2, ten times faster at a clock of 0.1
    for arm in reference.arms:
        if arm.model == "DiagGate":
            relaxation = 11_000 * 1e-2 / arm.train.timescale_lr
            assert arm.train.steps / relaxation > 2.5


def test_later_experiment_fields_are_left_out_of_the_configuration_record():
    stored = engine.config_dict(get_config("forcing", "ci"))
    assert "planted_lags" not in stored and "trajectory_checkpoints" not in stored
    stationarity = engine.config_dict(get_config("stationarity", "ci"))
    assert stationarity["planted_lags"] == [4, 8, 16, 32, 48, 64, 96, 128]
    assert stationarity["trajectory_checkpoints"] == 24
    assert stationarity["arms"][4]["train"]["forcing_mode"] == "rows"
    assert "forcing_mode" not in json.dumps(stored)


def test_row_forcing_is_the_papers_update_space_forcing():
    """Only the forced units' rows move; each parameter's draws are scaled by the RMS of its
    update over those rows; the readout never moves; the taper bounds each draw."""
    from mlmath.stable import sample_symmetric_stable
    from mlmath.training.updates import inject_row_forcing, unit_row_parameters

    model = build_model("ConstGate", 3, 4, 1, n_models=2, seed=0, s=0.1)
    rows = unit_row_parameters(model)
    assert [name for name, _ in rows] == ["W", "U", "b"]
    before = [p.detach().clone() for _, p in rows]
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _, p in rows:  # a stand-in for the optimizer's update
            p.add_(0.01 * torch.randn(p.shape, generator=generator))
    updated = [p.detach().clone() for _, p in rows]
    readout = model.V.detach().clone()
    injected, slow = inject_row_forcing(model, 1.5, before, slow_fraction=0.5, rng=3)
    assert slow.shape == (2, 4) and slow.sum(-1).tolist() == [2, 2]
    assert torch.equal(model.V, readout)
    rng = np.random.default_rng(3)
    for (_, p), old, new in zip(rows, before, updated):
        mask = slow.reshape(slow.shape + (1,) * (p.dim() - 2)).double()
        delta = ((new - old).double() * mask).reshape(2, -1)
        count = mask.expand(p.shape).reshape(2, -1).sum(-1)
        rms = torch.sqrt((delta**2).sum(-1) / count).reshape((2,) + (1,) * (p.dim() - 1))
        draws = torch.as_tensor(sample_symmetric_stable(1.5, tuple(p.shape), 1.0, rng))
        expected = new.double() + rms * draws * mask
        torch.testing.assert_close(p.detach().double(), expected, rtol=1e-5, atol=1e-6)
    diagonal = torch.diagonal(model.U.detach() - updated[1], dim1=-2, dim2=-1)
    torch.testing.assert_close(injected, diagonal)
    # a taper c bounds every draw by c: the rows move by at most c times their update's RMS
    before = [p.detach().clone() for _, p in rows]
    inject_row_forcing(model, 1.5, before, slow_fraction=1.0, taper=1e-3, rng=4)
    for (_, p), old in zip(rows, before):
        assert torch.equal(p.detach(), old)  # no update since `before`: the RMS is 0


def test_stationarity_arm_stores_trajectories_and_kernels():
    """One tiny arm end to end: the monitor's rates decode to time scales, the summary holds one
    stationary flag per seed, and the trajectory and kernel arrays have their shapes."""
    config = get_config("stationarity", "ci").tiny(steps=4)
    summary, arrays = engine.run_arm(config, config.arm("stable"), torch.device("cpu"))
    seeds = len(config.seeds)
    assert len(summary["trained"]["stationary"]) == seeds
    assert all(isinstance(flag, bool) for flag in summary["trained"]["stationary"])
    trajectory = summary["trajectory"]
    assert trajectory["steps"] == [0, 1, 2, 3, 4] and len(trajectory["kernel_horizon"]) == seeds
    assert arrays["traj_taus"].shape == (5, seeds, config.hidden_size)
    assert arrays["traj_label"].shape == (5, seeds) and set(arrays["traj_label"].ravel()) <= set(
        PHASES
    )
    assert (
        arrays["kernel"].shape
        == arrays["kernel_low"].shape
        == (seeds, int(0.85 * config.length) + 1)
    )
    assert np.all(arrays["kernel_low"] <= arrays["kernel_high"])
    # the final checkpoint's time scales are the final diagnosis's (same sequences, same fit)
    np.testing.assert_allclose(arrays["traj_taus"][-1], arrays["taus"], rtol=1e-6)
    rates = np.array([[0.5, 0.0, -1.0]])
    np.testing.assert_array_equal(engine._rates_to_taus(rates), [[2.0, np.inf, np.nan]])
    # every unit is forced at every step: the stored draws are a strided sample of them
    assert arrays["injected"].size == 4 * seeds * config.hidden_size  # below the limit: all
    values = np.arange(10)
    np.testing.assert_array_equal(engine.thin_injected(values, limit=4), [0, 3, 6, 9])
    np.testing.assert_array_equal(engine.thin_injected(values, limit=10), values)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["stationarity", "additive_walk"])
def test_full_tier_stationarity_arms_dry_run_on_the_cpu(name):
    """Two training steps of every full-tier arm (256 units, 10 seeds) on the CPU: the
    configuration the GPU will run is exercised where no GPU exists (the full tier is unrun).
    The settling experiments' arms are stationarity's (the same configurations, longer)."""
    from mlmath.training import train

    for other in ("settling", "settling_forced"):
        for arm in get_config(other, "full").arms:
            mirror = get_config("stationarity", "full").arm(arm.name)
            assert arm.model == mirror.model and arm.model_options == mirror.model_options
            assert arm.train == dataclasses.replace(mirror.train, steps=arm.train.steps)
    config = get_config(name, "full")
    task = engine.make_task(config)
    for arm in config.arms:
        model = engine.batched_model(arm.model, config, arm.options())
        log = train(model, task, dataclasses.replace(arm.train, steps=2), seed=0)
        assert log.loss.shape == (2, 10) and np.isfinite(log.loss).all()
        assert log.target.shape[-1] == 256


def test_a_worker_exits_when_its_run_is_killed(tmp_path):
    """A worker of a killed run must not train on: it would write checkpoints beside those of
    the next run of the same experiment (this happened). A grandchild watches its parent with
    engine.exit_with_parent; the parent is killed; the grandchild is gone within 20 s (it
    polls every 0.1 s; the margin is for a loaded machine)."""
    ready = tmp_path / "ready"
    worker = (
        "import os, threading, time, pathlib\n"
        "from mlmath.experiments.engine import exit_with_parent\n"
        "threading.Thread(target=exit_with_parent, args=(os.getppid(),),\n"
        "                 kwargs={'every': 0.1}, daemon=True).start()\n"
        f"pathlib.Path({str(ready)!r}).write_text(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    run = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {worker!r}])\n"
    run += "time.sleep(120)\n"
    parent = subprocess.Popen([sys.executable, "-c", run])
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists(), "the worker did not start"
    time.sleep(0.2)
    pid = int(ready.read_text())

    def alive() -> bool:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        return "zombie" not in state  # exited, not yet reaped by its new parent

    assert alive()
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(), "the worker outlived its run"


def test_exit_with_parent_exits_at_once_when_the_parent_is_another():
    calls = []
    engine.exit_with_parent(os.getppid() + 10**6, every=60, exit=calls.append)
    assert calls == [1]
