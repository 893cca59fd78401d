"""``job_config.contract`` (issue 16): ModelArts by default, ``sagemaker`` on request, and
only the output names SageMaker has a folder for."""

from __future__ import annotations

import pytest

from modelyard.spec import parse_algorithm, parse_job, resolve_job
from modelyard.spec.contract import Contract
from spec.builders import algorithm_doc, binding, expect_error, inline_job_doc, job_doc


def outputs(*names: str) -> list[dict[str, str]]:
    return [{"name": n} for n in names]


def test_modelarts_is_the_default() -> None:
    assert parse_algorithm(algorithm_doc()).job_config.contract is Contract.MODELARTS
    assert parse_algorithm(algorithm_doc(contract=None)).job_config.contract is Contract.MODELARTS


@pytest.mark.parametrize("spelling", ["sagemaker", "SageMaker", " sagemaker "])
def test_sagemaker_is_chosen_per_algorithm(spelling: str) -> None:
    algo = parse_algorithm(algorithm_doc(contract=spelling, outputs=outputs("model", "output",
                                                                            "checkpoints")))
    assert algo.job_config.contract is Contract.SAGEMAKER


@pytest.mark.parametrize("bad", ["docker", "", 3, ["sagemaker"]])
def test_an_unknown_contract_is_refused_naming_the_field(bad: object) -> None:
    expect_error(lambda: parse_algorithm(algorithm_doc(contract=bad)), "job_config.contract",
                 bad, "'modelarts' (the default) or 'sagemaker'")


def test_sagemaker_outputs_are_model_output_or_checkpoints() -> None:
    doc = algorithm_doc(contract="sagemaker", outputs=outputs("model", "train_url"))
    expect_error(lambda: parse_algorithm(doc), "job_config.outputs[1].name", "train_url",
                 "under contract 'sagemaker'", "model, output, checkpoints")
    # The same names are fine under the ModelArts contract.
    parse_algorithm(algorithm_doc(outputs=outputs("model", "train_url")))


def test_the_contract_reaches_the_run_plan() -> None:
    algo = parse_algorithm(algorithm_doc(contract="sagemaker", inputs=[{"name": "train"}],
                                         outputs=outputs("model")))
    job = parse_job(job_doc(inputs=[binding("train")],
                            outputs=[binding("model", "obs://bkt/out/")]))
    assert resolve_job(job, algo).contract is Contract.SAGEMAKER


def test_an_inline_job_chooses_its_contract() -> None:
    doc = inline_job_doc(contract="sagemaker", outputs=[binding("model", "obs://bkt/out/")])
    assert resolve_job(parse_job(doc), None).contract is Contract.SAGEMAKER
    bad = inline_job_doc(contract="sagemaker", outputs=[binding("weights", "obs://bkt/out/")])
    expect_error(lambda: resolve_job(parse_job(bad), None), "algorithm.outputs[0].name",
                 "weights", "under contract 'sagemaker'")
    expect_error(lambda: resolve_job(parse_job(inline_job_doc(contract="ecs")), None),
                 "algorithm.contract", "ecs")


def test_a_job_from_an_algorithm_cannot_change_its_contract() -> None:
    algo = parse_algorithm(algorithm_doc())
    expect_error(lambda: resolve_job(parse_job(job_doc(contract="sagemaker")), algo),
                 "algorithm.contract", "sagemaker", "runs that algorithm's code")
