import pytest

from coffer_server import CofferServer


@pytest.fixture
def server():
    s = CofferServer()
    s.start()
    yield s
    s.close()


@pytest.fixture
def make_server():
    """Factory for servers with their own environment; all are stopped at the end."""
    made = []

    def make(**kwargs):
        s = CofferServer(**kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
