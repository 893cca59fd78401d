"""A job of several nodes on a server without a cluster is refused at create, naming the
field and how to enable a cluster (issue 17); nothing is stored."""

from __future__ import annotations

import pytest

from fixtures.jobs import algorithm_for, job_for
from modelyard.service import Service
from modelyard.spec import SpecError


def test_the_local_executor_refuses_more_than_one_node(service: Service, code) -> None:  # type: ignore[no-untyped-def]
    service.algorithms.create("p", algorithm_for(code("a", "print('x')\n"), "a"))
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job_for("a", "obs://out/n2/",
                                         spec={"resource": {"node_count": 2}}))
    assert (err.value.field, err.value.value) == ("spec.resource.node_count", 2)
    assert "MODELYARD_EXECUTOR=ray" in err.value.rule
    assert "MODELYARD_RAY_ADDRESS" in err.value.rule
    assert service.jobs.list("p")[1] == 0
