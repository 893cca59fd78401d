"""The Optuna study of a search, kept in the service database.

Optuna's ``JournalStorage`` replays an append-only log of operations; ``DbJournal`` keeps that
log in the table ``search_journal`` (one numbered record per operation), so the study lives in
the same database as everything else and any process (the driver, the API server, a CLI)
sees the same study. Appends are serialized per search by bumping ``searches.journal_len`` in
the same transaction, which makes the numbering gap-free and commit-ordered on SQLite and on
PostgreSQL alike (a reader never sees record n+1 before record n).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend
from optuna.study import StudyDirection
from sqlalchemy import select, update

from modelyard.service.search.algorithms import make_algorithm
from modelyard.spec.autosearch import AutoSearch, Dimension, Mode, Pruner
from modelyard.store.db import Database
from modelyard.store.search_models import JournalRow, SearchRow

optuna.logging.set_verbosity(optuna.logging.WARNING)


class DbJournal(BaseJournalBackend):
    def __init__(self, db: Database, search_id: str) -> None:
        self.db = db
        self.search_id = search_id

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        with self.db.session() as s:
            return list(s.scalars(
                select(JournalRow.log)
                .where(JournalRow.search_id == self.search_id, JournalRow.seq >= log_number_from)
                .order_by(JournalRow.seq)
            ))

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if not logs:
            return
        with self.db.session() as s:
            s.execute(update(SearchRow).where(SearchRow.id == self.search_id)
                      .values(journal_len=SearchRow.journal_len + len(logs)))
            end = s.scalar(select(SearchRow.journal_len).where(SearchRow.id == self.search_id))
            if end is None:
                raise LookupError(f"search {self.search_id} is gone")
            start = end - len(logs)
            s.add_all(JournalRow(search_id=self.search_id, seq=start + i, log=log)
                      for i, log in enumerate(logs))


def storage(db: Database, search_id: str) -> JournalStorage:
    return JournalStorage(DbJournal(db, search_id))


def make_pruner(search: AutoSearch) -> BasePruner:
    """``early_stopping`` as an Optuna pruner; steps are metric matches in the log."""
    es = search.early_stopping
    if es is None or es.type is Pruner.NONE:
        return optuna.pruners.NopPruner()
    if es.type is Pruner.MEDIAN:
        return optuna.pruners.MedianPruner(n_startup_trials=es.startup_trials,
                                           n_warmup_steps=es.warmup_steps)
    if es.type is Pruner.ASHA:
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=es.min_steps,
                                                      reduction_factor=es.reduction_factor)
    return optuna.pruners.HyperbandPruner(min_resource=es.min_steps,
                                          max_resource=es.max_steps or "auto",
                                          reduction_factor=es.reduction_factor)


def open_study(db: Database, search_id: str, search: AutoSearch,
               dims: Sequence[Dimension]) -> optuna.Study:
    """The search's study (created on first use) with its sampler and pruner."""
    algorithm = make_algorithm(search.algorithm.name, search.algo_params())
    direction = (StudyDirection.MAXIMIZE if search.objective.mode is Mode.MAX
                 else StudyDirection.MINIMIZE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature warnings of Optuna
        return optuna.create_study(
            storage=storage(db, search_id), study_name=search_id, load_if_exists=True,
            direction=direction, sampler=algorithm.sampler(dims, search.seed),
            pruner=make_pruner(search),
        )


def load_study(db: Database, search_id: str) -> optuna.Study:
    """Read-only use (API, CLI): no sampler needed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.load_study(study_name=search_id, storage=storage(db, search_id),
                                 sampler=optuna.samplers.RandomSampler())
