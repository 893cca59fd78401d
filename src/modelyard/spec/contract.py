"""``job_config.contract``: which training contract a job's code is written for (ours).

ModelArts' layout (``/home/ma-user/modelarts``, ``--name=value`` arguments) is the default.
``sagemaker`` lays out ``/opt/ml`` and sets the ``SM_*`` variables of the
``sagemaker-training`` toolkit instead, so SageMaker script-mode scripts and "bring your own
container" ``train`` programs run unchanged. SageMaker knows only a few output locations, so
only those output names are allowed: an output the code cannot find would silently never
be uploaded.
"""

from __future__ import annotations

from enum import StrEnum

from modelyard.spec.errors import SpecError


class Contract(StrEnum):
    MODELARTS = "modelarts"
    SAGEMAKER = "sagemaker"


SAGEMAKER_OUTPUTS = {
    "model": "model",
    "output": "output/data",
    "checkpoints": "checkpoints",
}
"""Output channel name -> folder under ``/opt/ml`` (``SM_MODEL_DIR``, ``SM_OUTPUT_DATA_DIR``,
and SageMaker's default checkpoint path ``/opt/ml/checkpoints``)."""


def check_contract_outputs(contract: Contract, outputs: list[str], field: str) -> None:
    """Under the SageMaker contract every output must be one SageMaker has a folder for."""
    if contract is not Contract.SAGEMAKER:
        return
    allowed = ", ".join(SAGEMAKER_OUTPUTS)
    for i, name in enumerate(outputs):
        if name not in SAGEMAKER_OUTPUTS:
            raise SpecError(
                f"{field}[{i}].name" if field else f"outputs[{i}].name", name,
                f"under contract 'sagemaker' an output is one of {allowed} (/opt/ml/model, "
                "/opt/ml/output/data, /opt/ml/checkpoints); inputs may have any name",
            )
