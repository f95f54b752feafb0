"""System 1 wrapper, the OmniSynth stand-in System 2, the caching pipeline, the levers, compute."""

import numpy as np
import pytest

from omni_r1_lite.config import get_preset
from omni_r1_lite.data.keyframes import oracle_keyframes, target_area, target_visibility, worst_keyframes
from omni_r1_lite.data.omnisynth.config import COLOURS
from omni_r1_lite.data.sources import load_samples
from omni_r1_lite.metrics import j_and_f
from omni_r1_lite.systems.levers import lever_gaps, lever_scores, lever_table
from omni_r1_lite.systems.pipeline import Pipeline
from omni_r1_lite.systems.prompts import format_vos_answer
from omni_r1_lite.systems.standin import OmniSynthStandIn, literal_attributes


@pytest.fixture(scope="module")
def smoke_samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("omnisynth")
    cfg = get_preset("smoke")
    return [s for split in ("test_s", "test_u") for s in load_samples(cfg, root, split)], root


class Counting:
    """Wraps a DetailSystem and counts the requests that reach it."""

    def __init__(self, inner):
        self.inner, self.ground_calls, self.segment_calls = inner, [], []

    def ground(self, sample, frame, description):
        self.ground_calls.append((sample.sample_id, frame, description))
        return self.inner.ground(sample, frame, description)

    def segment(self, sample, prompts, frames=None):
        self.segment_calls.append(sample.sample_id)
        return self.inner.segment(sample, prompts, frames)


def _visible_target_sample(samples):
    for s in samples:
        vis = target_visibility(s)
        if s.expression_type != "referring" and len(s.meta["target_ids"]) == 1 and (vis > 0.9).any() \
                and (vis == 0).any():
            return s
    raise AssertionError("no suitable sample in the smoke set")


def test_standin_understands_only_literal_descriptions(smoke_samples):
    samples, _ = smoke_samples
    s = _visible_target_sample(samples)
    sys2 = OmniSynthStandIn()
    vis = target_visibility(s)
    t_vis, t_hidden = int(np.argmax(vis)), int(np.argmin(vis))
    (oid,) = s.meta["target_ids"]
    boxes = sys2.ground(s, t_vis, s.meta["literal"])
    ann = s.meta["annotation"]["frames"][t_vis]["objects"]
    truth = next(o["visible_box"] for o in ann if o["id"] == oid)
    assert boxes.shape == (1, 4) and boxes[0].tolist() == truth
    assert sys2.ground(s, t_hidden, s.meta["literal"]).shape == (0, 4)  # hidden: nothing to find
    assert literal_attributes("the object making the high beep") == []
    # a description naming no attribute is not understood: the grounder's best guess is the most
    # visible object on the keyframe, whatever the words ask for
    geo = sys2.geometry(s)
    area = geo.visible[:, t_vis].reshape(geo.visible.shape[0], -1).sum(1)
    salient = geo.visible_box[int(np.argmax(area)), t_vis].tolist()
    for words in ("the object making the high beep", "the shape that enters last", ""):
        assert sys2.ground(s, t_vis, words).tolist() == [salient]
    # ... or nothing, with unresolved="nothing"; an absent attribute finds nothing either way
    assert OmniSynthStandIn(unresolved="nothing").ground(s, t_vis, "the shape that enters last").shape == (0, 4)
    absent = next(c for c in COLOURS if all(o["colour"] != c for o in geo.objects.values()))
    assert sys2.ground(s, t_vis, f"the {absent} shape").shape == (0, 4)
    with pytest.raises(ValueError, match="unresolved"):
        OmniSynthStandIn(unresolved="guess")


def test_standin_masks_follow_the_target_and_keyframes_matter(smoke_samples):
    samples, _ = smoke_samples
    s = _visible_target_sample(samples)
    sys2 = OmniSynthStandIn()
    gt = s.load_masks()
    area = target_area(s)
    def jf(frames):
        prompts = {k: sys2.ground(s, k, s.meta["literal"]) for k in frames}
        return j_and_f(sys2.segment(s, prompts), gt)["JF"]
    best, worst = jf(oracle_keyframes(area, 4)), jf(worst_keyframes(area, 4))
    assert best > 0.8 and best > worst
    empty = sys2.segment(s, {})
    assert empty.shape == gt.shape and not empty.any()


def test_group_never_repeats_a_system2_request(smoke_samples):
    samples, _ = smoke_samples
    s = _visible_target_sample(samples)
    counting = Counting(OmniSynthStandIn())
    pipe = Pipeline(counting, max_frames=8)
    good = format_vos_answer([1, 3, 5, 7], s.meta["literal"])
    other = format_vos_answer([1, 3], s.meta["literal"])
    group = [good, good, other, "junk", good, other, s.expression]
    rollouts = pipe.run(s, group)
    unique_ground = {(k, d) for r in rollouts for k, d in zip(r.keyframes, r.descriptions)}
    assert len(counting.ground_calls) == len(unique_ground) == 4
    assert len(set(counting.ground_calls)) == len(counting.ground_calls)
    assert len(counting.segment_calls) <= 2  # two distinct non-empty prompt sets at most
    assert rollouts[0].masks is rollouts[1].masks  # the cached result is reused, not recomputed
    assert not rollouts[3].plan.ok and not rollouts[3].masks.any()
    again = pipe.run(s, [good])  # a later epoch: all from the cache
    assert len(counting.ground_calls) == 4 and again[0].masks is rollouts[0].masks
    assert pipe.stats["ground_hits"] > 0 and pipe.stats["segment_hits"] > 0


