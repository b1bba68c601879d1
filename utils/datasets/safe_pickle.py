"""Read data set pickles without running what they name: plain data and NumPy arrays only.

CIFAR-100's python files (``meta``, ``train``, ``test``) and the SDL label-vector files
(``wordvec_array.pickle``, ``classes.pickle``, ``unseen_classes.pickle``, COCO's ``cls_ids.pickle``)
are pickles by design. A plain :func:`pickle.load` calls whatever global a pickle names, so a crafted
file (e.g. one whose ``__reduce__`` returns ``(os.system, ("touch /tmp/pwned",))``) runs its payload
as soon as it is read. :func:`load_pickle` instead uses :class:`RestrictedUnpickler`, whose
:meth:`~RestrictedUnpickler.find_class` admits only the globals in :data:`ALLOWED_GLOBALS`; any
other global raises :class:`~utils.errors.DatasetFormatError` naming the file and the
global, when the unpickler meets its name, so before anything it names is called::

    data/cifar-100-python/meta: refused to load 'posix.system' (only plain data and NumPy arrays are allowed in this file)

Containers, strings, bytes, numbers, booleans, ``None`` and sets need no global at all (they have
their own opcodes). The allow-list is what the real files hold (checked with
:func:`pickletools.genops`):

* ``numpy.core.multiarray._reconstruct`` -- NumPy arrays pickled by NumPy 1.x (Python 2 as well): the
  real CIFAR-100 ``train``/``test`` (``data``) and ZS_SDL's NUS-WIDE and COCO ``wordvec_array.pickle``.
* ``numpy._core.multiarray._reconstruct`` -- the same, pickled by NumPy 2 (the sample world's
  ``cifar-100-python/{train,test}`` and ``scenes/label_vectors/wordvec_array.pickle``).
* ``numpy.ndarray``, ``numpy.dtype`` -- the array type and its dtype, in every array above.
* ``_codecs.encode``, for the ``latin-1`` encoding only -- how Python 3 writes ``bytes`` (keys, file
  names and an array's raw data) in protocols 0-2, e.g. a CIFAR-100 file re-saved with
  ``pickle.dump(..., protocol=2)``; Python 2's own files (the real CIFAR-100) need no global for that.

Meta, ``classes.pickle``, ``unseen_classes.pickle`` and ``cls_ids.pickle`` name no global at all.
NumPy scalars (``numpy.core.multiarray.scalar``) are deliberately not admitted: no real file holds one.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np

from utils.datasets.errors import require_file
from utils.errors import DatasetFormatError, ProjectError

try:  # NumPy >= 2 (and the forward-compatibility stubs of NumPy 1.26)
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - older NumPy 1.x
    from numpy.core.multiarray import _reconstruct

REFUSED_SUFFIX = "only plain data and NumPy arrays are allowed in this file"
"""The explanation that closes every refusal message."""

_LATIN1_NAMES = frozenset({"latin1", "latin-1", "latin_1", "iso8859-1", "iso-8859-1", "iso8859_1", "l1"})


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` in protocols 0-2; any other codec is refused."""
    if (
        not isinstance(text, str)
        or not isinstance(encoding, str)
        or encoding.lower() not in _LATIN1_NAMES
        or errors != "strict"
    ):
        raise RefusedGlobalError("_codecs", "encode", f" with arguments {encoding!r}, {errors!r}")
    return codecs.encode(text, "latin1")


ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}
"""``(module, name)`` as written in the pickle -> the object it stands for; nothing else is loaded."""


class RefusedGlobalError(ProjectError, pickle.UnpicklingError):
    """A pickle names a global outside :data:`ALLOWED_GLOBALS`.

    Attributes:
        module, name: the refused global as the pickle names it.
    """

    def __init__(self, module: str, name: str, detail: str = "") -> None:
        self.module = module
        self.name = name
        super().__init__(f"refused to load {self.qualified_name!r}{detail} ({REFUSED_SUFFIX})")

    @property
    def qualified_name(self) -> str:
        return f"{self.module}.{self.name}"


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS` and refuses every other global.

    ``find_class`` is where every ``GLOBAL``, ``STACK_GLOBAL``, ``INST`` and extension-registry
    opcode ends up, so a refused name is never imported and nothing it names is ever called.
    """

    def find_class(self, module: str, name: str) -> object:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise RefusedGlobalError(str(module), str(name)) from None


def load_pickle(path: str | Path, *, encoding: str = "latin1") -> object:
    """Read the pickle at ``path`` with :class:`RestrictedUnpickler`.

    Args:
        path: the file.
        encoding: how Python 2 ``str`` objects are decoded (``"latin1"``: CIFAR-100's Python 2 pickles
            load with ``str`` keys and their arrays' raw bytes intact, as ``torchvision`` reads them).

    Returns:
        The unpickled object.

    Raises:
        DatasetFormatError: naming ``path``: if it is missing; ``refused to load 'MODULE.NAME' (...)``
            if it names a global outside :data:`ALLOWED_GLOBALS`; ``not a readable pickle (...)`` if
            it is truncated or not a pickle.
    """
    path = require_file(path)
    try:
        with path.open("rb") as handle:
            return RestrictedUnpickler(handle, encoding=encoding).load()
    except RefusedGlobalError as error:
        raise DatasetFormatError(path, str(error)) from None
    except Exception as error:  # a truncated or foreign file can raise almost anything from pickle
        raise DatasetFormatError(path, f"not a readable pickle ({type(error).__name__}: {error})") from None
