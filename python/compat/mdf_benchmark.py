"""Times the Sellar MDF optimisation in-process and through a disciplines server.

The same scenario (MDF, SellarDesignSpace, SLSQP, at most 100 iterations, constraints c_1 and
c_2) is solved with GEMSEO's own Sellar disciplines, then with gemseo-http's HTTPDiscipline
against the server, synchronously and asynchronously (long polling), each ``--repeat`` times.
Only ``scenario.execute`` is timed (not the construction of the disciplines). "client alone"
is the floor the client itself imposes: HTTPDiscipline answered in process by GEMSEO's own
disciplines through an httpx mock transport, with no server and no network. Then single
Sellar1 calls (with the Jacobian) over raw httpx, median of ``--calls`` each: the OGC route,
and gemseo-http's synchronous and asynchronous (submit and long poll) execute. Prints the best
time of each way and its ratio to the in-process run of the same invocation, with the requests
the client sent in one run.

Usage (the server serving Sellar1, Sellar2 and SellarSystem on 127.0.0.1)::

    DISCIPLINES_PORT=8080 DISCIPLINES_TOKEN=dsc_… .venv-compat/bin/python \\
        python/compat/mdf_benchmark.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter

import httpx
import numpy
from gemseo import create_discipline
from gemseo import create_scenario
from gemseo.core.discipline import Discipline
from gemseo.problems.mdo.sellar.sellar_design_space import SellarDesignSpace
from gemseo_http.http_discipline import HTTPDiscipline

SELLAR = ("Sellar1", "Sellar2", "SellarSystem")
REFERENCE_F_OPT = 3.183393962198803
URL = "http://127.0.0.1"


def solve_mdf(disciplines) -> tuple[float, float]:
    """The optimum of the Sellar MDF scenario over these disciplines and the time it took."""
    scenario = create_scenario(disciplines, "obj", SellarDesignSpace(), formulation_name="MDF")
    scenario.add_constraint("c_1", constraint_type="ineq")
    scenario.add_constraint("c_2", constraint_type="ineq")
    start = time.perf_counter()
    scenario.execute(algo_name="SLSQP", max_iter=100)
    return scenario.optimization_result.f_opt, time.perf_counter() - start


def local_disciplines(requests: Counter) -> list[Discipline]:
    """GEMSEO's in-process Sellar disciplines, with their default cache (no requests to count)."""
    return create_discipline(list(SELLAR))


class InProcessServer:
    """An httpx transport answering the client's sync calls with GEMSEO's own disciplines, in
    process: the client's own cost (JSON, pydantic, numpy conversions) without any server."""

    def __init__(self) -> None:
        self.disciplines = {}

    def discipline(self, name: str) -> Discipline:
        """The in-process discipline ``name``, cache off, made once."""
        if name not in self.disciplines:
            discipline = create_discipline(name)
            discipline.set_cache(Discipline.CacheType.NONE)
            self.disciplines[name] = discipline
        return self.disciplines[name]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answers one request as the server does."""
        _, _, _, name, call = request.url.path.split("/")
        discipline = self.discipline(name)
        if call == "inputs_schema":
            return httpx.Response(200, json=discipline.io.input_grammar.schema)
        if call == "outputs_schema":
            return httpx.Response(200, json=discipline.io.output_grammar.schema)
        if call == "default_input_data":
            defaults = discipline.io.input_grammar.defaults
            return httpx.Response(200, json={k: v.tolist() for k, v in defaults.items()})
        body = json.loads(request.content)
        inputs = {k: numpy.array(v) for k, v in body["input_data"].items()}
        data = discipline.execute(inputs)
        job = {"id": 1, "job_status": "finished", "traceback": "", "jacobian_data": {}}
        job["output_data"] = {k: numpy.asarray(v).tolist() for k, v in data.items()}
        if body["linearize"]:
            discipline.add_differentiated_inputs(body["differentiated_inputs"] or None)
            discipline.add_differentiated_outputs(body["differentiated_outputs"] or None)
            jacobian = discipline.linearize(inputs, compute_all_jacobians=True)
            job["jacobian_data"] = {
                output: {input_: dense(block).tolist() for input_, block in blocks.items()}
                for output, blocks in jacobian.items()
            }
        return httpx.Response(200, json=job)


def dense(block):
    """A Jacobian block as a dense array (GEMSEO may give sparse ones)."""
    return block.toarray() if hasattr(block, "toarray") else numpy.asarray(block)


def remote_factory(port: int, token: str, asynchronous: bool, in_process: bool = False):
    """A maker of the three HTTPDisciplines, sharing one httpx client counting its requests
    (answered in process, without a server, when ``in_process``)."""

    def make(requests: Counter) -> list[Discipline]:
        def count(request: httpx.Request) -> None:
            if request.url.path.endswith("/execute"):
                requests["execute"] += 1
                if json.loads(request.content).get("linearize"):
                    requests["with linearize"] += 1
            elif request.url.path.startswith("/v1/job/") and request.url.path.count("/") == 3:
                requests["polls"] += 1

        transport = httpx.MockTransport(InProcessServer()) if in_process else None
        client = httpx.Client(
            base_url=f"{URL}:{port}",
            timeout=60.0,
            event_hooks={"request": [count]},
            transport=transport,
        )
        disciplines = []
        for name in SELLAR:
            discipline = HTTPDiscipline(
                name=name,
                class_name=name,
                url=URL,
                port=port,
                token=token,
                is_asynchronous=asynchronous,
                polling_wait_time=10.0,
                http_client=client,
            )
            discipline.set_cache(Discipline.CacheType.NONE)
            disciplines.append(discipline)
        requests.clear()  # construction is not part of the run
        return disciplines

    return make


def measure(make, repeat: int) -> tuple[float, float, Counter]:
    """The best time over ``repeat`` runs, the optimum of the last, the requests of the last."""
    best, f_opt, requests = float("inf"), float("nan"), Counter()
    for _ in range(repeat):
        requests = Counter()
        f_opt, elapsed = solve_mdf(make(requests))
        best = min(best, elapsed)
    return best, f_opt, requests


def describe(requests: Counter) -> str:
    """The client's requests of one run, if it sent any."""
    if not requests:
        return ""
    text = f", {requests['execute']} execute calls ({requests['with linearize']} with linearize)"
    return text + (f", {requests['polls']} polls" if requests["polls"] else "")


