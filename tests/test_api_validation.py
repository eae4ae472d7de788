"""Every public function and class of mlmath rejects a wrong-shaped array and an unknown keyword.

Issue 21, items 2-3. The test walks ``mlmath.__all__`` (each module's ``__all__``, or the
public functions and classes it defines) and requires every public callable to appear in
exactly one reviewed table below:

* ``SHAPE_CASES``: valid arguments, the argument to break and a wrong-shaped value. The call
  must raise ``ValueError`` whose message names the argument and the shape received (or
  ``TypeError`` naming the argument, for a pair or scalar option); it must never return. The
  valid arguments are checked to return, so the raise is the shape's doing.
* ``ELEMENTWISE``: functions that are elementwise in one argument and document it: any shape
  is meaningful, the result has the argument's shape and each row equals the 1-D call.
  (A function may be in both tables: elementwise in one argument, strict in another.)
* ``BATCHED``: a documented batch axis (one population per row), checked row by row.
* ``NO_ARRAY``: callables that take no array, each with the reason.

Unknown keywords: every public callable without ``**kwargs`` rejects one by Python's own
binding (checked for all of them); those with ``**kwargs`` need valid arguments and are in
``KEYWORD_CASES``. Cases whose module belongs to another helper (models, training,
experiments, diagnostics) are in ``OTHER_OWNERS_*`` tables and checked by their own test
functions, so their state is visible on its own; some fail until those owners' pending work
(models rejecting unknown options, issue 21 item 1; diagnostics that still flatten) lands.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import torch

import mlmath

BOGUS = "not_an_option"
V = np.array([1.5, 2.0, 3.0, 4.5, 7.0, 11.0, 20.0, 35.0, 60.0, 100.0, 170.0, 300.0])  # 1-D positive
M = np.stack([V, 2 * V])  # 2-D, shape (2, 12)
LAGS = np.geomspace(1.0, 1000.0, 12)
SIGNED = np.random.default_rng(0).standard_normal(60)
PUSHES = np.random.default_rng(1).exponential(0.1, 60)  # 1-D push sizes


def public_callables() -> dict:
    """``{"module.name": object}`` for every public function and class of every mlmath module."""
    found = {}
    for module_name in mlmath.__all__:
        module = importlib.import_module(f"mlmath.{module_name}")
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                n
                for n, obj in vars(module).items()
                if not n.startswith("_")
                and (inspect.isfunction(obj) or inspect.isclass(obj))
                and getattr(obj, "__module__", "") == module.__name__
            ]
        for name in names:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found[f"{module_name}.{name}"] = obj
    return found


CALLABLES = public_callables()


def resolve(key: str):
    return CALLABLES[key]


def _lag_task():
    from mlmath.tasks import LagTask

    return LagTask(lags=(1, 3), coefs=(0.6, 0.4), u=(0.6, 0.8), noise=0.0)


def _process_push():
    from mlmath.process import exponential_pushes

    return exponential_pushes(0.5)


# ------------------------------------------------------------------------------------------
# the reviewed tables (modules of this helper: envelope, tails, stable, increments,
# learnability, pull, tasks, process)
# ------------------------------------------------------------------------------------------

#: key -> (valid keyword arguments (a callable returning a dict), argument to break, bad value)
SHAPE_CASES = {
    "envelope.envelope_from_timescales": (
        lambda: dict(taus=V, lags=LAGS),
        "taus",
        np.ones((2, 2, 3)),
    ),
    "envelope.linear_rnn_envelope": (
        lambda: dict(recurrent_matrix=0.5 * np.eye(3), lags=[0, 1, 2]),
        "recurrent_matrix",
        np.full(3, 0.5),
    ),
    "envelope.envelope_monte_carlo": (lambda: dict(taus=V, lags=LAGS), "taus", M),
    "envelope.mixture_local_exponent": (lambda: dict(taus=V, lag=10.0), "taus", M),
    "envelope.mixture_exponent_crossing": (
        lambda: dict(taus=V, level=1.0, upper=1000.0),
        "taus",
        M,
    ),
    "tails.empirical_ccdf": (lambda: dict(x=V), "x", np.ones((2, 2, 3))),
    "tails.hill": (lambda: dict(x=V, k=4), "x", M),
    "tails.hill_estimates": (lambda: dict(x=V, ks=np.array([2, 3])), "ks", np.array([[2, 3]])),
    "tails.moment_estimator": (lambda: dict(x=V, k=4), "x", M),
    "tails.fit_power_law": (lambda: dict(x=V, min_tail=3), "x", M),
    "tails.power_law_gof": (lambda: dict(x=V, n_boot=2, rng=0, min_tail=3), "x", M),
    "tails.bootstrap_beta_interval": (lambda: dict(x=V, n_boot=10, rng=0, min_tail=3), "x", M),
    "tails.compare_tails": (lambda: dict(x=V, xmin=2.0), "x", M),
    "tails.loglog_ccdf_slope": (lambda: dict(x=V), "x", M),
    "tails.calibrated_tail_index": (lambda: dict(x=SIGNED), "x", SIGNED.reshape(2, 30)),
    "tails.calibrated_tail_indices": (lambda: dict(x=SIGNED.reshape(60, 1)), "x", SIGNED),
    "tails.envelope_local_exponent": (lambda: dict(lags=LAGS, f=1 / LAGS), "f", np.ones((2, 12))),
    "tails.fit_envelope_exponent": (
        lambda: dict(lags=LAGS, f=1 / LAGS, window=(1, 1000)),
        "lags",
        np.ones((2, 12)),
    ),
    "stable.mcculloch_alpha": (lambda: dict(x=SIGNED), "x", SIGNED.reshape(2, 30)),
    "stable.grid_ks_distance": (
        lambda: dict(sample=SIGNED, grid=LAGS, cdf=np.linspace(0.1, 0.9, 12)),
        "sample",
        SIGNED.reshape(2, 30),
    ),
    "increments.increment_tail_indices": (
        lambda: dict(increments=SIGNED.reshape(60, 1)),
        "increments",
        SIGNED,
    ),
    "learnability.predicted_horizon": (
        lambda: dict(n_samples=100, lags=[1.0, 2.0], envelope_values=[0.5, 0.4]),
        "lags",
        np.array([[1.0, 2.0]]),
    ),
    "learnability.planted_lag_sample_size": (
        lambda: dict(signals=[0.5], sample_sizes=[10, 20], repeats=5, rng=0),
        "signals",
        np.array([[0.5, 0.4]]),
    ),
    "learnability.fit_scaling_laws": (
        lambda: dict(lags=[1.0, 2.0, 4.0], required=[2.0, 5.0, 9.0]),
        "required",
        np.ones((1, 3)),
    ),
    "pull.leaky_unit_explained_variance": (
        lambda: dict(s=0.1, lags=[1.0, 5.0], coefs=[0.5, 0.3]),
        "lags",
        np.array([[1.0, 5.0]]),
    ),
    "pull.leaky_unit_loss_gradient": (
        lambda: dict(a=-3.0, lags=[1.0, 5.0], coefs=[0.5, 0.3]),
        "coefs",
        np.array([[0.5, 0.3]]),
    ),
    "pull.pull_field": (
        lambda: dict(zeta=-3.0, lags=[1.0, 5.0], coefs=[0.5, 0.3]),
        "lags",
        np.array([[1.0, 5.0]]),
    ),
    "pull.optimizer_log_rate_steps": (
        lambda: dict(a0=[-3.0, -4.0], grads_s=np.ones((5, 2))),
        "a0",
        np.full((2, 1), -3.0),
    ),
    "pull.adam_step_bound": (lambda: dict(betas=(0.9, 0.999)), "betas", np.array([[0.9, 0.999]])),
    "pull.restoring_drift": (
        lambda: dict(zeta_before=-V, zeta_after=-V + 0.1, bins=3),
        "zeta_after",
        (-V + 0.1).reshape(3, 4),
    ),
    "tasks.LagTask": (
        lambda: dict(lags=(1, 3), coefs=(0.6, 0.4), u=(0.6, 0.8)),
        "lags",
        np.array([[1, 3]]),
    ),
    "tasks.draw_lags": (
        lambda: dict(n_lags=2, lag_range=(8, 64), rng=0),
        "lag_range",
        np.array([[8, 64]]),
    ),
    "tasks.heavy_tailed_lag_task": (
        lambda: dict(n_sequences=2, length=80, n_lags=2, lag_range=(8, 64), seed=0),
        "lag_range",
        np.array([[8, 64]]),
    ),
    "tasks.long_lag_task": (lambda: dict(lags=(4, 8), input_dim=3), "lags", np.array([[4, 8]])),
    "tasks.lagged_target": (
        lambda: dict(x=np.ones((2, 10, 2)), lags=[1, 3], coefs=[0.6, 0.4], u=[0.6, 0.8]),
        "lags",
        np.array([[1, 3]]),
    ),
    "process.empirical_pushes": (lambda: dict(sizes=V / 100), "sizes", M / 100),
    "process.push_tail_test": (lambda: dict(sizes=PUSHES), "sizes", PUSHES.reshape(2, 30)),
    "process.simulate_process": (
        lambda: dict(
            pull=1.0,
            rate=0.5,
            pushes=_process_push(),
            n_units=3,
            t_end=1.0,
            times=[0.5, 1.0],
            seed=0,
        ),
        "times",
        np.array([[0.5, 1.0]]),
    ),
    "process.simulate_timescale_walk": (
        lambda: dict(drift=0.1, alpha=1.5, n_units=3, n_steps=4, checkpoints=[2, 4], seed=0),
        "checkpoints",
        np.array([[2, 4]]),
    ),
    "process.simulate_sgd_logit_walk": (
        lambda: dict(drift=0.1, alpha=1.5, n_units=3, n_steps=4, checkpoints=[2, 4], seed=0),
        "checkpoints",
        np.array([[2, 4]]),
    ),
    "process.moment_from_sample": (lambda: dict(sample=V / 10), "sample", M / 10),
    "process.simulate_kesten_lindley": (
        lambda: dict(
            sample_multiplier=lambda rng, n: rng.uniform(0.5, 1.2, n),
            n_units=3,
            n_steps=4,
            checkpoints=[2, 4],
            seed=0,
        ),
        "checkpoints",
        np.array([[2, 4]]),
    ),
    "process.pareto_tail_mle": (lambda: dict(taus=V), "taus", M),
    "process.horizon_memory_map": (
        lambda: dict(pull=1.0, mean_jump=0.5, loads=[0.5], cap_ratios=[1.0], horizon=100.0),
        "loads",
        np.array([[0.5]]),
    ),
}

#: key -> (valid keyword arguments, the elementwise argument): a 2-D value gives a result of
#: its shape whose rows are the 1-D calls (documented in each docstring or module docstring).
ELEMENTWISE = {
    "envelope.timescale": (lambda: dict(eigenvalues=np.linspace(0.1, 0.9, 6)), "eigenvalues"),
    "envelope.envelope_from_timescales": (lambda: dict(taus=V, lags=LAGS[:6]), "lags"),
    "envelope.linear_rnn_envelope": (
        lambda: dict(recurrent_matrix=0.5 * np.eye(3), lags=np.arange(6)),
        "lags",
    ),
    "envelope.pareto_envelope": (lambda: dict(lags=LAGS[:6], beta=0.6), "lags"),
    "envelope.gamma_rate_envelope": (lambda: dict(lags=LAGS[:6], beta=0.6), "lags"),
    "envelope.loguniform_envelope": (lambda: dict(lags=LAGS[:6], tau1=1.0, tau2=100.0), "lags"),
    "envelope.lru_ring_envelope": (lambda: dict(lags=LAGS[:6], r_min=0.5), "lags"),
    "envelope.lognormal_envelope": (lambda: dict(lags=LAGS[:6], mu=2.0, s=1.0), "lags"),
    "envelope.lognormal_envelope_saddle": (lambda: dict(lags=LAGS[:6], mu=2.0, s=1.0), "lags"),
    "envelope.capped_envelope_bound": (lambda: dict(lags=LAGS[:6], tau_cap=50.0), "lags"),
    "envelope.tempered_power_law": (lambda: dict(lags=LAGS[:6], beta=0.6, tau_max=50.0), "lags"),
    "stable.symmetric_stable_cdf": (lambda: dict(x=np.linspace(-3, 3, 4), alpha=1.5), "x"),
    "learnability.data_cost": (
        lambda: dict(envelope_values=np.linspace(0.1, 1.0, 6)),
        "envelope_values",
    ),
    "learnability.planted_lag_theory": (lambda: dict(signals=np.linspace(0.1, 1.0, 6)), "signals"),
    "pull.gate_from_logit": (lambda: dict(a=np.linspace(-5, 1, 6)), "a"),
    "pull.timescale_from_logit": (lambda: dict(a=np.linspace(-5, 1, 6)), "a"),
    "pull.log_rate_from_logit": (lambda: dict(a=np.linspace(-5, 1, 6)), "a"),
    "pull.logit_from_timescale": (lambda: dict(taus=V[:6]), "taus"),
    "pull.sgd_gate_factor": (lambda: dict(a=np.linspace(-5, 1, 6)), "a"),
    "pull.log_rate_jacobian": (lambda: dict(a=np.linspace(-5, 1, 6)), "a"),
    "pull.leaky_unit_explained_variance": (
        lambda: dict(s=np.linspace(0.05, 0.9, 6), lags=[1.0, 5.0], coefs=[0.5, 0.3]),
        "s",
    ),
    "pull.leaky_unit_loss_gradient": (
        lambda: dict(a=np.linspace(-5, 1, 6), lags=[1.0, 5.0], coefs=[0.5, 0.3]),
        "a",
    ),
    "pull.pull_field": (
        lambda: dict(zeta=np.linspace(-6, -1, 6), lags=[1.0, 5.0], coefs=[0.5, 0.3]),
        "zeta",
    ),
    "pull.synthetic_log_rate_step": (
        lambda: dict(zeta=np.linspace(-6, -1, 6), drift=lambda z: 0.01 * z),
        "zeta",
    ),
    "process.laplace_exponent": (
        lambda: dict(theta=np.linspace(0.0, 1.0, 6), pull=1.0, rate=0.5, pushes=_process_push()),
        "theta",
    ),
    "process.veraverbeke_tail": (
        lambda: dict(y=np.linspace(0.0, 3.0, 6), pull=1.0, rate=0.5, pushes=_process_push()),
        "y",
    ),
    "process.vanishing_mobility_survival": (lambda: dict(s=V[:6], pull=1.0, sigma=1.0), "s"),
}

_RESULT = "result record built by {} from validated input; its fields are outputs"
_SCALARS = "scalars, strings or a config object only (each checked by _validate)"
_CALLABLE = "takes a callable and scalars; no array argument"
_TOOLING = "tooling: paths, strings, notebooks or quiz data, no arrays"

#: key -> why the callable takes no array (unknown keywords are still checked for it)
NO_ARRAY = {
    **{
        f"envelope.{n}": _SCALARS
        for n in (
            "typical_max_timescale",
            "tauberian_constant",
            "rayleigh_log_envelope",
            "sample_pareto_timescales",
            "sample_gamma_rate_timescales",
            "sample_loguniform_timescales",
            "sample_lognormal_timescales",
        )
    },
    "tails.PowerLawFit": _RESULT.format("fit_power_law"),
    "tails.LogLogFit": _RESULT.format("loglog_ccdf_slope"),
    "tails.tail_index_calibration": _SCALARS,
    "tails.tail_index_verdict": _SCALARS,
    **{
        f"stable.{n}": _SCALARS
        for n in (
            "sample_symmetric_stable",
            "stable_tail_constant",
            "symmetric_stable_quantile",
            "mcculloch_ratio",
            "kesten_moment_sgd",
            "sgd_tail_index",
            "sgd_critical_step",
            "simulate_sgd_least_squares",
        )
    },
    "increments.IncrementConfig": (
        "configuration of scalars and tuples, checked by _validate_config"
    ),
    "increments.update_increments": _SCALARS,
    "increments.run_increment_experiment": _SCALARS,
    **{
        f"learnability.{n}": _SCALARS
        for n in ("kappa_alpha", "horizon_exponential", "horizon_power_law")
    },
    "learnability.PlantedLagResult": _RESULT.format("planted_lag_sample_size"),
    "learnability.ScalingFit": _RESULT.format("fit_scaling_laws"),
    "pull.AdamStepBound": _RESULT.format("adam_step_bound"),
    "pull.RestoringDrift": _RESULT.format("restoring_drift"),
    "pull.GateDriftRun": _RESULT.format("train_gate_drift"),
    "pull.train_gate_drift": _SCALARS + " (lag_range checked as a pair by tasks.draw_lags)",
    "tasks.TaskData": _RESULT.format("the task samplers"),
    "tasks.sample_truncated_pareto": _SCALARS + " (size: an int or a tuple, numpy's convention)",
    "tasks.copy_task": _SCALARS,
    "tasks.adding_task": _SCALARS,
    "tasks.sample_lag_tensors": "a LagTask, a leading-shape tuple and an int; no array argument",
    "process.PushLaw": _RESULT.format("the push-law constructors"),
    "process.PushTailTest": _RESULT.format("push_tail_test"),
    "process.StationaryLaw": _RESULT.format("stationary_law_exponential_pushes"),
    "process.TailMLE": _RESULT.format("pareto_tail_mle"),
    **{
        f"process.{n}": _SCALARS
        for n in (
            "exponential_pushes",
            "gamma_pushes",
            "tempered_pareto_pushes",
            "pareto_pushes",
            "mean_drift",
            "tail_exponent",
            "beta_exponential_pushes",
            "stationary_law_exponential_pushes",
            "stationary_sample",
            "classify_phase",
            "simulate_log_timescales",
            "sgd_forcing_beta",
            "gaussian_exponent",
            "lognormal_scale_ou",
        )
    },
    "process.simulate_paths": _CALLABLE,
    "process.kesten_exponent": _CALLABLE,
    # modules of other owners whose callables take no array
    **{f"book.{n}": _TOOLING + " (glue takes scalars)" for n in ("significant", "rounded", "glue")},
    **{
        f"teaching.{n}": _TOOLING
        for n in (
            "strip_markdown",
            "strip_solutions",
            "deck_folders",
            "deck_path",
            "validate_quiz",
            "validate_cards",
            "load_quiz",
            "load_cards",
            "chapters",
            "quiz_outputs",
            "cards_outputs",
            "show_quiz",
            "show_cards",
            "cards_csv",
            "quoted_names",
            "solution_cells",
            "solution_only_names",
        )
    },
    "teaching.Variant": _RESULT.format("assignment_variant"),
    "teaching.assignment_variant": _SCALARS + " (a part name and a student ID)",
    "teaching.student_seed": _SCALARS + " (a part name and a student ID)",
    "reproducibility.set_seed": _SCALARS,
    "plots.use_style": "no argument",
    "plots.decay_axes": "a matplotlib axis and labels",
    "models.GateTrace": _RESULT.format("the models' forward passes"),
    "training.TrainConfig": (
        "configuration of scalars (a dataclass: unknown fields raise TypeError)"
    ),
    "training.TrainLog": _RESULT.format("train"),
    "training.train": "a model, a LagTask and a TrainConfig; no array argument",
    "training.clip_per_model": "a model and a scalar",
    "training.make_optimizer": "a model and a TrainConfig",
    "training.timescale_parameter_names": "a model",
    "training.atomic_write_bytes": _TOOLING,
    "training.load_checkpoint": _TOOLING,
    **{
        f"experiments.{n}": "names, tiers, paths and configuration objects; no array argument"
        for n in (
            "Arm",
            "ExperimentConfig",
            "get_config",
            "get_experiment",
            "run_experiment",
            "resolve_device",
            "load_result",
            "best_result",
            "provenance_markdown",
            "validate_result",
            "StoredResult",
        )
    },
    "experiments.PushStatistics": _RESULT.format("push_statistics"),
    **{f"diagnostics.{n}": _SCALARS for n in ("scaled_window", "default_lags")},
    "diagnostics.phase_label": "a HorizonClass record and scalars",
    "diagnostics.horizon_summary": "a HorizonClass record",
    "diagnostics.runs_pmf": _SCALARS,
    **{
        f"diagnostics.{n}": _RESULT.format("the diagnostics")
        for n in (
            "TimescaleFit",
            "NetworkEnvelope",
            "JacobianEnvelope",
            "ModelFit",
            "DecayFit",
            "RunsTestGate",
            "BetaInterval",
            "Diagnosis",
            "HorizonClass",
            "CensoredPowerLawFit",
            "AuthorPhase",
        )
    },
    "response.ResponseKernel": _RESULT.format("response_kernel"),
    "timing.interleaved_minimum": "callables and counts: no array",
    "timing.training_pass": "a model and its input, passed on unchanged (the model checks x)",
    "process.TailAsymptote": _RESULT.format("tail_asymptote"),
    "process.tail_asymptote": _SCALARS,
    "book.GluedText": _TOOLING,
    "models.check_options": "a model name and an options dict (the options are what it checks)",
    **{
        f"explorers.{n}": (
            "interactive figures: choices and scalars, each control range-checked by Explorer"
        )
        for n in (
            "Control",
            "Explorer",
            "cap_explorer",
            "data_cost_explorer",
            "envelope_explorer",
            "explorer_figure",
            "process_explorer",
            "results_explorer",
            "spectra_explorer",
            "stable_explorer",
        )
    },
    "explorers.seed_entries": "a stored summary dict and a seed index",
    "explorers.spectrum_envelope": "a family name and scalars (the explorer's closed forms)",
}


# ------------------------------------------------------------------------------------------
# modules of other owners: the expected behaviour, checked in their own test functions
# ------------------------------------------------------------------------------------------


def _leak(shape=(2, 40, 3)):
    return torch.full(shape, 0.9, dtype=torch.float64), torch.zeros(shape, dtype=torch.float64)


def _model():
    from mlmath.models import DiagGate

    return DiagGate(2, 3, seed=0)


def _x(shape=(2, 10, 2)):
    return torch.ones(shape)


OTHER_OWNERS_SHAPE_CASES = {
    "models.gate_bias_for_timescales": None,  # elementwise: see OTHER_OWNERS_ELEMENTWISE
    "models.orthogonal_": (lambda: dict(tensor=torch.empty(3, 3)), "tensor", torch.empty(3)),
    "training.inject_forcing": (
        lambda: dict(model=_model(), alpha=1.5, rms=torch.ones(_model().forcing_target().shape)),
        "rms",
        torch.ones(7),
    ),
    "training.lag_recovery": (
        lambda: dict(model=_model(), task=_lag_task(), x=_x()),
        "x",
        _x((10, 2)),
    ),
    "training.recovery_horizon": (
        lambda: dict(recovery=np.ones((1, 2)), lags=[1, 3]),
        "lags",
        np.array([[1, 3]]),
    ),
    "training.evaluate_mse": (
        lambda: dict(model=_model(), x=_x(), y=_x((2, 10, 1))),
        "x",
        _x((10, 2)),
    ),
    "experiments.push_statistics": (lambda: dict(y_path=np.ones((5, 3))), "y_path", np.ones(5)),
    "experiments.predicted_beta": (
        lambda: dict(pull=1.0, rate=0.5, sizes=V / 100),
        "sizes",
        M / 100,
    ),
    "diagnostics.log_effective_rates": (
        lambda: dict(zip(("leak", "rdiag"), _leak())) | dict(lags=[1, 2]),
        "leak",
        np.full(40, 0.9),
    ),
    "diagnostics.mean_log_rates": (
        lambda: dict(zip(("leak", "rdiag"), _leak())) | dict(lags=[1, 2]),
        "rdiag",
        np.zeros(40),
    ),
    "diagnostics.unit_timescale_fit": (
        lambda: dict(zip(("leak", "rdiag"), _leak())) | dict(window=(2, 8)),
        "leak",
        np.full(40, 0.9),
    ),
    "diagnostics.unit_timescales": (
        lambda: dict(zip(("leak", "rdiag"), _leak())) | dict(window=(2, 8)),
        "rdiag",
        np.zeros(40),
    ),
    "diagnostics.network_envelope": (
        lambda: dict(zip(("leak", "rdiag"), _leak())) | dict(lags=[1, 2], window=(2, 8)),
        "lags",
        np.array([[1, 2]]),
    ),
    "diagnostics.jacobian_envelope": (
        lambda: dict(jacobians=np.zeros((10, 3, 3)), lags=[1, 2]),
        "jacobians",
        np.zeros((10, 3)),
    ),
    "diagnostics.decay_class": (lambda: dict(lags=LAGS, f=LAGS**-0.5), "f", np.ones((2, 12))),
    "diagnostics.runs_test_gate": (lambda: dict(lags=LAGS, f=LAGS**-0.5), "f", np.ones((2, 12))),
    "diagnostics.count_runs": (lambda: dict(signs=SIGNED), "signs", M),
    "diagnostics.beta_interval": (lambda: dict(taus=V, n_boot=20, rng=0), "taus", M),
    "diagnostics.censored_power_law_fit": (lambda: dict(taus=V, censor=50.0), "taus", M),
    "diagnostics.horizon_class": (
        lambda: dict(lags=LAGS, f=np.exp(-LAGS / 5.0)),
        "f",
        np.ones((2, 12)),
    ),
    "diagnostics.author_phase_rule": (lambda: dict(lags=LAGS, f=LAGS**-0.5), "f", np.ones((2, 12))),
    "diagnostics.envelope_noise": (lambda: dict(lags=LAGS, f=LAGS**-0.5), "f", np.ones((2, 12))),
    "diagnostics.classify_envelope": (
        lambda: dict(lags=LAGS, envelope=np.exp(-LAGS / 5.0), taus=V, length=64, n_boot=20, rng=0),
        "taus",
        M,
    ),
    "response.response_kernel": (
        lambda: dict(
            prediction=np.ones((2, 16)),
            projected=np.ones((2, 16)),
            planted_lags=[1, 3],
            coefs=[0.5, 0.5],
            n_boot=20,
            rng=0,
        ),
        "prediction",
        np.ones(16),
    ),
    "response.model_response_kernel": (
        lambda: dict(model=_model(), task=_lag_task(), x=_x((2, 16, 2)), n_boot=20),
        "x",
        _x((16, 2)),
    ),
    "diagnostics.forcing_tail_index": (
        lambda: dict(increments=SIGNED.reshape(60, 1)),
        "increments",
        np.float64(1.0),
    ),
    "diagnostics.restoring_drift": SHAPE_CASES["pull.restoring_drift"],
    "diagnostics.diagnose": (
        lambda: dict(model=_model(), x=_x((2, 40, 2)), window=(2, 8), n_boot=20, rng=0),
        "x",
        _x((40, 2)),
    ),
}
del OTHER_OWNERS_SHAPE_CASES["models.gate_bias_for_timescales"]

OTHER_OWNERS_ELEMENTWISE = {
    "models.gate_bias_for_timescales": (lambda: dict(taus=V[:6]), "taus"),
    "experiments.log_timescale_from_target": (
        lambda: dict(kind="DiagGate", values=np.linspace(-5, 1, 6)),
        "values",
    ),
}

#: callables with **kwargs (or an options dict): valid arguments plus a misspelled option
OTHER_OWNERS_KEYWORD_CASES = {
    "timing.model_scaling": lambda: (
        dict(kind="DiagGate", length=8, hidden_size=4, repeats=1),
        "tau_int",
    ),
    "models.ConstGate": lambda: (dict(input_size=1, hidden_size=4), "tau_int"),
    "models.SharedGate": lambda: (dict(input_size=1, hidden_size=4), "tau_int"),
    "models.DiagGate": lambda: (dict(input_size=1, hidden_size=4), "tau_int"),
    "models.GRUReference": lambda: (dict(input_size=1, hidden_size=4), "recurrence"),
    "models.LSTMReference": lambda: (dict(input_size=1, hidden_size=4), "recurrence"),
    "models.build_model": lambda: (dict(name="DiagGate", input_size=1, hidden_size=4), "tau_int"),
    "response.model_response_kernel": lambda: (
        dict(model=_model(), task=_lag_task(), x=_x((2, 16, 2)), n_boot=20),
        "n_bootstrap",
    ),
    "diagnostics.unit_timescales": lambda: (
        dict(zip(("leak", "rdiag"), _leak())) | dict(window=(2, 8)),
        "rate_flor",
    ),
}

OWN_MODULES = (
    "envelope",
    "tails",
    "stable",
    "increments",
    "learnability",
    "pull",
    "tasks",
    "process",
)


def _own(key: str) -> bool:
    return key.split(".")[0] in OWN_MODULES


# ------------------------------------------------------------------------------------------
# the tests
# ------------------------------------------------------------------------------------------


def test_every_public_callable_is_in_a_table():
    tables = (
        set(SHAPE_CASES)
        | set(ELEMENTWISE)
        | set(NO_ARRAY)
        | set(OTHER_OWNERS_SHAPE_CASES)
        | set(OTHER_OWNERS_ELEMENTWISE)
        | set(OTHER_OWNERS_KEYWORD_CASES)
    )
    missing = sorted(set(CALLABLES) - tables)
    assert not missing, f"public callables in no table (add a case or a reason): {missing}"
    stale = sorted(tables - set(CALLABLES))
    assert not stale, f"table entries that are not public callables: {stale}"
    exempt_and_tested = sorted(
        set(NO_ARRAY) & (set(SHAPE_CASES) | set(ELEMENTWISE) | set(OTHER_OWNERS_SHAPE_CASES))
    )
    assert not exempt_and_tested, (
        f"listed as taking no array, yet tested with one: {exempt_and_tested}"
    )


def _has_var_keyword(obj) -> bool:
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return True  # no signature: it must come with a valid-argument case
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


@pytest.mark.parametrize(
    "key", sorted(k for k, obj in CALLABLES.items() if not _has_var_keyword(obj))
)
def test_unknown_keyword_is_rejected(key):
    """Python's binding rejects the keyword before the body runs (no side effects)."""
    with pytest.raises(TypeError, match=BOGUS):
        CALLABLES[key](**{BOGUS: 1})


