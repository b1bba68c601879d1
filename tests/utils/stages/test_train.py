"""utils.train: the command line that trains a notebook's models (its 2-process run: tests/utils/training/
test_distributed.py trains through the same library calls)."""

import pytest

from utils.stages.train import NOTEBOOKS, main


def test_a_notebook_without_a_trainer_is_one_line_and_exit_2(capsys):
    assert main(["03"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "invalid choice: '03'" in error[0] and "06" in error[0]


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_each_notebook_has_a_config_and_a_trainer(notebook):
    config_class, train = NOTEBOOKS[notebook]
    assert config_class.for_profile("smoke").profile == "smoke" and callable(train)
