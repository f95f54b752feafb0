"""Data layer: the `Sample` schema, media I/O, RefAVS / ReVOS loaders and OmniSynth."""

from omni_r1_lite.data.schema import EXPRESSION_TYPES, DataError, EmptyMasks, Sample

__all__ = ["EXPRESSION_TYPES", "DataError", "EmptyMasks", "Sample"]