def test_only_other_owners_accept_var_keywords():
    with_kwargs = sorted(k for k, obj in CALLABLES.items() if _has_var_keyword(obj))
    assert set(with_kwargs) <= set(OTHER_OWNERS_KEYWORD_CASES), (
        f"public callables with **kwargs and no valid-argument case: {with_kwargs}"
    )


def _assert_rejects_shape(key, case):
    valid, arg, bad = case
    kwargs = valid()
    assert arg in kwargs, f"{key}: the broken argument {arg!r} is not among the valid ones"
    kwargs[arg] = bad
    with pytest.raises((ValueError, TypeError)) as info:
        CALLABLES[key](**kwargs)
    message = str(info.value)
    assert arg in message, f"{key}: the message does not name {arg!r}: {message}"
    if info.type is ValueError:  # a wrong-shaped array: the message gives the shape received
        assert f"shape {np.shape(bad)}" in message or str(tuple(np.shape(bad))) in message, (
            f"{key}: the message does not give the shape {np.shape(bad)}: {message}"
        )


@pytest.mark.parametrize("key", sorted(SHAPE_CASES))
def test_wrong_shape_is_rejected(key):
    _assert_rejects_shape(key, SHAPE_CASES[key])


@pytest.mark.parametrize("key", sorted(SHAPE_CASES))
def test_shape_case_valid_arguments_are_valid(key):
    """The valid half of each case returns, so the wrong-shape raise above is due to the shape."""
    valid, _, _ = SHAPE_CASES[key]
    CALLABLES[key](**valid())


