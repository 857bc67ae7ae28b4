"""Sample-quality metrics: pure functions from feature or probability arrays to numbers.

Which network produced the arrays (the suite's teacher or pytorch-fid's InceptionV3) is the business of
`csbench.quality`; nothing here knows about images.
"""

from .fid import fid, frechet_distance, statistics
from .inception_score import class_balance, class_statistics, inception_score
from .kid import kid
from .prdc import prdc, precision_concentration, precision_rests_on_few_balls

__all__ = ["class_balance", "class_statistics", "fid", "frechet_distance", "inception_score", "kid", "prdc",
           "precision_concentration", "precision_rests_on_few_balls", "statistics"]
