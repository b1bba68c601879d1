"""utils.plots: what the figures draw (no screen needed: the Agg backend)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from utils.plots import image_strip


def test_image_strip_draws_one_captioned_image_per_path(tmp_path):
    paths = []
    for position, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        paths.append(tmp_path / f"{position}.png")
        Image.new("RGB", (20, 10), colour).save(paths[-1])
    figure = image_strip(paths, titles=["query", "leopard 0.91", "pig 0.40"], title="spotted big cat",
                         highlight={2}, thumbnail=8)
    axes = figure.axes
    assert len(axes) == 3
    assert [axis.get_title() for axis in axes] == ["query", "leopard 0.91", "pig 0.40"]
    assert axes[2].title.get_color() == "red" and axes[1].title.get_color() == "black"
    shown = np.asarray(axes[1].images[0].get_array())
    assert shown.shape == (8, 8, 3) and tuple(shown[0, 0]) == (0, 255, 0)
    assert figure._suptitle.get_text() == "spotted big cat"
    plt.close(figure)
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        image_strip(paths, titles=["a", "b"])