def _assert_elementwise(key, case):
    valid, arg = case
    kwargs = valid()
    row = np.asarray(kwargs[arg])
    table = np.stack([row, row[::-1]])
    whole = np.asarray(CALLABLES[key](**{**kwargs, arg: table}))
    assert whole.shape == table.shape, f"{key}: a {table.shape} {arg} gave shape {whole.shape}"
    for i in range(2):
        np.testing.assert_allclose(
            whole[i], np.asarray(CALLABLES[key](**{**kwargs, arg: table[i]})), rtol=1e-12, atol=0
        )


@pytest.mark.parametrize("key", sorted(ELEMENTWISE))
def test_elementwise_functions_keep_the_shape(key):
    _assert_elementwise(key, ELEMENTWISE[key])


def test_batched_envelope_is_one_envelope_per_row():
    from mlmath import envelope as env

    taus = np.array([[1.0, 2.0], [3.0, 4.0]])
    f = env.envelope_from_timescales(taus, LAGS)
    assert f.shape == (2, LAGS.size)
    for s in range(2):
        np.testing.assert_array_equal(f[s], env.envelope_from_timescales(taus[s], LAGS))
    # the example: two seeds of two units are not one population of four
    pooled = env.envelope_from_timescales(taus.ravel(), LAGS)
    assert not np.allclose(f[0], pooled) and not np.allclose(f[1], pooled)
    np.testing.assert_allclose(
        f.mean(axis=0), pooled, rtol=1e-12
    )  # equal weights: the mean of rows
    weights = np.array([[1.0, 0.0], [0.0, 2.0]])
    fw = env.envelope_from_timescales(taus, LAGS, weights)
    np.testing.assert_allclose(fw, np.exp(-np.outer([1.0, 1 / 4.0], LAGS)), rtol=1e-12)
    assert env.envelope_from_timescales(taus, 5.0).shape == (2,)
    assert env.envelope_from_timescales(taus, np.ones((3, 4))).shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"weights must have the shape of taus \(2, 2\)"):
        env.envelope_from_timescales(taus, LAGS, np.ones(4))
    with pytest.raises(ValueError, match=r"weights.*every row"):
        env.envelope_from_timescales(taus, LAGS, np.array([[1.0, 1.0], [0.0, 0.0]]))


