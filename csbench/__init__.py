"""csbench: score synthetic data by how well it compresses a fixed teacher into a small student."""

from .generators import SampleContext, generator

__version__ = "0.3.0"  # bumped whenever results can change; CHANGELOG.md says what changed
__all__ = ["generator", "SampleContext", "__version__"]
