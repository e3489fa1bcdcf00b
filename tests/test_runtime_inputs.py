"""What the app runtimes promise about their inputs: a model only ever runs on finite inputs
within their declared ranges, a result never carries a non-finite score, nothing an app passes
makes them raise, and the product encoder's lookups are built once per loaded artifact."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appside_fixtures import tiny_run
from edgerank.core.video_features import BY_NAME
from edgerank.runtime import FixedArtifact, ProductRuntime, VideoRuntime
from edgerank.runtime.input_check import check_inputs
from video_runtime_fixtures import tiny_video_run

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="session")
def video(tmp_path_factory):
    return tiny_video_run(tmp_path_factory)


@pytest.fixture(scope="session")
def product(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def candidates(ids, **override):
    return [{"video_id": v, "category": 1, "duration": 20.0 + v, "preload": 0.5,
             "pxtr": [0.9, 0.4 + 0.01 * v, 0.1], **override} for v in ids]


def request(cands, ts=10.0):
    return {"type": "request", "ts": ts, "network_speed": 4.0, "candidates": cands}


def assert_served_or_fell_back(ranking):
    assert ranking.source in ("model", "fallback")
    if ranking.ok:
        assert ranking.scores is not None and all(math.isfinite(s) for s in ranking.scores)
    else:
        assert ranking.scores is None and ranking.error


# -- 13: non-finite or out-of-range model inputs ----------------------------------------------
@pytest.mark.parametrize(
    "override, reason",
    [
        ({"duration": -10.0}, "non-finite model input 'cand_duration': nan at [0, 1]"),
        ({"preload": -1.0}, "non-finite model input 'preload_time': -inf at [0, 1]"),
        ({"pxtr": [0.9, 1e39, 0.1]}, "non-finite model input 'cand_pxtr': inf at [0, 1, 1]"),
        ({"pxtr": [0.9, 1.5, 0.1]}, "model input 'cand_pxtr' out of its declared range [0, 1]: 1.5 at [0, 1, 1]"),
        ({"duration": -0.5}, "model input 'cand_duration' out of its declared range [0, inf]"),
    ],
)
def test_a_candidate_that_encodes_to_a_bad_input_falls_back_with_the_reason(video, override, reason):
    runtime = VideoRuntime(FixedArtifact(video.artifact))
    cands = candidates([4, 5, 6])
    cands[1].update(override)
    ranking = runtime.rank(runtime.session("u"), request(cands))
    assert ranking.source == "fallback" and ranking.items == [4, 5, 6] and ranking.scores is None
    assert reason in ranking.error, ranking.error
    assert runtime.rank(runtime.session("u"), request(candidates([4, 5, 6]))).ok  # the same request, well-formed


def test_a_bad_watched_item_is_refused_too(video):
    runtime = VideoRuntime(FixedArtifact(video.artifact))
    session = runtime.session("u")
    assert runtime.observe(session, request(candidates([1, 2]), ts=1.0)).ok
    runtime.observe(session, {"type": "exposure", "ts": 2.0, "video_id": 2, "category": 1, "duration": -3.0, "pxtr": [0.5, 0.5, 0.5]})
    ranking = runtime.observe(session, request(candidates([7, 8])))
    assert not ranking.ok and "non-finite model input 'seq_duration'" in ranking.error


def test_check_inputs_uses_the_declared_bounds():
    good = {"cand_mask": np.ones((1, 3), np.float32), "network_speed": np.full((1, 3), -2.0, np.float32)}
    check_inputs(good, BY_NAME)  # log(speed) may be negative
    with pytest.raises(Exception, match=r"model input 'cand_mask' out of its declared range \[0, 1\]: 2\.0 at \[0, 2\]"):
        check_inputs({"cand_mask": np.array([[1.0, 1.0, 2.0]], np.float32)}, BY_NAME)
    with pytest.raises(Exception, match=r"model input 'cand_id' out of its declared range \[0, inf\]: -1 at \[0, 0\]"):
        check_inputs({"cand_id": np.array([[-1, 3]], np.int32)}, BY_NAME)


# -- never a non-finite score, whatever the model returns --------------------------------------
def test_a_non_finite_model_output_is_never_served(product, video):
    runtime = ProductRuntime(FixedArtifact(product.artifact))
    model = runtime.model(runtime.source.resolve("u"))
    real = model.runner

    def nan_scores(**inputs):
        out = dict(real(**inputs))
        out["scores"] = np.full_like(np.asarray(out["scores"]), np.nan)
        return out

    model.runner = nan_scores
    ranking = runtime.rank("u", {"city": "x"})
    assert ranking.source == "fallback" and ranking.scores is None
    assert "OutputError: the model returned a non-finite score (nan at rank 0)" in ranking.error

    videos = VideoRuntime(FixedArtifact(video.artifact))
    vmodel = videos.model(videos.source.resolve("u"))
    real_video = vmodel.outputs.runner
    vmodel.outputs.runner = lambda **inputs: {k: np.full_like(np.asarray(v), np.nan) for k, v in real_video(**inputs).items()}
    ranking = videos.rank(videos.session("u"), request(candidates([3, 4])))
    assert ranking.source == "fallback" and ranking.items == [3, 4] and "non-finite score" in ranking.error


# -- 16 (video half): a missing session -----------------------------------------------------------
def test_observe_without_a_session_never_raises(video):
    runtime = VideoRuntime(FixedArtifact(video.artifact))
    assert runtime.observe(None, {"type": "network", "ts": 0.0, "mbps": 3.0}) is None
    assert runtime.observe(None, {"type": "exposure", "ts": 1.0, "video_id": 3}) is None
    ranking = runtime.observe(None, request(candidates([3, 2, 1])))  # served as in a new anonymous session
    assert ranking.ok and sorted(ranking.items) == [1, 2, 3]
    ranking = runtime.rank("not a session", request(candidates([5, 6])))
    assert ranking.source == "fallback" and ranking.items == [5, 6]
    assert "session must be a VideoSession (runtime.session()), got str" in ranking.error


# -- 18: lookups built once per artifact, not per request ------------------------------------------
class CountingList(list):
    iterations = 0

    def __iter__(self):
        CountingList.iterations += 1
        return super().__iter__()


def test_the_encoder_builds_its_lookups_once_not_per_request(product):
    runtime = ProductRuntime(FixedArtifact(product.artifact))
    model = runtime.model(runtime.source.resolve("u"))
    expected = model.encode({"city": "Nanjing", "gender": "f"})
    for group in model.encoder.groups:  # count every scan of a vocabulary from now on
        group.vocabulary = CountingList(group.vocabulary)
    CountingList.iterations = 0
    for _ in range(50):
        vector, unknown = model.encode({"city": "Nanjing", "gender": "f"})
        assert np.array_equal(vector, expected[0]) and unknown == expected[1]
    assert CountingList.iterations == 0, f"{CountingList.iterations} vocabulary scans for 50 requests"


# -- property: arbitrary app input never raises, never a non-finite score ----------------------------
def numbers():
    return st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70), st.booleans())


def raw_values():
    return st.one_of(st.none(), numbers(), st.text(max_size=12), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


@PROPERTY
@given(attributes=st.one_of(st.dictionaries(st.sampled_from(["city", "device", "gender", "age", "other"]), raw_values()),
                            raw_values()),
       eligible=st.one_of(st.none(), st.lists(st.one_of(st.integers(-5, 60), numbers(), st.text(max_size=3)), max_size=8),
                          raw_values()))
def test_product_runtime_never_raises_and_never_serves_a_non_finite_score(product, attributes, eligible):
    runtime = _product_runtime(product.artifact)
    assert_served_or_fell_back(runtime.rank("u", attributes, eligible))


@functools.cache
def _product_runtime(artifact):
    return ProductRuntime(FixedArtifact(artifact), fallback_skus=[1, 2, 3])


GOOD_CANDIDATE = st.fixed_dictionaries({"video_id": st.integers(0, 40), "category": st.integers(0, 5),
                                        "duration": st.floats(0, 600), "preload": st.floats(0, 10),
                                        "pxtr": st.lists(st.floats(0, 1), min_size=3, max_size=3)})
FIELDS = st.sampled_from(["video_id", "category", "duration", "preload", "pxtr"])


@st.composite
def candidate_lists(draw):
    """Well-formed candidates with at most one field of one candidate replaced by anything, so
    about half the requests reach the model and the rest probe one bad value each."""
    cands = draw(st.lists(GOOD_CANDIDATE, min_size=1, max_size=6))
    if draw(st.booleans()):
        i = draw(st.integers(0, len(cands) - 1))
        cands[i] = {**cands[i], draw(FIELDS): draw(st.one_of(numbers(), raw_values()))}
    return cands


def events():
    video_id = st.one_of(st.integers(0, 40), raw_values())
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("request"), "ts": st.floats(0, 1e5), "candidates": candidate_lists()}),
        st.fixed_dictionaries({"type": st.just("request")}, optional={"ts": numbers(), "candidates": raw_values(),
                                                                      "network_speed": st.one_of(numbers(), raw_values())}),
        st.fixed_dictionaries({"type": st.sampled_from(["exposure", "play", "like", "skip"]), "ts": st.floats(0, 1e5),
                               "video_id": video_id},
                              optional={"watched_seconds": numbers(), "effective_view": raw_values(), "category": raw_values(),
                                        "duration": numbers(), "pxtr": st.one_of(raw_values(), st.lists(numbers(), min_size=3, max_size=3))}),
        st.fixed_dictionaries({"type": st.just("network"), "ts": numbers(), "mbps": st.one_of(st.floats(0.1, 100), numbers(), raw_values())}),
        raw_values(),
    )


@PROPERTY
@given(stream=st.lists(events(), min_size=1, max_size=12), with_session=st.booleans())
def test_video_runtime_never_raises_and_never_serves_a_non_finite_score(video, stream, with_session):
    runtime = _video_runtime(video.artifact)
    session = runtime.session("u") if with_session else None
    runtime.observe(session, {"type": "network", "ts": 0.0, "mbps": 4.0})
    for event in stream:
        result = runtime.observe(session, event)
        if isinstance(event, dict) and event.get("type") == "request":
            assert_served_or_fell_back(result)
            if result.ok:  # the model ran on finite inputs only
                assert all(np.all(np.isfinite(v)) for v in result.inputs.values())
        else:
            assert result is None


@functools.cache
def _video_runtime(artifact):
    return VideoRuntime(FixedArtifact(artifact))
