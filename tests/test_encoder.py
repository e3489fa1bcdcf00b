"""Group one-hot encoder: layout, grouping, the unknown slot, and the manifest round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgerank.core.encoder import UNKNOWN, GroupOneHotEncoder, feature_group
from edgerank.errors import ConfigError

ROWS = {
    "city": ["Nanjing", "Beijing", "Shanghai", "Nanjing"],
    "device": ["vivo X200", "vivo Y78", "vivo X100", "vivo Y78"],
    "gender": ["male", "female", "male", "female"],
    "age": ["19", "40", "33", "70"],
}
GROUPS = {
    "city": {"mapping": {"Nanjing": "east", "Shanghai": "east", "Beijing": "north"}},
    "device": {"mapping": {"vivo X200": "X", "vivo X100": "X", "vivo Y78": "Y"}},
    "age": {"bins": [25, 35, 50]},
}


def fitted() -> GroupOneHotEncoder:
    return GroupOneHotEncoder([feature_group(c, GROUPS.get(c)) for c in ROWS]).fit(ROWS)


def test_blocks_are_concatenated_one_hot_with_an_unknown_slot_each():
    encoder = fitted()
    # city {east, north}+unk, device {X, Y}+unk, gender {female, male}+unk, age 4 observed buckets+unk
    assert [g.vocabulary for g in encoder.groups] == [
        ["east", "north"],
        ["X", "Y"],
        ["female", "male"],
        ["<25", "[25,35)", "[35,50)", ">=50"],
    ]
    assert encoder.dim == 3 + 3 + 3 + 5
    vector = encoder.encode_one({"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"})
    assert "".join(str(int(b)) for b in vector) == "100" "100" "010" "01000"
    assert vector.dtype == np.float32


def test_unseen_and_missing_values_light_the_unknown_bit_only():
    encoder = fitted()
    vector = encoder.encode_one({"city": "Lhasa", "device": "vivo X200", "gender": None, "age": "n/a"})
    assert "".join(str(int(b)) for b in vector) == "001" "100" "001" "00001"
    assert encoder.describe(vector) == {"city": UNKNOWN, "device": "X", "gender": UNKNOWN, "age": UNKNOWN}
    hot, unknown = encoder.indices({"city": ["Lhasa", "Beijing"], "device": ["?", "vivo Y78"], "gender": ["male"] * 2, "age": ["20", "20"]})
    assert unknown.tolist() == [[True, True, False, False], [False, False, False, False]]


def test_round_trip_through_the_manifest_gives_identical_vectors():
    encoder = fitted()
    restored = GroupOneHotEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    probe = {**ROWS, "city": ["Nanjing", "Lhasa", "Beijing", ""]}
    np.testing.assert_array_equal(restored.transform(probe), encoder.transform(probe))
    assert restored.to_dict() == encoder.to_dict()
    for row in range(4):
        vector = encoder.transform(ROWS)[row]
        assert vector.sum() == len(encoder.groups)
        expected = {c: encoder.groups[i].group_value(ROWS[c][row]) for i, c in enumerate(ROWS)}
        assert encoder.describe(vector) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"bins": [30, 20]}, r"groups\.age\.bins: must be a non-empty increasing list"),
        ({"mapping": {"a": "b"}, "bins": [1]}, r"groups\.age: give either 'mapping' or 'bins'"),
        ({"buckets": [1]}, r"groups\.age: unknown keys \['buckets'\]"),
    ],
)
def test_bad_group_configs_are_named(spec, message):
    with pytest.raises(ConfigError, match=message):
        feature_group("age", spec)
