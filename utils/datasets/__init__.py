"""Data set loaders that read the real formats exactly, one front door per format.

* :func:`load_awa2` — an Animals with Attributes 2 folder (Xian et al., TPAMI 2018).
* :func:`load_att_splits`, :func:`load_res101`, :func:`load_xlsa17` — the xlsa17 Proposed Split
  (Xian et al., CVPR 2017), converted to 0-based indices.
* :func:`load_cifar100` — CIFAR-100's python pickles (Krizhevsky, 2009), plus writers and class splits.
* :func:`load_label_vectors` — NUS-WIDE label word vectors in the SDL format (Ben-Cohen et al., ICCV 2021).
* :func:`load_nuswide` — a NUS-WIDE folder (``images/`` + ``labels.csv``; Chua et al., CIVR 2009).
* :func:`load_scenes` — the sample world's multi-label scenes.

Every loader raises :class:`~utils.errors.DatasetFormatError` (a ``ValueError``) naming the file and the
problem; when the data set is not there at all, :class:`~utils.errors.MissingDataError` (a ``FileNotFoundError``
and a ``DatasetFormatError``): one line naming the path and the command or page that fetches it
(:data:`~utils.errors.FETCH_HINTS`, :func:`require_path`, :func:`require_data`), shown by IPython/Jupyter/Colab
without a traceback.
``python -m utils.datasets check PATH`` recognises and summarises any of them.
"""

from utils.datasets.awa2 import Awa2Dataset, image_index, load_awa2, read_attribute_matrix, read_class_list
from utils.datasets.cifar100 import (
    CIFAR100_COARSE_LABEL_NAMES,
    CIFAR100_FINE_LABEL_NAMES,
    CIFAR100_FINE_TO_COARSE,
    Cifar100Split,
    load_cifar100,
    split_classes_by_ratio,
    split_classes_from_files,
    write_cifar100_meta,
    write_cifar100_split,
)
from utils.datasets.errors import require_data, require_path
from utils.datasets.nuswide import (
    LabelVectors,
    NusWideDataset,
    find_label_vectors_folder,
    load_label_vectors,
    load_nuswide,
    write_label_vectors,
)
from utils.datasets.scenes import ScenesDataset, load_scenes
from utils.datasets.xlsa17 import (
    AttSplits,
    Res101Features,
    Xlsa17Dataset,
    Xlsa17SplitWarning,
    find_xlsa17_datasets,
    load_att_splits,
    load_res101,
    load_xlsa17,
)

__all__ = [
    "CIFAR100_COARSE_LABEL_NAMES",
    "CIFAR100_FINE_LABEL_NAMES",
    "CIFAR100_FINE_TO_COARSE",
    "AttSplits",
    "Awa2Dataset",
    "Cifar100Split",
    "LabelVectors",
    "NusWideDataset",
    "Res101Features",
    "ScenesDataset",
    "Xlsa17Dataset",
    "Xlsa17SplitWarning",
    "find_label_vectors_folder",
    "find_xlsa17_datasets",
    "image_index",
    "load_att_splits",
    "load_awa2",
    "load_cifar100",
    "load_label_vectors",
    "load_nuswide",
    "load_res101",
    "load_scenes",
    "load_xlsa17",
    "read_attribute_matrix",
    "read_class_list",
    "require_data",
    "require_path",
    "split_classes_by_ratio",
    "split_classes_from_files",
    "write_cifar100_meta",
    "write_cifar100_split",
    "write_label_vectors",
]
