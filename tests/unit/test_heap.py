import gc

from core.heap import YOUNG_GENERATION, settled_heap


def test_serving_freezes_start_up_and_gives_the_collector_back_at_the_outermost_end() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with settled_heap():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.get_threshold()[0] == YOUNG_GENERATION
        made_later = [[n] for n in range(100)]  # an adapter's state, made after start-up
        with settled_heap():
            assert gc.get_freeze_count() >= frozen + len(made_later)
        # an inner end (an adapter stopping) leaves the server's settings alone
        assert gc.get_freeze_count() >= frozen
        assert gc.get_threshold()[0] == YOUNG_GENERATION
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
