"""Tooling around the appliance, apart from the appliance's own modules.

`pages` (the one page generator), `scanner` (the simulated scanner), `demo`
(`juanzong demo`), `bench` (`juanzong bench ingest`), `ocrbench` (`juanzong bench
ocr`), `memprobe` (`juanzong bench memory`) and `qcbench` (`juanzong bench qc`). The demo, the benchmarks and the
tests use them; nothing the appliance runs in production imports this package.
"""
