"""demo-shapes: a tiny SD 1.5-architecture model trained here, on generated scenes of shapes, so demos and tests
see pictures that mean something. Data, grammar, tokenizer, detector, training and the shipped weights."""
