"""The one settings object. Nothing else in ModelYard reads the environment for configuration.

Values come from ``MODELYARD_*`` variables, then ``$MODELYARD_HOME/modelyard.toml``, then
defaults; the S3 endpoint also honours the standard ``AWS_*`` variables so that existing
tooling works unchanged.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def default_home() -> Path:
    return Path(os.environ.get("MODELYARD_HOME") or Path.home() / ".modelyard")


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``modelyard.toml`` from the home folder, if present."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = default_home() / "modelyard.toml"
        if not path.is_file():
            return {}
        import tomllib  # here: without a modelyard.toml, no command pays for the parser

        with path.open("rb") as fh:
            return tomllib.load(fh)


class S3Settings(BaseSettings):
    """An S3-compatible endpoint (OBS, S3, MinIO, SeaweedFS)."""

    model_config = SettingsConfigDict(extra="ignore")

    endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MODELYARD_S3_ENDPOINT", "AWS_ENDPOINT_URL")
    )
    region: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MODELYARD_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    access_key_id: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MODELYARD_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
    )
    secret_access_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MODELYARD_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
    )
    addressing_style: str = Field(
        default="auto", validation_alias=AliasChoices("MODELYARD_S3_ADDRESSING_STYLE"),
        description="'path', 'virtual' or 'auto' (path-style for a custom endpoint)",
    )
    client: Literal["auto", "lean", "boto", "obstore"] = Field(
        default="auto", validation_alias=AliasChoices("MODELYARD_S3_CLIENT"),
        description="which S3 client: 'auto' (our lean SigV4 client for a path-style "
        "endpoint with static keys, botocore otherwise), or one of them by name; "
        "'obstore' is on trial (see docs/storage.md)",
    )


class Settings(BaseSettings):
    """Configuration of one ModelYard installation."""

    model_config = SettingsConfigDict(env_prefix="MODELYARD_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home if unset")
    url: str | None = Field(default=None, description="Server URL; the CLI talks to it when set")
    obs_backend: str = Field(default="local", description="'local' (embedded) or 's3'")
    sandbox: str = Field(default="auto", description="'auto', 'bwrap' or 'none'")
    # Job isolation (issue 13).
    job_user: str = Field(default="modelyard-job", description="Host user a job runs as when "
                          "the service is root (created on first use)")
    job_network: str = Field(default="outbound", pattern="^(outbound|none)$",
                             description="'outbound': jobs reach the outside (not the host's "
                             "loopback) through pasta; 'none': loopback only")
    job_max_processes: int = Field(default=1024, ge=16, description="Processes per job")
    job_tmp_mb: int = Field(default=2048, ge=16, description="Size of a job's /tmp (tmpfs)")
    job_shm_mb: int | None = Field(default=None, ge=16, description="Size of a job's /dev/shm; "
                                   "half the flavor's memory if unset")
    job_disk_gb: float = Field(default=100.0, gt=0, description="Disk a job's folders may use")
    host_paths: list[Path] | None = Field(
        default=None, description="Roots under which file:// locations and file-system paths "
        "may lie; unset = the user's home without API keys, nothing with keys")
    upload_period: float = Field(default=30.0, description="Seconds between output uploads")
    stop_grace_period: float = Field(default=10.0, description="SIGTERM to SIGKILL, seconds")
    python: str = Field(default=sys.executable, description="Interpreter of the default engine")
    transfer_workers: int = Field(default=32, ge=1, le=256)
    transfer_attempts: int = Field(
        default=10, ge=1, description="Tries per file on transient errors")
    transfer_retry_deadline: float = Field(
        default=300.0, gt=0, description="Seconds a transfer keeps retrying through an outage")
    transfer_multipart_threshold: int = Field(default=32 * 1024**2, ge=5 * 1024**2)
    transfer_multipart_chunksize: int = Field(default=32 * 1024**2, ge=5 * 1024**2)
    transfer_part_concurrency: int = Field(
        default=4, ge=1, le=256, description="Concurrent part requests per S3 endpoint")
    node_cpus: int | None = Field(default=None, ge=1, description="Cores to schedule; all if unset")
    node_memory_gb: float | None = Field(default=None, gt=0, description="Memory to schedule")
    node_gpus: int = Field(default=0, ge=0, description="GPUs to schedule")
    shared_jobs_per_core: int = Field(
        default=4, ge=1, le=64, description="Jobs of the shared flavor "
        "(modelarts.vm.cpu.shared) one core holds; each reserves 1/N of a core (issue 20)")
    gpu_type: str | None = Field(default=None, description="GPU product name shown in flavors")
    # Where jobs run (issue 17).
    executor: str = Field(default="local", pattern="^(local|ray)$",
                          description="'local': jobs run on this machine; 'ray': on the Ray "
                          "cluster at ray_address (one node per task, placement groups)")
    ray_address: str | None = Field(default=None, description="Ray cluster to run jobs on, "
                                    "host:port of its head (GCS); used when executor='ray'")
    # Server and access (issue 4).
    host: str = Field(default="127.0.0.1", description="Address `modelyard server` binds to")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of `modelyard server`")
    api_keys: SecretStr | None = Field(
        default=None, description="Server: accepted keys, 'AK1:SK1,AK2:SK2'; unset = local mode"
    )
    api_keys_file: Path | None = Field(
        default=None, description="Server: file of AK:SK lines, added to api_keys"
    )
    signature_max_skew: float = Field(default=300.0, gt=0, description="X-Sdk-Date window, s")
    watch_interval: float = Field(default=0.5, gt=0, description="Server: seconds between "
                                  "passes that fold running jobs' state into the database "
                                  "and start queued jobs (reads show the table, issue 20)")
    workers: int = Field(default=1, ge=1, le=64, description="Server: processes serving "
                         "the API, each on its own SO_REUSEPORT socket; the first also runs "
                         "the watcher (issue 20)")
    access_log: bool = Field(default=False, description="Server: log every request (uvicorn's "
                             "access log; off by default, it costs ~10% of a GET)")
    # ---- Accounts, projects and API hardening (issue 14) ----
    installation_key_file: Path | None = Field(
        default=None, description="Server: file holding the key that encrypts stored SKs "
        "(default $MODELYARD_HOME/installation.key, made on first use, mode 0600)")
    session_token_ttl: float = Field(
        default=12 * 3600.0, gt=0, description="Server: seconds a console session token lives")
    max_body_bytes: int = Field(
        default=8 * 1024**2, ge=1024, description="Server: largest request body (JSON), bytes")
    max_upload_bytes: int = Field(
        default=5 * 1024**3, ge=1024, description="Server: largest object upload, bytes")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Keyless server: Host names accepted besides "
        "127.0.0.1, localhost and [::1] (e.g. a name in /etc/hosts for this machine)")
    # ---- end of issue 14's block ----
    access_key: str | None = Field(default=None, description="Client: access key (AK)")
    secret_key: SecretStr | None = Field(default=None, description="Client: secret key (SK)")
    project: str = Field(default="default", description="Client: project_id to work in")
    # Engines and images (issue 15).
    engine_catalog: Path | None = Field(
        default=None, description="YAML file of engines added to (or replacing, by "
        "engine_id) the shipped catalog")
    insecure_registries: str = Field(
        default="", description="Registries reached over plain HTTP, comma-separated "
        "host:port (like Docker's option of that name)")
    registry_auth_file: Path | None = Field(
        default=None, description="Registry credentials, docker config.json style; a "
        "project's own file $MODELYARD_HOME/registry-auth/<project>.json comes first")
    image_home_overlay: bool = Field(
        default=True, description="Root only: a writable overlay over an image's "
        "/home/ma-user; False (or not root): its entries are bound read-only")
    skopeo: str = Field(default="skopeo", description="skopeo binary (image pulls)")
    umoci: str = Field(default="umoci", description="umoci binary (image unpacking)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @cached_property
    def s3(self) -> S3Settings:
        return S3Settings()

    @property
    def obs_root(self) -> Path:
        return self.home / "obs"

    @property
    def jobs_root(self) -> Path:
        return self.home / "jobs"

    @property
    def envs_root(self) -> Path:
        return self.home / "envs"

    @property
    def images_root(self) -> Path:
        return self.home / "images"

    @property
    def engine_envs_root(self) -> Path:
        return self.home / "engines"

    @property
    def insecure_registry_set(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.insecure_registries.split(",") if r.strip())

    def registry_auth_path(self, project: str | None) -> Path | None:
        """The credentials skopeo gets for ``project``'s pulls (never copied anywhere)."""
        if project and project.replace("-", "").replace("_", "").isalnum():
            own = self.home / "registry-auth" / f"{project}.json"
            if own.is_file():
                return own
        if self.registry_auth_file is not None and self.registry_auth_file.is_file():
            return self.registry_auth_file
        return None

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'modelyard.db'}"

    def host_path_roots(self) -> list[Path]:
        """Where ``file://`` code, inputs, outputs and file systems may lie: the
        administrator's decision, never a remote caller's."""
        if self.host_paths is not None:
            return [Path(os.path.abspath(p)) for p in self.host_paths]
        return [] if self.api_key_map() else [Path.home()]

    def api_key_map(self) -> dict[str, str]:
        """The server's keys {AK: SK} from ``api_keys`` and ``api_keys_file``; empty means
        single-user local mode (unsigned requests accepted, loopback only)."""
        from modelyard.auth import parse_keys

        keys = parse_keys(self.api_keys.get_secret_value()) if self.api_keys else {}
        if self.api_keys_file is not None:
            keys.update(parse_keys(self.api_keys_file.read_text(encoding="utf-8")))
        return keys
