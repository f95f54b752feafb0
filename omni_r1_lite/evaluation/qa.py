"""Question answering by System 1: AVHBench, OmniBench, VideoMME, MVBench and OmniSynth-QA, greedily,
every question scored and streamed to JSONL, resumable and sharded like the segmentation runs.

Files: ``<run>/eval/<method>/qa-<benchmark>[-think].jsonl`` (records) and ``.meta.json`` (the
fingerprint: method, weights, the System-1 settings, the prompt). A record:

=================  ==========================================================================
index, sample_id   position in the benchmark's listing; the question's id
task, format       the accuracy row; ``yes/no`` or ``multiple-choice``
answer             the correct letter / ``yes`` / ``no``; ``absent``: a yes/no question about
                   something not in the clip (OmniSynth-QA) or ``None``
prediction, issue  what `extract_choice` read (``None`` and an `ANSWER_ISSUES` code when
                   nothing could be read); ``correct``: prediction == answer
completion         the greedy text; ``finished`` it ended with EOS; ``num_tokens``
error              ``None``, or the exception of an error row (media that do not decode)
=================  ==========================================================================

An unreadable answer is wrong and counted (``unreadable`` in the summary); an error row is wrong
too in the accuracy (every listed question is in the denominator) and counted apart.

`summarize` gives accuracy overall and per task, the share of unreadable answers, and for yes/no
questions the yes-rate on present and on absent things, each with a 95 % bootstrap interval over
questions. `qa_table` puts the paper's rows (Tables 3 and 8) beside the kit's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.config import KitConfig, to_dict
from omni_r1_lite.data.qa import QA_BENCHMARKS, Question
from omni_r1_lite.evaluation import records as rec_io
from omni_r1_lite.evaluation.methods import MODEL_METHODS, load_weights, resolve_weights, suppress_tokens_for
from omni_r1_lite.stats import bootstrap_interval  # noqa: F401  (re-exported)
from omni_r1_lite.systems.answering import build_qa_messages, extract_choice

SCORINGS = ("generate", "choice")

__all__ = ["QAEvaluator", "QAResult", "bootstrap_interval", "evaluate_qa", "load_questions", "qa_table",
           "summarize"]


def load_questions(benchmark: str, cfg: KitConfig, data_dir: str | Path, *, subtitles: bool = False,
                   strict: bool = False):
    """The questions of a benchmark: OmniSynth-QA from the preset's OmniSynth (generated if needed),
    the others from ``DATA_DIR/<benchmark>`` (``data_download.sh --only <benchmark>``)."""
    if benchmark not in QA_BENCHMARKS:
        raise ValueError(f"unknown QA benchmark {benchmark!r}; choose one of {QA_BENCHMARKS}")
    if benchmark == "omnisynth-qa":
        from omni_r1_lite.data.loading import LoadResult
        from omni_r1_lite.data.omnisynth.qa import omnisynth_qa
        from omni_r1_lite.data.sources import ensure_omnisynth

        return LoadResult(omnisynth_qa(ensure_omnisynth(cfg, data_dir), seed=cfg.seed, strict=strict))
    from omni_r1_lite.data.qa_benchmarks import find_qa_root, load_qa_benchmark

    kwargs: dict[str, Any] = {"strict": strict}
    if benchmark == "videomme":
        kwargs["subtitles"] = subtitles
    return load_qa_benchmark(benchmark, find_qa_root(benchmark, data_dir), **kwargs)


def _stat(values: Sequence[float], seed: int) -> dict[str, Any]:
    lo, hi = bootstrap_interval(values, seed=seed)
    return {"value": float(np.mean(values)) if len(values) else float("nan"), "low": lo, "high": hi,
            "n": len(values)}


def summarize(records: Sequence[dict], seed: int = 0) -> dict[str, Any]:
    """Accuracy (overall, per task, per VideoMME duration), unreadable answers, errors and the
    yes-rates of yes/no questions on present / absent things, with 95 % bootstrap intervals. An
    unreadable answer or an error row is wrong, and is not a "yes".

    >>> recs = [{"task": "t", "format": "yes/no", "answer": a, "prediction": p, "correct": a == p,
    ...          "absent": a == "no", "issue": None if p else "unreadable", "error": None}
    ...         for a, p in [("yes", "yes"), ("no", "yes"), ("no", None), ("yes", "no")]]
    >>> s = summarize(recs)
    >>> s["accuracy"]["value"], s["yes_rate_absent"]["value"], s["yes_rate_present"]["value"], s["unreadable"]
    (0.25, 0.5, 0.5, 1)
    """
    correct = [float(bool(r.get("correct"))) for r in records]
    out: dict[str, Any] = {"questions": len(records), "accuracy": _stat(correct, seed),
                           "unreadable": sum(1 for r in records if not r.get("error") and r.get("prediction") is None),
                           "errors": sum(1 for r in records if r.get("error")), "by_task": {}}
    for task in sorted({str(r.get("task")) for r in records}):
        out["by_task"][task] = _stat([c for c, r in zip(correct, records) if str(r.get("task")) == task], seed)
    durations = sorted({r["duration"] for r in records if r.get("duration")})
    if durations:
        out["by_duration"] = {d: _stat([c for c, r in zip(correct, records) if r.get("duration") == d], seed)
                              for d in durations}
    yn = [r for r in records if r.get("format") == "yes/no"]
    if yn:
        said_yes = [float(r.get("prediction") == "yes") for r in yn]
        out["yes_rate"] = _stat(said_yes, seed)
        for name, want in (("yes_rate_absent", True), ("yes_rate_present", False)):
            sel = [y for y, r in zip(said_yes, yn) if bool(r.get("absent", r.get("answer") == "no")) == want]
            out[name] = _stat(sel, seed)
    return out


@dataclasses.dataclass
class QAResult:
    """One method's records on one QA benchmark (compacted, in question order)."""

    method: str
    benchmark: str
    think: bool
    records: list[dict]
    path: Path

    def summary(self, seed: int = 0) -> dict[str, Any]:
        return summarize(self.records, seed)


