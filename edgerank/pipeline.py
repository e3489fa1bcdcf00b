"""The main job: config -> plugins -> data -> model -> Lightning training -> metrics -> export.

Kept free of Hydra's runtime (it receives a composed config and an output directory) so that
tests and notebooks can call :func:`run` directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from edgerank import console
from edgerank.errors import ConfigError, EdgeRankError
from edgerank.export.options import check_export_options
from edgerank.graph import Evaluator
from edgerank.job_checks import check_checkpoint, check_job, checkpoint_path
from edgerank.rankers.base import Ranker
from edgerank.registry import Registry, load_plugins
from edgerank.staging import staged_file
from edgerank.tracking import log_config, log_outcome
from edgerank.training.task import Task

log = logging.getLogger(__name__)

PLUGIN_GROUPS = ("data", "model", "ranker")  # config groups whose ``name`` is a registered plugin
METRICS_FILE = "metrics.json"
ARTIFACT_DIR = "artifact"


def plain(cfg: DictConfig, key: str) -> Any:
    """``cfg[key]`` as plain Python, turning ``???`` placeholders into a named ConfigError."""
    try:
        return OmegaConf.to_container(cfg[key], resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        field = f"{key}.{exc.key}" if exc.key and not str(exc.full_key).startswith(key) else str(exc.full_key)
        raise ConfigError(field, "is required (it is '???' in the config); set it on the command line") from None


def check_plugins(cfg: DictConfig, registry: Registry) -> None:
    """Fail before any work when a config names a plugin that is not installed."""
    for group in PLUGIN_GROUPS:
        section = cfg.get(group)
        if section is None:
            continue
        if "name" not in section:
            raise ConfigError(f"{group}.name", f"missing: say which {group} plugin to use")
        registry.get(group, section.name)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the complete new one, never half of it."""
    with staged_file(path) as stage:
        stage.path.write_text(json.dumps(payload, indent=2, sort_keys=True))
        stage.commit()


