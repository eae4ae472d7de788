"""Tests of mlmath.experiments: CLI, result schema and provenance, resume, atomic writes, errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mlmath.experiments import EXPERIMENTS, get_config, load_result, provenance_markdown, run_experiment
from mlmath.experiments import engine
from mlmath.experiments.__main__ import main
from mlmath.experiments.analysis import log_timescale_from_target, predicted_beta, push_statistics
from mlmath.experiments.registry import PAPER_SCALE
from mlmath.experiments.results import PROVENANCE_KEYS, validate_result
from mlmath.models import build_model
from mlmath.process import beta_exponential_pushes

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def test_list_via_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "mlmath.experiments", "list"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
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
    with pytest.raises(Exception):
        get_config("forcing", "ci").seeds = (1,)  # frozen


def _tiny_run(tmp_path, name="negative_control", argv_extra=()):
    code = main(["run", name, "--tier", "ci", "--tiny", "--device", "cpu", "--out", str(tmp_path),
                 "--no-progress", *argv_extra])
    assert code == 0
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_run_writes_exact_schema_and_provenance(tmp_path):
    result = _tiny_run(tmp_path)
    assert list(result) == ["experiment", "tier", "provenance", "config", "summary"]
    assert result["experiment"] == "negative_control" and result["tier"] == "tiny"
    assert list(result["provenance"]) == list(PROVENANCE_KEYS)
    p = result["provenance"]
    assert p["torch"] == torch.__version__ and p["device"].startswith("cpu") and p["seeds"] == [0, 1]
    assert p["wall_seconds"] > 0 and p["date"].startswith("20")
    assert set(result["summary"]["phases"]) == {"const", "const_forced"}
    assert all(label in ("collapsed", "broad", "concentrated", "boundary", "unresolved")
               for label in result["summary"]["phases"].values())
    assert result["config"]["arms"][1]["train"]["forcing_alpha"] == 1.5
    validate_result(result)
    with np.load(tmp_path / "negative_control.npz", allow_pickle=False) as arrays:
        assert arrays["const__taus"].shape == (2, 32)
        assert arrays["const__loss"].shape == (3, 2)
    # strict JSON: no NaN/Infinity tokens
    json.loads((tmp_path / "negative_control.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_resume_after_interruption_does_not_recompute_finished_arms(tmp_path, monkeypatch):
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
    monkeypatch.setattr(engine, "run_arm", lambda *a, **k: (calls.append(a[1].name), real(*a, **k))[1])
    result = run_experiment("negative_control", "ci", "cpu", tmp_path, progress=False, config=config)
    assert calls == ["const_forced"]          # the finished arm was loaded, not recomputed
    assert set(result["summary"]["phases"]) == {"const", "const_forced"}

    # a checkpoint from a different configuration is ignored
    calls.clear()
    changed = config.tiny(steps=2)
    run_experiment("negative_control", "ci", "cpu", tmp_path, progress=False, config=changed)
    assert calls == ["const", "const_forced"]


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
    with pytest.raises(ValueError, match="unknown experiment"):
        load_result("nope")


def test_load_result_and_provenance_box(tmp_path, capsys):
    assert load_result("forcing", tmp_path) is None
    assert main(["report", "forcing", "--out", str(tmp_path)]) == 1
    assert "not yet run" in capsys.readouterr().err
    text = provenance_markdown("forcing", results_dir=tmp_path)
    assert "Full-tier results not yet run" in text and "--tier full --device cuda" in text
    payload = {"experiment": "forcing", "tier": "full",
               "provenance": {"device": "NVIDIA H100 80GB HBM3", "torch": "2.x", "commit": "abc", "date": "2026",
                              "wall_seconds": 200.0, "seeds": [0, 1, 2, 3, 4]},
               "config": {}, "summary": {"phases": {"adamw": "broad"}}}
    engine.atomic_write_json(tmp_path / "forcing.json", payload)
    stored = load_result("forcing", tmp_path)
    assert stored.summary["phases"] == {"adamw": "broad"}
    assert main(["report", "forcing", "--out", str(tmp_path)]) == 0
    assert '"adamw": "broad"' in capsys.readouterr().out
    text = provenance_markdown("forcing", results_dir=tmp_path)
    assert "H100" in text and "Stored full-tier result" in text
    # a ci-tier file is not shown as a full-tier result
    engine.atomic_write_json(tmp_path / "forcing.json", dict(payload, tier="ci"))
    assert load_result("forcing", tmp_path) is None
    with pytest.raises(ValueError, match="missing"):
        validate_result({"experiment": "x"})


def test_batched_model_members_equal_seeded_single_models():
    config = get_config("forcing", "ci").tiny()
    model = engine.batched_model("DiagGate", config, {"tau_max": 50.0})
    for i, seed in enumerate(config.seeds):
        single = build_model("DiagGate", config.input_dim, config.hidden_size, seed=seed, tau_max=50.0)
        for (name, p) in single.named_parameters():
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


def test_log_timescale_from_target():
    # DiagGate bias b = logit(1 − e^{−1/τ}) maps back to ln τ
    from mlmath.models import gate_bias_for_timescales
    taus = np.array([1.0, 10.0, 300.0])
    np.testing.assert_allclose(log_timescale_from_target("DiagGate", gate_bias_for_timescales(taus)),
                               np.log(taus), rtol=1e-8)
    np.testing.assert_allclose(log_timescale_from_target("LSTMReference", -gate_bias_for_timescales(taus)),
                               np.log(taus), rtol=1e-8)
    # ConstGate with U_qq = 0: τ = −1/ln(1 − s)
    assert log_timescale_from_target("ConstGate", [0.0], s=0.01)[0] == pytest.approx(np.log(-1 / np.log(0.99)))
    with pytest.raises(ValueError, match="kind"):
        log_timescale_from_target("MLP", [0.0])


def test_run_all_tiny_exercises_every_experiment(tmp_path):
    """`run all` at a tiny scale: every registered experiment's code path (GRU/LSTM, fixed
    training sets, SGD, winsorising, injected forcing) runs and writes a valid result."""
    assert main(["run", "all", "--tier", "ci", "--tiny", "--device", "cpu", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    for name in EXPERIMENTS:
        result = validate_result(json.loads((tmp_path / f"{name}.json").read_text()))
        config = get_config(name, "ci")
        assert set(result["summary"]["phases"]) == {arm.name for arm in config.arms}
    access = json.loads((tmp_path / "access_route.json").read_text())["summary"]
    assert set(access["horizon_vs_n"]) == {"SharedGate", "DiagGate"}
    forcing = json.loads((tmp_path / "forcing.json").read_text())["summary"]
    assert len(forcing["beta_pairs"]) == 2 * len(get_config("forcing", "ci").arms)
