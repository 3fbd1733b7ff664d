"""A notebook's large review (k in the thousands): memory that grows with k only as the method needs."""

import tracemalloc

import numpy as np

from alliance_meta.analyses.bias.excess_significance import excess_significance


def test_excess_significance_of_thousands_of_studies_integrates_them_in_blocks():
    """The test of excess significance (am.publication_bias's tes row) integrated every study's panels at once,
    ~140 kB each: 0.4 GB at k = 3,000, 0.7 GB at k = 5,000; in blocks of studies, each study's power is the same."""
    rng = np.random.default_rng(7)
    k = 3000
    vi = rng.uniform(0.002, 0.08, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.02))
    tracemalloc.start()
    try:
        result = excess_significance(yi, vi)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"
    for part in (slice(0, 7), slice(250, 262), slice(2990, 3000)):  # the first block, across a seam, the last
        alone = excess_significance(yi[part], vi[part], theta=result.theta, tau2=result.tau2)  # a block of its own
        assert np.array_equal(alone.power, result.power[part])
