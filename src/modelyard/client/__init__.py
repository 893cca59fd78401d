"""Python SDK over the REST API: a low-level client, plain Algorithm / TrainingJob clients
and an Estimator in the spirit of the ModelArts and SageMaker estimators."""

from modelyard.client.estimator import Estimator, InputData, OutputData
from modelyard.client.gallery import Gallery
from modelyard.client.http import ApiError, HttpBackend, ModelYardClient
from modelyard.client.resources import Algorithm, TrainingJob

__all__ = [
    "Algorithm",
    "ApiError",
    "Estimator",
    "Gallery",
    "HttpBackend",
    "InputData",
    "ModelYardClient",
    "OutputData",
    "TrainingJob",
]
