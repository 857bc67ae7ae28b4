"""Tabular suites as declarative records, in a registry of their own (csbench.tasks finds a suite's kind)."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry


@dataclass(frozen=True)
class ForestTeacher:
    """A scikit-learn RandomForestClassifier fitted on the training split with a fixed seed."""

    trees: int = 500
    seed: int = 0


@dataclass(frozen=True)
class TabularSuite:
    """`metric` is "auc" (binary: ROC AUC of the student's score for class 1) or "accuracy" (argmax).

    Students are RandomForestRegressors with `student_sizes` trees, fitted to the teacher's class
    probabilities (binary: probability of class 1; multi-class: the probability vector).
    `ratio` is the default number of generated rows per real training row.
    """

    name: str
    dataset: str
    n_features: int | None  # None: set by the data (one-hot width of categorical columns)
    num_classes: int
    metric: str
    source: str
    teacher: ForestTeacher = ForestTeacher()
    student_sizes: tuple[int, ...] = (1, 5, 10, 15, 20)
    ratio: float = 9.0
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)

TABULAR_SUITES: Registry[TabularSuite] = Registry("tabular suite")


def get_tabular_suite(name: str) -> TabularSuite:
    return TABULAR_SUITES.get_or_fail(name)


SKLEARN_SPLIT = "stratified 70/30 split (seed 0), standardised on train"
OPENML_SPLIT = "OpenML, at most 50,000 rows (stratified, seed 0), one-hot categoricals, 70/30 split, standardised"

for _suite in (
    TabularSuite("magic", "magic", 10, 2, "auc", "UCI MAGIC Gamma Telescope, the seed authors' split: "
                 "13,312 train / 5,707 test, standardised (local magic.npz or OpenML MagicTelescope)"),
    TabularSuite("breast-cancer", "breast-cancer", 30, 2, "auc", f"scikit-learn breast_cancer, {SKLEARN_SPLIT}"),
    TabularSuite("digits", "digits", 64, 10, "accuracy", f"scikit-learn digits (8x8 as 64 features), {SKLEARN_SPLIT}"),
    TabularSuite("wine", "wine", 13, 3, "accuracy", f"scikit-learn wine, {SKLEARN_SPLIT}"),
    TabularSuite("covertype", "covertype", 54, 7, "accuracy", f"covertype, {OPENML_SPLIT}"),
    TabularSuite("adult", "adult", None, 2, "auc", f"adult, {OPENML_SPLIT}"),
    TabularSuite("higgs", "higgs", 28, 2, "auc", f"higgs, {OPENML_SPLIT}"),
):
    TABULAR_SUITES.add(_suite.name, _suite)