SELLAR1_CALL = {
    "discipline_options": {},
    "name": "Sellar1",
    "input_data": {"x_1": [1.0], "x_shared": [1.0, 0.0], "y_2": [1.0], "gamma": [0.2]},
    "linearize": True,
    "differentiated_inputs": ["x_1", "x_shared", "y_2"],
    "differentiated_outputs": ["y_1"],
}
"""One execute call as the client sends it in the study, with its Jacobian."""


def call_medians(port: int, token: str, calls: int) -> dict[str, float]:
    """Median milliseconds of one Sellar1 call over raw httpx (no GEMSEO client): OGC sync,
    gemseo-http sync, gemseo-http async submit plus its long poll."""
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=f"{URL}:{port}", headers=headers, timeout=60.0)
    execute = "/v1/discipline/Sellar1/execute?execution_mode="

    def ogc():
        body = {"inputs": SELLAR1_CALL["input_data"], "linearize": {}}
        client.post("/processes/Sellar1/execution", json=body).raise_for_status()

    def sync():
        client.post(execute + "synchronous", json=SELLAR1_CALL).raise_for_status()

    def asynchronous():
        job = client.post(execute + "asynchronous", json=SELLAR1_CALL).json()
        while job["job_status"] not in ("finished", "failed"):
            poll = f"/v1/job/{job['id']}?long_polling=True&long_polling_timeout=10.0"
            job = client.get(poll).json()

    medians = {}
    for name, call in (("OGC sync", ogc), ("gemseo sync", sync), ("gemseo async", asynchronous)):
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1e3)
        medians[name] = sorted(times)[len(times) // 2]
    client.close()
    return medians


def main() -> int:
    """Runs the three ways and prints their figures; 1 if an optimum is off."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way (default 3)")
    parser.add_argument(
        "--calls", type=int, default=300, help="single calls timed per kind (default 300)"
    )
    arguments = parser.parse_args()
    port = int(os.environ["DISCIPLINES_PORT"])
    token = os.environ.get("DISCIPLINES_TOKEN", "")
    for logger in ("gemseo", "gemseo_http"):
        logging.getLogger(logger).setLevel(logging.WARNING)

    ways = {
        "local": local_disciplines,
        "client alone": remote_factory(port, token, asynchronous=False, in_process=True),
        "sync": remote_factory(port, token, asynchronous=False),
        "async": remote_factory(port, token, asynchronous=True),
    }
    local_time, wrong = None, False
    for way, make in ways.items():
        best, f_opt, requests = measure(make, max(arguments.repeat, 1))
        if local_time is None:
            local_time, ratio = best, ""
        else:
            ratio = f" ({best / local_time:.1f}x local)"
        print(f"{way}: best {best:.2f} s{ratio}{describe(requests)}, f_opt {f_opt:.9f}", flush=True)
        if abs(f_opt - REFERENCE_F_OPT) > 1e-6:
            print(f"{way}: f_opt {f_opt} is not {REFERENCE_F_OPT}", file=sys.stderr)
            wrong = True
    medians = call_medians(port, token, max(arguments.calls, 1))
    baseline = medians["OGC sync"]
    for name, median in medians.items():
        print(f"one Sellar1 call with Jacobian, {name}: median {median:.2f} ms "
              f"({median / baseline:.2f}x OGC sync)")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
