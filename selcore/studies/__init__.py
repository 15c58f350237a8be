"""Studies that use the engine without being part of it: each measures one question outside the experiments.

``bench`` (throughput of SEL's and the Baseline's epochs against a reference loop, the speed claim's numbers),
``sparsity_study`` (the first SEL epoch's gradient sparsity by width, start and calibration) and ``standin``
(the stand-in for ImageNet weights that study starts from).
"""
