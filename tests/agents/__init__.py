"""Real CLI agents through Switchyard. A package, so its conftest never takes the module name `conftest`
that tests/py imports its helpers from when both suites run in one pytest session."""
