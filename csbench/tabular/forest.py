"""Teacher and students for tabular suites, and their metrics: small pure functions over arrays.

Students of every size come from one forest: scikit-learn seeds the i-th tree of a forest from
`random_state` in order, so the first k trees of a 20-tree forest are exactly the k-tree forest
with the same seed (what `warm_start` relies on). One fit thus scores all student sizes.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import roc_auc_score

from .suites import TabularSuite

N_JOBS = -1


def fit_teacher(suite: TabularSuite, rows: np.ndarray, labels: np.ndarray) -> RandomForestClassifier:
    teacher = RandomForestClassifier(n_estimators=suite.teacher.trees, random_state=suite.teacher.seed,
                                     n_jobs=N_JOBS)
    return teacher.fit(rows, labels)


def class_probabilities(teacher: RandomForestClassifier, rows: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C) probabilities, with a zero column for any class absent from the teacher's training rows."""
    proba = np.zeros((len(rows), num_classes))
    proba[:, teacher.classes_] = teacher.predict_proba(rows)
    return proba


def soft_targets(probabilities: np.ndarray) -> np.ndarray:
    """The student's regression target: P(class 1) for binary suites, the probability vector otherwise."""
    return probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities


def hard_targets(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """True labels in the same form as `soft_targets`: 0/1 for binary, one-hot otherwise."""
    return soft_targets(np.eye(num_classes)[labels])


def metric(name: str, labels: np.ndarray, scores: np.ndarray) -> float:
    """"auc": ROC AUC of a score for class 1; "accuracy": argmax of per-class scores (or of probabilities)."""
    if name == "auc":
        return float(roc_auc_score(labels, scores if scores.ndim == 1 else scores[:, 1]))
    if name == "accuracy":
        return float((scores.argmax(1) == labels).mean())
    raise ValueError(f"unknown metric {name!r}")


def fit_student(rows: np.ndarray, targets: np.ndarray, trees: int, seed: int) -> RandomForestRegressor:
    return RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=N_JOBS).fit(rows, targets)


def staged_predictions(forest: RandomForestRegressor, rows: np.ndarray,
                       sizes: tuple[int, ...]) -> dict[int, np.ndarray]:
    """The prediction of the forest's first k trees, for each k in `sizes`."""
    per_tree = np.stack([tree.predict(rows) for tree in forest.estimators_[: max(sizes)]])
    running = np.cumsum(per_tree, axis=0)
    return {k: running[k - 1] / k for k in sizes}


def prefix_forest(forest: RandomForestRegressor, trees: int) -> RandomForestRegressor:
    """The forest's first `trees` trees as a standalone model (equal to fitting `trees` trees with the same seed)."""
    small = copy.copy(forest)
    small.estimators_ = forest.estimators_[:trees]
    small.n_estimators = trees
    return small
