"""EIE (Han et al., "EIE: Efficient Inference Engine on Compressed Deep Neural Network",
ISCA 2016): compressed sparse fully connected layers on a PE array.

- format: the CSC encoding with 4-bit codebook indices and relative row indices, the
  engine's stream images;
- workload: seeded pruned, weight-shared layers and ReLU-sparse inputs, the golden model;
- engine: the engine's ports and register map, the numpy twin, `eie_engine(impl=...)`;
- system: the accelerator on a SoC (sequencer commands, energy model, host calls).
"""

from cosim.accel.eie.engine import EieFunctional, config_word, eie_engine
from cosim.accel.eie.format import CompressedLayer, EieGeometry, encode, model_image
from cosim.accel.eie.system import EieAccelerator, energy_factors
from cosim.accel.eie.workload import FcLayer, make_fc_layer

__all__ = [
    "CompressedLayer",
    "EieAccelerator",
    "EieFunctional",
    "EieGeometry",
    "FcLayer",
    "config_word",
    "eie_engine",
    "encode",
    "energy_factors",
    "make_fc_layer",
    "model_image",
]
