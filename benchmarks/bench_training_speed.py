"""CPU speed of one compact-UnEBOLT training step and of one paper-size scan inference,
before and after the speed work of issue 14, side by side in one run (simulated random input).

"before" is the code as it was (its forward methods are frozen below and bound to a copy of the
same model) with the OpenMP default wait policy; "after" is the current code with
``OMP_WAIT_POLICY=PASSIVE``. The two other combinations are measured too, so that the share of
the code changes and of the thread setting can be read separately.

The OpenMP wait policy is read once, when torch loads its OpenMP runtime, so it cannot change
inside a process: the benchmark starts one worker process per policy and asks them in turn
(round-robin, one repetition each), so that both see the same background load. Medians over the
repetitions are reported. Output: JSON on stdout (and ``--out``).

Run: ``python benchmarks/bench_training_speed.py [--reps 7] [--infer-windows 575] [--out f.json]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
import types

POLICIES = {"default": None, "passive": "PASSIVE"}


# --------------------------------------------------------------------------------------------
# frozen copies of the forward methods before the speed work ("before" path)


def _old_mlp_forward(self, x):
    import torch.nn.functional as F

    return self.drop(self.fc2(F.gelu(self.fc1(x))))


def _old_attention_forward(self, x):
    import torch.nn.functional as F

    batch, n_tokens, dim = x.shape
    qkv = self.qkv(x).reshape(batch, n_tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = self.q_norm(qkv[0]), self.k_norm(qkv[1]), qkv[2]
    out = F.scaled_dot_product_attention(
        q, k, v, dropout_p=self.attn_drop if self.training else 0.0
    )
    out = out.transpose(1, 2).reshape(batch, n_tokens, dim)
    return self.proj_drop(self.proj(out))


def _old_block_forward(self, x):
    x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x)))
    return x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))


def _old_encoder_forward(self, patches):
    import torch

    batch, n_chans, n_patches, _ = patches.shape
    tokens = self.patch_embed(patches)
    tokens = tokens + self.time_embed[:, :n_patches].repeat(1, n_chans, 1)
    channel_embed = self.pos_embed[:, self.channel_rows]
    tokens = tokens + channel_embed[:, 1:].repeat_interleave(n_patches, dim=1)
    cls = self.cls_token + channel_embed[:, :1]
    x = torch.cat((cls.expand(batch, -1, -1), tokens), dim=1)
    x = self.pos_drop(x)
    for block in self.blocks:
        x = block(x)
    return self.fc_norm(x[:, 1:].mean(dim=1))


def old_model(model):
    """A copy of ``model`` (same weights) whose LaBraM-branch modules run the old forwards."""
    from unebolt_viz.models import labram

    old = copy.deepcopy(model)
    frozen = {
        labram.Mlp: _old_mlp_forward,
        labram.Attention: _old_attention_forward,
        labram.Block: _old_block_forward,
        labram.SpatiotemporalEncoder: _old_encoder_forward,
    }
    for module in old.modules():
        if type(module) in frozen:
            module.forward = types.MethodType(frozen[type(module)], module)
    return old


# --------------------------------------------------------------------------------------------
# worker: one process per OpenMP wait policy


class Worker:
    """Models and data of one worker process; ``run(task, path)`` times one repetition."""

    def __init__(self, threads: int, batch: int, steps: int, infer_windows: int) -> None:
        import torch

        from unebolt_viz.models import build_model
        from unebolt_viz.models.loss import MultiObjectiveLoss

        torch.set_num_threads(threads)
        self.torch, self.batch, self.steps = torch, batch, steps
        gen = torch.Generator().manual_seed(0)
        compact = build_model("unebolt", n_outputs=64, preset="compact", seed=0)
        self.compact = {"new": compact, "old": old_model(compact)}
        self.opt = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in self.compact.items()}
        self.criterion = MultiObjectiveLoss()
        self.x = torch.randn(batch, 26, 3200, generator=gen) * 20.0
        self.y = torch.randn(batch, 64, generator=gen)
        self.infer_windows = infer_windows
        self.paper = None

    def _paper(self):
        if self.paper is None:
            from unebolt_viz.models import build_model

            model = build_model("unebolt", n_outputs=64, preset="paper", seed=0).eval()
            gen = self.torch.Generator().manual_seed(1)
            self.scan = self.torch.randn(self.infer_windows, 26, 3200, generator=gen) * 20.0
            self.paper = {"new": model, "old": old_model(model)}
        return self.paper

    def train_step(self, path: str) -> None:
        model, opt = self.compact[path], self.opt[path]
        opt.zero_grad(set_to_none=True)
        self.criterion(model(self.x), self.y).backward()
        opt.step()

    def infer(self, path: str):
        model = self._paper()[path]
        with self.torch.no_grad():
            return self.torch.cat([model(chunk) for chunk in self.scan.split(64)])

    def run(self, task: str, path: str) -> dict:
        if task == "train":
            self.compact[path].train()
            self.train_step(path)  # warm-up
            tic, cpu = time.perf_counter(), time.process_time()
            for _ in range(self.steps):
                self.train_step(path)
            wall = (time.perf_counter() - tic) / self.steps
            return {
                "windows_per_s": self.batch / wall,
                "wall_s_per_step": wall,
                "cpu_s_per_step": (time.process_time() - cpu) / self.steps,
            }
        if task == "infer":
            self._paper()
            tic, cpu = time.perf_counter(), time.process_time()
            self.infer(path)
            return {"wall_s": time.perf_counter() - tic, "cpu_s": time.process_time() - cpu}
        if task == "diff":
            return self.diffs()
        raise ValueError(task)

    def diffs(self) -> dict:
        """Eval predictions of the old and new code on the same (untrained) weights."""
        from unebolt_viz.models import build_model

        out = {}
        fresh = build_model("unebolt", n_outputs=64, preset="compact", seed=0).eval()
        pairs = {"compact": (fresh, old_model(fresh), self.x)}
        paper = self._paper()
        pairs["paper"] = (paper["new"], paper["old"], self.scan[:16])
        for name, (new_model, old_model_, x) in pairs.items():
            with self.torch.no_grad():
                new, old = new_model.eval()(x), old_model_.eval()(x)
            out[f"{name}_eval_max_abs_diff"] = float((new - old).abs().max())
            out[f"{name}_eval_max_rel_diff"] = float((new - old).abs().max() / old.abs().max())
        return out


def worker_main(args: argparse.Namespace) -> None:
    worker = Worker(args.threads, args.batch, args.steps, args.infer_windows)
    print("ready", flush=True)
    for line in sys.stdin:
        task, path = line.split()
        print(json.dumps(worker.run(task, path)), flush=True)


# --------------------------------------------------------------------------------------------
# parent: start the workers, interleave, summarise


def _start(policy: str, args: argparse.Namespace) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if POLICIES[policy]:
        env["OMP_WAIT_POLICY"] = POLICIES[policy]
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--threads",
        str(args.threads),
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--infer-windows",
        str(args.infer_windows),
    ]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _ask(proc: subprocess.Popen, task: str, path: str) -> dict:
    proc.stdin.write(f"{task} {path}\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def _summary(samples: dict, key: str) -> dict:
    return {name: statistics.median(s[key] for s in runs) for name, runs in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2, help="training steps per repetition")
    parser.add_argument("--reps", type=int, default=7, help="repetitions of the training step")
    parser.add_argument("--infer-windows", type=int, default=575)
    parser.add_argument("--infer-reps", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)
    workers = {policy: _start(policy, args) for policy in POLICIES}
    combos = [(p, c) for p in POLICIES for c in ("old", "new")]
    train = {f"{c}_code/{p}_wait": [] for p, c in combos}
    for _ in range(args.reps):
        for policy, code in combos:
            train[f"{code}_code/{policy}_wait"].append(_ask(workers[policy], "train", code))
    infer = {f"{c}_code/{p}_wait": [] for p, c in (("default", "old"), ("passive", "new"))}
    for _ in range(args.infer_reps):
        for policy, code in (("default", "old"), ("passive", "new")):
            infer[f"{code}_code/{policy}_wait"].append(_ask(workers[policy], "infer", code))
    diffs = _ask(workers["default"], "diff", "-")
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()
    wps = _summary(train, "windows_per_s")
    infer_s = _summary(infer, "wall_s")
    import torch

    result = {
        "data": "simulated (random normal EEG windows and targets)",
        "torch": torch.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "reps": args.reps,
        "train_windows_per_s_median": wps,
        "train_cpu_s_per_step_median": _summary(train, "cpu_s_per_step"),
        "train_speedup_after_vs_before": wps["new_code/passive_wait"]
        / wps["old_code/default_wait"],
        "train_speedup_code_only": wps["new_code/default_wait"] / wps["old_code/default_wait"],
        "infer_windows": args.infer_windows,
        "infer_wall_s_median": infer_s,
        "infer_speedup_after_vs_before": infer_s["old_code/default_wait"]
        / infer_s["new_code/passive_wait"],
        "load_average_1min_at_end": os.getloadavg()[0],
        **diffs,
        "raw": {"train": train, "infer": infer},
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
