"""cattern.environment: the record of where a run ran, kept in every summary."""
import json
import os

import numpy as np
from threadpoolctl import threadpool_limits

from cattern.environment import describe, numpy_blas


def test_describe_gives_numpy_its_blas_and_the_processor_as_json():
    env = json.loads(json.dumps(describe()))  # JSON-ready as it is
    assert env["numpy"] == np.__version__
    assert env["cpu_count"] == os.cpu_count()
    assert set(env["blas"]) == {"internal_api", "version", "architecture", "num_threads", "threading_layer"}
    assert env["processor"] is None or isinstance(env["processor"], str)


def test_the_blas_record_follows_the_live_thread_count():
    blas = numpy_blas()
    assert blas["user_api"] == "blas"  # NumPy's own where it ships one (pip wheels do)
    # The thread count is read when asked, not at import: nets trained side by side run
    # one BLAS thread each, and a record made then must say so.
    with threadpool_limits(limits=1, user_api="blas"):
        assert describe()["blas"]["num_threads"] == 1
