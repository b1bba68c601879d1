"""One module per stage of the course: each notebook's code lives in the module named after its stage.

* :mod:`utils.stages.devise` — 01's classifier (SqueezeNet 1.1 / ResNet34 with fastai) and 02's DeViSE (regression
  onto label word vectors, head then unfrozen; Frome et al., NeurIPS 2013), 03–04's embeddings
  (``devise_embeddings``); ``python -m utils.stages.devise``;
* :mod:`utils.stages.embeddings` — :class:`~utils.stages.embeddings.EmbeddingSet`, the image and label embeddings
  03 and 04 analyse and search;
* :mod:`utils.stages.attribute_zsl` — 05: attributes with BCE, ReMSE, ZSL/GZSL on xlsa17 features;
  ``python -m utils.stages.attribute_zsl``;
* :mod:`utils.stages.siamese`, :mod:`utils.stages.episodes`, :mod:`utils.stages.digits` — 06: the triplet Siamese
  network on CIFAR-100, its one-shot episodes, the hand-drawn digits demo;
* :mod:`utils.stages.sdl` — 07: Semantic Diversity Learning (Ben-Cohen et al., ICCV 2021); ``python -m
  utils.stages.sdl train|predict``.

Shared machinery lives outside: :mod:`utils.training` (images, the one loop, checkpoints, threads, cache),
:mod:`utils.splits`, :mod:`utils.search`, :mod:`utils.word_vectors`, :mod:`utils.datasets`, :mod:`utils.metrics`,
:mod:`utils.plots`. Within 01–04 and within 06 one module uses another (DeViSE reuses the stage-1 body and
:class:`EmbeddingSet`; the digits demo reuses 06's encoder and episodes); between the stage families nothing.
"""
