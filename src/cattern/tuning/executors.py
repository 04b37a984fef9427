"""Where a search's runs train: in this process, in loky worker processes, or on a Dask cluster.

:func:`map_tasks` calls ``fn(task, data, blas_threads)`` for each task and
yields ``(index, result)`` as each finishes, whatever the backend:

- in this process, one after the other, when one worker is asked for or
  there is one task;
- ``loky`` (joblib's default): worker processes on this machine, workers x
  BLAS threads = cores unless told otherwise;
- ``dask``: the workers of a Dask cluster, the data scattered to each once.

Every run limits BLAS to ``blas_threads`` threads inside its own process
(OpenBLAS's sums depend on its thread count, so with the count fixed the
numbers depend on nothing else). A loky worker also watches its parent: if
the search's process dies, even by ``kill -9``, which runs no handler, the
worker ends itself within a second instead of training on for nobody.
"""
import os
import threading
import time

BACKENDS = ("loky", "dask")


def check_workers(n_jobs, backend, scheduler, blas_threads):
    """Raise ValueError, naming the value, unless the worker options make sense."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")
    if backend == "dask" and scheduler is None:
        raise ValueError("the dask backend needs a scheduler address (--scheduler; scheduler= in Python), "
                         "e.g. tcp://10.0.0.5:8786")
    if backend == "dask":
        _dask_client_class()
        _check_scheduler_address(scheduler)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive number of workers, or -1 for all cores; got {n_jobs!r}")
    if isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1:
        raise ValueError(f"blas_threads must be a positive integer; got {blas_threads!r}")


def map_tasks(fn, tasks, data, *, n_jobs, backend="loky", scheduler=None, blas_threads=1):
    """Yield ``(index, fn(tasks[index], data, blas_threads))`` as each task finishes.

    Tasks are dispatched in the order given (put the longest first, so that
    no worker idles at the end while another finishes a long run).
    """
    if not tasks:
        return
    if backend == "loky" and (n_jobs == 1 or len(tasks) == 1):
        for index, task in enumerate(tasks):  # one run at a time, in this process
            yield index, fn(task, data, blas_threads)
        return
    from joblib import Parallel, delayed, parallel_config

    if backend == "loky":
        cores = os.cpu_count() or 1
        workers = max(1, cores // blas_threads) if n_jobs == -1 else n_jobs
        context, client = parallel_config(backend="loky", n_jobs=min(workers, len(tasks))), None
        run, watch = _in_loky_worker, {"parent": os.getpid()}  # the workers' parent: this process
    else:
        client = _dask_client_class()(scheduler, set_as_default=False)
        # Scatter the data to every worker once, not with each task.
        context = parallel_config(backend="dask", n_jobs=n_jobs, client=client, scatter=list(data))
        run, watch = _tagged, {}
    try:
        with context:
            # Each task runs for seconds: dispatch them one by one, in order,
            # and take results as they finish.
            results = Parallel(batch_size=1, return_as="generator_unordered")(
                delayed(run)(index, fn, task, *data, blas_threads=blas_threads, **watch)
                for index, task in enumerate(tasks))
            yield from results
    finally:
        if client is not None:
            client.close()


def _dask_client_class():
    """distributed.Client, or an ImportError naming the extra that installs it."""
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("the dask backend needs Dask's distributed scheduler: "
                          "pip install 'cattern[dask]'") from None
    return Client


def _check_scheduler_address(scheduler):
    """Raise ValueError unless ``scheduler`` parses as a Dask address, by Dask's own parser,
    before any work: a Client given a malformed one fails only when the search starts."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(scheduler)
        if scheme in ("tcp", "tls", "ws", "wss"):
            get_address_host_port(scheduler)
    except (ValueError, TypeError) as err:
        raise ValueError(f"the scheduler address (--scheduler; scheduler= in Python) {scheduler!r} is not one "
                         f"Dask can use ({err}); give one such as tcp://10.0.0.5:8786") from None


def _tagged(index, fn, task, *data, blas_threads):
    """``fn``'s result tagged with the task's index, so unordered results find their task."""
    return index, fn(task, tuple(data), blas_threads)


def _in_loky_worker(index, fn, task, *data, blas_threads, parent):
    """:func:`_tagged`, in a loky worker that ends itself when the search's process
    (pid ``parent``) dies."""
    _watch_parent(parent)
    return _tagged(index, fn, task, *data, blas_threads=blas_threads)


_watched = False


def _watch_parent(parent, period=1.0):
    """Start, once per process, a thread that exits the process when its parent, pid
    ``parent``, is gone.

    A process whose parent dies is handed to another (init, or a subreaper),
    so its parent pid changes: that is the sign, checked every ``period``
    seconds. The pid to expect comes from the search, not from
    ``os.getppid()`` here: a worker still starting up when the search was
    killed takes its first task after its parent is gone, and would take the
    new parent for its own and train on for nobody. ``os._exit`` ends the
    process at once, mid-training; there is no one left to report to.
    """
    global _watched
    if _watched:
        return
    _watched = True

    def watch():
        while os.getppid() == parent:
            time.sleep(period)
        os._exit(1)

    threading.Thread(target=watch, name="cattern-parent-watch", daemon=True).start()
