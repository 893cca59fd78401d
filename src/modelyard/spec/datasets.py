"""Dataset requests (issue 18): the bodies of ModelArts' v2 data-management API
(``POST /datasets``, ``import-tasks``, ``versions``) and their rules. No I/O.

Codes and types are in ``spec.dataset_types``, the manifest format in ``spec.manifest``,
input constraints in ``spec.dataset_constraints``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelyard.spec.dataset_types import DatasetType, VersionFormat, check_dataset_type
from modelyard.spec.errors import SpecError
from modelyard.spec.fields import Description, Name
from modelyard.spec.names import check_name
from modelyard.spec.paths import Location, parse_location

CARBONDATA_RULE = (
    "version_format CarbonData is not supported by ModelYard (no CarbonData writer is "
    "available); publish the version as Default (a manifest)"
)


def check_storage_url(value: Any, field: str) -> Location:
    """A dataset location: a folder in object storage. ``file://`` is refused: datasets are
    created through the API too, and a remote caller never names a host path."""
    loc = parse_location(value, field)
    if loc.scheme == "file":
        raise SpecError(field, value, "a dataset location is in object storage (obs://, s3:// "
                        "or /bucket/key), never a path on the server")
    return loc


class DataSource(BaseModel):
    """ModelArts ``data_sources[]``: ``data_type`` 0 is OBS (the only kind served here)."""

    model_config = ConfigDict(extra="ignore")

    data_type: int = 0
    data_path: str

    @field_validator("data_type")
    @classmethod
    def _obs(cls, v: int) -> int:
        if v != 0:
            raise SpecError("", v, "data_type 0 (OBS) is the only data source ModelYard serves")
        return v

    @field_validator("data_path")
    @classmethod
    def _path(cls, v: str) -> str:
        return check_storage_url(v, "").as_dir().url


class DatasetCreate(BaseModel):
    """``POST /v2/{project_id}/datasets``. Unknown ModelArts fields (``labels``,
    ``workspace_id``...) are accepted and ignored, as the official SDK sends them."""

    model_config = ConfigDict(extra="ignore")

    dataset_name: Name
    dataset_type: DatasetType = DatasetType.IMAGE_CLASSIFICATION
    data_sources: list[DataSource] = Field(min_length=1, max_length=1)
    work_path: str
    work_path_type: int = 0
    description: Description = None
    import_annotations: bool = True
    import_data: bool = True

    @field_validator("dataset_type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> DatasetType:
        return check_dataset_type(v, "")

    @field_validator("work_path")
    @classmethod
    def _work(cls, v: str) -> str:
        return check_storage_url(v, "").as_dir().url

    @field_validator("work_path_type")
    @classmethod
    def _work_type(cls, v: int) -> int:
        if v != 0:
            raise SpecError("", v, "work_path_type 0 (OBS) is the only work path kind")
        return v

    @property
    def data_path(self) -> str:
        return self.data_sources[0].data_path

    def check_paths(self) -> None:
        """ModelArts: the work path is where versions are written; it must not lie inside
        the data source (a published manifest would be imported as data next time)."""
        data, work = parse_location(self.data_path), parse_location(self.work_path)
        if work.relative_to(data) is not None or data.relative_to(work) is not None:
            raise SpecError("work_path", self.work_path,
                            f"the work path and the data source ({self.data_path}) must not "
                            "contain each other")


class ImportCreate(BaseModel):
    """``POST /v2/{project_id}/datasets/{id}/import-tasks``."""

    model_config = ConfigDict(extra="ignore")

    import_path: str
    import_annotations: bool = True

    @field_validator("import_path")
    @classmethod
    def _path(cls, v: str) -> str:
        return check_storage_url(v, "").url


def parse_ratio(value: Any, field: str = "train_evaluate_sample_ratio") -> float:
    """ModelArts sends the ratio as a string ("0.8"); numbers are accepted too."""
    rule = "the share of samples used for training, a number from 0 to 1 (e.g. 0.8)"
    if isinstance(value, bool):
        raise SpecError(field, value, rule)
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise SpecError(field, value, rule) from None
    if not 0.0 <= ratio <= 1.0 or ratio != ratio:
        raise SpecError(field, value, rule)
    return ratio


class VersionCreate(BaseModel):
    """``POST /v2/{project_id}/datasets/{id}/versions``."""

    model_config = ConfigDict(extra="ignore")

    version_name: str | None = None
    version_format: VersionFormat = VersionFormat.DEFAULT
    train_evaluate_sample_ratio: float = 1.0
    description: Description = None

    @field_validator("version_name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str | None:
        return None if v is None else check_name(v, "")

    @field_validator("version_format", mode="before")
    @classmethod
    def _format(cls, v: Any) -> VersionFormat:
        if v == VersionFormat.CARBONDATA.value:
            raise SpecError("", v, CARBONDATA_RULE)
        if v != VersionFormat.DEFAULT.value:
            raise SpecError("", v, "version_format is Default (a manifest) or CarbonData")
        return VersionFormat.DEFAULT

    @field_validator("train_evaluate_sample_ratio", mode="before")
    @classmethod
    def _ratio(cls, v: Any) -> float:
        return parse_ratio(v, "")
