"""One module per stage of the course: each notebook's code lives in the module named after its stage.

* :mod:`utils.stages.classifier` — 01: the stage-1 softmax classifier (fastai), and its comparison across backbones
  (SqueezeNet 1.1 against the ResNet34 baseline);
* :mod:`utils.stages.devise` — 02: DeViSE (regression onto label word vectors, head then unfrozen; Frome et al.,
  NeurIPS 2013) on the stage-1 body, the runs its zero-shot evaluation needs, and 03–04's embeddings
  (``devise_embeddings``); ``python -m utils.stages.devise``;
* :mod:`utils.stages.embeddings` — 03: the error analysis of those embeddings (confusion, most-confused pairs, PCA);
* :mod:`utils.stages.attribute_zsl` — 05: attributes with BCE, ReMSE, ZSL/GZSL on xlsa17 features;
  ``python -m utils.stages.attribute_zsl``;
* :mod:`utils.stages.siamese`, :mod:`utils.stages.episodes`, :mod:`utils.stages.digits` — 06: the triplet Siamese
  network on CIFAR-100, its class splits and one-shot samples, the hand-drawn digits demo;
* :mod:`utils.stages.sdl` — 07: Semantic Diversity Learning (Ben-Cohen et al., ICCV 2021); ``python -m
  utils.stages.sdl train|predict``.
* :mod:`utils.stages.clip` — 08: a small CLIP (open_clip) trained from scratch on attribute captions, zero-shot by
  class names and by descriptions, a pretrained CLIP, text ↔ image search, the scoreboard of every zero-shot method;
  ``python -m utils.stages.clip``.

Shared machinery lives outside: :mod:`utils.training` (images, the one loop, fastai glue, checkpoints, threads,
cache), :mod:`utils.zsl` (zero-shot evaluation), :mod:`utils.metrics`, :mod:`utils.splits`, :mod:`utils.search`,
:mod:`utils.word_vectors`, :mod:`utils.datasets`, :mod:`utils.plots`. A stage follows the course: it may import an
*earlier* stage's public functions, never a later one's (``tests/test_layout.py``) — DeViSE (02) trains the
stage-1 classifier of :mod:`utils.stages.classifier` (01) for its body, its γ run and its oracle; 06's modules
use each other.
"""
