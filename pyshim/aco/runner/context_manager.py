"""The subrun context manager under the name scripts written for aco's
predecessor import: ``from aco.runner.context_manager import aco_launch``."""

from aco.context import launch as aco_launch

__all__ = ["aco_launch"]
