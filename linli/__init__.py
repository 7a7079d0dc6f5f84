"""Linli 邻里: epidemic response and grassroots governance down the city grid."""

import os

# One BLAS thread per process: the early-warning fits are many small batched solves, which threaded
# OpenBLAS made 5–28 times slower on a 2-core machine; the web and job workers are the parallelism.
# Set before numpy is first imported; an operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
