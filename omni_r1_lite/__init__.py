"""omni-r1-lite: a Jupyter-first kit to understand, reproduce and adapt Omni-R1 on one GPU.

Importing the package is cheap: it imports neither torch nor transformers; submodules that
need them import them when used.
"""

__version__ = "0.1.0"
