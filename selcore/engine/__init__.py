"""The engine: data on the device, the network, the SEL and Lottery Ticket formulas as hooks around one
training loop, compute accounting, checkpoints and the experiments.

``data`` (CIFAR-10 as device tensors), ``models`` (CIFAR ResNet-18), ``sel`` (the SEL formulas),
``lottery`` (magnitude pruning and rewind), ``train`` (the loop and its hooks), ``flops`` (proxy vs executed
FLOPs), ``curriculum`` (scorer, scoring, gamma0 calibration), ``difficulty`` (trained-model order),
``checkpoint`` (safe two-generation checkpoints), ``record`` (a run's CSV, run.json, checkpoint and resume),
``workers`` (data-parallel wiring), ``experiments`` (a registry entry's plan run over the loop),
``results`` (CSV and run.json writers, environment capture), ``rows`` (the CSV row schema), ``accounting`` (a
run's cost counters), ``training_state`` (what training changes and a checkpoint keeps), ``callbacks`` (what runs
after each epoch).
"""
