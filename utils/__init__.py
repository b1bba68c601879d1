"""Zero-Shot Vision Lab's library: the notebooks' code (see docs/layout.md)."""

import warnings

# fastai 2.8 compiles a few functions with ``torch.jit.script`` when it is imported, which torch 2.9+ flags as
# deprecated on every import (a line in every CLI's stderr and every notebook): a warning for fastai's
# maintainers, not for someone running the course. Only that message is silenced.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
# fastai's tabular module sets pandas's ``mode.chained_assignment`` option at import, which pandas 3 deprecates.
warnings.filterwarnings("ignore", message=r"The 'mode\.chained_assignment' option is deprecated")
