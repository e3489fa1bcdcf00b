"""Product data: the synthetic population, the CSV/TSV loader, and every bad-input error."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from edgerank.data.csv_source import CsvChoiceData
from edgerank.data.product_synthetic import SyntheticProductData, generate_population
from edgerank.errors import ConfigError, DataError, PluginError
from edgerank.pipeline import run


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t" if path.suffix == ".tsv" else ",")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def synthetic_csv(path: Path, n: int = 1500) -> Path:
    columns, labels = generate_population(n, 12, seed=3)
    rows = [[columns["city"][i], columns["device"][i], columns["gender"][i], labels[i]] for i in range(n)]
    return write_rows(path, ["city", "device", "gender", "sku"], rows)


def test_population_is_deterministic_and_segments_predict_choice():
    a_cols, a_labels = generate_population(4000, 20, seed=7)
    b_cols, b_labels = generate_population(4000, 20, seed=7)
    assert a_labels.tolist() == b_labels.tolist() and a_cols["city"].tolist() == b_cols["city"].tolist()
    _, c_labels = generate_population(4000, 20, seed=8)
    assert a_labels.tolist() != c_labels.tolist()
    # favourite product differs between series: the segment bits carry signal
    series_x = np.isin(a_cols["device"], ["vivo X200", "vivo X100", "vivo X90 Pro", "vivo X Fold3"])
    fav_x = np.bincount(a_labels[series_x].astype(int) - 100001, minlength=20)
    fav_y = np.bincount(a_labels[~series_x].astype(int) - 100001, minlength=20)
    assert np.argmax(fav_x) != np.argmax(fav_y) or abs(fav_x / fav_x.sum() - fav_y / fav_y.sum()).max() > 0.05


def test_csv_end_to_end_with_group_map_and_unknown_slot(make_cfg, tmp_path):
    path = synthetic_csv(tmp_path / "users.csv")
    cfg = make_cfg(
        "+experiment=product_topk",
        "data=csv",
        f"data.path={path}",
        "data.label=sku",
        "data.features=[city,device,gender]",
        "+data.groups.city.mapping={Nanjing:east,Shanghai:east,Hangzhou:east,Suzhou:east,Ningbo:east}",
        "model.hidden=[32]",
    )
    metrics = run(cfg, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "artifact" / "manifest.json").read_text())
    city = manifest["encoder"]["groups"][0]
    assert city["column"] == "city" and city["vocabulary"] == ["east"]  # unmapped cities are unknown
    assert manifest["sku_ids"] == sorted(manifest["sku_ids"]) and len(manifest["sku_ids"]) == 12
    assert manifest["parity"]["passed"] and metrics["test/top5"] > 0


def test_tsv_and_text_labels(tmp_path):
    path = write_rows(tmp_path / "u.tsv", ["g", "item"], [["a", "watch"], ["b", "band"], ["a", "watch"]] * 10)
    data = CsvChoiceData(path=str(path), label="item", features=["g"], test_fraction=0.2)
    data.setup()
    assert data.spec.sku_labels == ["band", "watch"] and data.spec.sku_ids.tolist() == [0, 1]
    assert data.spec.manifest_fields()["sku_labels"] == ["band", "watch"]


@pytest.mark.parametrize(
    "header, rows, options, error, message",
    [
        (["city", "sku"], [], {}, DataError, r"u\.csv: no data rows"),
        (["cty", "sku"], [["a", "1"]], {}, DataError, r"u\.csv: no column 'city' \(columns: cty, sku\)"),
        (["city", "sku"], [["a", "1"], ["", "2"]], {}, DataError, r"column 'city' has 1 missing/NaN values \(first at data row 2\)"),
        (["city", "sku"], [["a", "1"], ["b", "NaN"]], {}, DataError, r"column 'sku' has 1 missing/NaN"),
        (["city", "sku"], [["a", "1"], ["b", "9"]], {"products": [1, 2]}, DataError, r"label '9' \(row 2\) is not in data\.products"),
        (["city", "sku"], [["a", "1"], ["b"]], {}, DataError, r"data row 2 has 1 fields, the header has 2"),
        (["city", "sku"], [["a", "99999999999"], ["b", "1"], ["c", "1"]], {}, DataError, r"SKU id 99999999999 does not fit the exported int32"),
    ],
)
def test_bad_csv_is_rejected_naming_the_offender(tmp_path, header, rows, options, error, message):
    path = write_rows(tmp_path / "u.csv", header, rows)
    data = CsvChoiceData(path=str(path), label="sku", features=["city"], **options)
    with pytest.raises(error, match=message):
        data.setup()


def test_missing_file_and_bad_extension(tmp_path):
    with pytest.raises(DataError, match=r"data file not found: .*nope\.csv"):
        CsvChoiceData(path=str(tmp_path / "nope.csv"), label="sku", features=["city"]).setup()
    with pytest.raises(ConfigError, match=r"data\.path: '.*u\.xlsx' must end in one of \.csv, \.tsv, \.tab"):
        CsvChoiceData(path=str(tmp_path / "u.xlsx"), label="sku", features=["city"]).setup()


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        (["model.name=dense_topkk"], PluginError, r"unknown model plugin 'dense_topkk'\. Did you mean: dense_topk\?"),
        (["data.name=nosuch"], PluginError, r"unknown data plugin 'nosuch'.*Known data plugins: .*csv.*product_synthetic"),
        (["model.hidden=[64,0]"], ConfigError, r"^model\.hidden: must be a non-empty list of positive integers"),
        (["model.top_k=500"], ConfigError, r"^model\.top_k: must be between 1 and the number of products \(40\)"),
        (["+model.colour=red"], ConfigError, r"^model\.colour: not an option of model plugin 'dense_topk'"),
        (["data.test_fraction=1.5"], ConfigError, r"^data\.test_fraction: must be in \(0, 1\)"),
        (["data.num_products=1"], ConfigError, r"^data\.num_products: must be at least 2"),
        (["export.tolerance=0"], ConfigError, r"^export\.tolerance: must be a positive number, got 0"),
        (["data=csv"], ConfigError, r"^data\.path: is required"),
        (["trainer.max_epochs=-2"], ConfigError, r"^trainer\.max_epochs: must be a positive integer, got -2"),
        (["train=false"], ConfigError, r"^ckpt_path: train=false needs a checkpoint"),
        (["ckpt_path=/nonexistent/x.ckpt"], ConfigError, r"^ckpt_path: no checkpoint file at /nonexistent/x\.ckpt"),
        (["ranker=beam"], ConfigError, r"^ranker: data plugin 'product_synthetic' has no ranking ground truth"),
        (["ranker=beam", "ranker.name=bem"], PluginError, r"unknown ranker plugin 'bem'\. Did you mean: beam\?"),
    ],
)
def test_bad_config_fails_before_any_work(make_cfg, tmp_path, overrides, error, message):
    size = [] if "data=csv" in overrides else ["data.num_users=500"]
    cfg = make_cfg("+experiment=product_topk", *size, *overrides)
    with pytest.raises(error, match=message):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "artifact").exists()


def test_synthetic_catalogue_includes_products_nobody_chose():
    data = SyntheticProductData(num_users=30, num_products=40, seed=1)
    data.setup()
    assert data.spec.num_products == 40 and data.spec.class_prior.shape == (40,)
    assert (data.spec.class_prior == 0).any()
