"""`python -m cosim` is the `cosim` command line (see cosim.cli)."""

from cosim.cli import entry_point

# Guarded: process pools that spawn (Dask workers) import the parent's main module.
if __name__ == "__main__":
    entry_point()
