"""How many threads the numeric libraries start for one call.

A server answers many questions at once, each on a worker thread: it gains nothing from
splitting one small matrix-vector product or one faiss search over both cores, and a
call that does must wait for a second thread the other requests (or other processes)
are using. Measured on the 2-core machine under load: scoring 5,000 passages took 4-8 ms
with OpenBLAS's two threads and 1.0 ms with one.
"""

from __future__ import annotations

import faiss
from threadpoolctl import threadpool_limits


def one_thread_per_call() -> None:
    """BLAS (numpy) and faiss's OpenMP use one thread per call, process-wide, from now on."""
    threadpool_limits(limits=1, user_api="blas")
    faiss.omp_set_num_threads(1)
