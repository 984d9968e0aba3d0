"""`kakehashi bench`: the benchmark report (replies, throughput, memory, scale, baselines).

`run` runs it, `report` writes bench.md, bench.json and the plots; eval/README.md says
what each figure means.
"""
