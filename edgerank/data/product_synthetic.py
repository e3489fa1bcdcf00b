"""Synthetic user population for the product top-K scenario (vivo's smart-hardware floor).

Users have a city, a phone model, a gender and an age. Cities belong to regional clusters and
phone models to series; preferences over the N products are driven by those *segments*
(cluster x series x gender x age bucket) plus popularity and noise, so the encoded segment bits
really predict the choice and a popularity baseline is beatable. Seeded and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from edgerank.data.choice import ChoiceDataModule, ChoiceTable
from edgerank.data.choice_options import ProductSyntheticOptions
from edgerank.registry import register_data

CITY_CLUSTERS = {
    "east": ["Nanjing", "Shanghai", "Hangzhou", "Suzhou", "Ningbo"],
    "north": ["Beijing", "Tianjin", "Jinan", "Shijiazhuang", "Taiyuan"],
    "south": ["Guangzhou", "Shenzhen", "Dongguan", "Xiamen", "Nanning"],
    "west": ["Chengdu", "Chongqing", "Xi'an", "Kunming", "Lanzhou"],
    "central": ["Wuhan", "Changsha", "Zhengzhou", "Nanchang", "Hefei"],
}
DEVICE_SERIES = {
    "X": ["vivo X200", "vivo X100", "vivo X90 Pro", "vivo X Fold3"],
    "S": ["vivo S19", "vivo S18", "vivo S17"],
    "Y": ["vivo Y100", "vivo Y78", "vivo Y36", "vivo Y27"],
    "iQOO": ["iQOO 12", "iQOO Neo9", "iQOO Z9"],
}
GENDERS = ["male", "female", "unknown"]
AGE_BINS = [25.0, 35.0, 50.0]
CATEGORIES = ["watch", "earbuds", "band", "tablet", "speaker", "charger", "headphones", "pen"]
TIERS = ["budget", "mid", "premium"]
FIRST_SKU = 100001


def default_groups() -> dict[str, Any]:
    """The group maps the population is generated with: city -> cluster, model -> series, age -> bucket."""
    return {
        "city": {"mapping": {c: k for k, cities in CITY_CLUSTERS.items() for c in cities}},
        "device": {"mapping": {d: k for k, devices in DEVICE_SERIES.items() for d in devices}},
        "age": {"bins": list(AGE_BINS)},
    }


def generate_population(
    num_users: int, num_products: int, segment_strength: float = 1.5, seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Raw user columns and the SKU id each user chose."""
    rng = np.random.default_rng(seed)
    clusters, series = list(CITY_CLUSTERS), list(DEVICE_SERIES)
    n_age = len(AGE_BINS) + 1
    category = rng.integers(len(CATEGORIES), size=num_products)
    tier = rng.integers(len(TIERS), size=num_products)
    popularity = rng.normal(0.0, 0.7, size=num_products)
    # segment effects act through product attributes, plus a sparse cluster x series x gender twist
    by_cluster = rng.normal(0, 1, (len(clusters), len(CATEGORIES)))[:, category]
    by_series = rng.normal(0, 1, (len(series), len(TIERS)))[:, tier]
    by_gender = rng.normal(0, 1, (len(GENDERS), len(CATEGORIES)))[:, category]
    by_age = rng.normal(0, 1, (n_age, len(CATEGORIES)))[:, category]
    twist = rng.normal(0, 0.6, (len(clusters), len(series), len(GENDERS), num_products))

    c = rng.choice(len(clusters), size=num_users, p=[0.3, 0.2, 0.25, 0.15, 0.1])
    s = rng.choice(len(series), size=num_users, p=[0.2, 0.3, 0.35, 0.15])
    g = rng.choice(len(GENDERS), size=num_users, p=[0.48, 0.42, 0.10])
    age = np.clip(rng.normal(33, 11, size=num_users).round(), 16, 70).astype(int)
    a = np.searchsorted(AGE_BINS, age, side="right")

    logits = popularity + segment_strength * (
        by_cluster[c] + by_series[s] + by_gender[g] + by_age[a] + twist[c, s, g]
    )
    choice = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)  # softmax sampling

    city = np.array([rng.choice(CITY_CLUSTERS[clusters[i]]) for i in c], dtype=object)
    device = np.array([rng.choice(DEVICE_SERIES[series[i]]) for i in s], dtype=object)
    columns = {
        "city": city,
        "device": device,
        "gender": np.array([GENDERS[i] for i in g], dtype=object),
        "age": age.astype(str).astype(object),
    }
    return columns, (FIRST_SKU + choice).astype(str).astype(object)


@register_data("product_synthetic", description="Synthetic vivo-style user population for product top-K (offline default)")
class SyntheticProductData(ChoiceDataModule):
    """Embedded default data of the product top-K scenario; see :func:`generate_population`.
    Options: :class:`ProductSyntheticOptions`."""

    Options = ProductSyntheticOptions
    options: ProductSyntheticOptions

    def __init__(self, options: ProductSyntheticOptions | None = None, **values: Any) -> None:
        super().__init__(options, **values)
        # the catalogue is every product, also those nobody happened to pick
        self.products = [str(FIRST_SKU + i) for i in range(self.options.num_products)]

    def group_specs(self) -> Mapping[str, Any]:
        """The configured groups, else the generator's own maps of the listed feature columns."""
        if self.options.groups is not None:
            return super().group_specs()
        return {c: spec for c, spec in default_groups().items() if c in self.options.features}

    def load_table(self) -> ChoiceTable:
        o = self.options
        columns, labels = generate_population(o.num_users, o.num_products, o.segment_strength, o.seed)
        return ChoiceTable(columns, labels, source="product_synthetic")
