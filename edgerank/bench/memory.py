"""Peak memory of one runtime, measured in a fresh process so runtimes do not pollute each other.

``python -m edgerank.bench.memory tflite MODEL.tflite SAMPLES.npz THREADS`` or
``... torch GRAPH.pt SAMPLES.npz THREADS`` prints ``{"peak_rss_mb", "baseline_rss_mb",
"load_mb", "inference_mb"}``: the process's peak resident set after serving every request, the
peak after importing the runtime library (before the model), what loading the model added (for
PyTorch this includes importing the model's Python code, i.e. edgerank and Lightning), and what
serving the requests added on top. A multi-signature artifact (adaptive beam: ``prepare``,
``step``, ``finish``) is served as the app serves it, by the numpy loop
:func:`edgerank.core.app_loop.drive` with the list size and threshold of its manifest; its
PyTorch graph runs the same loop over its eager modules.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable


def _peak_mb() -> float:
    """Peak resident set of this process so far, in MiB.

    Linux's ``VmHWM`` first: ``ru_maxrss`` survives ``execve`` and so would report the peak of
    the (torch-laden) parent that spawned the probe.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB; macOS reports bytes


def tflite_call(interpreter: Any, manifest: dict[str, Any], fixed_shape: bool = True) -> Callable[[dict[str, Any]], Any] | None:
    """One request through a ``.tflite``: its single signature, or the adaptive-beam app loop
    (numpy only, no torch); None for any other set of signatures. ``fixed_shape``: as
    :func:`edgerank.core.runners.signature_runners` calls the signatures."""
    from edgerank.core.app_loop import SIGNATURES, drive
    from edgerank.core.runners import SINGLE, signature_runners

    names = set(interpreter.get_signature_list())
    if len(names) == 1:
        runner = signature_runners(interpreter, fixed_shape=fixed_shape)[SINGLE]
        return lambda r: runner(**r)

    options = manifest.get("ranker") or {}
    if names != set(SIGNATURES) or "list_size" not in options or "threshold" not in options:
        return None
    runners = signature_runners(interpreter, SIGNATURES, fixed_shape)
    list_size, threshold = int(options["list_size"]), float(options["threshold"])
    return lambda r: drive(runners, r, list_size, threshold)


def measure(kind: str, model: str | Path, samples: str | Path, threads: int, timeout: float = 300) -> dict[str, Any]:
    """Run the probe in a subprocess; on failure return ``{"error": ...}`` instead of raising."""
    command = [sys.executable, "-m", "edgerank.bench.memory", kind, str(model), str(samples), str(threads)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode == 0:
            return json.loads(done.stdout.strip().splitlines()[-1])
        return {"error": f"probe exited {done.returncode}: {done.stderr.strip()[-300:]}"}
    except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _probe(kind: str, model: str, samples: str, threads: int) -> dict[str, float]:
    import numpy as np

    with np.load(samples) as data:
        arrays = {k: data[k] for k in data.files}
    n = len(next(iter(arrays.values())))
    requests = [{k: v[i : i + 1] for k, v in arrays.items()} for i in range(n)]
    if kind == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        from edgerank.core.manifest import read_manifest

        manifest = read_manifest(Path(model).parent)
        baseline = _peak_mb()
        call = tflite_call(Interpreter(model_path=model, num_threads=threads), manifest)
        if call is None:
            raise SystemExit(f"{model}: signatures this probe cannot drive (one signature, or prepare/step/finish with a ranker in the manifest)")
        loaded = _peak_mb()
        for request in requests:
            call(request)
    elif kind == "torch":
        import torch

        torch.set_num_threads(threads)
        baseline = _peak_mb()
        from edgerank.graph import eager_runners

        graph = torch.load(model, weights_only=False).eval()  # also imports the model's code
        loaded = _peak_mb()
        runners = eager_runners(graph)
        with torch.inference_mode():
            for request in requests:
                graph.drive(runners, request)  # several signatures: the app loop over eager modules
    else:
        raise SystemExit(f"unknown runtime kind '{kind}' (tflite or torch)")
    peak = _peak_mb()
    return {
        "peak_rss_mb": round(peak, 2),
        "baseline_rss_mb": round(baseline, 2),
        "load_mb": round(loaded - baseline, 2),
        "inference_mb": round(peak - loaded, 2),
    }


if __name__ == "__main__":
    kind, model, samples, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    print(json.dumps(_probe(kind, model, samples, threads)))