class QAEvaluator:
    """One model method on one QA benchmark (see the module docstring).

    Args:
        cfg, data_dir, out_dir, method: as `Evaluator` (``method`` one of `MODEL_METHODS`).
        benchmark: one of `QA_BENCHMARKS`.
        think: the thinking prompt (Table 9's "think" rows, the paper's headline setting).
        scoring: ``"generate"`` (the paper's protocol: greedy text, then `extract_choice`) or
            ``"choice"``: the allowed answer the model finds most likely, i.e. the largest
            log-probability of ``<answer>X</answer>`` right after the prompt over X in the option
            letters (or yes / no). For models that never learned to answer questions (the CPU
            presets' policies, trained only to segment), whose free text is never an answer.
        subtitles: VideoMME with subtitles.
        questions: an explicit question list (default: `load_questions`).
        max_samples: the first N questions.
        batch_size: questions decoded together (default ``cfg.eval.batch_size``).
        max_new_tokens: decoding budget (default 16 without thinking, 512 with it; the CPU presets
            cap it at ``cfg.grpo.max_completion_length``).
    """

    def __init__(self, cfg: KitConfig, data_dir: str | Path, out_dir: str | Path, method: str, benchmark: str, *,
                 think: bool = False, scoring: str = "generate", subtitles: bool = False, adapter: str | Path | None = None,
                 model: Any = None, processor: Any = None, questions: Sequence[Question] | None = None,
                 max_samples: int | None = None, batch_size: int | None = None, max_new_tokens: int | None = None,
                 overwrite: bool = False, progress: bool = True, device: Any = None,
                 callback: Callable[[dict, int, int], None] | None = None):
        if method not in MODEL_METHODS:
            raise ValueError(f"QA needs a model method, one of {MODEL_METHODS}; got {method!r}")
        if benchmark not in QA_BENCHMARKS:
            raise ValueError(f"unknown QA benchmark {benchmark!r}; choose one of {QA_BENCHMARKS}")
        self.cfg, self.data_dir, self.out_dir = cfg, Path(data_dir), Path(out_dir)
        self.method, self.benchmark, self.think, self.subtitles = method, benchmark, bool(think), bool(subtitles)
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        self.scoring = scoring
        self.model, self.processor, self._questions = model, processor, questions
        self.max_samples, self.overwrite, self.progress, self.device = max_samples, overwrite, progress, device
        self.batch_size = max(1, int(batch_size or cfg.eval.batch_size))
        budget = max_new_tokens or (512 if think else 16)
        if cfg.requirements.device == "cpu":
            budget = min(budget, int(cfg.grpo.max_completion_length))
        self.max_new_tokens = int(budget)
        self.callback = callback
        self.weights = None if model is not None else resolve_weights(method, cfg, data_dir, out_dir, adapter)
        self._reasoner = None
        self.rank = 0

    @property
    def name(self) -> str:
        return (f"qa-{self.benchmark}" + ("-subs" if self.subtitles else "") + ("-think" if self.think else "")
                + ("-choice" if self.scoring == "choice" else ""))

    @property
    def method_dir(self) -> Path:
        return self.out_dir / "eval" / self.method

    def questions(self):
        if self._questions is None:
            self._questions = load_questions(self.benchmark, self.cfg, self.data_dir, subtitles=self.subtitles)
        qs = list(self._questions)
        return qs if self.max_samples is None else qs[: int(self.max_samples)]

    def fingerprint(self) -> dict[str, Any]:
        """What stored answers depend on, including the questions themselves (ids, texts, options,
        answers): a regenerated or re-downloaded benchmark does not resume the old answers."""
        import hashlib
        import json

        c = to_dict(self.cfg)
        listing = json.dumps([[q.qid, q.question, list(q.options), q.answer] for q in self.questions()])
        weights = self.weights.identity() if self.weights is not None else f"in-memory {type(self.model).__name__}"
        return {"method": self.method, "benchmark": self.benchmark, "think": self.think, "scoring": self.scoring,
                "subtitles": self.subtitles, "weights": weights, "max_new_tokens": self.max_new_tokens,
                "system1": c["system1"], "eval_frames": c["eval"]["max_frames"], "seed": c["seed"],
                "questions": hashlib.sha256(listing.encode()).hexdigest()[:16]}

    def reasoner(self):
        if self._reasoner is None:
            from omni_r1_lite.systems.reasoner import GlobalReasoner

            if self.model is None:
                if self.device is None:
                    from accelerate import PartialState

                    self.device = str(PartialState().device)
                self.model, self.processor = load_weights(self.weights, device=self.device, cfg=self.cfg)
            s1 = dataclasses.replace(self.cfg.system1, max_frames=int(self.cfg.eval.max_frames))
            self._reasoner = GlobalReasoner(self.model, self.processor, s1, suppress_tokens_for(self.processor))
        return self._reasoner

    # -- encoding -----------------------------------------------------------------------------

    def _media(self, q: Question) -> tuple[dict[str, Any], str | None]:
        """``({"videos"|"images"|"audio": [...]}, perception text)`` for one question."""
        from omni_r1_lite.data.media import read_audio, read_frames, read_image, sample_indices

        r = self.reasoner()
        clip = q.meta.get("clip")
        if clip is not None:  # OmniSynth-QA: the clip as segmentation reads it, audio always
            frames = read_frames(clip, r.sampled_frames(clip), max_pixels=r.cfg.frame_max_pixels)
            seconds = clip.meta["annotation"].get("seconds_per_frame", 1.0) * clip.num_frames
            audio = read_audio(clip.audio_path, missing="silence", duration=seconds)
            return {"videos": [frames], "audio": [audio]}, r.perception(clip)
        media: dict[str, Any] = {}
        if q.video is not None:
            from omni_r1_lite.data.media import media_info

            n = media_info(q.video).num_frames
            media["videos"] = [read_frames(q.video, sample_indices(n, r.cfg.max_frames),
                                           max_pixels=r.cfg.frame_max_pixels)]
        if q.image is not None:
            media["images"] = [np.array(read_image(q.image))]  # a writable copy for the processor
        if q.audio is not None:
            media["audio"] = [read_audio(q.audio, missing="silence", duration=1.0)]
        return media, None

    def _messages(self, q: Question, media: dict[str, Any], perception: str | None) -> list[dict[str, Any]]:
        return build_qa_messages(q, video="videos" in media, image="images" in media, audio="audio" in media,
                                 think=self.think, perception=perception)

    def _encode(self, questions: Sequence[Question]):
        """The questions' prompts as one left-padded `PromptBatch` (media encoded once)."""
        from omni_r1_lite.models import prepare_inputs
        from omni_r1_lite.systems.generation import make_prompt_batch

        r = self.reasoner()
        r.processor.tokenizer.padding_side = "left"
        parts = [self._media(q) for q in questions]
        lists: dict[str, list] = {"videos": [], "images": [], "audio": []}
        for media, _ in parts:
            for k in lists:
                lists[k].extend(media.get(k, []))
        lo = min(16 * 28 * 28, r.cfg.frame_max_pixels)
        inputs = prepare_inputs(r.processor, [self._messages(q, m, p) for q, (m, p) in zip(questions, parts)],
                                videos=lists["videos"] or None, images=lists["images"] or None,
                                audio=lists["audio"] or None, video_pixels=(lo, r.cfg.frame_max_pixels),
                                image_pixels=(lo, r.cfg.frame_max_pixels))
        return make_prompt_batch(r.model, dict(inputs)).to(r.model.device)

    def _decode(self, questions: Sequence[Question]) -> list[dict[str, Any]]:
        """Per question: the greedy completion (``generate``) or the most likely answer (``choice``)."""
        import torch

        from omni_r1_lite.systems.generation import completion_logps, sample_group

        r = self.reasoner()
        with torch.no_grad():
            batch = self._encode(questions)
            if self.scoring == "generate":
                res = sample_group(r.model, batch, 1, self.max_new_tokens, r.eos_id, r.pad_id, do_sample=False,
                                   suppress_tokens=r.suppress_tokens)
                return [{"completion": c.text, "finished": bool(c.finished), "num_tokens": int(c.num_tokens)}
                        for c in r.decode(res.ids)]
            tok = r.processor.tokenizer
            choices = [list(q.letters or ("yes", "no")) for q in questions]
            g = max(len(c) for c in choices)
            rows = [tok(f"<answer>{c[j % len(c)]}</answer>", add_special_tokens=False)["input_ids"]
                    for c in choices for j in range(g)]
            width = max(len(x) for x in rows)
            ids = torch.full((len(rows), width), r.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for k, x in enumerate(rows):
                ids[k, :len(x)] = torch.tensor(x)
                mask[k, :len(x)] = 1
            ids, mask = ids.to(r.model.device), mask.to(r.model.device)
            logp = (completion_logps(r.model, batch, ids, mask, g) * mask).sum(1).view(len(questions), g).float()
        out = []
        for c, lp in zip(choices, logp.cpu().tolist()):
            scores = lp[: len(c)]
            best = c[int(np.argmax(scores))]
            out.append({"completion": f"<answer>{best}</answer>", "finished": True, "num_tokens": 0,
                        "choice_logps": dict(zip(c, (round(v, 4) for v in scores)))})
        return out

    def record(self, index: int, q: Question, completion: dict[str, Any], seconds: float) -> dict[str, Any]:
        pred, issue = extract_choice(completion["completion"], q)
        return {"index": index, "sample_id": q.qid, "benchmark": q.benchmark, "method": self.method,
                "task": q.task, "format": q.format, "question": q.question, "options": list(q.options),
                "answer": q.answer, "absent": q.meta.get("absent"), "duration": q.meta.get("duration"),
                "prediction": pred, "issue": issue, "correct": pred == q.answer,
                **completion, "scoring": self.scoring, "seconds": round(seconds, 4), "error": None}

    def _error_row(self, index: int, q: Question, error: BaseException) -> dict[str, Any]:
        return {"index": index, "sample_id": q.qid, "benchmark": q.benchmark, "method": self.method,
                "task": q.task, "format": q.format, "answer": q.answer, "absent": q.meta.get("absent"),
                "duration": q.meta.get("duration"), "prediction": None, "issue": None, "correct": False,
                "error": f"{type(error).__name__}: {error}"}

    # -- the run --------------------------------------------------------------------------------

    def run(self, *, rank: int | None = None, world_size: int | None = None) -> QAResult:
        """Answer every question not yet answered (resuming), merge shards, return the records."""
        from tqdm.auto import tqdm

        from omni_r1_lite.evaluation.runner import _check_fingerprint

        state = None
        if rank is None or world_size is None:
            from accelerate import PartialState

            state = PartialState()
            rank, world_size = state.process_index, state.num_processes
        self.rank = rank
        if state is not None and world_size > 1:
            with state.main_process_first():
                questions = self.questions()
        else:
            questions = self.questions()
        self.method_dir.mkdir(parents=True, exist_ok=True)
        _check_fingerprint(self.method_dir / f"{self.name}.meta.json", self.fingerprint(), self.name, rank,
                           self.overwrite, self.method_dir)
        if state is not None and world_size > 1:
            state.wait_for_everyone()
        target = rec_io.split_path(self.method_dir, self.name) if world_size == 1 else rec_io.rank_path(
            self.method_dir, self.name, rank)
        rec_io.read_records(target, repair=True)
        done = rec_io.done_ids(rec_io.read_split_records(self.method_dir, self.name))
        from omni_r1_lite.evaluation.runner import shard

        todo = [i for i in shard(len(questions), rank, world_size) if questions[i].qid not in done]
        bar = tqdm(total=len(todo), desc=f"{self.method} {self.name}", unit="question",
                   disable=not self.progress or not todo, position=rank, dynamic_ncols=True)
        right = n = 0
        with target.open("a", encoding="utf-8") as fh:
            for start in range(0, len(todo), self.batch_size):
                chunk = todo[start:start + self.batch_size]
                for _, rec in self._answer(questions, chunk):
                    rec_io.append_record(fh, rec)
                    right, n = right + bool(rec.get("correct")), n + 1
                    bar.update(1)
                    bar.set_postfix({"acc": f"{100 * right / n:.1f}"}, refresh=False)
                    if self.callback is not None:
                        self.callback(rec, n, len(todo))
        bar.close()
        if state is not None and world_size > 1:
            state.wait_for_everyone()
        if rank == 0:
            rec_io.merge_shards(self.method_dir, self.name)
        if state is not None and world_size > 1:
            state.wait_for_everyone()
        return self.result()

    def _answer(self, questions: Sequence[Question], chunk: Sequence[int]):
        """``(index, record)`` for each question of a batch; when the batch fails (a bad file), each
        question is tried alone so only the bad one becomes an error row."""
        t0 = time.perf_counter()
        try:
            comps = self._decode([questions[i] for i in chunk])
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception:
            if len(chunk) == 1:
                raise
            comps = None
        if comps is not None:
            per = (time.perf_counter() - t0) / len(chunk)
            for i, c in zip(chunk, comps):
                yield i, self.record(i, questions[i], c, per)
            return
        for i in chunk:
            t1 = time.perf_counter()
            try:
                (c,) = self._decode([questions[i]])
            except (MemoryError, KeyboardInterrupt):
                raise
            except Exception as e:  # this question's media: an error row naming the cause
                yield i, self._error_row(i, questions[i], e)
                continue
            yield i, self.record(i, questions[i], c, time.perf_counter() - t1)

    def result(self) -> QAResult:
        records = rec_io.read_split_records(self.method_dir, self.name)
        return QAResult(self.method, self.benchmark, self.think, records, rec_io.split_path(self.method_dir, self.name))


def evaluate_qa(cfg: KitConfig, data_dir: str | Path, benchmark: str, method: str, out_dir: str | Path,
                **kwargs) -> QAResult:
    """`QAEvaluator` (keyword arguments) ``.run()`` (``rank`` / ``world_size`` go to ``run``)."""
    run_kw = {k: kwargs.pop(k) for k in ("rank", "world_size") if k in kwargs}
    return QAEvaluator(cfg, data_dir, out_dir, method, benchmark, **kwargs).run(**run_kw)


def qa_table(summaries: dict[str, dict[str, Any]], benchmark: str) -> str:
    """A markdown table: the kit's methods (accuracy with its interval, per task) and, for AVHBench
    (Table 8) and the Table-3 benchmarks, the paper's rows below them."""
    from omni_r1_lite import paper_results as P

    tasks = sorted({t for s in summaries.values() for t in s.get("by_task", {})})
    head = ["method", "questions", "accuracy (95 % CI)", "unreadable", *tasks]
    yn = any("yes_rate" in s for s in summaries.values())
    if yn:
        head += ["yes-rate present", "yes-rate absent"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def pct(st):
        return "–" if st is None or st.get("n", 0) == 0 else f"{100 * st['value']:.1f}"

    for method, s in summaries.items():
        a = s["accuracy"]
        row = [f"kit: {method}", str(s["questions"]), f"{100 * a['value']:.1f} [{100 * a['low']:.1f}, {100 * a['high']:.1f}]",
               str(s["unreadable"]), *[pct(s["by_task"].get(t)) for t in tasks]]
        if yn:
            row += [pct(s.get("yes_rate_present")), pct(s.get("yes_rate_absent"))]
        lines.append("| " + " | ".join(row) + " |")
    pad = len(head) - 3
    if benchmark == "avhbench":
        for name, r in P.TABLE8.items():
            lines.append(f"| paper: {name} | {P.AVHBENCH_JUDGE_QUESTIONS} | {r['accuracy']:.1f} |" + " |" * pad)
    elif benchmark in ("omnibench", "videomme", "mvbench"):
        for name, r in P.TABLE3.items():
            v = r[benchmark]
            extra = f" (short {r['videomme-short']:.1f})" if benchmark == "videomme" and r["videomme-short"] else ""
            if v is not None or extra:
                lines.append(f"| paper: {name} | | {'–' if v is None else f'{v:.1f}'}{extra} |" + " |" * pad)
    return "\n".join(lines)
