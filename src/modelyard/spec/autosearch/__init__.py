"""Automatic search (seed S6): ``policies.auto_search`` on an algorithm or a job.

The shape is ModelArts' (``reward_attrs``, ``search_params``, ``algo_configs``,
``skip_search_params``; the number of trials is ``num_samples`` in ``algo_configs[].params``)
so that a ModelArts algorithm or job body works unchanged. ModelArts searches Float
hyperparameters only; we add, as documented extensions (docs/search.md):

- ``search_params[].param_type``: ``integer`` and ``categorical`` besides ``continuous`` and
  ``discrete``; ``scale: log``; ``step`` for integers;
- ``parallel_trials``, ``early_stopping`` (median, asha, hyperband), ``time_budget_seconds``,
  ``trial_result`` (``last`` or ``best`` match of the metric is the trial's result);
- ``reward_attrs[].regex`` may be left out: ``<name>=<number>`` (or ``<name>: <number>``);
- more algorithms: ``random_search``, ``grid_search``, ``cmaes_search``.

The legacy ModelArts AutoSearch YAML (``general``, ``search_space``, ``search_algorithm``,
``scheduler``) is converted to the same model by ``parse_auto_search``.

Everything here is pure, one module per concern: ``catalogue`` (the algorithms and their
parameters), ``models`` (the policy), ``legacy`` (the old YAML), ``parsing`` (body to checked
policy) and ``space`` (search parameters typed against the hyperparameters, as
``Dimension``s, which the service turns into Optuna distributions).
"""

from __future__ import annotations

from modelyard.spec.autosearch.catalogue import (
    DEFAULT_ALGORITHM,
    SEARCH_ALGORITHMS,
    AlgoParamInfo,
    AlgorithmInfo,
    algorithm_catalogue,
)
from modelyard.spec.autosearch.legacy import from_legacy, is_legacy
from modelyard.spec.autosearch.models import (
    AlgoConfig,
    AlgoParam,
    AutoSearch,
    EarlyStopping,
    Mode,
    Pruner,
    RewardAttr,
    Scale,
    SearchParam,
    SearchParamType,
    TrialResult,
    default_regex,
)
from modelyard.spec.autosearch.parsing import merge_policies, parse_auto_search
from modelyard.spec.autosearch.space import Dimension, resolve_search, typed_params

__all__ = [
    "DEFAULT_ALGORITHM", "SEARCH_ALGORITHMS", "AlgoConfig", "AlgoParam", "AlgoParamInfo",
    "AlgorithmInfo", "AutoSearch", "Dimension", "EarlyStopping", "Mode", "Pruner",
    "RewardAttr", "Scale", "SearchParam", "SearchParamType", "TrialResult",
    "algorithm_catalogue", "default_regex", "from_legacy", "is_legacy", "merge_policies",
    "parse_auto_search", "resolve_search", "typed_params",
]