def test_levers_matter_on_the_smoke_set(smoke_samples):
    samples, _ = smoke_samples
    rows = lever_scores(samples, Pipeline(OmniSynthStandIn(), max_frames=8))
    gaps = lever_gaps(lever_table(rows))
    assert gaps["keyframes_vs_worst"] > 10 and gaps["rewrite"] > 10


def test_reasoner_feeds_frames_audio_and_perception(smoke_samples, tiny_thinker_dir):
    from omni_r1_lite.models import load_thinker, suppress_token_ids
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    samples, _ = smoke_samples
    s = samples[0]
    model, proc = load_thinker(tiny_thinker_dir)
    cfg = get_preset("smoke").system1
    r = GlobalReasoner(model, proc, cfg, suppress_token_ids(proc.tokenizer))
    inputs = r.encode(s)
    assert {"pixel_values_videos", "video_grid_thw", "input_features", "feature_attention_mask"} <= set(inputs)
    text = proc.tokenizer.decode(inputs["input_ids"][0])
    assert "Perception notes" in text and s.expression in text
    assert "<|AUDIO|>" in text and "<|VIDEO|>" in text
    # each perception line is dated with the timestamp the answer would use for that frame
    from omni_r1_lite.systems.prompts import index_to_timestamp

    assert cfg.perception_layout == "objects"
    notes = r.perception(s).splitlines()
    labels = {index_to_timestamp(i) for i in range(len(r.sampled_frames(s)))}
    assert notes[-1].startswith("heard") and all(n.startswith("- ") for n in notes[:-1])
    # one line per object track; every entry ends with the label of a sampled frame
    for line in notes[:-1]:
        entries = line.split(": ", 1)[1].split(" | ")
        assert entries and all(e.rsplit(" ", 1)[-1] in labels for e in entries), line
    outs = r.generate(s, n=3, do_sample=True, max_new_tokens=12, seed=0)
    assert len(outs) == 3 and all(0 < o.num_tokens <= 12 for o in outs)
    greedy = r.generate(s, n=1, max_new_tokens=12)
    assert greedy[0].text == r.generate(s, n=1, max_new_tokens=12)[0].text


def test_tiny_tokenizer_gives_a_word_one_token_wherever_it_stands(tiny_thinker_dir):
    """The perception track's words are the answer's tokens (a colour after ': ' or '| ' too)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_thinker_dir)

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    red = ids(" red")
    assert len(red) == 1
    for context in ("00:01.50: red square", "f2: green circle | red square", "the red square"):
        assert red[0] in ids(context), context


def test_reasoner_without_perception_or_audio_is_the_paper_prompt(smoke_samples, tiny_thinker_dir):
    from omni_r1_lite.config import System1Config
    from omni_r1_lite.models import load_thinker
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    samples, _ = smoke_samples
    model, proc = load_thinker(tiny_thinker_dir)
    r = GlobalReasoner(model, proc, System1Config(max_frames=8, frame_max_pixels=112 * 112))
    msgs = r.messages(samples[0])
    kinds = [c["type"] for c in msgs[0]["content"]]
    assert kinds == ["video", "text"] and "Perception" not in msgs[0]["content"][-1]["text"]


def test_compute_two_systems_cheaper_than_one_high_res_system():
    from omni_r1_lite.compute import compare, video_tokens

    assert video_tokens(24, 720, 1280) == 2 * video_tokens(12, 720, 1280)
    c7, c3 = compare("Qwen2.5-Omni-7B", num_frames=24), compare("Qwen2.5-Omni-3B", num_frames=24)
    assert c7["flops_ratio"] > 2 and c7["two_system"]["tflops"] > c3["two_system"]["tflops"]
    assert compare(num_frames=48)["flops_ratio"] > c7["flops_ratio"]  # the gap grows with coverage


def test_standin_reads_the_annotation_with_the_loaders_reader(tmp_path):
    """A corrupt or malformed annotation (or omnisynth.json) is a DataError naming the file, as the
    loader's ClipAnnotation gives, not a bare UnicodeDecodeError / JSONDecodeError / KeyError."""
    import json
    import shutil
    from pathlib import Path

    from omni_r1_lite.data.schema import DataError

    cfg = get_preset("smoke")
    samples = load_samples(cfg, tmp_path, "test_s", task="VOS")
    sample = samples[0]
    path = Path(sample.meta["annotation_path"])
    good = path.read_bytes()
    for junk in (b"\xff\xfe\x00 not utf-8", b'{"split": "seen"', json.dumps({"split": "seen"}).encode()):
        path.unlink()
        path.write_bytes(junk)
        with pytest.raises(DataError, match=str(path)):
            OmniSynthStandIn().ground(sample, 0, "the red circle")
    path.unlink()
    path.write_bytes(good)
    summary = path.parent.parent.parent / "omnisynth.json"
    shutil.copy(summary, tmp_path / "summary.bak")
    summary.write_text("{oops")
    with pytest.raises(DataError, match="omnisynth.json"):
        OmniSynthStandIn().ground(sample, 0, "the red circle")
    shutil.copy(tmp_path / "summary.bak", summary)
    assert OmniSynthStandIn().ground(sample, 0, "the red circle").shape[1] == 4
