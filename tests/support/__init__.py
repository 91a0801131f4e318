"""One set of test builders, shared by every test file.

- :mod:`feeds` — RSS documents (``feed_xml``, ``rss``);
- :mod:`scenario` — the watch list most tests share, as YAML builders;
- :mod:`clock` — a clock a test moves by hand;
- :mod:`waits` — polling for something another process or thread does;
- :mod:`receiver` — a scripted webhook receiver;
- :mod:`cli` — ``python -m worker …`` as a subprocess;
- :mod:`feedlab` and :mod:`delivery` — a runtime with its database, for feed and delivery tests;
- :mod:`fixtures` — the pytest fixtures built on these (registered in ``tests/conftest.py``).
"""
