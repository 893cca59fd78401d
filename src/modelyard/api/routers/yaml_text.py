"""``POST /v2/{project_id}/yaml/parse`` (ours): YAML text as the CLI reads it.

The console sends the YAML files a user imports here rather than parsing them in the browser,
so a file means the same thing in the console as on the command line (PyYAML, YAML 1.1).
Nothing is stored; the project check still applies, as on every ``/v2/{project_id}`` route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from modelyard.api.dependencies import BodyDep, ProjectDep, documented_body
from modelyard.api.schemas import errors
from modelyard.spec.loader import parse
from modelyard.spec.yaml_text import YamlText, parse_yaml_text

router = APIRouter(prefix="/v2/{project_id}", tags=["console"])


class ParsedYaml(BaseModel):
    document: Any = Field(description="What yaml.safe_load made of the text, as JSON")


@router.post("/yaml/parse", response_model=ParsedYaml, responses=errors(),
             openapi_extra=documented_body(YamlText, "YAML text to read"),
             summary="Read YAML text as the CLI does (ours)")
def parse_yaml(project: ProjectDep, body: BodyDep) -> dict[str, Any]:
    request = parse(YamlText, body)
    return {"document": parse_yaml_text(request.text)}