def run(cfg: DictConfig, output_dir: str | Path, parallel_jobs: int = 1) -> dict[str, float]:
    """Train, test and (if ``export.enabled``) export; returns the flat metrics dict.

    ``parallel_jobs``: jobs sharing this machine's cores (a parallel launcher's), for ``threads=auto``.
    Third-party output goes to ``<output_dir>/run.log`` unless ``cfg.verbose`` (see edgerank.console).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with console.session(output_dir / console.LOG_FILE, verbose=bool(cfg.get("verbose", False))):
        return _run(cfg, output_dir, parallel_jobs)


def _run(cfg: DictConfig, output_dir: Path, parallel_jobs: int) -> dict[str, float]:
    registry = load_plugins()
    check_plugins(cfg, registry)
    check_job(cfg)
    export_cfg = check_export_options(plain(cfg, "export"))
    from edgerank.training.threads import apply_threads

    apply_threads(cfg.get("threads", "auto"), parallel_jobs)
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)

    datamodule = registry.build("data", plain(cfg, "data"))
    log.info("%s", describe(cfg, output_dir))
    with console.phase("data") as step:  # preparing a feed log takes a while: its own line, after the experiment's
        datamodule.setup()
        step.note = _data_note(getattr(datamodule.spec, "source", None) or {})
    net = registry.build("model", plain(cfg, "model"), spec=datamodule.spec)
    ranker = _ranker(cfg, registry, net, datamodule)
    # objects go in after instantiation: Hydra would turn a dataclass argument into a config
    task = instantiate(cfg.task, _partial_=True)
    module = task(net=net, spec=datamodule.spec, optimizer=instantiate(cfg.optimizer))
    if not isinstance(module, Task):
        raise ConfigError("task", f"{type(module).__name__} must subclass edgerank.training.task.Task "
                                  "(a LightningModule that also measures an exported model)")
    trainer = _trainer(cfg)
    checkpoint = checkpoint_path(cfg)
    if checkpoint is not None:
        check_checkpoint(checkpoint, module)
    log_config(trainer.loggers, cfg)
    if cfg.get("train", True):  # from scratch, or resumed from ckpt_path
        with console.phase("train", quiet=False) as step:
            trainer.fit(module, datamodule=datamodule, ckpt_path=checkpoint)
            step.note = f"{trainer.current_epoch} epoch{'' if trainer.current_epoch == 1 else 's'}"
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") if trainer.checkpoint_callback else ""
        checkpoint = best or None
    with console.phase("test", quiet=False) as step:
        results = trainer.test(module, datamodule=datamodule, ckpt_path=checkpoint, verbose=False)
        metrics = console.round_metrics({key: float(value) for key, value in sorted(results[0].items())})
        step.note = _headline(metrics, cfg.get("optimized_metric"))  # the figure the table and metrics.json show
    if not trainer.is_global_zero:  # data-parallel workers: rank 0 alone writes and exports
        return metrics
    if ranker is not None:
        from edgerank.training.rerank_eval import evaluate_ranker

        if type(ranker).fit is not Ranker.fit:  # a ranker with parameters of its own (e.g. seq2slate)
            with console.phase("ranker training"):
                ranker.fit(datamodule.train_dataloader(), datamodule.spec.input_names)
        with console.phase("ranker evaluation", quiet=False) as step:
            metrics.update(console.round_metrics(evaluate_ranker(ranker.eval(), list(datamodule.ranking_requests()), seed=int(cfg.seed))))
            step.note = _headline(metrics, "rerank/true_list_reward")

    if export_cfg["enabled"]:
        with console.quietly():  # converter imports are heavy, and native libraries announce themselves
            from edgerank.export.artifact import export_artifact

        graph = (net if ranker is None else ranker).on_device()  # a ranker ships with its model
        samples = datamodule.parity_samples(int(export_cfg["parity_samples"]), seed=int(cfg.seed))
        manifest = export_artifact(
            graph,
            samples,
            output_dir / ARTIFACT_DIR,
            name=str(export_cfg["name"]),
            version=None if export_cfg["version"] is None else str(export_cfg["version"]),
            tolerance=float(export_cfg["tolerance"]),
            metrics=metrics,
            fields={**datamodule.spec.manifest_fields(), **({"ranker": plain(cfg, "ranker")} if ranker else {})},
        )
        metrics_report = {**metrics, "parity/max_abs_err": manifest["parity"]["max_abs_err"]}
        metrics_report["parity/lists_identical"] = manifest["parity"]["lists_identical"]
        metrics_report["artifact/size_bytes"] = manifest["size_bytes"]
        metrics_report = console.round_metrics(metrics_report)
        # only now: a run that fails before publishing leaves the old artifact/ with its own metrics
        write_json(output_dir / METRICS_FILE, metrics_report)  # with the figures the table prints
        from edgerank.export.quantized_artifact import drop_stale_quantized

        drop_stale_quantized(output_dir, ARTIFACT_DIR, str(manifest["sha256"]))
        if export_cfg.get("save_reference", True):
            save_reference_step(graph, samples, output_dir)
        if export_cfg.get("quantize"):
            quantized = quantize_step(graph, samples, module.exported_evaluator(datamodule, graph), output_dir, export_cfg, manifest)
            metrics_report = console.round_metrics({**metrics_report, **quantized})
        write_json(output_dir / METRICS_FILE, metrics_report)  # + the int8 figures, once that artifact is published
        log_outcome(trainer.loggers, metrics_report, output_dir / ARTIFACT_DIR, trainer.global_step)
        print_table(metrics_report, output_dir, manifest["parity"])
        return metrics_report
    write_json(output_dir / METRICS_FILE, metrics)
    log_outcome(trainer.loggers, metrics, None, trainer.global_step)
    print_table(metrics, output_dir)
    return metrics


def save_reference_step(graph: Any, samples: Any, output_dir: Path) -> None:
    """The PyTorch graph and the parity requests beside the artifact, for ``edgerank.bench``:
    an aid for benchmarks, so a failure is a warning, never a failed export."""
    from edgerank.export.reference import save_reference

    try:
        with console.quietly():  # torch.save may warn about the graph's code
            save_reference(graph, samples, output_dir)
    except Exception as exc:  # noqa: BLE001 - see above
        log.warning("could not save %s/reference (bench will skip PyTorch eager): %s: %s", output_dir, type(exc).__name__, exc)


def quantize_step(graph: Any, samples: Any, evaluator: Evaluator | None, output_dir: Path, export_cfg: Mapping[str, Any],
                  manifest: Mapping[str, Any]) -> dict[str, float]:
    """``artifact_<mode>/`` within the ``export.quantization`` tolerances; its lines of the summary table."""
    from edgerank.export.quantize import check_tolerances
    from edgerank.export.quantized_artifact import export_quantized

    mode = str(export_cfg["quantize"])
    tolerances = check_tolerances(export_cfg.get("quantization") or {})
    with console.phase(f"{mode} quantization"):
        report = export_quantized(
            graph, samples, output_dir / ARTIFACT_DIR, output_dir / f"{ARTIFACT_DIR}_{mode}", manifest,
            mode=mode, tolerances=tolerances, evaluator=evaluator,
        )
    lines = {f"{mode}/{key}": report[key] for key in ("size_ratio", "max_abs_err", "overlap_at_k")}
    return lines | {f"{mode}/delta_{name}": delta for name, delta in (report["metric_deltas"] or {}).items()}


def _ranker(cfg: DictConfig, registry: Registry, net: Any, datamodule: Any) -> Any:
    """The ranker plugin over ``net`` (exported with it into one file), or None without one."""
    if cfg.get("ranker") is None:
        return None
    if not hasattr(datamodule, "ranking_requests"):
        raise ConfigError(
            "ranker", f"data plugin '{cfg.data.name}' has no ranking ground truth; rankers need a re-ranking scenario"
        )
    from edgerank.models.scorer import PointwiseScorer

    if hasattr(net, "scorer"):
        scorer = net.scorer()
    else:
        log.warning(
            "model '%s' is point-wise: the ranker sees no partial-list context (use a context-aware "
            "model such as ta_mmoe_ctx for generative re-ranking)", cfg.model.name
        )
        scorer = PointwiseScorer(net.on_device())
    ranker = registry.build("ranker", plain(cfg, "ranker"), scorer=scorer)
    try:
        ranker.check_candidates(datamodule.spec.max_candidates)
    except ConfigError as exc:
        raise exc.under("ranker") from None
    return ranker


def _trainer(cfg: DictConfig) -> L.Trainer:
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    try:
        return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    except InstantiationException as exc:  # Lightning validates its own arguments
        raise ConfigError("trainer", str(exc.__cause__ or exc)) from exc


def describe(cfg: DictConfig, output_dir: Path) -> str:
    """The resolved experiment in one line: plugins, seed, epochs and where it writes."""
    parts = [f"{group}={cfg[group].name}" for group in PLUGIN_GROUPS if cfg.get(group) is not None]
    parts += [f"seed={cfg.seed}", f"epochs={cfg.trainer.get('max_epochs')}"]
    return f"{cfg.task_name}: {' '.join(parts)} -> {output_dir}"


def _data_note(source: Mapping[str, Any]) -> str:
    """Rows and requests of a data source that reports them (a feed log), for the data phase's line."""
    if "rows" not in source:
        return ""
    requests = source.get("requests")
    total = sum(requests.values()) if isinstance(requests, Mapping) else requests
    return f"{source['rows']:,} rows" + (f", {total:,} requests" if total is not None else "")


def _headline(metrics: Mapping[str, Any], key: str | None) -> str:
    return f"{key}={float(metrics[key]):.4g}" if key and key in metrics else ""


def print_table(metrics: Mapping[str, Any], output_dir: Path, parity: Mapping[str, Any] | None = None) -> None:
    """The run's figures, its directory and the parity verdict, on stdout."""
    width = max(len(k) for k in metrics)
    lines = [f"{k:<{width}}  {v:.4g}" if isinstance(v, float) else f"{k:<{width}}  {v}" for k, v in metrics.items()]
    footer = [f"{'run dir':<{width}}  {output_dir}"]
    if parity is not None:
        footer.append(
            f"{'parity':<{width}}  {'passed' if parity['passed'] else 'FAILED'} (max abs err {parity['max_abs_err']:.2g}, "
            f"lists identical {parity['lists_identical']:.1%}, {parity['n_samples']} requests)"
        )
    print("\n".join(["", *lines, "", *footer, ""]), flush=True)


__all__ = ["EdgeRankError", "run"]
