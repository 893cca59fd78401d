"""Names (S3.3), descriptions (S3.8), secret-looking names (S3.9) and environment variables
(docs/contract.md "Environment variables")."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.spec import SpecError, parse_algorithm, parse_job
from modelyard.spec.names import (
    check_description,
    check_env_name,
    check_environments,
    check_name,
    looks_secret,
    normalize_environments,
)
from spec.builders import algorithm_doc, expect_error, param, quick

# --- names (S3.3; also metadata names and channel names) ----------------------------------


@pytest.mark.parametrize("name", ["a", "lr", "learning_rate", "data-url", "A1_b-2", "x" * 64, "0"])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 65, "learning rate", "lr!", "lr@x", "a.b", "a/b", "学习率", "lr\n", "\nlr", " lr",
     "lr\t", "ä"],
)
def test_invalid_names(name: str) -> None:
    expect_error(lambda: check_name(name, "job_config.parameters[0].name"),
                 "job_config.parameters[0].name", name, "1-64 characters", "(seed S3.3)")


@pytest.mark.parametrize("name", [None, 5, ["lr"]])
def test_non_string_names(name: object) -> None:
    expect_error(lambda: check_name(name), "name", name, "(seed S3.3)")


def test_metadata_name_rule() -> None:
    doc = algorithm_doc()
    doc["metadata"]["name"] = "my algorithm"
    expect_error(lambda: parse_algorithm(doc), "metadata.name", "my algorithm", "(seed S3.3)")
    doc["metadata"]["name"] = "n" * 65
    expect_error(lambda: parse_algorithm(doc), "metadata.name", "n" * 65, "1-64 characters")
    doc["metadata"]["name"] = "n" * 64
    assert parse_algorithm(doc).metadata.name == "n" * 64


@pytest.mark.parametrize("name", ["my job", "job.1", "j" * 65, ""])
def test_job_names_follow_the_same_rule(name: str) -> None:
    doc = {"metadata": {"name": name}, "algorithm": {"id": "a"}}
    expect_error(lambda: parse_job(doc), "metadata.name", name, "1-64 characters")


def test_metadata_name_is_required() -> None:
    doc = algorithm_doc()
    del doc["metadata"]["name"]
    expect_error(lambda: parse_algorithm(doc), "metadata.name", None, "required")


_NAME_ALPHABET = string.ascii_letters + string.digits + "_-"


@quick
@given(st.text(alphabet=_NAME_ALPHABET, min_size=1, max_size=64))
def test_any_name_of_the_alphabet_is_accepted(name: str) -> None:
    assert check_name(name) == name


@quick
@given(
    st.text(alphabet=_NAME_ALPHABET, max_size=30),
    st.characters(blacklist_characters=_NAME_ALPHABET),
    st.text(alphabet=_NAME_ALPHABET, max_size=30),
)
def test_any_other_character_is_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(SpecError):
        check_name(before + bad + after)


@quick
@given(st.text(alphabet=_NAME_ALPHABET, min_size=65, max_size=100))
def test_long_names_are_refused(name: str) -> None:
    with pytest.raises(SpecError):
        check_name(name)


# --- descriptions (S3.8) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Learning rate, e.g. 0.1.",
        "学习率，用于训练。",
        "Batch size per GPU, 默认 32。",
        "under_score and-dash",
        "x" * 256,
        "Größe",
    ],
)
def test_valid_descriptions(text: str | None) -> None:
    assert check_description(text) == text


@pytest.mark.parametrize(
    ("text", "char"),
    [
        ("Learning rate!", "'!'"),
        ("mail me @ home", "'@'"),
        ("a: b", "':'"),
        ("see (docs)", "'('"),
        ("50%", "'%'"),
        ("line\nbreak", "'\\n'"),
        ("tab\there", "'\\t'"),
        ("你好！", "'！'"),  # the Chinese exclamation mark is not a comma or full stop
        ("<script>", "'<'"),
    ],
)
def test_description_character_set(text: str, char: str) -> None:
    expect_error(lambda: check_description(text, "metadata.description"),
                 "metadata.description", text, f"character {char}", "(seed S3.8)")


def test_description_length() -> None:
    expect_error(lambda: check_description("x" * 257), "description", "x" * 257,
                 "at most 256 characters", "(seed S3.8)")
    expect_error(lambda: check_description("长" * 257), "description", "长" * 257, "256")


@pytest.mark.parametrize(
    ("doc_path", "field"),
    [
        (("metadata",), "metadata.description"),
        (("job_config", "parameters", 0), "job_config.parameters[0].description"),
        (("job_config", "inputs", 0), "job_config.inputs[0].description"),
        (("job_config", "outputs", 0), "job_config.outputs[0].description"),
    ],
)
def test_description_rule_applies_everywhere(doc_path: tuple[str | int, ...], field: str) -> None:
    doc = algorithm_doc(parameters=[param("lr", "0.1", "Float")],
                        inputs=[{"name": "data_url"}], outputs=[{"name": "train_url"}])
    target = doc
    for part in doc_path:
        target = target[part]  # type: ignore[index]
    target["description"] = "wow!"  # type: ignore[index]
    expect_error(lambda: parse_algorithm(doc), field, "wow!", "'!'", "(seed S3.8)")


# --- secret-looking names (S3.9) ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["password", "db_password", "dbPassword", "PASSWD", "secret", "client_secret",
     "token", "access_token", "accessToken", "hf_token", "ak", "sk", "AK", "obs_ak",
     "obs-sk", "ak_id", "myAK", "access_key", "accessKey", "secret_key", "SecretAccessKey",
     "api_key", "apiKey", "apikey", "private_key", "pwd", "credentials"],
)
def test_secret_looking_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    ["task", "mask", "attention_mask", "ask", "skip", "sketch", "max_tokens", "tokenizer",
     "num_tokens", "key", "keys", "lr", "batch_size", "data_url", "kernel_size", "skew",
     "monkey", "passes", "top_k", "task_name", "akward"],
)
def test_ordinary_names_do_not_look_secret(name: str) -> None:
    assert not looks_secret(name)


# --- environment variables (docs/contract.md) ------------------------------------------------


def test_environments_accept_and_stringify() -> None:
    out = check_environments({"A": "x", "_B2": 3, "C": 0.5, "D": True, "E": False, "F": ""})
    assert out == {"A": "x", "_B2": "3", "C": "0.5", "D": "True", "E": "False", "F": ""}


def test_at_most_100_variables() -> None:
    hundred = {f"V{i}": "x" for i in range(100)}
    assert len(check_environments(hundred)) == 100
    expect_error(lambda: check_environments({**hundred, "V100": "x"}, "environments"),
                 "environments", 101, "at most 100 environment variables", "docs/contract.md")


@pytest.mark.parametrize("name", ["1X", "A-B", "A B", "A.B", "", "X\n", "Ä", "a$b"])
def test_variable_name_pattern(name: str) -> None:
    expect_error(lambda: check_environments({name: "x"}, "environments"),
                 f"environments.{name}", name, "[A-Za-z_][A-Za-z0-9_]*", "docs/contract.md")


@pytest.mark.parametrize("name", ["MA_HOME", "MA_X", "ma_home", "Ma_Job"])
def test_ma_prefix_is_reserved(name: str) -> None:
    expect_error(lambda: check_environments({name: "x"}, "environments"),
                 f"environments.{name}", name, "MA_ are reserved")


@pytest.mark.parametrize("name", ["MAX_STEPS", "MA", "XMA_1", "_MA_X"])
def test_names_merely_like_ma_are_fine(name: str) -> None:
    assert check_environments({name: "1"}) == {name: "1"}


def test_value_length() -> None:
    assert check_environments({"V": "x" * 4096}) == {"V": "x" * 4096}
    expect_error(lambda: check_environments({"V": "x" * 4097}, "environments"),
                 "environments.V", "x" * 4097, "at most 4096 characters")


@pytest.mark.parametrize("value", ["$HOME", "${MA_JOB_DIR}/x", "a$b", "$"])
def test_no_variable_references(value: str) -> None:
    expect_error(lambda: check_environments({"V": value}, "environments"),
                 "environments.V", value, "'$'")


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_values_are_scalars(value: object) -> None:
    expect_error(lambda: check_environments({"V": value}, "environments"),
                 "environments.V", value, "a value is a string")


def test_environment_fields_through_the_algorithm() -> None:
    expect_error(lambda: parse_algorithm(algorithm_doc(environments={"MA_X": "1"})),
                 "job_config.environments.MA_X", "MA_X", "reserved")
    expect_error(lambda: parse_algorithm(algorithm_doc(environments={"V": "$X"})),
                 "job_config.environments.V", "$X", "'$'")
    expect_error(lambda: parse_algorithm(algorithm_doc(environments=[{"A": "1"}, "B=2"])),
                 "job_config.environments[1]", "B=2", "map of name to value")
    expect_error(lambda: parse_algorithm(algorithm_doc(environments="A=1")),
                 "job_config.environments", "A=1", "map of name to value")


def test_environment_forms_are_normalized() -> None:
    assert normalize_environments(None) == {}
    assert normalize_environments({"A": 1}) == {"A": 1}
    assert normalize_environments([{"A": 1}, {"B": 2, "C": 3}]) == {"A": 1, "B": 2, "C": 3}
    assert normalize_environments([{"key": "A", "value": "1"}]) == {"A": "1"}
    doc = algorithm_doc(environments=[{"A": "1"}, {"key": "B", "value": 2}])
    assert parse_algorithm(doc).job_config.environments == {"A": "1", "B": "2"}


_ENV_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True)


@quick
@given(_ENV_NAME, st.text(alphabet=st.characters(blacklist_characters="$"), max_size=50))
def test_any_valid_variable_is_accepted_unless_reserved(name: str, value: str) -> None:
    if name.upper().startswith("MA_"):
        with pytest.raises(SpecError):
            check_env_name(name)
    else:
        assert check_environments({name: value}) == {name: value}