def test_batched_empirical_ccdf_is_one_ccdf_per_row():
    from mlmath import tails

    x = np.array([[3.0, 1.0, 2.0], [10.0, 30.0, 20.0]])
    xs, p = tails.empirical_ccdf(x)
    assert xs.shape == p.shape == (2, 3)
    for s in range(2):
        row_x, row_p = tails.empirical_ccdf(x[s])
        np.testing.assert_array_equal(xs[s], row_x)
        np.testing.assert_array_equal(p[s], row_p)
    np.testing.assert_array_equal(p[0], [1.0, 2 / 3, 1 / 3])


@pytest.mark.parametrize("key", sorted(OTHER_OWNERS_KEYWORD_CASES))
def test_other_owners_reject_misspelled_options(key):
    """Fails until issue 21 item 1 (models reject unused options) lands from its owner."""
    kwargs, option = OTHER_OWNERS_KEYWORD_CASES[key]()
    with pytest.raises(TypeError, match=option):
        CALLABLES[key](**kwargs, **{option: 80.0})


@pytest.mark.parametrize("key", sorted(OTHER_OWNERS_SHAPE_CASES))
def test_other_owners_reject_wrong_shapes(key):
    """models, training, experiments, diagnostics: the expected behaviour (see the report)."""
    _assert_rejects_shape(key, OTHER_OWNERS_SHAPE_CASES[key])


@pytest.mark.parametrize("key", sorted(OTHER_OWNERS_SHAPE_CASES))
def test_other_owners_shape_case_valid_arguments_are_valid(key):
    valid, _, _ = OTHER_OWNERS_SHAPE_CASES[key]
    CALLABLES[key](**valid())


@pytest.mark.parametrize("key", sorted(OTHER_OWNERS_ELEMENTWISE))
def test_other_owners_elementwise_functions_keep_the_shape(key):
    _assert_elementwise(key, OTHER_OWNERS_ELEMENTWISE[key])
