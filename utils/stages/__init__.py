"""One module per stage of the course: each notebook's code lives in the module named after its stage.

* :mod:`utils.stages.classifier` — 01: the stage-1 classifier compared across backbones (SqueezeNet 1.1 against the
  ResNet34 baseline); the classifier itself is fastai glue shared with 02 (:mod:`utils.training.fastai_glue`);
* :mod:`utils.stages.devise` — 02: DeViSE (regression onto label word vectors, head then unfrozen; Frome et al.,
  NeurIPS 2013), its zero-shot evaluation, and 03–04's embeddings (``devise_embeddings``);
  ``python -m utils.stages.devise``;
* :mod:`utils.stages.embeddings` — :class:`~utils.stages.embeddings.EmbeddingSet`, the image and label embeddings
  03 and 04 analyse and search;
* :mod:`utils.stages.attribute_zsl` — 05: attributes with BCE, ReMSE, ZSL/GZSL on xlsa17 features;
  ``python -m utils.stages.attribute_zsl``;
* :mod:`utils.stages.siamese`, :mod:`utils.stages.episodes`, :mod:`utils.stages.digits` — 06: the triplet Siamese
  network on CIFAR-100, its one-shot episodes, the hand-drawn digits demo;
* :mod:`utils.stages.sdl` — 07: Semantic Diversity Learning (Ben-Cohen et al., ICCV 2021); ``python -m
  utils.stages.sdl train|predict``.

Shared machinery lives outside: :mod:`utils.training` (images, the one loop, fastai glue, checkpoints, threads,
cache), :mod:`utils.splits`, :mod:`utils.search`, :mod:`utils.word_vectors`, :mod:`utils.datasets`,
:mod:`utils.metrics`, :mod:`utils.plots`. A stage family imports only its own helpers — DeViSE the
:class:`EmbeddingSet` of 03–04, 06's stage and digits demo its episodes (and the digits demo 06's augmentation and
m-per-class batches) — and never another family: 02 gets the stage-1 classifier from
:mod:`utils.training.fastai_glue`, not from 01.
"""
