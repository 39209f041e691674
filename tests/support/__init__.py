"""What the tests share besides fixtures: paths, sample plans and documents, the real `nok`
in a process, PostgreSQL databases, `nok serve`, the SMTP handler, the web app's client.

Fixtures live in tests/conftest.py; test modules import helpers from here, never from one
another or from conftest (tests/test_suite_layout.py checks it).
"""
