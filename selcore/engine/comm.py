"""Data-parallel training (``torch.distributed`` DDP) with a gradient-exchange hook that sends only kept entries.

Tests the release's claim that sparse gradient updates "dramatically reduce communication overhead in distributed
training". Every data-parallel worker trains on its shard of each global batch (``ShardedBatches``); DDP hands the
worker's local gradient, bucket by bucket, to ``GradientExchange``, which sends, by ``mode``:

* ``dense``: the whole bucket (an all-reduce, as DDP does by default);
* ``sel``: only the entries SEL's guilt threshold keeps on this worker (|g| > gamma);
* ``topk``: top-k with error feedback (Stich et al. 2018; Lin et al. 2018): the k largest |g + e| entries,
  where k is the number of entries SEL's threshold keeps on this worker in this bucket at this step (the same
  density as ``sel``), and the residual e (what was not sent) is added to the next step's gradient.

Aggregation of the sparse modes: the workers' masks differ, so each worker's kept entries are gathered by every
worker (an all-gather of values and positions) and the averaged gradient is (1/W) sum_w m_w * g_w: an entry kept by
one worker only is averaged with a zero from the other. A sparse message is values (fp32) plus positions, sent as
int32 indices or as a bitmap, whichever is smaller for the bucket (``message_bytes``). The all-gather needs equal
sizes, so every worker pads its message to the largest worker's count; the hook counts what it hands to the
collectives (padding included), what the message itself holds, and the dense size, per step.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import socket
import sys
import time
import traceback

import torch
import torch.distributed as dist

from .train import Hook

MODES = ("dense", "sel", "topk")


def message_bytes(n: int, k):
    """Bytes of a sparse message of ``k`` kept fp32 entries out of ``n``: 4k + min(4k, ceil(n/8)), i.e. the values
    plus their positions as int32 indices (4 bytes each) or as a bitmap (n bits), whichever is smaller. The dense
    message is ``dense_bytes(n)`` = 4n. ``k`` may be an int or a tensor of counts."""
    bitmap = math.ceil(n / 8)
    if isinstance(k, torch.Tensor):
        return 4 * k + torch.clamp(4 * k, max=bitmap)
    return 4 * k + min(4 * k, bitmap)


def dense_bytes(n: int) -> int:
    """Bytes of a dense fp32 gradient message of ``n`` entries: 4n."""
    return 4 * n


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """A bool vector as a bitmap: ceil(n/8) uint8 bytes, bit i of byte j = mask[8j + i]."""
    n = mask.numel()
    padded = torch.zeros(math.ceil(n / 8) * 8, dtype=torch.uint8, device=mask.device)
    padded[:n] = mask.to(torch.uint8)
    weights = (2 ** torch.arange(8, device=mask.device)).to(torch.uint8)
    return (padded.view(-1, 8) * weights).sum(1).to(torch.uint8)


def unpack_bits(bits: torch.Tensor, n: int) -> torch.Tensor:
    """The inverse of ``pack_bits``: the first ``n`` bits as a bool vector."""
    shifts = torch.arange(8, device=bits.device)
    return ((bits.view(-1, 1).long() >> shifts) & 1).flatten()[:n].bool()


class GradientExchange:
    """DDP communication hook and its counters (see the module's docstring for the modes and the aggregation).

    ``gamma`` is set by the training plan at each stage. Counters are per step sums over the epoch, read and reset
    by ``epoch_stats``; the top-k residuals are per parameter (DDP may rebuild its buckets after the first step)."""

    def __init__(self, mode: str, params: list[torch.nn.Parameter], world: int):
        if mode not in MODES:
            raise ValueError(f"communication mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode, self.world = mode, world
        self.ids = {id(p): i for i, p in enumerate(params)}
        self.residual: dict[int, torch.Tensor] = {}
        self.gamma: float | None = None
        self.reset()

    def reset(self) -> None:
        self.sent = self.msg = self.dense = self.tensor_est = 0
        self.kept = self.entries = 0

    # ------------------------------------------------------------------ the hook
    @staticmethod
    def hook(state, bucket):  # no annotations: DDP checks them, and this module's are strings
        fut = torch.futures.Future()
        fut.set_result(state.exchange(bucket.buffer(), list(bucket.parameters()), list(bucket.gradients())))
        return fut

    def exchange(self, flat: torch.Tensor, params: list, grads: list) -> torch.Tensor:
        """The averaged gradient of one bucket (``flat``: this worker's local gradient, a view DDP reads back)."""
        n = flat.numel()
        self.dense += dense_bytes(n)
        self.entries += n
        if self.mode == "dense" or self.gamma is None:
            dist.all_reduce(flat)
            self.sent += dense_bytes(n)
            self.msg += dense_bytes(n)
            self.kept += n
            return flat.div_(self.world)
        keep = flat.abs() > self.gamma
        if self.mode == "sel":
            # the per-tensor estimate of part (a): each tensor its own cheaper encoding
            counts = torch.stack([(g.abs() > self.gamma).sum() for g in grads])
            self.tensor_est += sum(message_bytes(g.numel(), int(c)) for g, c in zip(grads, counts.tolist()))
            idx = torch.nonzero(keep).flatten()
            values = flat[idx]
        else:
            residual = torch.cat([self._residual(p, g).flatten() for p, g in zip(params, grads)])
            acc = flat + residual
            k = int(keep.sum())
            idx = torch.sort(torch.topk(acc.abs(), k, sorted=False).indices).values if k else \
                torch.zeros(0, dtype=torch.long, device=flat.device)
            values = acc[idx]
            rest = acc.clone()
            rest[idx] = 0
            offset = 0
            for p, g in zip(params, grads):
                self.residual[self.ids[id(p)]] = rest[offset:offset + g.numel()].view_as(g).clone()
                offset += g.numel()
        return self._sparse_allreduce(values, idx, n)

    def _residual(self, p, g) -> torch.Tensor:
        r = self.residual.get(self.ids[id(p)])
        return torch.zeros_like(g) if r is None else r

    def _sparse_allreduce(self, values: torch.Tensor, idx: torch.Tensor, n: int) -> torch.Tensor:
        dev = values.device
        k = torch.tensor([len(idx)], dtype=torch.long, device=dev)
        ks = [torch.zeros_like(k) for _ in range(self.world)]
        dist.all_gather(ks, k)
        counts = [int(c) for c in ks]
        kmax = max(counts)
        self.kept += len(idx)
        self.msg += message_bytes(n, len(idx))
        self.sent += 8  # the count
        out = torch.zeros(n, dtype=values.dtype, device=dev)
        if kmax == 0:
            return out
        vals = torch.zeros(kmax, dtype=values.dtype, device=dev)
        vals[:len(idx)] = values
        all_vals = [torch.empty_like(vals) for _ in range(self.world)]
        dist.all_gather(all_vals, vals)
        self.sent += 4 * kmax
        if 4 * kmax > math.ceil(n / 8):  # positions as a bitmap
            mask = torch.zeros(n, dtype=torch.bool, device=dev)
            mask[idx] = True
            bits = pack_bits(mask)
            all_bits = [torch.empty_like(bits) for _ in range(self.world)]
            dist.all_gather(all_bits, bits)
            self.sent += bits.numel()
            for v, b, c in zip(all_vals, all_bits, counts):
                out[unpack_bits(b, n)] += v[:c]
        else:  # positions as int32 indices
            pos = torch.zeros(kmax, dtype=torch.int32, device=dev)
            pos[:len(idx)] = idx.to(torch.int32)
            all_pos = [torch.empty_like(pos) for _ in range(self.world)]
            dist.all_gather(all_pos, pos)
            self.sent += 4 * kmax
            for v, p, c in zip(all_vals, all_pos, counts):
                out.index_add_(0, p[:c].long(), v[:c])
        return out.div_(self.world)

    # ------------------------------------------------------------------ bookkeeping
    def add_scalar(self) -> None:
        """A 4-byte all-reduce of the step's loss (SEL's lr = lr(1 + 2 loss) must be the same on every worker)."""
        self.sent += 4

    def epoch_stats(self, steps: int) -> dict:
        """Per-step means over the epoch: bytes handed to the collectives (``comm_bytes``), bytes of the message
        itself (``comm_msg_bytes``), the dense message (``comm_dense_bytes``), the per-tensor estimate of SEL's
        message (``comm_tensor_bytes``, sel only), the fraction of gradient entries sent (``comm_density``) and the
        epoch's steps (``comm_steps``: a run's bytes are the sum of steps x bytes per step)."""
        n = max(steps, 1)
        out = {"comm_bytes": self.sent / n, "comm_msg_bytes": self.msg / n, "comm_dense_bytes": self.dense / n,
               "comm_tensor_bytes": (self.tensor_est / n) if self.mode == "sel" else float("nan"),
               "comm_density": self.kept / max(self.entries, 1), "comm_steps": steps}
        self.reset()
        return out

    def state_dict(self) -> dict:
        return {"residual": {k: v.cpu() for k, v in self.residual.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.residual = dict(state.get("residual", {}))


class CommHook(Hook):
    """The training loop's view of a ``GradientExchange``: resets its counters when an epoch starts and returns its
    per-step means when it ends (with ``sparsity`` = the fraction of gradient entries a worker did not send)."""

    def __init__(self, exchange: GradientExchange):
        self.exchange = exchange

    def start_epoch(self):
        self.exchange.reset()

    def end_epoch(self, steps):
        out = self.exchange.epoch_stats(steps)
        out["sparsity"] = 1.0 - out["comm_density"]
        return out


def mean_over_workers(exchange: GradientExchange):
    """A ``loss_reduce`` for SEL's lr rule: the mean of the workers' losses (a 4-byte all-reduce, counted)."""
    def reduce(loss: torch.Tensor) -> torch.Tensor:
        t = loss.detach().clone()
        dist.all_reduce(t)
        exchange.add_scalar()
        return t / exchange.world
    return reduce


class ShardedBatches:
    """Each worker's shard of every global batch: the global batch is drawn and augmented exactly as in one
    process (every worker holds the same generator), then split into ``world`` near-equal contiguous parts
    (``torch.tensor_split``); a global batch with fewer images than workers is skipped."""

    def __init__(self, rank: int, world: int):
        self.rank, self.world = rank, world
        self.forward_samples = 0

    def batches(self, net, data, perm, batch_size, gen):
        self.forward_samples = 0
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            X, y = data.augment(idx, gen), data.train_y[idx]
            if len(idx) < self.world:
                continue
            part = torch.tensor_split(torch.arange(len(idx), device=idx.device), self.world)[self.rank]
            yield X[part], y[part]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


# ---------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend(device: torch.device) -> str:
    """NCCL for CUDA workers (one GPU per worker), gloo on CPUs."""
    return "nccl" if device.type == "cuda" else "gloo"


def _worker(rank: int, world: int, port: int, threads: int, target, args, errors) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(threads)
    try:
        target(rank, world, *args)
    except KeyboardInterrupt:
        errors.put((rank, "KeyboardInterrupt", ""))
        sys.exit(130)
    except BaseException as e:  # noqa: BLE001 (reported to the parent, which raises it there)
        errors.put((rank, type(e).__name__, str(e) or traceback.format_exc(limit=3)))
        sys.exit(1)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def launch(target, world: int, args: tuple, known_errors: dict) -> None:
    """Run ``target(rank, world, *args)`` in ``world`` fresh processes (spawned), each with its share of this
    machine's threads, and wait. A worker's exception is raised here as the same type when it is in
    ``known_errors`` (name -> class), else as RuntimeError naming the worker; Ctrl-C stops every worker and raises
    KeyboardInterrupt."""
    ctx = mp.get_context("spawn")
    errors = ctx.SimpleQueue()
    port = free_port()
    threads = max(1, torch.get_num_threads() // world)
    procs = [ctx.Process(target=_worker, args=(r, world, port, threads, target, args, errors), daemon=False)
             for r in range(world)]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            if any(p.exitcode not in (None, 0) for p in procs):  # one failed: the others cannot go on alone
                time.sleep(5)
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(procs)
        raise
    _stop(procs)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    if any(kind == "KeyboardInterrupt" for _, kind, _ in failures):
        raise KeyboardInterrupt
    if failures:
        rank, kind, msg = sorted(failures)[0]
        cls = known_errors.get(kind)
        raise cls(msg) if cls is not None else RuntimeError(f"data-parallel worker {rank} failed: {kind}: {msg}")
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"a data-parallel worker exited with code {bad[0]}")


def _stop(procs, grace: float = 10.0) -> None:
    end = time.time() + grace
    for p in procs:
        p.join(max(0.0, end - time.time()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(5)
